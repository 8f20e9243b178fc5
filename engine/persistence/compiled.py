"""Hot statements compiled once and run straight on the DBAPI cursor, with SQLAlchemy's own conversions.

On the approval benchmark SQLAlchemy's per-statement work (cache key, execution context, result object)
cost more than SQLite itself did for the same statements. A statement the hot path runs on every command is
registered with :func:`hot` where it is built; :class:`CompiledWrite` and :class:`CompiledRead` compile it
once per dialect and parameter shape exactly as ``Connection.execute`` would, convert parameters and rows with
the same type processors, and fire the same cursor events (statement counters and SQL echo still see every
statement). Any shape they cannot reproduce exactly runs through SQLAlchemy instead.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import sqlalchemy
from sqlalchemy import JSON, BigInteger, Boolean, Connection, DateTime, Integer, String, Text
from sqlalchemy.exc import DBAPIError

from .types import UtcDateTime

_log = logging.getLogger(__name__)
_INTERNALS_CHANGED = (AttributeError, KeyError, TypeError)
"""What reading SQLAlchemy's private compiler attributes raises when a release has changed them."""

_HOT: dict[int, tuple[Any, dict[tuple[Any, ...], Any], bool]] = {}
"""id(statement) -> (statement, its compiled forms by dialect and parameter shape, RETURNING allowed)."""


def hot(statement: Any, *, returning: bool = False) -> Any:
    """Register a statement built once (a write, or a SELECT read with ``DeferredWrites.read``); return it.

    ``returning``: an INSERT ... RETURNING whose rows the command reads (``DeferredWrites.fetch``).
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
            compiled_writes[shape] = _or_none(cls._compile, dialect, statement, tuple(sorted(first)), many,
                                              entry[2])
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
        dialect = connection.dialect
        try:
            # Listeners of do_execute / do_executemany may run the statement themselves, as in SQLAlchemy
            # (on PostgreSQL the first statement of a transaction carries its BEGIN: engine/persistence/db.py).
            hooks = dialect.dispatch.do_executemany if many else dialect.dispatch.do_execute
            if not any(hook(cursor, self.sql, bound, None) for hook in hooks):
                if many:
                    cursor.executemany(self.sql, bound)
                else:
                    cursor.execute(self.sql, bound)
        except dialect.loaded_dbapi.Error as exc:
            lost = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
            if lost:
                connection.invalidate(exc)
            raise DBAPIError.instance(self.sql, bound, exc, dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=dialect) from exc
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, self.sql, bound, None, many)

    def rows(self, connection: Connection, cursor: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
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


def _or_none(compile_: Callable[..., Any], dialect: Any, statement: Any, *args: Any) -> Any:
    """``compile_(dialect, statement, *args)``, or None (run through SQLAlchemy) when its internals changed."""
    try:
        return compile_(dialect, statement, *args)
    except _INTERNALS_CHANGED as exc:
        _log.warning("hot statement not compiled (SQLAlchemy %s internals differ: %s: %s); it runs through "
                     "Connection.execute: %s", sqlalchemy.__version__, type(exc).__name__, exc,
                     " ".join(str(statement).split())[:80])
        return None


_PLAIN_RESULT_TYPES = (BigInteger, Integer, String, Text, Boolean, DateTime, JSON, UtcDateTime)
"""Column types whose result conversion needs nothing from the cursor's description."""


class CompiledRead:
    """A hot SELECT compiled once per dialect, run on the cursor, its rows converted as SQLAlchemy converts them.

    The statement's parameters go through :class:`CompiledWrite`'s binding; each column of a row through its
    type's result processor (UTC instants, JSON on SQLite, booleans). Only statements whose columns are all
    of the plain types above qualify; :meth:`for_statement` answers None for any other.
    """

    __slots__ = ("statement", "processors")

    def __init__(self, statement: CompiledWrite, processors: list[Callable[[Any], Any] | None]):
        self.statement = statement
        self.processors = processors

    @classmethod
    def for_statement(cls, connection: Connection, statement: Any, parameters: dict[str, Any]) -> "CompiledRead | None":
        """Return the compiled form of a registered SELECT for these parameters, or None."""
        entry = _HOT.get(id(statement))
        if entry is None or entry[0] is not statement or not isinstance(parameters, dict):
            return None
        dialect = connection.dialect
        shape = (type(dialect), dialect.server_version_info, tuple(parameters), "read")
        compiled_reads = entry[1]
        if shape not in compiled_reads:
            compiled_reads[shape] = _or_none(cls._compile, dialect, statement, tuple(sorted(parameters)))
        return compiled_reads[shape]

    @classmethod
    def _compile(cls, dialect: Any, statement: Any, keys: tuple[str, ...]) -> "CompiledRead | None":
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        binds = compiled.binds.values()
        columns = compiled._result_columns
        plain = (bool(columns) and all(isinstance(getattr(c.type, "impl", c.type), _PLAIN_RESULT_TYPES)
                                       or isinstance(c.type, _PLAIN_RESULT_TYPES) for c in columns)
                 and all(not b.expanding and (not b.required or compiled.bind_names[b] == b.key) for b in binds)
                 and {b.key for b in binds if b.required} <= set(keys))
        if not plain:
            return None
        return cls(CompiledWrite(compiled), [c.type._cached_result_processor(dialect, None) for c in columns])

    def rows(self, connection: Connection, cursor: Any, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Execute on ``cursor`` and return every row, converted."""
        self.statement.run(connection, cursor, parameters)
        processors = self.processors
        return [tuple(value if process is None else process(value) for process, value in zip(processors, row))
                for row in cursor.fetchall()]
