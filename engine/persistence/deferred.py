"""Writes queued by a unit of work and sent together: one round trip with COMMIT on PostgreSQL.

A command's last writes (audit events, candidate rows, the task and case updates) need no answer from the
database, so they wait in a queue until the next statement or COMMIT. On PostgreSQL the queue and the COMMIT
go out in one psycopg pipeline with a single Sync (one round trip); on SQLite the same statements run one after
another. Any statement executed on the connection while writes are queued sends them first (a
``before_execute`` listener), so a read in the same transaction always sees them.

The statements the hot path queues are registered with :func:`hot`: each is compiled once per dialect and
parameter shape, and then runs straight on the DBAPI cursor (see :class:`CompiledWrite`). SQLAlchemy's
per-statement work (cache key, execution context, result object) cost more than the database itself did on
SQLite. Anything else queued runs through ``Connection.execute`` as usual.

Nothing a write queued here returns can be read, including its row count. The one write whose outcome
matters, the case row's version check, is therefore enforced by the database: the UPDATE sets ``version``
to NULL when the stored version is not the one the command read, the NOT NULL constraint refuses it, and
the whole transaction rolls back (:func:`is_stale_version` recognises the error).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from .types import UtcDateTime

_QUEUE = "tongban_deferred_writes"
_HOT: dict[int, tuple[Any, dict[tuple[Any, ...], "CompiledWrite | None"], bool]] = {}


def hot(statement: Any, *, returning: bool = False) -> Any:
    """Register a statement built once as a hot write; return it unchanged.

    ``returning``: an INSERT ... RETURNING whose rows the command reads (:meth:`DeferredWrites.fetch`).
    """
    _HOT[id(statement)] = (statement, {}, returning)
    return statement


class CompiledWrite:
    """A hot statement compiled once for a dialect and a parameter shape, executed on the DBAPI cursor.

    It is compiled exactly as ``Connection.execute`` compiles it (``column_keys`` are the parameter names),
    and its parameters pass through the same bind processors (type decorators, JSON, dates). Only plain
    shapes qualify: no expanding IN, no Python-side column defaults, no renamed parameters, no schema
    translation, and RETURNING only where registered for it and the returned columns need no conversion.
    Literal values in the statement (``state = 'open'``) are bound as SQLAlchemy binds them.
    :meth:`for_statement` answers None for any other shape, which then runs through SQLAlchemy as usual.
    Listeners of ``before_cursor_execute`` and ``after_cursor_execute`` still see every statement.
    """

    __slots__ = ("sql", "order", "processors", "constants")

    def __init__(self, compiled: Any):
        self.sql: str = compiled.string
        self.order: tuple[str, ...] | None = tuple(compiled.positiontup) if compiled.positional else None
        instant = _INSTANT_PROCESSORS.setdefault(type(compiled.dialect), {})
        self.processors: dict[str, Callable[[Any], Any]] = {
            name: instant.setdefault(type(compiled.binds[name].type), _last_value_remembered(process))
            if type(compiled.binds[name].type) in _PARAMETERLESS_INSTANTS else process
            for name, process in compiled._bind_processors.items()}
        self.constants = {compiled.bind_names[bind]: bind.effective_value
                          for bind in compiled.binds.values() if not bind.required}

    @classmethod
    def for_statement(cls, connection: Connection, statement: Any, parameters: Any) -> "CompiledWrite | None":
        """Return the compiled form of a registered ``statement`` for these parameters, or None."""
        entry = _HOT.get(id(statement))
        if entry is None or entry[0] is not statement:
            return None
        many = isinstance(parameters, list)
        rows = parameters if many else [parameters]
        if not rows or not isinstance(rows[0], dict):
            return None
        first = rows[0].keys()
        if many and any(row.keys() != first for row in rows):
            return None
        dialect = connection.dialect
        shape = (type(dialect), dialect.server_version_info, tuple(first), many)
        compiled_writes = entry[1]
        if shape not in compiled_writes:
            compiled_writes[shape] = cls._compile(dialect, statement, tuple(sorted(first)), many, entry[2])
        return compiled_writes[shape]

    @classmethod
    def _compile(cls, dialect: Any, statement: Any, keys: tuple[str, ...], many: bool,
                 returning: bool) -> "CompiledWrite | None":
        compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=many)
        binds = compiled.binds.values()
        # Rows read back must need no result processing (ids and plain strings).
        answers = (not many and bool(compiled.effective_returning)
                   and all(c.type._cached_result_processor(dialect, None) is None
                           for c in compiled.effective_returning)) if returning else not compiled.effective_returning
        plain = (answers and not compiled.insert_prefetch and not compiled.update_prefetch
                 and all(not b.expanding and (not b.required or compiled.bind_names[b] == b.key) for b in binds)
                 and {b.key for b in binds if b.required} <= set(keys))
        return cls(compiled) if plain else None

    def bind(self, values: dict[str, Any]) -> Any:
        """The DBAPI parameters for one row: processed, as a tuple (positional) or a dict (named)."""
        if self.constants:
            values = {**self.constants, **values}
        processors = self.processors
        if self.order is not None:
            return tuple(processors[name](values[name]) if name in processors else values[name]
                         for name in self.order)
        return {name: processors[name](value) if name in processors else value for name, value in values.items()}

    def run(self, connection: Connection, cursor: Any, parameters: Any) -> None:
        """Execute on ``cursor`` (executemany for a list of rows), with the cursor events SQLAlchemy fires."""
        many = isinstance(parameters, list)
        bound = [self.bind(row) for row in parameters] if many else self.bind(parameters)
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, self.sql, bound, None, many)
        sql_log = connection.engine.logger
        if sql_log.isEnabledFor(logging.INFO):  # echo (TONGBAN_SQL_ECHO) shows these like any statement
            sql_log.info("%s", self.sql)
            sql_log.info("[compiled write] %r", bound)
        try:
            if many:
                cursor.executemany(self.sql, bound)
            else:
                cursor.execute(self.sql, bound)
        except connection.dialect.loaded_dbapi.Error as exc:
            dialect = connection.dialect
            lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
            if lost:
                connection.invalidate(exc)
            raise DBAPIError.instance(self.sql, bound, exc, dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=dialect) from exc
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, self.sql, bound, None, many)

    def fetch(self, connection: Connection, cursor: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Execute a RETURNING statement on ``cursor`` and return its rows."""
        self.run(connection, cursor, parameters)
        return [tuple(row) for row in cursor.fetchall()]


_PARAMETERLESS_INSTANTS = (UtcDateTime,)
"""Types whose bind processors are alike for every column of a dialect, so that they can share one memo."""
_INSTANT_PROCESSORS: dict[type, dict[type, Callable[[Any], Any]]] = {}


def _last_value_remembered(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` answering again at once for the very value (object) it was last given.

    A command binds its one ``now`` in many columns and rows (created_at, updated_at, occurred_at ...);
    converting it to UTC and, on SQLite, to text each time was a visible share of the writes. Datetimes are
    immutable, so the same object always converts alike, and every :class:`UtcDateTime` column of a dialect
    converts alike, so they share one memo. The pair is replaced as a whole (thread-safe).
    """
    last: list[tuple[Any, Any]] = [(_UNSET, None)]

    def remembered(value: Any) -> Any:
        seen, answer = last[0]
        if value is seen:
            return answer
        answer = process(value)
        last[0] = (value, answer)
        return answer
    return remembered


_UNSET = object()


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
        self.send()
        compiled = CompiledWrite.for_statement(self.connection, statement, parameters) if self.compiled else None
        if compiled is None:
            return [tuple(row) for row in self.connection.execute(statement, parameters)]
        cursor = self.connection.connection.dbapi_connection.cursor()
        try:
            return compiled.fetch(self.connection, cursor, parameters)
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
