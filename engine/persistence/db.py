"""Database engines and session factories for SQLite (embedded) and PostgreSQL (production).

SQLite gets WAL, foreign keys and a busy timeout, and write transactions start with ``BEGIN IMMEDIATE`` so
that two commands serialize on the database lock instead of failing late on a stale snapshot. A
:class:`WalCheckpointer` thread copies the WAL back into the database file, so that no command pays for a
checkpoint in its COMMIT. PostgreSQL uses READ COMMITTED with ``SELECT ... FOR UPDATE`` on the case row,
taken by the repositories.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from psycopg import Cursor, IsolationLevel
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from . import deferred

WRITE_OPTION = "tongban_write"
BUSY_TIMEOUT_MS = 30000
"""How long a SQLite connection waits for the database lock before "database is locked"."""
CHECKPOINT_INTERVAL_S = 0.2
"""How often the :class:`WalCheckpointer` moves committed WAL frames into the database file."""
WAL_AUTOCHECKPOINT_PAGES = 16000
"""With the checkpointer running, a commit checkpoints only past this WAL size (64 MB of 4 KB pages): a
safety net for when the thread falls behind, instead of SQLite's default of every 1,000 pages."""

log = logging.getLogger(__name__)


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5,
                background_checkpoint: bool = False) -> Engine:
    """Create the SQLAlchemy engine for ``url`` with the dialect settings tongban relies on.

    ``background_checkpoint`` (SQLite): the caller runs a :class:`WalCheckpointer`, so the connections
    checkpoint by themselves only when the WAL has grown far beyond what that thread lets it reach.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, WAL_AUTOCHECKPOINT_PAGES if background_checkpoint else None)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=False, pool_size=pool_size, max_overflow=10)
        if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            event.listen(engine, "do_execute", _begin_with_first_statement)
    deferred.enable(engine)
    return engine


def _configure_sqlite(engine: Engine, autocheckpoint: int | None) -> None:
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
        if autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        # Straight on the DBAPI connection: SQLAlchemy's execution machinery cost more than the BEGIN itself.
        try:
            conn.connection.dbapi_connection.execute(statement)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


_BEGIN = {None: b"BEGIN", **{level: b"BEGIN ISOLATION LEVEL " + level.name.replace("_", " ").encode()
                             for level in IsolationLevel}}
"""The BEGIN psycopg sends for each isolation level of a connection (None: the server's default)."""


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

    Our BEGIN names the connection's isolation level as psycopg's would (:meth:`Database.snapshot` sets one;
    SQLAlchemy sets the default back when the connection returns to the pool). Statements after the first,
    connections in autocommit (SQLAlchemy's AUTOCOMMIT isolation), read-only or deferrable, or already
    in a pipeline, and server-side cursors (which a pipeline cannot carry) run as SQLAlchemy runs them.
    tests/integration/test_begin_round_trip.py reads the wire protocol to prove the single Sync.
    """
    driver = cursor.connection
    if (type(cursor) is not Cursor or driver.autocommit or driver.read_only is not None
            or driver.deferrable is not None or getattr(driver, "_pipeline", None) is not None
            or driver.info.transaction_status != TransactionStatus.IDLE or not hasattr(driver, "_autocommit")):
        return False
    driver.autocommit = True
    try:
        with driver.pipeline():
            driver.execute(_BEGIN[driver.isolation_level])
            cursor.execute(statement, parameters)
    finally:
        driver._autocommit = False
    return True


class WalCheckpointer:
    """Copies a SQLite database's WAL into the database file from a thread of its own.

    SQLite's automatic checkpoint runs inside whichever COMMIT pushes the WAL past 1,000 pages: that
    command writes every page back and syncs the file, a few milliseconds once in every hundred commands or
    so (6-7 % of the approval benchmark's time). SQLite's documentation suggests this instead: checkpoint
    from a separate thread. Every :data:`CHECKPOINT_INTERVAL_S` this thread runs a PASSIVE checkpoint on its
    own connection, which copies what no reader still needs and never waits for or blocks a writer. Several
    processes may each run one; a checkpoint already running elsewhere is simply skipped.
    """

    def __init__(self, path: str, interval: float = CHECKPOINT_INTERVAL_S):
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tongban-wal-checkpoint", daemon=True)

    def start(self) -> "WalCheckpointer":
        """Start the thread; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after a last checkpoint, and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        connection = None
        try:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=1)
            while True:
                stopping = self._stop.wait(self.interval)
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # e.g. the file went away under a test; the commands still run
                    log.warning("SQLite WAL checkpoint failed: %s", exc)
                if stopping:
                    return
        except sqlite3.Error as exc:
            log.warning("SQLite WAL checkpointer could not open %s: %s", self.path, exc)
        finally:
            if connection is not None:
                connection.close()


@dataclass(frozen=True)
class Database:
    """The engine, its write flavour (``BEGIN IMMEDIATE`` on SQLite) for commands, and read sessions."""

    engine: Engine
    writer: Engine
    read_sessions: sessionmaker[Session]
    checkpointer: WalCheckpointer | None = field(default=None, compare=False)

    @property
    def dialect(self) -> str:
        """Return ``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read session whose statements all see one state of the database, for reads that must agree.

        A read session on PostgreSQL is READ COMMITTED: each statement sees what was committed when it began,
        so two statements can straddle another transaction's commit (the calendar's rows in force before a
        replacement, its replaced rows after). This one is REPEATABLE READ there. SQLite's read transaction is
        one snapshot already.
        """
        with self.read_sessions() as session:
            if self.dialect == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def dispose(self) -> None:
        """Stop the WAL checkpointer (SQLite) and close every pooled connection."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


def make_database(url: str, *, echo: bool = False) -> Database:
    """Build a :class:`Database` for ``url``; a file SQLite database gets its :class:`WalCheckpointer`."""
    path = _sqlite_file(url)
    engine = make_engine(url, echo=echo, background_checkpoint=path is not None)
    writer = engine.execution_options(**{WRITE_OPTION: True})
    return Database(
        engine=engine,
        writer=writer,
        read_sessions=sessionmaker(bind=engine, class_=ReadSession, expire_on_commit=False, autoflush=False),
        checkpointer=WalCheckpointer(path).start() if path is not None else None,
    )


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL, None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


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
