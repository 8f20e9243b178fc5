"""The access log (查阅记录): who was handed which material file of which case, and when.

Reads are not case events: the hash chain of ``case_events`` records what happened to a case, and replay
re-runs it, so a download there would be an input that changes nothing. Downloads go to ``access_log``
instead, an append-only table like ``definition_log`` (the database refuses UPDATE and DELETE). A row is
written in its own transaction *before* the bytes leave, so a file is never handed out unrecorded; a
refusal for integrity (the stored bytes changed or vanished) is recorded too, since an auditor needs to
know someone tried and what the store held.

Auditors and administrators read the log (``GET /api/v1/access-log``, ``tongban audit access``, and a case's
rows on its history page), newest first, a page at a time. Pages are keyset-paginated on ``id`` (no OFFSET):
ids grow in insert order, and ``id`` alone is what the primary key and the ``(case_id, id)`` and ``(actor, id)``
indexes serve, so every filter reads one index range. A cursor has the inbox's shape (:mod:`engine.inbox`:
URL-safe base64 of a small JSON document with the listing, the direction and the last row's key) plus the
``case`` and ``actor`` filters it was made for: handed to other filters it is refused
(``CURSOR_FILTER_MISMATCH``) instead of silently continuing another listing. Rows recorded while someone
pages are newer than the first page and never shift the older pages; the one gap is a record whose
single-insert transaction commits after a reader has already paged past its id (on PostgreSQL ids are
drawn before commit), which that walk does not show and a fresh first page does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from . import cursors
from .clock import Clock
from .commands import Actor
from .errors import BadRequest, Forbidden, InvalidInput, NotFound
from .persistence.models import AccessLog, Case
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

READERS = frozenset({"auditor", "admin"})
"""Roles that may read the access log."""
OUTCOMES = {"served": "已下载", "corrupted": "文件校验不符，未提供", "missing": "文件缺失，未提供"}
"""Every outcome a row can carry, with the words the CLI prints."""
MAX_LIMIT = 1000
_LISTING = ("access_log", "desc")
"""What a cursor of this log says it continues: the listing and its direction (newest first by ``id``)."""

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


@dataclass(frozen=True)
class AccessPage:
    """One page of the access log, newest first; ``next_cursor`` is None on the last page."""

    items: list[AccessEntry]
    next_cursor: str | None


def encode_cursor(last_id: int, *, case: str | None, actor: str | None) -> str:
    """The opaque, URL-safe cursor that continues after row ``last_id`` with the same ``case`` and ``actor``."""
    return cursors.pack({"s": _LISTING[0], "o": _LISTING[1], "k": [last_id],
                         "f": {"case": case or None, "actor": actor or None}})


def decode_cursor(cursor: str, *, case: str | None, actor: str | None) -> int:
    """The id a cursor continues after; refuse a malformed cursor and one made for other filters."""
    doc = cursors.unpack(cursor)
    try:
        (last_id,) = doc["k"]
        made_for = doc["f"]["case"], doc["f"]["actor"]
        if ((doc["s"], doc["o"]) != _LISTING or set(doc["f"]) != {"case", "actor"} or type(last_id) is not int
                or not 1 <= last_id < 2 ** 63 or not all(v is None or isinstance(v, str) for v in made_for)):
            raise ValueError("not a cursor of the access log")
    except (ValueError, TypeError, KeyError):
        raise InvalidInput(cursors.INVALID) from None
    asked = (case or None, actor or None)
    if made_for != asked:
        message = f"分页游标属于另一组筛选条件（{_describe(*made_for)}），不能用于当前筛选（{_describe(*asked)}）"
        raise BadRequest(message, code="CURSOR_FILTER_MISMATCH",
                         details={"cursor_filters": dict(zip(("case", "actor"), made_for, strict=True)),
                                  "filters": dict(zip(("case", "actor"), asked, strict=True))})
    return last_id


def _describe(case: str | None, actor: str | None) -> str:
    return f"办件 {case or '不限'}、用户 {actor or '不限'}"


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
                limit: int = 100, cursor: str | None = None) -> list[AccessEntry]:
        """The rows of one page of :meth:`page`, without the cursor that continues it."""
        return self.page(reader, case=case, actor=actor, limit=limit, cursor=cursor).items

    def page(self, reader: Actor, *, case: str | None = None, actor: str | None = None, limit: int = 100,
             cursor: str | None = None) -> AccessPage:
        """List up to ``limit`` rows newest first (by id), of one case (id or 办件编号) and/or one actor.

        ``cursor`` is the ``next_cursor`` of the previous page, for the same ``case`` and ``actor``: a malformed
        one is ``INVALID_INPUT``, one made for other filters 400 ``CURSOR_FILTER_MISMATCH``. Auditors and admins
        only (and the system actor of the CLI).
        """
        if not may_read_access_log(reader) and "system" not in reader.roles:
            raise Forbidden("只有审计员和管理员可以查看查阅记录")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit 应在 1 到 {MAX_LIMIT} 之间", details={"limit": limit})
        stmt = select(_log).order_by(_log.c.id.desc()).limit(limit + 1)
        if cursor:
            stmt = stmt.where(_log.c.id < decode_cursor(cursor, case=case, actor=actor))
        if actor:
            stmt = stmt.where(_log.c.actor == actor)
        with self.sessions() as session:
            if case:
                stmt = stmt.where(_log.c.case_id == _case_id(session, case))
            rows = [AccessEntry(**row._mapping) for row in session.execute(stmt)]
        if len(rows) <= limit:
            return AccessPage(rows, None)
        return AccessPage(rows[:limit], encode_cursor(rows[limit - 1].id, case=case, actor=actor))


def _case_id(session: Session, case: str) -> int:
    """The id of the case named by id or 办件编号; NOT_FOUND for one that does not exist.

    A mistyped case must not read as "nobody ever opened its materials".
    """
    by_id = case.isdigit() and int(case) < 2 ** 63
    found = session.scalar(select(Case.id).where(Case.id == int(case) if by_id else Case.case_no == case))
    if found is None:
        raise NotFound(f"办件 {case} 不存在", details={"case": case})
    return int(found)
