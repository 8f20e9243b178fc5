"""SQL persistence: the only package that defines SQLAlchemy models and sessions."""
