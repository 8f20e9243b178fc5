"""Database engines and session factories for SQLite (embedded) and PostgreSQL (production).

SQLite gets WAL, foreign keys and a busy timeout, and write transactions start with ``BEGIN IMMEDIATE`` so
that two commands serialize on the database lock instead of failing late on a stale snapshot. PostgreSQL
uses READ COMMITTED with ``SELECT ... FOR UPDATE`` on the case row, taken by the repositories.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import Cursor
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from . import deferred

WRITE_OPTION = "tongban_write"
BUSY_TIMEOUT_MS = 30000
"""How long a SQLite connection waits for the database lock before "database is locked"."""


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """Create the SQLAlchemy engine for ``url`` with the dialect settings tongban relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=False, pool_size=pool_size, max_overflow=10)
        if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            event.listen(engine, "do_execute", _begin_with_first_statement)
    deferred.enable(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours (deferred or immediate).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _begin_with_first_statement(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """Send a transaction's BEGIN and its first statement in one round trip (psycopg, PostgreSQL).

    psycopg opens a transaction by sending BEGIN and waiting for its answer before the first statement,
    even in pipeline mode (it syncs after BEGIN): one more round trip per transaction, and every command is
    a transaction. Here, while no transaction is open, the connection is put in autocommit for a moment so
    that psycopg adds no BEGIN of its own, our BEGIN and the statement are queued in one pipeline, and
    leaving the pipeline sends both with a single Sync and reads both answers. The connection then leaves
    autocommit without a check (psycopg refuses the public setter inside a transaction): its state is the
    one psycopg's own BEGIN would have left, so COMMIT and ROLLBACK go on as usual. An error surfaces when
    the pipeline ends, inside this handler, and SQLAlchemy wraps it like any other.

    Statements after the first, connections in autocommit (SQLAlchemy's AUTOCOMMIT isolation) or already
    in a pipeline, and server-side cursors (which a pipeline cannot carry) run as SQLAlchemy runs them.
    tests/integration/test_begin_round_trip.py reads the wire protocol to prove the single Sync.
    """
    driver = cursor.connection
    if (type(cursor) is not Cursor or driver.autocommit or getattr(driver, "_pipeline", None) is not None
            or driver.info.transaction_status != TransactionStatus.IDLE or not hasattr(driver, "_autocommit")):
        return False
    driver.autocommit = True
    try:
        with driver.pipeline():
            driver.execute(b"BEGIN")
            cursor.execute(statement, parameters)
    finally:
        driver._autocommit = False
    return True


@dataclass(frozen=True)
class Database:
    """The engine, its write flavour (``BEGIN IMMEDIATE`` on SQLite) for commands, and read sessions."""

    engine: Engine
    writer: Engine
    read_sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        """Return ``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def make_database(url: str, *, echo: bool = False) -> Database:
    """Build a :class:`Database` for ``url``."""
    engine = make_engine(url, echo=echo)
    writer = engine.execution_options(**{WRITE_OPTION: True})
    return Database(
        engine=engine,
        writer=writer,
        read_sessions=sessionmaker(bind=engine, class_=ReadSession, expire_on_commit=False, autoflush=False),
    )


class ReadSession(Session):
    """A read session that ends its transaction with COMMIT when its ``with`` block succeeds.

    Reads write nothing, so COMMIT and ROLLBACK end them alike, but psycopg answers every ROLLBACK by
    dropping all prepared statements of the connection (DEALLOCATE ALL): the next commands on that pooled
    connection would parse and plan each statement again. Read sessions keep their transaction (one
    snapshot per session on SQLite, server-side cursors on PostgreSQL). A block that raised still rolls back.
    """

    def __exit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if type_ is None and self.in_transaction():
            self.commit()
        super().__exit__(type_, value, traceback)
