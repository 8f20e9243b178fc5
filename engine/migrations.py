"""Run the alembic migrations shipped with tongban against a database URL.

alembic (with mako) is imported when a migration runs, not when the engine is: every ``tongban`` command and
web process imports the engine, and only ``migrate``, replay and dry runs migrate.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .config import ROOT

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: str) -> Config:
    """Return an alembic Config pointing at the repository's ``alembic/`` folder and ``url``."""
    from alembic.config import Config
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating the SQLite file's folder if needed)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        from pathlib import Path
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from alembic import command
    command.upgrade(alembic_config(url), revision)
