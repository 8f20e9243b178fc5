"""Extending a case's clock with its approval (第四十二条): the extension commands, approval checks and requests.

This module owns ExtendDeadline, RequestExtension, DecideExtension and WithdrawExtension, the checks of who
approves (:func:`_approves`, :func:`_may_approve`) and the extension requests: their states, their JSON view
(:func:`request_view`) and their lapsing with the clock period they were made in. Who may act on a case's clocks
at all, and the audited write of a clock change, are :mod:`engine.clock_handlers`'s, shared with pause and resume.

An extension needs the approval of the 负责人 行政许可法第四十二条 names, in the district that acts on the case's
clocks (业务属地; under a 就地批办 grant, the deciding one) (:mod:`engine.extension_approval`): a department head of
the case's 承办部门 (第一款: 经本行政机关负责人批准), or for the 45-day joint procedure the district government's head
(第二款: 经本级人民政府负责人批准). They approve in the system: staff ask (RequestExtension, which records whose
approval it waits for), the approver approves or rejects (DecideExtension) and the approval applies the extension
in the same transaction; the requester may withdraw an open request (WithdrawExtension); the approver may also
extend directly (ExtendDeadline), approving by acting. It is allowed once, within the legal maximum.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from . import events as ev
from .clock import CST
from .clock_handlers import _STAFF, _acting, _apply, _change, _clocks, _running, _visible
from .commands import Actor, DecideExtension, ExtendDeadline, RequestExtension, WithdrawExtension
from .errors import Conflict, Forbidden, NotFound
from .extension_approval import (
    APPROVER_NAMES, APPROVER_ROLES, DEPARTMENT_HEAD, GOVERNMENT_HEAD, decides_extension, department_head_required,
    extension_approver_role, government_head_required, joint_procedure,
)
from .handlers import CaseRef, Services, _record
from .legal_clock import Clock
from .legal_clock_records import ClockClosed, ClockKind, ExtensionApproverRequired, ExtensionNotApproved
from .legal_clock_rules import heads_department
from .persistence.case_records import CaseRecord
from .persistence.models import ExtensionRequest
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .text_input import require_written, written

_EXTENDERS = _STAFF | {GOVERNMENT_HEAD}
"""Who may reach a direct extension: staff, and the government head of a joint procedure (its approver)."""


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
