"""Commands on a case's clocks: pause, resume and recompute (one transaction each, audited), and what they share.

Only staff of the owning district (业务属地; under a 就地批办 grant, the deciding one) who may read the case
act on its clocks (:func:`_authorize`). Every change is an audit event with actor and reason, and the derived
due and yellow instants on the case row are recomputed in the same write (:func:`_change`, :func:`_apply`).
Extending a clock, with its approval, is :mod:`engine.extension_handlers`'s, through these same helpers.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select

from . import events as ev
from .acceptance_deemed import DEEMED_REASON, deemed_due, deemed_received_at, start_deemed
from .case_clocks import (
    clock_district, clocks_of, derived_columns, note_correction_notice, pending_kinds, refuse_second_notice,
    with_clock,
)
from .commands import Actor, RecomputeDeadlines, ResumeClock, SuspendClock
from .errors import Forbidden, InvalidInput, NotFound
from .calendar_functions import case_clocks_bound, generation_in_use
from .handlers import CaseRef, Services, _record, rearm_timers
from .legal_clock import Budget, Clock
from .legal_clock_records import ClockClosed, ClockKind, ClockNotPaused
from .legal_clock_rules import check_pause_terms
from .persistence.case_records import CaseRecord
from .persistence.models import Case
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .task_budget_moves import follow_case_clocks, iso_utc as _iso, moved_task_deadlines
from .text_input import require_written

_STAFF = {"window_clerk", "reviewer", "department_head"}


def suspend_clock(cmd: SuspendClock, svc: Services) -> CaseRef:
    """Pause the named clocks (补正, 特别程序 with its expected days, or 容缺).

    A 特别程序 must be one of 第四十五条's procedures with a bounded expected time
    (:func:`~.legal_clock_rules.check_pause_terms`); replay (``on_record``) re-issues older pauses as recorded.
    A clock whose deadline has already passed may still be paused (the 补正 or procedure is a fact to record),
    but the pause moves nothing and the clock stays red (:meth:`~.legal_clock.Clock.expired_before_pause`).
    A 补正 before 受理 is the one-time notice: a second one in the same clock period is refused (409
    ``NOTICE_ALREADY_GIVEN``), except on replay of what was recorded before that rule.
    """
    require_written(cmd.reason, "reason", "暂停计时必须写明理由")
    if not cmd.on_record:
        check_pause_terms(cmd.reason_kind, cmd.procedure, cmd.expected_days)
    expected = Budget(cmd.expected_days, "workday") if cmd.expected_days else None

    def change(clock: Clock, now: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
        return clock.pause(now, cmd.reason_kind, cmd.reason, cmd.actor.username, expected,
                           procedure=cmd.procedure)
    event = ev.ClockPaused(clocks=tuple(cmd.clocks), reason_kind=cmd.reason_kind, reason=cmd.reason,
                           procedure=cmd.procedure, expected_days=cmd.expected_days)

    def once(case: CaseRecord, kinds: tuple[str, ...]) -> tuple[str, ...]:
        # Before 受理 a 补正 request is the one-time notice of 第三十二条: a second one is refused.
        if cmd.reason_kind == "correction" and not cmd.on_record and pending_kinds(case.clocks) & set(kinds):
            refuse_second_notice(case.clocks)
        return kinds
    return _change(cmd.case_id, cmd.actor, cmd.clocks, svc, change, event, narrow=once)


def resume_clock(cmd: ResumeClock, svc: Services) -> CaseRef:
    """Resume those of the named clocks that are paused; refused only when none of them is.

    The default names both clocks, and after a 补正 pause that spans a 阶段办结 one of them may be waiting for
    the next stage's 受理 (or running again in it) while the other is still paused: only the paused ones resume,
    and ``ClockResumed`` records exactly those.
    """
    def change(clock: Clock, now: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
        return clock.resume(now, cmd.actor.username)
    return _change(cmd.case_id, cmd.actor, cmd.clocks, svc, change,
                   lambda kinds: ev.ClockResumed(clocks=kinds), narrow=_paused_kinds)


def _paused_kinds(case: CaseRecord, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The named clocks that are paused; refuse when none is, saying why for each (running or not started)."""
    clocks = clocks_of(case.clocks)
    doc = case.clocks or {}
    unknown = [k for k in kinds if k not in doc]
    if not kinds or unknown:
        raise InvalidInput(f"该办件没有这些计时：{'、'.join(unknown) or '（未指定）'}",
                           details={"clocks": list(kinds)})
    paused = tuple(k for k in kinds if k in clocks and clocks[k].paused)
    if paused:
        return paused
    started = [k for k in kinds if k in clocks]
    if started:
        raise ClockNotPaused(f"{'、'.join(ClockKind(k).zh for k in started)}正在计时，无需恢复",
                             details={"clocks": started})
    between = any(doc[k].get("periods") for k in kinds)
    why = "本阶段已结束、待下一阶段受理后重新起算" if between else "自受理之日起算，尚未起算"
    raise InvalidInput(f"{'、'.join(ClockKind(k).zh for k in kinds)}{why}，没有可恢复的暂停",
                       details={"clocks": list(kinds)}, code="CLOCK_NOT_STARTED")


def _visible(uow: SqlAlchemyUnitOfWork, actor: Actor, case: CaseRecord) -> None:
    """Refuse (404) a person who may not read the case, as its page and API would: nothing about it leaks."""
    from .queries import Queries
    row = uow.session.execute(select(Case.id, Case.started_by, Case.owning_district, Case.receiving_district,
                                     Case.deciding_district, Case.department).where(Case.id == case.id)).one()
    if not Queries.sees_case(uow.session, actor, row):
        raise NotFound("办件不存在或无权访问", details={"case_id": case.id})


def _acting(case: CaseRecord) -> str | None:
    """The district whose staff act on the case's clocks (:func:`~.case_clocks.clock_district`)."""
    return clock_district(case.owning_district, case.deciding_district)


def recompute_deadlines(cmd: RecomputeDeadlines, svc: Services) -> CaseRef:
    """Recompute the derived due instants with the current calendar; write (and audit) only a change.

    Besides the case's clocks and its date timers, an open task with a budget of its own (``<tb:deadline>``)
    is counted again from its creation with the current calendar and the case's clocks
    (:func:`~.task_budgets.budget_instants`, as at creation); a task whose instants moved gets them on its inbox
    row and candidate rows, so its light follows.
    ``DeadlinesRecomputed`` records every moved instant in ``before``/``after``: the case's columns, each
    re-armed timer as ``timer:<element>`` and each moved task as ``task:<element>:due_at``/``:yellow_at``.

    With the reason :data:`~.acceptance_deemed.DEEMED_REASON` (the worker's deemed-acceptance sweep) it first
    starts the clocks of an application accepted by law (第三十二条, T0 = the receipt date), recorded by a
    ``ClocksStarted`` after the ``DeadlinesRecomputed``, and the case is accepted (``accepted_at``) at its receipt;
    it does nothing at all when no acceptance is due.
    """
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(cmd.case_id)
        if case.status != "running":
            return CaseRef(case.id, case.case_no, case.status, case.version)
        deeming = cmd.reason == DEEMED_REASON
        if deeming and not deemed_due(case.clocks, now, svc.calendar.get()):
            return CaseRef(case.id, case.case_no, case.status, case.version)
        definition = svc.catalog.get(uow, case.definition_id)
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        started: list[dict[str, Any]] = []
        received = deemed_received_at(case.clocks) if deeming else None
        if deeming:
            doc, started = start_deemed(case.clocks, now, svc.calendar.get(), cmd.actor.username,
                                        svc.runner.current_data(workflow))
            case.set(clocks=doc)
        fresh = derived_columns(case.clocks, svc.calendar.get()) if case.clocks else {}
        before = {key: _iso(getattr(case, key)) for key in fresh}
        after = {key: _iso(value) for key, value in fresh.items()}
        tasks = moved_task_deadlines(uow, svc, case, definition) if cmd.move_tasks else []
        with case_clocks_bound(case.clocks):
            moved = svc.runner.rearm_timers(workflow)
        counted = generation_in_use()   # every stored instant is now that generation's
        if before == after and not moved and not tasks and not started:
            if counted is not None and counted != case.calendar_generation:
                uow.cases.mark_counted(case.id, counted)
                uow.commit()
            svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
            return CaseRef(case.id, case.case_no, case.status, case.version)
        for timer in moved:
            uow.cases.reschedule_timer(case.id, timer.spiff_task_id, timer.due_at)
            before[f"timer:{timer.element_id}"], after[f"timer:{timer.element_id}"] = None, _iso(timer.due_at)
        for row, due_at, yellow_at in tasks:
            uow.cases.move_task_deadline(row.id, due_at, yellow_at)
            key = f"task:{row.element_id}"
            if f"{key}:due_at" in after:   # a second open instance of the element, created at another instant
                key = f"{key}@{_iso(row.created_at)}"
            before[f"{key}:due_at"], after[f"{key}:due_at"] = _iso(row.due_at), _iso(due_at)
            before[f"{key}:yellow_at"], after[f"{key}:yellow_at"] = _iso(row.yellow_at), _iso(yellow_at)
        case.set(workflow_state=svc.runner.dump(workflow), **fresh)
        recorded: list[ev.Event] = [ev.DeadlinesRecomputed(reason=cmd.reason, before=before, after=after)]
        if started:
            recorded.append(ev.ClocksStarted(clocks={entry["kind"]: entry for entry in started}))
        rows = _record(case, recorded, cmd.actor, now)
        if started and case.accepted_at == now:
            # Accepted by law on the receipt date (第三十二条), not when the sweep noticed: what its T0 says.
            case.set(accepted_at=received)
        if counted is not None:
            case.set(calendar_generation=counted)
        uow.cases.save(case, events=rows)
        uow.commit()
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def _change(case_id: int, actor: Actor, kinds: tuple[str, ...], svc: Services,
            change: Callable[[Clock, Any, SqlAlchemyUnitOfWork, CaseRecord], Clock],
            event: ev.Event | Callable[[tuple[str, ...]], ev.Event], *,
            narrow: Callable[[CaseRecord, tuple[str, ...]], tuple[str, ...]] | None = None,
            roles: set[str] = _STAFF) -> CaseRef:
    """Apply ``change`` to the named clocks of the locked case in one transaction.

    ``narrow`` picks, under the lock, which of the named clocks the change applies to (or refuses the change
    before anything is written); ``event`` is then built from them (or given as is). ``roles`` are the roles
    that may act at all (admins besides).
    """
    if "admin" not in actor.roles and not roles.intersection(actor.roles):
        # Before the case is read: a role that never acts on clocks learns nothing about which cases exist.
        raise Forbidden("只有业务属地的窗口、审查人员或科室负责人可以调整计时")
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(case_id)
        _authorize(uow, actor, case, roles)
        _running(case)
        if narrow is not None:
            kinds = narrow(case, kinds)
        cause = event(kinds) if callable(event) else event
        workflow = _apply(uow, svc, case, actor, kinds, change, [cause], now)
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def _apply(uow: SqlAlchemyUnitOfWork, svc: Services, case: CaseRecord, actor: Actor, kinds: tuple[str, ...],
           change: Callable[[Clock, Any, SqlAlchemyUnitOfWork, CaseRecord], Clock], events: list[ev.Event],
           now: Any) -> Any:
    """Change the named clocks of the locked, running case, move its timers, record ``events``; return the workflow.

    ``events[0]`` is the input that causes the change: a 补正 pause before 受理 only notes the one-time notice.
    """
    cause = events[0]
    notice = isinstance(cause, ev.ClockPaused) and cause.reason_kind == "correction"
    clocks = _clocks(case, kinds, started_only=not notice,
                     extension=isinstance(cause, (ev.DeadlineExtended, ev.ExtensionApproved)))
    waiting = pending_kinds(case.clocks) & set(kinds)
    doc = dict(case.clocks or {})
    if waiting:
        doc = note_correction_notice(doc, now)
    for kind in kinds:
        if kind not in waiting:
            doc = with_clock(doc, kind, change(clocks[kind], now, uow, case))
    case.set(clocks=doc, **derived_columns(doc, svc.calendar.get()))
    definition = svc.catalog.get(uow, case.definition_id)
    follow_case_clocks(uow, svc, case, definition)
    workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                   definition.spec, definition.subprocess_specs)
    with case_clocks_bound(doc):
        # Timers that read legal_due()/committed_due() follow the clock: a pause parks them, a resume
        # or an extension moves them to the new due instant.
        rearmed = rearm_timers(uow, svc, case, workflow, events[-1].event_type)
    if rearmed:
        case.set(workflow_state=svc.runner.dump(workflow))
    rows = _record(case, [*events, *rearmed], actor, now)
    uow.cases.save(case, events=rows)
    return workflow


def _running(case: CaseRecord) -> None:
    if case.status != "running":
        raise ClockClosed("办件已办结，不能再调整计时", details={"case_id": case.id})


def _clocks(case: CaseRecord, kinds: tuple[str, ...], *, started_only: bool,
            extension: bool = False) -> dict[str, Clock]:
    """Return the case's started clocks; refuse a kind it lacks, and a change other than a 补正 notice before 受理."""
    clocks = clocks_of(case.clocks)
    waiting = pending_kinds(case.clocks) & set(kinds)
    unknown = [k for k in kinds if k not in clocks and k not in waiting]
    if not kinds or unknown:
        raise InvalidInput(f"该办件没有这些计时：{'、'.join(unknown) or '（未指定）'}",
                           details={"clocks": list(kinds)})
    if waiting and extension:
        between = [k for k in sorted(waiting) if (case.clocks or {})[k].get("periods")]
        message = (f"{'、'.join(ClockKind(k).zh for k in between)}本阶段的时段已结束，待下一阶段受理后重新起算；"
                   "已结束的时段不能再延长" if between else "时限自受理之日起算，尚未起算的时限不能延长")
        raise InvalidInput(message, details={"clocks": sorted(waiting)}, code="CLOCK_NOT_STARTED")
    if waiting and started_only:
        # Before 受理 a clock does not run; a 补正 request then is the one-time notice of 第三十二条.
        raise InvalidInput("受理前计时尚未开始，只能发出一次性补正告知", details={"clocks": sorted(waiting)},
                           code="CLOCK_NOT_STARTED")
    return clocks


def _authorize(uow: SqlAlchemyUnitOfWork, actor: Actor, case: CaseRecord, roles: set[str] = _STAFF) -> None:
    """Staff of the owning district who may read the case (as its page would let them), or an admin.

    District alone is not enough: a reviewer whose work never touches the case, or a head no one has asked
    to decide on it, cannot open its page, so they cannot pause, resume or extend it either. ``roles`` may
    admit more than staff (a government head to a direct extension).
    """
    if "admin" in actor.roles:
        return
    if actor.district != _acting(case):
        raise NotFound("办件不存在或无权访问", details={"case_id": case.id})
    if not roles.intersection(actor.roles):
        raise Forbidden("只有业务属地的窗口、审查人员或科室负责人可以调整计时")
    _visible(uow, actor, case)
