"""The read side of 好差评: ratings as people may see them, their 差评整改 progress, and the statistics.

Statistics leave out ratings removed by an upheld appeal (申诉成立); the rows stay and are counted apart.
Who sees what: administrators, auditors and city supervisors (市级) every rating; supervisors and window
clerks their district's; reviewers and department heads their own department's. Staff views leave through
:func:`engine.masking.mask_for_roles`, as case views do: an ID number the applicant wrote into a comment (or
an appeal reason into the removal) is masked unless the reader's role needs it in full.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .clock import CST
from .commands import Actor
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .masking import mask_for_roles
from .persistence.models import Case, Rating, TaskItem
from .ratings import BAD_SCORES, CHANNELS, LEVELS, STATUSES

CITY = "500000"
RECTIFICATION_STAGES = {"rectify": "整改中", "rectify_more": "再次整改中", "appeal_review": "申诉复核中",
                        "revisit": "回访中"}
MAX_RANGE_DAYS = 3660


def rating_scope(actor: Actor) -> tuple[str | None, str | None] | None:
    """Return the (district, department) an actor's rating reads are limited to; None for no access."""
    roles = set(actor.roles)
    if roles & {"admin", "auditor"} or ("supervisor" in roles and actor.district == CITY):
        return None, None
    if roles & {"supervisor", "window_clerk"} and actor.district:
        return actor.district, None
    if roles & {"reviewer", "department_head"} and actor.district and actor.department:
        return actor.district, actor.department
    raise Forbidden("无权查看好差评")


def rating_view(row: Any) -> dict[str, Any]:
    """Return a ratings row as the API shows it (without the rectification progress)."""
    removed = None if row.removed_at is None else {"at": row.removed_at, "by": row.removed_by,
                                                  "reason": row.removed_reason}
    return {"id": row.id, "case_id": row.case_id, "case_no": row.case_no, "matter_code": row.matter_code,
            "district": row.district, "department": row.department, "score": row.score,
            "level": LEVELS.get(row.score, str(row.score)), "bad": row.score in BAD_SCORES,
            "channel": row.channel, "channel_name": CHANNELS.get(row.channel, row.channel),
            "comment": row.comment, "source": row.source, "rated_by": row.rated_by, "rated_at": row.rated_at,
            "status": row.status, "status_label": STATUSES.get(row.status, row.status), "removed": removed,
            "rectification_case_id": row.rectification_case_id}


class RatingReads:
    """Reads of the ``ratings`` table and of the 差评整改 cases it points at."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def list(self, actor: Actor, *, district: str | None = None, department: str | None = None,
             status: str | None = None, bad_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Return ratings the actor may see, newest first, filtered."""
        stmt = _scoped(select(Rating), actor, district, department).order_by(Rating.rated_at.desc(),
                                                                              Rating.id.desc())
        if status:
            stmt = stmt.where(Rating.status == status)
        if bad_only:
            stmt = stmt.where(Rating.score.in_(sorted(BAD_SCORES)))
        with self.sessions() as session:
            return [mask_for_roles(actor.roles, rating_view(row))
                    for row in session.scalars(stmt.limit(max(1, min(limit, 500))))]

    def case_id_for(self, case_no: str) -> int:
        """Return the id of the case with this 办件编号 (404 with the same words as a forbidden case)."""
        with self.sessions() as session:
            found = session.scalar(select(Case.id).where(Case.case_no == case_no.strip()))
        if found is None:
            raise NotFound("办件不存在或无权访问", details={"case_no": case_no.strip()})
        return int(found)

    def get(self, actor: Actor, rating_id: int) -> dict[str, Any]:
        """Return one rating with its 差评整改 progress (404 when unknown or outside the actor's scope)."""
        stmt = _scoped(select(Rating), actor, None, None, explicit=False).where(Rating.id == rating_id)
        with self.sessions() as session:
            row = session.scalars(stmt).first()
            if row is None:
                raise NotFound("评价不存在或无权访问", details={"rating_id": rating_id})
            return mask_for_roles(actor.roles, {**rating_view(row),
                                                "rectification": _progress(session, row.rectification_case_id)})

    def of_case(self, case_id: int) -> dict[str, Any] | None:
        """Return the rating of a case with its progress, or None, unmasked (the applicant's own view).

        Staff callers mask it for the reader (:func:`engine.masking.mask_for_roles`).
        """
        with self.sessions() as session:
            row = session.scalars(select(Rating).where(Rating.case_id == case_id)).first()
            if row is None:
                return None
            return {**rating_view(row), "rectification": _progress(session, row.rectification_case_id)}

    def open_task(self, actor: Actor, rating_id: int, element_ids: Sequence[str]) -> int:
        """Return the id of the rating's open 差评整改 task at one of ``element_ids``.

        Raises:
            NotFound: unknown rating, or outside the actor's scope.
            Forbidden: the actor sees the rating but is not among the task's candidates (a window clerk of the
                district appealing for the department); answered for the rating, never naming the task.
            Conflict: ``RECTIFICATION_STEP_CLOSED`` when no such task is open now.
        """
        found = self.get(actor, rating_id)
        progress = found["rectification"]
        for task in (progress or {}).get("tasks", ()):
            if task["state"] == "open" and task["element_id"] in element_ids:
                self._require_candidate(actor, rating_id, int(task["id"]))
                return int(task["id"])
        raise Conflict("该评价当前没有待办的此环节（可能尚未到此环节或已办结）", code="RECTIFICATION_STEP_CLOSED",
                       details={"rating_id": rating_id, "status": found["status"]})

    def _require_candidate(self, actor: Actor, rating_id: int, task_id: int) -> None:
        with self.sessions() as session:
            task = session.get(TaskItem, task_id)
        if task is None or task.assignee == actor.username or actor.groups.intersection(task.candidate_groups or ()):
            return   # a vanished task is the completion's to report; an assignee or a candidate may go on
        raise Forbidden(f"您不是该评价“{task.name}”环节的办理人（申诉由责任部门提出，申诉复核由电子监察人员作出）",
                        details={"rating_id": rating_id})

    def stats(self, actor: Actor, *, district: str | None = None, department: str | None = None,
              since: date | None = None, until: date | None = None) -> dict[str, Any]:
        """Count ratings per level in scope and period (business dates, inclusive); removed ones apart."""
        if since and until and since > until:
            raise BadRequest("起始日期不能晚于截止日期", code="DATE_RANGE_INVALID",
                             details={"from": since.isoformat(), "to": until.isoformat()})
        if since and until and (until - since).days > MAX_RANGE_DAYS:
            raise BadRequest("统计区间不能超过 10 年", code="DATE_RANGE_INVALID")
        stmt = _scoped(select(Rating.score, Rating.removed_at.is_(None).label("kept"), func.count()),
                       actor, district, department)
        if since:
            stmt = stmt.where(Rating.rated_at >= datetime.combine(since, time(0), tzinfo=CST))
        if until:
            stmt = stmt.where(Rating.rated_at < datetime.combine(until + timedelta(days=1), time(0), tzinfo=CST))
        stmt = stmt.group_by(Rating.score, Rating.removed_at.is_(None))
        counts = {score: 0 for score in LEVELS}
        removed = 0
        with self.sessions() as session:
            for score, kept, count in session.execute(stmt):
                if kept:
                    counts[score] = counts.get(score, 0) + int(count)
                else:
                    removed += int(count)
        total = sum(counts.values())
        bad = sum(counts[s] for s in BAD_SCORES)
        return {"total": total, "good": total - bad, "bad": bad, "removed": removed,
                "good_rate": round((total - bad) / total, 4) if total else None,
                "by_level": [{"score": s, "level": LEVELS[s], "count": counts[s]} for s in sorted(LEVELS)],
                "district": district, "department": department,
                "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}


def _scoped(stmt: Any, actor: Actor, district: str | None, department: str | None, *,
            explicit: bool = True) -> Any:
    """Limit ``stmt`` to the actor's scope and the requested district/department (403 outside the scope)."""
    own_district, own_department = rating_scope(actor)
    if explicit and ((own_district and district and district != own_district)
                     or (own_department and department and department != own_department)):
        raise Forbidden("只能查看本区县（本部门）的好差评")
    district, department = own_district or district, own_department or department
    if district:
        stmt = stmt.where(Rating.district == district)
    if department:
        stmt = stmt.where(Rating.department == department)
    return stmt


def _progress(session: Session, case_id: int | None) -> dict[str, Any] | None:
    if case_id is None:
        return None
    case = session.get(Case, case_id)
    if case is None:
        return None
    tasks = session.scalars(select(TaskItem).where(TaskItem.case_id == case_id)
                            .order_by(TaskItem.created_at, TaskItem.id)).all()
    open_now = [t for t in tasks if t.state == "open"]
    stage = "、".join(RECTIFICATION_STAGES.get(t.element_id, t.name) for t in open_now) or (
        "已办结" if case.status == "completed" else "办理中")
    return {"case_id": case.id, "case_no": case.case_no, "status": case.status, "stage": stage,
            "due_at": case.committed_due_at, "ended_at": case.ended_at,
            "tasks": [{"id": t.id, "element_id": t.element_id, "name": t.name, "state": t.state,
                       "assignee": t.assignee, "completed_by": t.completed_by, "completed_at": t.completed_at,
                       "due_at": t.inbox_due_at if t.state == "open" and t.inbox_due_at.year < 9999 else None}
                      for t in tasks]}
