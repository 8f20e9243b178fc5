"""Commands on a case's clocks: pause, resume, and extension with its approval (one transaction each, audited).

Only staff of the owning district (业务属地; under a 就地批办 grant, the deciding one) who may read the case
act on its clocks. An extension needs the approval of the 负责人 行政许可法第四十二条 names, in that district
(:mod:`engine.extension_approval`): a department head of the case's 承办部门 (第一款: 经本行政机关负责人批准),
or for the 45-day joint procedure the district government's head (第二款: 经本级人民政府负责人批准). They approve
in the system: staff ask (RequestExtension, which records whose approval it waits for), the approver approves
or rejects (DecideExtension) and the approval applies the extension in the same transaction; the approver may
also extend directly (ExtendDeadline), approving by acting. It is allowed once, within the legal maximum. Every
change is an audit event with actor and reason, and the derived due and yellow instants on the case row are
recomputed in the same write.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from sqlalchemy import select

from . import events as ev
from .case_clocks import (
    clock_district, clocks_of, derived_columns, note_correction_notice, pending_kinds, refuse_second_notice, with_clock,
)
from .clock import CST
from .commands import (
    Actor, DecideExtension, ExtendDeadline, RecomputeDeadlines, RequestExtension, ResumeClock, SuspendClock,
    WithdrawExtension,
)
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .calendar_functions import case_clocks_bound
from .extension_approval import (
    APPROVER_NAMES, APPROVER_ROLES, DEPARTMENT_HEAD, GOVERNMENT_HEAD, decides_extension, department_head_required,
    extension_approver_role, government_head_required, joint_procedure,
)
from .handlers import CaseRef, Services, _record, rearm_timers
from .legal_clock import Budget, Clock
from .legal_clock_rules import (
    ClockClosed, ClockKind, ClockNotPaused, ExtensionApproverRequired, ExtensionNotApproved, check_pause_terms,
    heads_department,
)
from .persistence.case_records import CaseRecord
from .persistence.models import Case, ExtensionRequest
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .text_input import require_written, written

_STAFF = {"window_clerk", "reviewer", "department_head"}
_EXTENDERS = _STAFF | {GOVERNMENT_HEAD}
"""Who may reach a direct extension: staff, and the government head of a joint procedure (its approver)."""


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


def _reason(text: Any, field: str, message: str) -> str:
    return require_written(text, field, message, limit=MAX_TEXT)


_WHY = "延长期限须写明理由，并告知申请人（《行政许可法》第四十二条）"


def extend_deadline(cmd: ExtendDeadline, svc: Services) -> CaseRef:
    """The approver extends one clock once, by at most 10 (or, for a 45-day joint procedure, 15) working days.

    The approver is a department head of the case's 承办部门, or for the joint procedure only the district
    government's head (a department head gets 403 ``EXTENSION_APPROVER_REQUIRED``). They approve by acting:
    naming anyone else as approver is refused. Replay re-issues extensions recorded before approvals moved
    into the system (``on_record``), where a clerk recorded a head's approval, and those recorded before the
    joint procedure's approver was the government head, where the lead department's head approved.
    """
    reason = cmd.reason if cmd.on_record else _reason(cmd.reason, "reason", _WHY)
    approver = cmd.approved_by.strip() or cmd.actor.username
    if approver != cmd.actor.username and not cmd.on_record:
        raise ExtensionNotApproved("延长期限须由有权批准的负责人（科室负责人，联合办理的为本级人民政府负责人）"
                                   "本人在系统中批准：请提交延期申请，由负责人审批",
                                   details={"approved_by": cmd.approved_by})

    def change(clock: Clock, now: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
        role = extension_approver_role(clock.kind, clock.budget)
        if not cmd.on_record:
            _may_approve(uow, cmd.actor, case, role, direct=True)
        pending = None if cmd.on_record else _open_for(uow, case, cmd.clock)
        if pending is not None:
            # Decide the request instead, so that it does not stay open for an extension already made.
            raise Conflict(f"该时限有{_display_name(uow, pending.requested_by)}提交的待审批延期申请，请审批该申请",
                           details={"request_id": pending.id}, code="EXTENSION_REQUEST_OPEN")
        return clock.extend(cmd.days, reason, approver, cmd.actor.username, now,
                            max_total_days=_limit(clock),
                            approver_roles_ok=_approves(uow, approver, case, role, on_record=cmd.on_record),
                            told_to_applicant=cmd.told_to_applicant,
                            calendar=None if cmd.on_record else svc.calendar.get())
    event = ev.DeadlineExtended(clock=cmd.clock, days=cmd.days, reason=reason, approved_by=approver,
                                told_to_applicant=cmd.told_to_applicant)
    return _change(cmd.case_id, cmd.actor, (cmd.clock,), svc, change, event, roles=_EXTENDERS)


def request_extension(cmd: RequestExtension, svc: Services) -> dict[str, Any]:
    """Ask for an extension; refused now when the head could not approve it (closed, extended, too long).

    The request records whose approval it waits for (``approver_role``, from the clock: the district
    government's head for the 45-day joint procedure, else a head of the 承办部门).
    """
    if not cmd.on_record and not _STAFF.intersection(cmd.actor.roles):
        raise Forbidden("只有业务属地的窗口、审查人员或科室负责人可以申请延长时限", code="EXTENSION_REQUEST_FORBIDDEN")
    reason = _reason(cmd.reason, "reason", _WHY)
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(cmd.case_id)
        if not cmd.on_record:
            # Staff of the owning district who may read the case: a request tells its 办件编号 back.
            if cmd.actor.district != _acting(case):
                raise NotFound("办件不存在或无权访问", details={"case_id": case.id})
            _visible(uow, cmd.actor, case)
        _running(case)
        clock = _clocks(case, (cmd.clock,), started_only=True, extension=True)[cmd.clock]
        # The approval would apply exactly this; refuse what it would refuse, before a head is asked.
        clock.extend(cmd.days, reason, cmd.actor.username, cmd.actor.username, now,
                     max_total_days=_limit(clock), approver_roles_ok=True,
                     calendar=None if cmd.on_record else svc.calendar.get())
        pending = _open_for(uow, case, cmd.clock)
        if pending is not None:
            when = _local(pending.requested_at)
            raise Conflict(f"该时限已有待审批的延期申请（{_display_name(uow, pending.requested_by)}于 {when} 提交）",
                           details={"request_id": pending.id}, code="EXTENSION_REQUEST_OPEN")
        request = uow.extensions.add(
            case_id=case.id, clock=cmd.clock, days=cmd.days, reason=reason, told_to_applicant=cmd.told_to_applicant,
            district=_acting(case), state="open", requested_by=cmd.actor.username, requested_at=now,
            approver_role=extension_approver_role(clock.kind, clock.budget))
        requested = ev.ExtensionRequested(request_id=request.id, clock=cmd.clock, days=cmd.days, reason=reason,
                                          told_to_applicant=cmd.told_to_applicant)
        workflow = _note(uow, svc, case, [requested], cmd.actor, now)
        uow.commit()
        result = request_view(request, case.case_no)
    _checkin(svc, case, workflow)
    return result


def decide_extension(cmd: DecideExtension, svc: Services) -> dict[str, Any]:
    """The approver the request asks for approves (applying the extension) or rejects it.

    That is, in the acting district, a head of the case's 承办部门 or, for a request of the 45-day joint
    procedure, the government head (:func:`_may_approve`). Replay (``on_record``) passes recorded decisions
    through: before the government head approved the joint procedure's extensions, the lead department's head
    did, and before that any department head of the district.
    """
    comment = written(cmd.comment)        # optional when approving, required when rejecting
    if comment or not cmd.approve:
        comment = _reason(cmd.comment, "comment", "驳回延期申请须写明理由")
    now = svc.clock.now()
    with svc.uow() as uow:
        case, request = _open_request(uow, cmd.request_id, cmd.actor)
        role = request.approver_role
        if not cmd.on_record:
            _may_approve(uow, cmd.actor, case, role)
        elif not APPROVER_ROLES.intersection(cmd.actor.roles) or cmd.actor.district != _acting(case):
            raise ExtensionApproverRequired()
        if cmd.approve:
            calendar = None if cmd.on_record else svc.calendar.get()

            def change(clock: Clock, at: Any, uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> Clock:
                head = _approves(uow, cmd.actor.username, case, role, on_record=cmd.on_record)
                return clock.extend(request.days, request.reason, cmd.actor.username, cmd.actor.username, at,
                                    max_total_days=_limit(clock), approver_roles_ok=head,
                                    told_to_applicant=request.told_to_applicant, calendar=calendar)
            decided: list[ev.Event] = [
                ev.ExtensionApproved(request_id=request.id, comment=comment),
                ev.DeadlineExtended(clock=request.clock, days=request.days, reason=request.reason,
                                    approved_by=cmd.actor.username, told_to_applicant=request.told_to_applicant)]
            workflow = _apply(uow, svc, case, cmd.actor, (request.clock,), change, decided, now)
        else:
            workflow = _note(uow, svc, case, [ev.ExtensionRejected(request_id=request.id, comment=comment)],
                             cmd.actor, now)
        request.state = "approved" if cmd.approve else "rejected"
        request.decided_by, request.decided_at, request.comment = cmd.actor.username, now, comment or None
        uow.commit()
        result = request_view(request, case.case_no)
    _checkin(svc, case, workflow)
    return result


def withdraw_extension(cmd: WithdrawExtension, svc: Services) -> dict[str, Any]:
    """The requester withdraws an open request (a head may still extend or be asked again later)."""
    now = svc.clock.now()
    with svc.uow() as uow:
        case, request = _open_request(uow, cmd.request_id, cmd.actor)
        if request.requested_by != cmd.actor.username:
            raise Forbidden("只有提交申请的人可以撤回延期申请", code="EXTENSION_NOT_REQUESTER")
        workflow = _note(uow, svc, case, [ev.ExtensionWithdrawn(request_id=request.id)], cmd.actor, now)
        request.state, request.decided_by, request.decided_at = "withdrawn", cmd.actor.username, now
        uow.commit()
        result = request_view(request, case.case_no)
    _checkin(svc, case, workflow)
    return result


REQUEST_STATES = {"open": "待审批", "approved": "已批准", "rejected": "已驳回", "withdrawn": "已撤回",
                  "lapsed": "已失效"}
"""The states of an extension request, in Chinese.

``lapsed`` is shown for an open request of a closed case, and stored when the clock period the request was
made in ends undecided (a 工改 stage's 阶段办结: ``ExtensionRepository.lapse_open`` in the same transaction):
第四十二条's extension is of the period being run, so a request belongs to that period and is never applied to
the fresh period of the next stage, which has its own one extension.
"""
MAX_TEXT = 500
"""The longest reason or opinion of an extension (the API's limit too)."""


def request_view(request: ExtensionRequest, case_no: str, case_status: str = "running",
                 clocks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the JSON view of a request.

    An open request is ``lapsed`` when its case is no longer running, or (given the case's ``clocks``) when
    the clock period it was made in has ended.
    """
    ended = request.state == "open" and clocks is not None and _period_ended(clocks, request) is not None
    state = "lapsed" if request.state == "open" and (case_status != "running" or ended) else request.state
    utc = (lambda at: at.astimezone(timezone.utc) if at is not None else None)  # noqa: E731 - as the database gives
    return {"id": request.id, "case_id": request.case_id, "case_no": case_no, "clock": request.clock,
            "days": request.days, "reason": request.reason, "told_to_applicant": request.told_to_applicant,
            "district": request.district, "state": state, "state_label": REQUEST_STATES[state],
            "approver_role": request.approver_role, "approver_label": APPROVER_NAMES.get(request.approver_role, ""),
            "requested_by": request.requested_by, "requested_at": utc(request.requested_at),
            "decided_by": request.decided_by, "decided_at": utc(request.decided_at), "comment": request.comment}


def _open_request(uow: SqlAlchemyUnitOfWork, request_id: int, actor: Actor) -> tuple[CaseRecord, ExtensionRequest]:
    """Lock the request's case, then the request (the order every writer keeps); it must be open, the case running."""
    found = uow.extensions.get(request_id)
    if found is None or ("admin" not in actor.roles and actor.district != found.district):
        raise NotFound("延期申请不存在或无权访问", details={"request_id": request_id})
    case = uow.cases.lock(found.case_id)
    request = uow.extensions.lock(request_id)
    ended = _period_ended(case.clocks, request) if request.state in ("open", "lapsed") else None
    if ended is not None or request.state == "lapsed":
        raise ClockClosed(_lapsed_message(request, ended or request.decided_at),
                          details={"request_id": request_id, "state": "lapsed"})
    if request.state != "open":
        verb = {"approved": "批准", "rejected": "驳回", "withdrawn": "撤回"}[request.state]
        who = _display_name(uow, request.decided_by)
        raise Conflict(f"该延期申请已由{who}{verb}" if who else f"该延期申请已{verb}",
                       details={"request_id": request_id, "state": request.state}, code="EXTENSION_REQUEST_CLOSED")
    if case.status != "running":
        raise ClockClosed("办件已办结，延期申请已失效", details={"request_id": request_id})
    return case, request


def _period_ended(doc: Mapping[str, Any] | None, request: ExtensionRequest) -> datetime | None:
    """When the clock period ``request`` was made in ended, or ``None`` while it still runs.

    Derived from the periods kept on the case's clock entry and the request's time: a request made before the
    current period started (or while the clock waits between periods) belongs to an ended one.
    """
    entry = (doc or {}).get(request.clock) or {}
    periods = [Clock.from_dict(p) for p in entry.get("periods", ())]
    if not periods:
        return None
    if "clock" in entry and request.requested_at >= Clock.from_dict(entry["clock"]).segments[0].start:
        return None
    made_in = [p for p in periods if p.segments[0].start <= request.requested_at] or periods[-1:]
    return made_in[-1].closed_at


def _lapsed_message(request: ExtensionRequest, ended: datetime | None) -> str:
    name = ClockKind(request.clock).zh if request.clock in ClockKind.__members__.values() else request.clock
    when = f"已于 {_local(ended)} 结束" if ended is not None else "已结束"
    return (f"该延期申请提出时的{name}时段{when}（阶段办结），申请已失效，不能再审批或撤回；"
            "延长只适用于提出申请时正在计时的时段，下一阶段如需延长请重新申请")


def _open_for(uow: SqlAlchemyUnitOfWork, case: CaseRecord, kind: str) -> ExtensionRequest | None:
    """The open request for the case's ``kind`` clock; one left open from an ended period is stored as lapsed."""
    pending = uow.extensions.open_for(case.id, kind)
    if pending is None:
        return None
    ended = _period_ended(case.clocks, pending)
    if ended is None:
        return pending
    pending.state, pending.decided_at = "lapsed", ended
    uow.session.flush()
    return None


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


def _note(uow: SqlAlchemyUnitOfWork, svc: Services, case: CaseRecord, events: list[ev.Event], actor: Actor,
          now: Any) -> Any:
    """Record events that move no clock; the case's cached workflow (if any) moves to its new version after commit."""
    workflow = svc.runner.cache.take(case.id, case.version, case.definition_id)
    uow.cases.save(case, events=_record(case, events, actor, now))
    return workflow


def _checkin(svc: Services, case: CaseRecord, workflow: Any) -> None:
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)


def _display_name(uow: SqlAlchemyUnitOfWork, username: str | None) -> str:
    user = uow.users.by_username(username) if username else None
    return (user.display_name or username) if user is not None else (username or "")


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


def _approves(uow: SqlAlchemyUnitOfWork, username: str, case: CaseRecord, role: str, *,
              on_record: bool = False) -> bool:
    """Whether ``username`` is an active approver of the ``role`` an extension asks for, in the acting district.

    The replay of what was recorded before (``on_record``) checks only that the user is a head of either kind
    in the district: the department did not have to match once, and the lead department's head approved the
    joint procedure's extensions before its government head did.
    """
    user = uow.users.by_username(username) if username else None
    if user is None or not user.active:
        return False
    if on_record:
        return user.district == _acting(case) and bool(APPROVER_ROLES.intersection(user.roles))
    return decides_extension(user.roles, user.district, user.department, approver_role=role,
                             request_district=_acting(case), case_department=case.department)


def _may_approve(uow: SqlAlchemyUnitOfWork, actor: Actor, case: CaseRecord, role: str, *,
                 direct: bool = False) -> None:
    """Refuse (403 ``EXTENSION_APPROVER_REQUIRED``) an actor who is not the approver ``role`` names here.

    For a direct extension (``direct``) of the 第一款 kind, only a government head is refused here: staff and
    heads of another department get ``EXTENSION_NOT_APPROVED`` from the clock, as before.
    """
    district = _acting(case)
    if role == GOVERNMENT_HEAD:
        if GOVERNMENT_HEAD not in actor.roles or actor.district != district:
            raise government_head_required(district)
        return
    if DEPARTMENT_HEAD not in actor.roles or actor.district != district:
        if GOVERNMENT_HEAD in actor.roles:
            raise department_head_required(case.department)
        if not direct:
            raise ExtensionApproverRequired()
    elif not direct and not heads_department(actor.department, case.department):
        raise _other_department(uow, case)


def _other_department(uow: SqlAlchemyUnitOfWork, case: CaseRecord) -> ExtensionApproverRequired:
    """The refusal of a head of another department, naming the department that handles the case."""
    found = uow.org.department(_acting(case) or "", case.department or "")
    name = found.name if found is not None else case.department
    return ExtensionApproverRequired(
        f"该办件由{name}承办，延期申请须由该部门的科室负责人审批（《行政许可法》第四十二条）",
        details={"department": case.department})


def _limit(clock: Clock) -> int:
    return 15 if joint_procedure(clock.budget) else 10


def _local(instant: Any) -> str:
    return instant.astimezone(CST).strftime("%Y-%m-%d %H:%M")


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
