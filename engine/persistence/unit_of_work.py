"""Unit of work: one session, one transaction per command; rollback unless committed."""
from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from ..errors import Conflict
from .repository import CaseRepository, DefinitionRepository, UserRepository


class SqlAlchemyUnitOfWork:
    """Opens a session on enter; ``commit()`` makes the work durable, anything else rolls it back.

    Races surface as :class:`Conflict`: a stale case version (another command wrote the case first), a
    unique-key collision, or a serialization failure reported by the database.
    """

    def __init__(self, session_factory: sessionmaker[Session]):
        self.session_factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> "SqlAlchemyUnitOfWork":
        self.session = self.session_factory()
        self.definitions = DefinitionRepository(self.session)
        self.cases = CaseRepository(self.session)
        self.users = UserRepository(self.session)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        """Flush and commit; translate races into Conflict (and roll back)."""
        assert self.session is not None
        try:
            self.session.commit()
        except StaleDataError:
            self.session.rollback()
            raise Conflict("办件已被其他操作更新，请刷新后重试") from None
        except IntegrityError as exc:
            self.session.rollback()
            raise Conflict("数据与现有记录冲突，未作任何修改", details={"error": str(exc.orig)[:200]}) from None
        except DBAPIError as exc:
            self.session.rollback()
            if _is_serialization_failure(exc):
                raise Conflict("并发操作冲突，请重试") from None
            raise

    def flush(self) -> None:
        """Flush pending ORM changes (used before bulk statements that depend on them)."""
        assert self.session is not None
        self.session.flush()


def _is_serialization_failure(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)
