"""The read side: inbox and case queries straight from the tables, never deserializing a workflow."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from .commands import Actor
from .errors import InvalidInput, NotFound
from .persistence.models import Case, CaseEvent, ProcessDefinition, TaskCandidate, TaskItem

SCOPES = ("all", "mine", "available", "completed")
_OVERSEERS = {"admin", "auditor", "supervisor"}


@dataclass(frozen=True)
class TaskPage:
    """One page of an inbox listing; ``next_cursor`` is None on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def task_view(task: TaskItem, case: Case) -> dict[str, Any]:
    """Return the API shape of one inbox row."""
    return {
        "id": task.id, "case_id": case.id, "case_no": case.case_no, "process_key": task.process_key,
        "element_id": task.element_id, "name": task.name, "lane": task.lane, "form_key": task.form_key,
        "state": task.state, "assignee": task.assignee, "candidate_groups": list(task.candidate_groups),
        "district": task.district, "created_at": task.created_at, "claimed_at": task.claimed_at,
        "completed_at": task.completed_at, "completed_by": task.completed_by, "due_at": task.due_at,
        "light": task.light, "case_title": case.title,
    }


class Queries:
    """Inbox and case reads for one actor at a time; visibility is part of every query."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def tasks(self, actor: Actor, *, scope: str = "all", process_key: str | None = None,
              limit: int = 50, cursor: str | None = None) -> TaskPage:
        """List tasks visible to ``actor`` in ``scope``, oldest first, keyset-paginated by (created_at, id)."""
        if scope not in SCOPES:
            raise InvalidInput(f"scope 应为 {'/'.join(SCOPES)} 之一")
        if not 1 <= limit <= 200:
            raise InvalidInput("limit 应在 1 到 200 之间")
        stmt = select(TaskItem, Case).join(Case, Case.id == TaskItem.case_id)
        mine = TaskItem.assignee == actor.username
        in_groups = exists().where(TaskCandidate.task_id == TaskItem.id,
                                   TaskCandidate.group_key.in_(sorted(actor.groups)))
        available = and_(TaskItem.assignee.is_(None), in_groups)
        if scope == "completed":
            stmt = stmt.where(TaskItem.state == "completed", TaskItem.completed_by == actor.username)
        else:
            where = {"mine": mine, "available": available, "all": or_(mine, available)}[scope]
            stmt = stmt.where(TaskItem.state == "open", where)
        if process_key:
            stmt = stmt.where(TaskItem.process_key == process_key)
        if cursor:
            at, last_id = _decode_cursor(cursor)
            stmt = stmt.where(or_(TaskItem.created_at > at, and_(TaskItem.created_at == at, TaskItem.id > last_id)))
        stmt = stmt.order_by(TaskItem.created_at, TaskItem.id).limit(limit + 1)
        with self.sessions() as session:
            rows = session.execute(stmt).all()
        items = [task_view(t, c) for t, c in rows[:limit]]
        more = len(rows) > limit
        return TaskPage(items, _encode_cursor(rows[limit - 1][0]) if more else None)

    def task(self, actor: Actor, task_id: int) -> dict[str, Any]:
        """Return one task the actor may see (404 otherwise)."""
        stmt = select(TaskItem, Case).join(Case, Case.id == TaskItem.case_id).where(TaskItem.id == task_id)
        with self.sessions() as session:
            row = session.execute(stmt).one_or_none()
        if row is None or not _sees_task(actor, row[0]):
            raise NotFound("任务不存在或无权访问", details={"task_id": task_id})
        return task_view(row[0], row[1])

    def case(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """Return a case with its open tasks and event count, if the actor may see it."""
        with self.sessions() as session:
            case = session.get(Case, case_id)
            if case is None or not self._sees_case(session, actor, case):
                raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
            tasks = session.scalars(select(TaskItem).where(TaskItem.case_id == case_id)
                                    .order_by(TaskItem.created_at, TaskItem.id)).all()
            return {
                "id": case.id, "case_no": case.case_no, "process_key": case.process_key,
                "business_key": case.business_key, "title": case.title, "status": case.status,
                "stage": case.stage, "owning_district": case.owning_district,
                "receiving_district": case.receiving_district, "started_by": case.started_by,
                "started_at": case.started_at, "updated_at": case.updated_at, "ended_at": case.ended_at,
                "version": case.version, "event_count": case.event_seq, "chain_head": case.chain_head,
                "tasks": [task_view(t, case) for t in tasks],
            }

    def definitions(self, process_key: str | None = None) -> list[dict[str, Any]]:
        """Return deployed definition versions, newest first per key."""
        stmt = select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
        if process_key:
            stmt = stmt.where(ProcessDefinition.process_key == process_key)
        with self.sessions() as session:
            return [{"id": d.id, "process_key": d.process_key, "version": d.version, "name": d.name,
                     "content_hash": d.content_hash, "deployed_at": d.deployed_at, "deployed_by": d.deployed_by}
                    for d in session.scalars(stmt)]

    def events(self, case_id: int) -> Sequence[CaseEvent]:
        """Return a case's audit events in order (for verification and history)."""
        with self.sessions() as session:
            return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                   .order_by(CaseEvent.seq)).all()

    @staticmethod
    def _sees_case(session: Session, actor: Actor, case: Case) -> bool:
        if _OVERSEERS.intersection(actor.roles) or case.started_by == actor.username:
            return True
        involved = select(TaskItem.id).where(TaskItem.case_id == case.id).where(or_(
            TaskItem.assignee == actor.username, TaskItem.completed_by == actor.username,
            exists().where(TaskCandidate.task_id == TaskItem.id,
                           TaskCandidate.group_key.in_(sorted(actor.groups))))).limit(1)
        return session.scalar(involved) is not None


def _sees_task(actor: Actor, task: TaskItem) -> bool:
    return (task.assignee == actor.username or task.completed_by == actor.username
            or bool(actor.groups.intersection(task.candidate_groups)))


def _encode_cursor(task: TaskItem) -> str:
    # Opaque and URL-safe, so clients can paste it into a query string as is.
    raw = f"{task.created_at.isoformat()}|{task.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, last_id = raw.rsplit("|", 1)
        return datetime.fromisoformat(at), int(last_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("分页游标无效") from None
