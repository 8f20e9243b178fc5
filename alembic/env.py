"""Alembic environment: models' metadata, URL from the caller or TONGBAN_DATABASE_URL, batch mode on SQLite."""
from __future__ import annotations

from pathlib import Path

from alembic import context
from sqlalchemy import create_engine, pool

from engine.config import EngineConfig
from engine.persistence.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or EngineConfig.from_env().database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        # The embedded database lives in the instance folder, which a fresh checkout does not have yet.
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def run_migrations_offline() -> None:
    """Emit SQL to stdout without a database connection."""
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, compare_type=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a connection (given by the caller, or opened from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
