"""The access log (查阅记录): who was handed which material file of which case, and when.

Reads are not case events: the hash chain of ``case_events`` records what happened to a case, and replay
re-runs it, so a download there would be an input that changes nothing. Downloads go to ``access_log``
instead, an append-only table like ``definition_log`` (the database refuses UPDATE and DELETE). A row is
written in its own transaction *before* the bytes leave, so a file is never handed out unrecorded; a
refusal for integrity (the stored bytes changed or vanished) is recorded too, since an auditor needs to
know someone tried and what the store held.

Auditors and administrators read the log (``GET /api/v1/access-log``, ``tongban audit access``, and a case's
rows on its history page).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock
from .commands import Actor
from .errors import Forbidden, InvalidInput
from .persistence.models import AccessLog, Case
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

READERS = frozenset({"auditor", "admin"})
"""Roles that may read the access log."""
OUTCOMES = {"served": "已下载", "corrupted": "文件校验不符，未提供", "missing": "文件缺失，未提供"}
"""Every outcome a row can carry, with the words the CLI prints."""
MAX_LIMIT = 1000

_log = AccessLog.__table__


def may_read_access_log(actor: Actor) -> bool:
    """Whether ``actor`` may read the access log (auditors and administrators)."""
    return bool(READERS.intersection(actor.roles))


@dataclass(frozen=True)
class AccessEntry:
    """One recorded read."""

    id: int
    at: datetime
    actor: str
    action: str
    case_id: int
    case_no: str
    resource: str
    sha256: str | None
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (``at`` stays a datetime; the API schema and the CLI format it)."""
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action,
                "case_id": self.case_id, "case_no": self.case_no, "resource": self.resource,
                "sha256": self.sha256, "outcome": self.outcome}


class AccessLogBook:
    """Append reads to the access log and list them for auditors.

    Args:
        sessions: read-only session factory (listing).
        uow: unit-of-work factory (each record is its own committed transaction).
        clock: the engine clock (the instant of each record).
    """

    def __init__(self, sessions: sessionmaker[Session], uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock):
        self.sessions = sessions
        self.uow = uow
        self.clock = clock

    def record(self, actor: Actor, *, case_id: int, case_no: str, resource: str, sha256: str | None,
               outcome: str, action: str = "material_download") -> None:
        """Append one row and commit it; a failure here propagates, so the caller serves nothing."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown access outcome {outcome!r}")
        with self.uow() as uow:
            uow.connection.execute(insert(_log).values(
                at=self.clock.now(), actor=actor.username, action=action, case_id=case_id, case_no=case_no,
                resource=resource, sha256=sha256, outcome=outcome))
            uow.commit()

    def entries(self, reader: Actor, *, case: str | None = None, actor: str | None = None,
                limit: int = 100) -> list[AccessEntry]:
        """List rows newest first, of one case (id or 办件编号) and/or one actor; auditors and admins only."""
        if not may_read_access_log(reader) and "system" not in reader.roles:
            raise Forbidden("只有审计员和管理员可以查看查阅记录")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit 应在 1 到 {MAX_LIMIT} 之间", details={"limit": limit})
        stmt = select(_log).order_by(_log.c.id.desc()).limit(limit)
        if case:
            stmt = stmt.where(_log.c.case_id == int(case)) if case.isdigit() else \
                stmt.where(_log.c.case_id == select(Case.id).where(Case.case_no == case).scalar_subquery())
        if actor:
            stmt = stmt.where(_log.c.actor == actor)
        with self.sessions() as session:
            return [AccessEntry(**row._mapping) for row in session.execute(stmt)]
