"""Shared step of the data-migration tests: a test database taken back to an earlier alembic revision."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alembic import command
from sqlalchemy import create_engine, text

from engine.migrations import alembic_config
from engine.persistence.models import Base


def downgraded(database_url: str, revision: str) -> Iterator[tuple[str, Any]]:
    """Yield (url, engine) of the database at ``revision`` (emptied first), then upgrade it back to head."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    command.downgrade(alembic_config(database_url), revision)
    yield database_url, engine
    command.upgrade(alembic_config(database_url), "head")
    engine.dispose()
