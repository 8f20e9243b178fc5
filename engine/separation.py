"""Separation of duties (职责分离): who may not act on a task because of what they did on the same case.

A user task declares ``<tb:assignment separateFrom="review,...">``. Whoever completed, or now holds, one of
those tasks on the same case may neither claim nor complete it, nor be given it by 转办. When a task names
itself, the rule binds the instances of one multi-instance activation (会签): 行政许可法第三十四条 wants
实质核查 by two or more staff, so the same reviewer may not do two instances of one round. An earlier round
of the same task (a loop back to it) does not bind, and redoing one's own instance after a 退回 is allowed.
"""
from __future__ import annotations

from typing import Any, Iterable

from .deployment import LoadedDefinition
from .errors import Conflict
from .persistence.case_records import TaskRecord


class SeparationOfDuties(Conflict):
    """The user already acted on a task this one must be kept apart from (``SEPARATION_OF_DUTIES``)."""

    code = "SEPARATION_OF_DUTIES"


def check_separation(uow: Any, definition: LoadedDefinition, task: TaskRecord, username: str) -> None:
    """Raise SeparationOfDuties when ``username`` completed or holds a task ``task`` is separated from."""
    info = definition.user_tasks.get(task.element_id)
    if info is None or not info.separate_from:
        return
    refusal = find_conflict(definition, task, uow.cases.performed_tasks(task.case_id, info.separate_from, username),
                            username)
    if refusal is not None:
        raise refusal


def find_conflict(definition: LoadedDefinition, task: Any, performed: Iterable[Any],
                  username: str) -> SeparationOfDuties | None:
    """The refusal for ``username`` on ``task`` given the case's tasks they completed or hold, or None.

    ``task`` and each of ``performed`` need ``id``, ``spiff_task_id``, ``element_id`` and ``activation``;
    ``performed`` may hold tasks of other cases or elements (they are skipped), so that one query can serve
    a whole inbox page.
    """
    info = definition.user_tasks.get(task.element_id)
    if info is None or not info.separate_from:
        return None
    for other in performed:
        if other.case_id != task.case_id or other.element_id not in info.separate_from:
            continue
        if other.id == task.id or other.spiff_task_id == task.spiff_task_id:
            continue  # the task itself, or the same instance before a 退回
        if other.element_id == task.element_id and other.activation != task.activation:
            continue  # another round of this task
        done = "办理" if other.state == "completed" else "认领"
        here = info.name
        there = definition.user_tasks[other.element_id].name if other.element_id in definition.user_tasks \
            else other.element_id
        what = f"本轮另一份“{there}”" if other.element_id == task.element_id else f"“{there}”"
        return SeparationOfDuties(f"按职责分离要求，“{here}”须由其他工作人员办理：{username} 已{done}{what}",
                                  details={"task_id": task.id, "conflicting_task_id": other.id,
                                           "element_id": other.element_id, "user": username})
    return None
