"""Unit of work: one connection, one transaction per command; rollback unless committed.

The hot path (case commands) runs Core statements on the connection directly; an ORM session bound to the
same connection and transaction is opened only when a repository needs it (deploy, users). Skipping the
session on the hot path saves a noticeable share of each command's time.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict
from .application_repository import ApplicationRepository
from .audit_repository import ArchiveRepository, ChainHeadRepository
from .org_repository import OrgRepository
from .repository import (
    CaseRepository, DefinitionRepository, SupervisionRepository, TimerRepository, UserRepository,
)


class SqlAlchemyUnitOfWork:
    """Opens a connection and a transaction on enter; ``commit()`` makes the work durable, else rollback.

    Races surface as :class:`Conflict`: a stale case version (another command wrote the case first), a
    unique-key collision, or a serialization failure or lock timeout reported by the database.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.connection: Connection | None = None
        self._session: Session | None = None

    def __enter__(self) -> "SqlAlchemyUnitOfWork":
        self.connection = self.engine.connect()
        self._transaction = self.connection.begin()
        self._session = None
        self.cases = CaseRepository(self)
        self.definitions = DefinitionRepository(self)
        self.users = UserRepository(self)
        self.timers = TimerRepository(self)
        self.supervision = SupervisionRepository(self)
        self.org = OrgRepository(self)
        self.applications = ApplicationRepository(self)
        self.archives = ArchiveRepository(self)
        self.chain_heads = ChainHeadRepository(self)
        return self

    @property
    def session(self) -> Session:
        """An ORM session joined to this unit's transaction, opened on first use."""
        if self._session is None:
            self._session = Session(bind=self.connection, join_transaction_mode="rollback_only",
                                    autoflush=False, expire_on_commit=False)
        return self._session

    def __exit__(self, *exc_info: Any) -> None:
        assert self.connection is not None
        try:
            if self._session is not None:
                self._session.close()
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()
            self.connection = None

    def commit(self) -> None:
        """Flush ORM changes and commit; translate races into Conflict (after rolling back)."""
        try:
            if self._session is not None:
                self._session.flush()
            self._transaction.commit()
        except IntegrityError as exc:
            self._transaction.rollback()
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
