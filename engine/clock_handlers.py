"""Commands on a case's clocks: SuspendClock, ResumeClock, ExtendDeadline (one transaction each, audited).

Only staff of the owning district (业务属地) act on its clocks; an extension needs a department head of that
district as approver (行政许可法 第四十二条: 经本行政机关负责人批准) and is allowed once, within the legal
maximum. Every change is an audit event with actor and reason, and the derived due and yellow instants
on the case row are recomputed in the same write.
"""
from __future__ import annotations

from datetime import timezone
from typing import Any, Callable

from . import events as ev
from .case_clocks import clocks_of, derived_columns, note_correction_notice, pending_kinds, with_clock
from .commands import Actor, ExtendDeadline, RecomputeDeadlines, ResumeClock, SuspendClock
from .errors import Forbidden, InvalidInput, NotFound
from .calendar_functions import case_clocks_bound
from .handlers import CaseRef, Services, _record, rearm_timers
from .legal_clock import Budget, Clock
from .legal_clock_rules import ClockClosed
from .persistence.case_records import CaseRecord
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

_STAFF = {"window_clerk", "reviewer", "department_head"}


def suspend_clock(cmd: SuspendClock, svc: Services) -> CaseRef:
    """Pause the named clocks (补正, 特别程序 with its expected days, or 容缺)."""
    if not cmd.reason.strip():
        raise InvalidInput("暂停计时必须写明理由")
    expected = Budget(cmd.expected_days, "workday") if cmd.expected_days else None

    def change(clock: Clock, now: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
        return clock.pause(now, cmd.reason_kind, cmd.reason, cmd.actor.username, expected,
                           procedure=cmd.procedure)
    event = ev.ClockPaused(clocks=tuple(cmd.clocks), reason_kind=cmd.reason_kind, reason=cmd.reason,
                           procedure=cmd.procedure, expected_days=cmd.expected_days)
    return _change(cmd.case_id, cmd.actor, cmd.clocks, svc, change, event)


def resume_clock(cmd: ResumeClock, svc: Services) -> CaseRef:
    """Resume the named paused clocks."""
    def change(clock: Clock, now: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
        return clock.resume(now, cmd.actor.username)
    return _change(cmd.case_id, cmd.actor, cmd.clocks, svc, change, ev.ClockResumed(clocks=tuple(cmd.clocks)))


def extend_deadline(cmd: ExtendDeadline, svc: Services) -> CaseRef:
    """Extend one clock once, by at most 10 (or, for a 45-day joint procedure, 15) working days."""
    def change(clock: Clock, now: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
        approver = uow.users.by_username(cmd.approved_by) if cmd.approved_by else None
        approved = (approver is not None and approver.active and "department_head" in approver.roles
                    and approver.district == case.owning_district)
        limit = 15 if clock.budget.amount >= 45 else 10
        return clock.extend(cmd.days, cmd.reason, cmd.approved_by, cmd.actor.username, now,
                            max_total_days=limit, approver_roles_ok=approved,
                            told_to_applicant=cmd.told_to_applicant)
    event = ev.DeadlineExtended(clock=cmd.clock, days=cmd.days, reason=cmd.reason, approved_by=cmd.approved_by,
                                told_to_applicant=cmd.told_to_applicant)
    return _change(cmd.case_id, cmd.actor, (cmd.clock,), svc, change, event)


def recompute_deadlines(cmd: RecomputeDeadlines, svc: Services) -> CaseRef:
    """Recompute the derived due instants with the current calendar; write (and audit) only a change."""
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(cmd.case_id)
        if case.status != "running":
            return CaseRef(case.id, case.case_no, case.status, case.version)
        fresh = derived_columns(case.clocks, svc.calendar.get()) if case.clocks else {}
        before = {key: _iso(getattr(case, key)) for key in fresh}
        after = {key: _iso(value) for key, value in fresh.items()}
        definition = svc.catalog.get(uow, case.definition_id)
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        with case_clocks_bound(case.clocks):
            moved = svc.runner.rearm_timers(workflow)
        if before == after and not moved:
            svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
            return CaseRef(case.id, case.case_no, case.status, case.version)
        for timer in moved:
            uow.cases.reschedule_timer(case.id, timer.spiff_task_id, timer.due_at)
            before[f"timer:{timer.element_id}"], after[f"timer:{timer.element_id}"] = None, _iso(timer.due_at)
        case.set(workflow_state=svc.runner.dump(workflow), **fresh)
        rows = _record(case, [ev.DeadlinesRecomputed(reason=cmd.reason, before=before, after=after)], cmd.actor, now)
        uow.cases.save(case, events=rows)
        uow.commit()
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def _iso(value: Any) -> Any:
    # Compare instants in UTC: the database hands them back in UTC, the calendar computes them in CST.
    return value.astimezone(timezone.utc).isoformat() if hasattr(value, "astimezone") else value


def _change(case_id: int, actor: Actor, kinds: tuple[str, ...], svc: Services,
            change: Callable[[Clock, Any, SqlAlchemyUnitOfWork, CaseRecord], Clock], event: ev.Event) -> CaseRef:
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(case_id)
        _authorize(actor, case)
        if case.status != "running":
            raise ClockClosed("办件已办结，不能再调整计时", details={"case_id": case_id})
        clocks = clocks_of(case.clocks)
        waiting = pending_kinds(case.clocks) & set(kinds)
        unknown = [k for k in kinds if k not in clocks and k not in waiting]
        if not kinds or unknown:
            raise InvalidInput(f"该办件没有这些计时：{'、'.join(unknown) or '（未指定）'}",
                               details={"clocks": list(kinds)})
        doc = dict(case.clocks or {})
        if waiting:
            # Before 受理 a clock does not run; a 补正 request then is the one-time notice of 第三十二条.
            if not (isinstance(event, ev.ClockPaused) and event.reason_kind == "correction"):
                raise InvalidInput("受理前计时尚未开始，只能发出一次性补正告知", details={"clocks": sorted(waiting)})
            doc = note_correction_notice(doc, now)
        for kind in kinds:
            if kind not in waiting:
                doc = with_clock(doc, kind, change(clocks[kind], now, uow, case))
        case.set(clocks=doc, **derived_columns(doc, svc.calendar.get()))
        definition = svc.catalog.get(uow, case.definition_id)
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        with case_clocks_bound(doc):
            # Timers that read legal_due()/committed_due() follow the clock: a pause parks them, a resume
            # or an extension moves them to the new due instant.
            rearmed = rearm_timers(uow, svc, case, workflow, event.event_type)
        if rearmed:
            case.set(workflow_state=svc.runner.dump(workflow))
        rows = _record(case, [event, *rearmed], actor, now)
        uow.cases.save(case, events=rows)
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def _authorize(actor: Actor, case: CaseRecord) -> None:
    if "admin" in actor.roles:
        return
    if actor.district != case.owning_district:
        raise NotFound("办件不存在或无权访问", details={"case_id": case.id})
    if not _STAFF.intersection(actor.roles):
        raise Forbidden("只有业务属地的窗口、审查人员或科室负责人可以调整计时")
