"""Shared fixtures: databases (SQLite and PostgreSQL, parametrized), a manual clock, and an engine.

``--db=sqlite|postgresql|both`` picks the databases (default both). Without a reachable PostgreSQL the
PostgreSQL half is skipped locally, but with ``CI=true`` that is a failure: CI must prove both.
"""
from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from engine import CST, EngineConfig, ManualClock, bootstrap, upgrade_database
from engine.org_file import reference_org
from engine.persistence.models import Base
from engine.persistence.org_repository import insert_missing_reference_rows

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("TONGBAN_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgresql", "both"], default="both",
                     help="which databases the integration tests run against")


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A private schema in the test PostgreSQL database, migrated with alembic once per session."""
    try:
        probe = create_engine(PG_URL)
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no PostgreSQL here"
        message = f"PostgreSQL not reachable at {PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    schema = f"tb_test_{uuid.uuid4().hex[:10]}"
    with probe.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    upgrade_database(url)
    yield url
    with probe.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    probe.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated with alembic once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind (holding only the seeded districts and departments)."""
    chosen = request.config.getoption("--db")
    if chosen not in ("both", request.param):
        pytest.skip(f"--db={chosen}")
    if request.param == "sqlite":
        path = tmp_path / "tongban.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgresql_url")
    eng = create_engine(url)
    with eng.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # The migration seeded the districts and departments; put them back as a fresh database has them.
        insert_missing_reference_rows(conn, reference_org())
    eng.dispose()
    return url


@pytest.fixture
def clock() -> ManualClock:
    """A clock standing at Monday 2026-11-23 09:00 CST until moved."""
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=CST))


@pytest.fixture
def engine(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator:
    """An engine on a fresh database with the shipped processes and forms; materials, archives under ``tmp_path``."""
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials",
                                 archives_dir=tmp_path / "archives"), clock=clock)
    yield eng
    eng.close()
