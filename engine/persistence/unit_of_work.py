"""Unit of work: one connection, one transaction per command; rollback unless committed.

The hot path (case commands) runs Core statements on the connection directly; an ORM session bound to the
same connection and transaction is opened only when a repository needs it (deploy, users). Skipping the
session on the hot path saves a noticeable share of each command's time.

A unit also tells the process's calendar cache which calendar generation was committed when its command began
(:mod:`.calendar_generation`): the case repository reads it with the case row, :meth:`check_calendar` on its
own for a command that locks no case row first. And it is the command's calendar scope
(:meth:`~engine.calendar_functions.CalendarProvider.in_use`): every calendar read in it returns the calendar the
command read first, whose generation the command's first event records.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict
from .deferred import DeferredWrites, is_stale_version
from .application_repository import ApplicationRepository
from .message_repository import MessageRepository
from .audit_repository import ArchiveRepository, ChainHeadRepository
from .org_repository import OrgRepository
from .db import BUSY_TIMEOUT_MS
from .calendar_generation import READ_GENERATION
from .version_repository import VersionRepository
from .case_repository import CaseRepository
from .definition_repository import DefinitionRepository
from .supervision_repository import SupervisionRepository
from .extension_repository import ExtensionRepository
from .timer_repository import TimerRepository
from .user_repository import UserRepository


class SqlAlchemyUnitOfWork:
    """Opens a connection and a transaction on enter; ``commit()`` makes the work durable, else rollback.

    Races surface as :class:`Conflict`: a stale case version (another command wrote the case first), a
    unique-key collision, or a serialization failure or lock timeout reported by the database.
    """

    def __init__(self, engine: Engine, *, lock_timeout: float | None = None, calendar: Any = None):
        self.engine = engine
        self.connection: Connection | None = None
        self._session: Session | None = None
        self.lock_timeout = lock_timeout
        """Seconds to wait for a lock before a Conflict (``LOCK_TIMEOUT``); None: the database default."""
        self.calendar = calendar
        """The process's calendar cache (``observe(generation)``); None: nothing to tell."""
        self._calendar_observed = False
        self._calendar_scope: Any = None

    def __enter__(self) -> "SqlAlchemyUnitOfWork":
        self.connection = self.engine.connect()
        self.deferred = DeferredWrites(self.connection)
        try:
            self._begin()
        except DBAPIError as exc:
            self.deferred.discard()
            self._restore_busy_timeout()
            self.connection.close()
            if _is_serialization_failure(exc):
                raise Conflict("办件正被其他操作锁定，稍后重试", code="LOCK_TIMEOUT") from None
            raise
        self._session = None
        self._calendar_observed = False
        # The command's calendar reads all return the calendar it read first (recorded with its events).
        self._calendar_scope = self.calendar.in_use() if self.calendar is not None else None
        if self._calendar_scope is not None:
            self._calendar_scope.__enter__()
        self.cases = CaseRepository(self)
        self.definitions = DefinitionRepository(self)
        self.users = UserRepository(self)
        self.timers = TimerRepository(self)
        self.supervision = SupervisionRepository(self)
        self.extensions = ExtensionRepository(self)
        self.org = OrgRepository(self)
        self.applications = ApplicationRepository(self)
        self.messages = MessageRepository(self)
        self.versions = VersionRepository(self.connection)
        self.archives = ArchiveRepository(self)
        self.chain_heads = ChainHeadRepository(self)
        return self

    def _begin(self) -> None:
        sqlite = self.connection.dialect.name == "sqlite"
        if self.lock_timeout is not None and sqlite:
            # BEGIN IMMEDIATE waits for the database lock up to the connection's busy timeout.
            self.connection.connection.driver_connection.execute(
                f"PRAGMA busy_timeout={int(self.lock_timeout * 1000)}")
        self._transaction = self.connection.begin()
        if self.lock_timeout is not None and not sqlite:
            self.connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")

    @property
    def session(self) -> Session:
        """An ORM session joined to this unit's transaction, opened on first use."""
        if self._session is None:
            self._session = Session(bind=self.connection, join_transaction_mode="rollback_only",
                                    autoflush=False, expire_on_commit=False)
        return self._session

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        assert self.connection is not None
        try:
            self.deferred.discard()
            if self._session is not None:
                self._session.close()
            if self._transaction.is_active:
                self._transaction.rollback()
            self._restore_busy_timeout()
        finally:
            self.connection.close()
            self.connection = None
            if self._calendar_scope is not None:
                scope, self._calendar_scope = self._calendar_scope, None
                scope.__exit__(None, None, None)
        if isinstance(exc, DBAPIError) and _is_serialization_failure(exc):
            # A deadlock, lock timeout or serialization failure raised by a statement in the middle of the
            # command (BEGIN and COMMIT translate their own): rolled back above, so the caller may retry.
            raise Conflict("并发操作冲突，请重试") from None

    def _restore_busy_timeout(self) -> None:
        # The DBAPI connection goes back to the pool: give it the usual wait again.
        if self.lock_timeout is not None and self.connection.dialect.name == "sqlite":
            self.connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def observe_calendar(self, generation: int) -> None:
        """Tell the calendar cache the generation this unit read (with the case row: no statement of its own)."""
        if not self._calendar_observed:
            self._calendar_observed = True
            if self.calendar is not None:
                self.calendar.observe(generation)

    def check_calendar(self) -> None:
        """Make the calendar this command counts with no older than the committed one: one cheap statement.

        For a command that counts days before it locks a case row (opening a case); nothing when a case row
        read in this unit has told already, or when there is no calendar cache to tell.
        """
        if self._calendar_observed or self.calendar is None:
            return
        ((generation,),) = self.deferred.read(READ_GENERATION, {})
        self.observe_calendar(generation)

    def defer(self, statement: Any, parameters: Any) -> None:
        """Queue a write whose result nobody reads; it is sent before the next statement or with COMMIT.

        On PostgreSQL the queued writes and the COMMIT travel in one psycopg pipeline (one round trip).
        """
        self.deferred.add(statement, parameters)

    def commit(self) -> None:
        """Flush ORM changes and queued writes, and commit; translate races into Conflict (after rolling back)."""
        try:
            if self._session is not None:
                self._session.flush()
            self.deferred.send(commit=self._transaction.commit)
        except IntegrityError as exc:
            self._transaction.rollback()
            if is_stale_version(exc):
                raise Conflict("办件已被其他操作更新，请刷新后重试",
                               details={"case_id": self.deferred.case_id}) from None
            raise Conflict("数据与现有记录冲突，未作任何修改", details={"error": str(exc.orig)[:200]}) from None
        except DBAPIError as exc:
            self._transaction.rollback()
            if _is_serialization_failure(exc):
                raise Conflict("并发操作冲突，请重试") from None
            raise

    def flush(self) -> None:
        """Flush pending ORM changes (used before statements that depend on them)."""
        if self._session is not None:
            self._session.flush()


def _is_serialization_failure(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40001", "40P01", "55P03") or "database is locked" in str(exc.orig)
