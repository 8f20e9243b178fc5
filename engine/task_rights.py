"""Who may act on a task: its holder while still a candidate, and a receiving district under a grant.

A task's candidate groups say who may work it. Holding it (claimed or handed on by 转办) is not enough once the
holder has left every one of them, moved to another district or department or lost the role (组织调整): they
may release it and see it in their 待办 marked as such, but no longer decide it (:func:`require_candidate`).
Tasks a receiving district does for another district's matter (``tb:right``) need the owning district's grant
(:func:`require_task_right`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from . import events as ev
from .calendar import business_date
from .errors import Forbidden
from .grants import require_grant

NOT_CANDIDATE_ANYMORE = "您已不在该任务的办理人员范围内（组织调整），请释放或由负责人转办"
"""Why the holder of a task may not act on it: shown on their 待办 row and in the 403 of the refusal."""


def still_candidate(actor: Any, candidate_groups: Iterable[str]) -> bool:
    """Whether ``actor`` is in one of the task's candidate groups now (their ``user:`` key counts)."""
    return not actor.groups.isdisjoint(candidate_groups)


def require_candidate(task: Any, actor: Any) -> None:
    """Refuse (403 ``NOT_CANDIDATE_ANYMORE``) an act on ``task`` by someone outside all of its candidate groups.

    Reads only the task row and the actor already loaded: no statement is added to the completion.
    """
    if not still_candidate(actor, task.candidate_groups):
        raise Forbidden(NOT_CANDIDATE_ANYMORE, code="NOT_CANDIDATE_ANYMORE",
                        details={"task_id": task.id, "candidate_groups": list(task.candidate_groups)})


def mark_former_candidates(actor: Any, rows: Iterable[Any], items: Iterable[dict[str, Any]]) -> None:
    """Set each inbox item's ``not_candidate``: why ``actor`` may no longer act on an open task they hold, or None."""
    for row, item in zip(rows, items):
        former = row.state == "open" and row.assignee == actor.username \
            and not still_candidate(actor, row.candidate_groups)
        item["not_candidate"] = NOT_CANDIDATE_ANYMORE if former else None


def require_task_right(uow: Any, case: Any, definition: Any, task: Any, now: datetime) -> list[ev.Event]:
    """Return the ``GrantExercised`` event that authorises the task, or raise ``GrantMissing``.

    Only tasks declaring ``<tb:right name=".."/>`` in a case received for another district (收件地 ≠ 业务属地,
    with a matter) need a grant; everything else returns no event. The grant is read in the caller's
    transaction, so the check and the completion it allows commit together.
    """
    info = definition.user_tasks.get(task.element_id)
    if info is None or info.right is None or case.owning_district == case.receiving_district:
        return []
    facts = uow.messages.case_facts(case.id)
    if not facts or not facts["matter_code"]:
        return []
    grant = require_grant(uow, matter_code=facts["matter_code"], owning=case.owning_district,
                          receiving=case.receiving_district, right=info.right, on=business_date(now))
    return [ev.GrantExercised(element_id=task.element_id, task_id=task.id, grant_id=grant.id, right=info.right,
                              owning_district=grant.owning_district, receiving_district=case.receiving_district)]
