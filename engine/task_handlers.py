"""Inbox commands beyond claim and complete: bulk claim, delegate (转办) and return (退回).

Each follows DESIGN §3 like the handlers in :mod:`engine.handlers`: lock the task with its case, check who
may act, change the workflow or the inbox row, record hash-chained events, commit once.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import events as ev
from .calendar_functions import case_clocks_bound
from .candidates import parse_candidate, user_groups
from .commands import Actor, ClaimTask, ClaimTasks, DelegateTask, ReturnTask
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .text_input import require_written
from .handlers import CaseRef, Services, _apply_step, _check_actionable, _record, claim_task
from .one_time_notice import RETURN_HINT, refuse_repeat_notice
from .persistence.case_records import TaskRecord
from .separation import check_separation

MAX_BULK_CLAIM = 100


@dataclass(frozen=True)
class ClaimOutcome:
    """What happened to one id of a bulk claim: ``claimed``, ``conflict`` or ``not_found``."""

    task_id: int
    result: str
    code: str | None = None
    message: str | None = None
    case_id: int | None = None


def claim_tasks(cmd: ClaimTasks, svc: Services) -> list[ClaimOutcome]:
    """Claim each task in its own transaction and report every id's outcome, in the order given.

    Not all-or-nothing on purpose: a reviewer ticking twenty rows wants the nineteen that are still free even
    if a colleague took one a moment ago, and one short lock per task keeps the claims from queueing behind
    each other. Ids the caller may not see are reported ``not_found``, exactly like a single claim.
    """
    ids = list(dict.fromkeys(cmd.task_ids))
    if not ids:
        raise InvalidInput("请至少选择一个任务")
    if len(ids) > MAX_BULK_CLAIM:
        raise InvalidInput(f"一次最多认领 {MAX_BULK_CLAIM} 个任务", details={"count": len(ids)})
    outcomes = []
    for task_id in ids:
        try:
            ref = claim_task(ClaimTask(task_id, cmd.actor), svc)
        except NotFound as exc:
            outcomes.append(ClaimOutcome(task_id, "not_found", exc.code, exc.message))
        except Conflict as exc:
            outcomes.append(ClaimOutcome(task_id, "conflict", exc.code, exc.message))
        else:
            outcomes.append(ClaimOutcome(task_id, "claimed", case_id=ref.case_id))
    return outcomes


def delegate_task(cmd: DelegateTask, svc: Services) -> CaseRef:
    """Hand an open task to another active member of one of its candidate groups (转办).

    The task's assignee may delegate it, and so may a department head of the district (and department) of
    one of its candidate groups, claimed or not. The new assignee holds it as if they had claimed it.
    """
    _require_reason(cmd.reason, "转办")
    now = svc.clock.now()
    with svc.uow() as uow:
        task, case = uow.cases.lock_by_task(cmd.task_id)
        heads = heads_group(cmd.actor, task.candidate_groups)
        if not heads:
            _check_actionable(task, cmd.actor)
            if task.assignee != cmd.actor.username:
                raise Forbidden("只有任务的办理人或该组的部门负责人可以转办", details={"task_id": task.id})
        elif task.state != "open":
            raise Conflict("该任务已办结或已撤销，不能转办", details={"task_id": task.id, "state": task.state})
        _check_delegate_target(uow, task, cmd.to)
        check_separation(uow, svc.catalog.get(uow, case.definition_id), task, cmd.to)
        if task.assignee == cmd.to:
            raise Conflict(f"该任务已由 {cmd.to} 办理", code="ALREADY_ASSIGNED", details={"task_id": task.id})
        delegated = ev.TaskDelegated(element_id=task.element_id, task_id=task.id, from_user=task.assignee,
                                     to_user=cmd.to, reason=cmd.reason)
        rows = _record(case, [delegated], cmd.actor, now)
        workflow = svc.runner.cache.take(case.id, case.version, case.definition_id)
        uow.cases.save(case, events=rows, task_update=(task.id, {"assignee": cmd.to, "claimed_at": now}))
        uow.commit()
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def return_task(cmd: ReturnTask, svc: Services) -> CaseRef:
    """Send the case back from an open task to the user task completed before it on the same path (退回).

    The current task (and anything else after the previous step) is cancelled, the previous step becomes a
    new open task, and the reason is recorded. Refused with 409 when there is no previous user task, the
    path back crosses a parallel join, or the previous task is a one-time 补正 notice already given
    (``NOTICE_ALREADY_GIVEN``, :mod:`engine.one_time_notice`).
    """
    _require_reason(cmd.reason, "退回")
    now = svc.clock.now()
    with svc.uow() as uow:
        task, case = uow.cases.lock_by_task(cmd.task_id)
        _check_actionable(task, cmd.actor)
        definition = svc.catalog.get(uow, case.definition_id)
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        timers_before = {t.spiff_task_id: t for t in svc.runner.waiting_timers(workflow)}
        def refuse(previous: str) -> None:
            if not cmd.on_record:   # 第三十二条: a notice given once is not reopened to be given again
                refuse_repeat_notice(uow, case, definition.one_time_notice, previous, RETURN_HINT)
        with case_clocks_bound(case.clocks):   # timers reached again may read legal_due()
            step, previous = svc.runner.return_to_previous(workflow, task.spiff_task_id, check=refuse)
        returned = ev.TaskReturned(element_id=task.element_id, task_id=task.id, to_element_id=previous,
                                   reason=cmd.reason)
        created, rows = _apply_step(uow, svc, case, definition, workflow, step, [returned], cmd.actor, now,
                                    timers_before)
        uow.cases.save(case, events=rows)
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version, created)


def heads_group(actor: Actor, candidate_groups: list[str]) -> bool:
    """Whether ``actor`` is a department head of the district (and department) of one of these groups."""
    if "department_head" not in actor.roles or not actor.district:
        return False
    for key in candidate_groups:
        if key.startswith("user:"):
            continue
        group = parse_candidate(key)
        if group.district == actor.district and group.department in (None, actor.department):
            return True
    return False


def _check_delegate_target(uow: object, task: TaskRecord, username: str) -> None:
    user = uow.users.by_username(username)  # type: ignore[attr-defined]
    if user is None or not user.active:
        raise InvalidInput(f"转办对象 {username} 不存在或已停用", code="DELEGATE_TARGET_INVALID",
                           details={"to": username})
    groups = user_groups(user.roles, user.district, user.department) | {f"user:{user.username}"}
    if not groups.intersection(task.candidate_groups):
        raise InvalidInput(f"转办对象 {username} 不属于该任务的候选组", code="DELEGATE_TARGET_NOT_CANDIDATE",
                           details={"candidate_groups": list(task.candidate_groups)})


def _require_reason(reason: str, action: str) -> None:
    """Refuse a blank reason: the audit log must say why a task was handed on or sent back."""
    require_written(reason, "reason", f"{action}须写明理由")
