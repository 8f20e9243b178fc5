"""Writes queued by a unit of work and sent together: one round trip with COMMIT on PostgreSQL.

A command's last writes (audit events, candidate rows, the task and case updates) need no answer from the
database, so they wait in a queue until the next statement or COMMIT. On PostgreSQL the queue and the COMMIT
go out in one psycopg pipeline with a single Sync (one round trip); on SQLite the same statements run one after
another. Any statement executed on the connection while writes are queued sends them first (a
``before_execute`` listener), so a read in the same transaction always sees them.

The statements the hot path queues are registered with :func:`~.compiled.hot` and run compiled on the DBAPI
cursor (:mod:`.compiled`); anything else queued runs through ``Connection.execute`` as usual. The hot reads
(:meth:`DeferredWrites.read`, :meth:`DeferredWrites.fetch`) send what is queued first, like any statement.

Nothing a write queued here returns can be read, including its row count. The one write whose outcome
matters, the case row's version check, is therefore enforced by the database: the UPDATE sets ``version``
to NULL when the stored version is not the one the command read, the NOT NULL constraint refuses it, and
the whole transaction rolls back (:func:`is_stale_version` recognises the error).
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from .compiled import CompiledRead, CompiledWrite

_QUEUE = "tongban_deferred_writes"
class DeferredWrites:
    """The queue of one unit of work's connection."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.pipelined = connection.dialect.name == "postgresql"
        self.compiled = not connection.get_execution_options().get("schema_translate_map")
        """Whether registered statements may run compiled (schema translation happens in SQLAlchemy only)."""
        connection.info[_QUEUE] = self
        self._writes: list[tuple[Any, Any]] = []
        self.case_id: int | None = None
        """The case whose version check is queued (named in the Conflict when it fails)."""

    def add(self, statement: Any, parameters: Any) -> None:
        """Queue a statement with its parameters (a dict, or a list of dicts for executemany)."""
        self._writes.append((statement, parameters))

    def discard(self) -> None:
        """Drop what is queued (the transaction rolls back) and detach from the connection."""
        self._writes = []
        self.connection.info.pop(_QUEUE, None)

    def send(self, *, commit: Callable[[], None] | None = None) -> None:
        """Send the queued writes, then ``commit`` when given: one pipeline on PostgreSQL."""
        writes, self._writes = self._writes, []
        if not writes and commit is None:
            return
        if not self.pipelined or not writes:
            self._run(writes, commit)
            return
        driver = self.connection.connection.driver_connection
        try:
            with driver.pipeline():
                self._run(writes, None)
                if commit is not None:
                    # Queued like the writes, so that the pipeline's one Sync carries it. psycopg's commit()
                    # inside a pipeline would sync (and wait) once more before the pipeline's own exit.
                    driver.execute(b"COMMIT")
        except self.connection.dialect.loaded_dbapi.Error as exc:
            # Raised by the pipeline's final sync, outside SQLAlchemy: wrap it as SQLAlchemy would.
            raise DBAPIError.instance(None, None, exc, self.connection.dialect.loaded_dbapi.Error) from exc
        if commit is not None:
            commit()  # ends SQLAlchemy's transaction; the server's is over, so psycopg sends nothing

    def fetch(self, statement: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Send what is queued, then execute ``statement`` (an INSERT ... RETURNING) now and return its rows.

        A statement registered with ``hot(..., returning=True)`` runs compiled on the cursor.
        """
        return self._answer(CompiledWrite, statement, parameters)

    def read(self, statement: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Send what is queued, then run a SELECT and return its rows (compiled when registered with ``hot``)."""
        return self._answer(CompiledRead, statement, parameters)

    def _answer(self, kind: Any, statement: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        self.send()
        compiled = kind.for_statement(self.connection, statement, parameters) if self.compiled else None
        if compiled is None:
            return [tuple(row) for row in self.connection.execute(statement, parameters)]
        cursor = self.connection.connection.dbapi_connection.cursor()
        try:
            return compiled.rows(self.connection, cursor, parameters)
        finally:
            cursor.close()

    def _run(self, writes: list[tuple[Any, Any]], commit: Callable[[], None] | None) -> None:
        cursor = None
        for statement, parameters in writes:
            compiled = CompiledWrite.for_statement(self.connection, statement, parameters) if self.compiled else None
            if compiled is None:
                self.connection.execute(statement, parameters)
                continue
            if cursor is None:
                cursor = self.connection.connection.dbapi_connection.cursor()
            compiled.run(self.connection, cursor, parameters)
        if cursor is not None and not self.pipelined:
            cursor.close()  # a pipelined cursor still owes its results to the pipeline's sync
        if commit is not None:
            commit()


def _send_before(conn: Connection, clauseelement: Any, multiparams: Any, params: Any,
                 execution_options: Any) -> None:
    queue = conn.info.get(_QUEUE)
    if queue is not None and queue._writes:
        queue.send()


def enable(engine: Engine) -> None:
    """Make every statement on ``engine``'s connections send the queued writes first (once per engine)."""
    if not event.contains(engine, "before_execute", _send_before):
        event.listen(engine, "before_execute", _send_before)


def is_stale_version(exc: DBAPIError) -> bool:
    """Whether ``exc`` is the database refusing a case update whose version check failed."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    if diag is not None and getattr(diag, "sqlstate", None) == "23502":
        return diag.table_name == "cases" and diag.column_name == "version"
    return "NOT NULL constraint failed: cases.version" in str(orig)
