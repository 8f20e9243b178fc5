"""The service layer: one function per command, each one transaction owned by the unit of work.

Here are the services every command gets, deploying and linting, claiming and completing tasks, firing
timers, and the write path they all share (:func:`_apply_step`, :func:`_record`); opening a case is
:mod:`engine.case_start`'s. Every state change follows DESIGN §3: lock the case, restore the workflow from
its pinned definition, apply the input, run to quiescence, then write the snapshot, derived columns, inbox
rows, timers and hash-chained audit events in the same transaction. Any error rolls everything back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from . import events as ev
from .audit import CALENDAR_GENERATION, STATE_DIGEST, event_hash, state_digest
from .bundle import merge as merge_bundle
from .calendar_functions import case_clocks_bound, generation_in_use, generation_read
from .candidates import resolve_groups
from .clock import Clock
from .commands import (
    Actor, ClaimTask, CompleteTask, DeployDefinitions, LintDefinitions, FireDueTimers, UnclaimTask,
)
from .deploy_versions import Deployed
from .deployment import DefinitionCatalog, LoadedDefinition
from .errors import Conflict, Forbidden, NotFound
from .case_clocks import (
    KINDS, derived_columns, note_correction_notice, notice_kinds, start_pending,
    close_all, resume_at_acceptance, starts_clocks, stop_periods, stops_clocks,
)
from .calendar import business_date
from .case_metrics import closing_columns, event_columns
from .grants import GrantMissing
from .handoffs import attach_parts, refreshed_rights
from .messages import write_outbox
from .one_time_notice import COMPLETE_HINT, refuse_repeat_notice
from .task_budget_moves import follow_case_clocks
from .task_budgets import budget_instants
from .task_rights import require_candidate, require_task_right, still_candidate
from .definitions import Finding
from .persistence.case_records import CaseRecord, TaskRecord
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .separation import check_separation
from .persistence.models import NO_DEADLINE
from .spiff.runner import WorkflowRunner
from .spiff.serializer import SERIALIZER_VERSION
from .spiff.steps import ReadyTask, StepResult
from .variables import check_variables


@dataclass(frozen=True)
class Services:
    """What handlers need besides the unit of work."""

    clock: Clock
    runner: WorkflowRunner
    catalog: DefinitionCatalog
    uow: Callable[[], SqlAlchemyUnitOfWork]
    calendar: Any = None
    """Provider of the working-day calendar (``.get()``); needed by definitions that declare clocks."""
    materials: Any = None
    """The content-addressed :class:`~engine.material_store.MaterialStore` intake keeps uploads in."""
    messages: Any = None
    """:class:`~engine.messages.MessageSettings`: the outbox's signing secret, buffering and retry policy."""
    rectification_workdays: int = 15
    """Working days a department has to rectify a 差评 (the 差评整改 case's committed clock)."""
    online_daily_limit: int = 20
    """Online applications one applicant account may make per Beijing date (0: no limit)."""
    on_case_completed: tuple[Callable[..., None], ...] = ()
    """Called as ``hook(uow, svc, case, workflow, step, actor, now)`` in the transaction that ends a case."""


@dataclass(frozen=True)
class CaseRef:
    """The result of a command that touched a case."""

    case_id: int
    case_no: str
    status: str
    version: int
    created_task_ids: tuple[int, ...] = ()


DEPLOYING_ROLES = frozenset({"designer", "system"})


def deploy_definitions(cmd: DeployDefinitions, svc: Services) -> list[Deployed]:
    """Deploy forms and BPMN files (designers only); all or nothing, each new version in the definition log."""
    if not DEPLOYING_ROLES.intersection(cmd.actor.roles):
        raise Forbidden("只有流程设计人员可以部署流程和表单", code="DEPLOY_FORBIDDEN")
    now = svc.clock.now()
    with svc.uow() as uow:
        report = svc.catalog.deploy(uow, list(cmd.bpmn_files), list(cmd.form_files),
                                    actor=cmd.actor.username, now=now)
        for line in report:
            if line.status == "created":
                uow.versions.log(kind=line.kind, key=line.key, action="deploy", version=line.version,
                                 content_hash=line.content_hash, actor=cmd.actor.username, at=now)
        uow.commit()
    return report


def lint_definitions(cmd: LintDefinitions, svc: Services) -> list[Finding]:
    """Return every finding for the files, errors first; reads what is deployed, writes nothing."""
    with svc.uow() as uow:
        findings = svc.catalog.lint(uow, list(cmd.bpmn_files), list(cmd.form_files))
    return sorted(findings, key=lambda f: (f.severity != "error", f.file or "", f.line or 0))


def claim_task(cmd: ClaimTask, svc: Services) -> CaseRef:
    """Take an open task into the actor's queue; refused when someone else holds it."""
    return _change_claim(cmd.task_id, cmd.actor, svc, claim=True)


def unclaim_task(cmd: UnclaimTask, svc: Services) -> CaseRef:
    """Give a claimed task back to its groups; only its assignee may."""
    return _change_claim(cmd.task_id, cmd.actor, svc, claim=False)


def _change_claim(task_id: int, actor: Actor, svc: Services, *, claim: bool) -> CaseRef:
    now = svc.clock.now()
    with svc.uow() as uow:
        task, case = uow.cases.lock_by_task(task_id)
        _check_actionable(task, actor, releasing=not claim)
        if claim and task.assignee == actor.username:
            raise Conflict("您已认领该任务", details={"task_id": task.id})
        if claim:
            check_separation(uow, svc.catalog.get(uow, case.definition_id), task, actor.username)
        if not claim and task.assignee != actor.username:
            raise Conflict("该任务尚未被认领，不能退回认领", details={"task_id": task.id})
        event = ev.TaskClaimed if claim else ev.TaskUnclaimed
        rows = _record(case, [event(element_id=task.element_id, task_id=task.id)], actor, now)
        # The workflow does not change, but the case version does: carry a cached workflow over to it.
        workflow = svc.runner.cache.take(case.id, case.version, case.definition_id)
        change = {"assignee": actor.username if claim else None, "claimed_at": now if claim else None}
        uow.cases.save(case, events=rows, task_update=(task.id, change))
        uow.commit()
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def complete_task(cmd: CompleteTask, svc: Services) -> CaseRef:
    """Validate form data, complete the task and run the case until it waits again.

    Date rules of the form (``disallowPassedDates``, ``validate.minDate``/``maxDate``) count from the business
    date of the completion. A completion that would be a second one-time 补正 notice is refused (409
    ``NOTICE_ALREADY_GIVEN``) before anything is written. A 受理 that starts clocks also resumes, at the same
    instant, every other clock paused for 补正 (``ClocksStarted.resumed``); a 特别程序 pause goes on.
    """
    now = svc.clock.now()
    with svc.uow() as uow:
        task, case = uow.cases.lock_by_task(cmd.task_id)
        _check_actionable(task, cmd.actor)
        definition = svc.catalog.get(uow, case.definition_id)
        check_separation(uow, definition, task, cmd.actor.username)
        try:
            exercised = require_task_right(uow, case, definition, task, now)
        except GrantMissing as refused:
            uow.commit()  # nothing written yet: end the transaction, then record the refusal on its own
            _record_refusal(svc, case.id, task, cmd.actor, refused, now)
            raise
        if not cmd.on_record:
            # 第三十二条: one notice of everything to correct; a loop back to the notice task may not tell again.
            refuse_repeat_notice(uow, case, definition.one_time_notice, task.element_id, COMPLETE_HINT)
        form = definition.forms.get(task.form_key) if task.form_key else None
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        submitted = cmd.data
        if definition.bundle is not None:
            # What the bundle already collected is filled in, never asked again (一件事 一表申报).
            submitted = merge_bundle(definition.bundle, task.element_id,
                                     svc.runner.task_data(workflow, task.spiff_task_id), submitted)
        data = form.validate(submitted, today=business_date(now)) if form is not None \
            else check_variables(submitted, what="表单数据")
        inputs: list[ev.Event] = [ev.TaskCompleted(element_id=task.element_id, task_id=task.id, data=data)]
        inputs += exercised
        noticed = notice_kinds(case.clocks, task.element_id)
        if noticed:
            # The one-time 补正 notice of 第三十二条 is this task: it stops the 5-day deemed-acceptance window.
            doc = note_correction_notice(case.clocks, now)
            case.set(clocks=doc, **derived_columns(doc, svc.calendar.get()))
            reason = f"一次性告知补正（{_task_name(definition, task)}）"
            inputs.append(ev.ClockPaused(element_id=task.element_id, task_id=task.id, clocks=noticed,
                                         reason_kind="correction", reason=reason))
        starting = starts_clocks(case.clocks, task.element_id)
        if starting:
            # 受理 done: the clocks waiting for it start now, back-dated when 第三十二条 deems it earlier.
            task_data = {**svc.runner.task_data(workflow, task.spiff_task_id), **data}
            doc, started = start_pending(case.clocks, task.element_id, now, svc.calendar.get(), cmd.actor.username,
                                         task_data)
            # 受理 ends the other clocks' 补正 pauses (第三十二条第一款第五项), recorded on the event.
            resumed: dict[str, str] = {}
            if cmd.resume_pauses:
                doc, resumed = resume_at_acceptance(doc, now, cmd.actor.username)
            case.set(clocks=doc, **derived_columns(doc, svc.calendar.get()))
            inputs.append(ev.ClocksStarted(element_id=task.element_id, clocks={s["kind"]: s for s in started},
                                           resumed=resumed))
        stopping = stops_clocks(case.clocks, task.element_id)
        if stopping:
            # 阶段办结: the period ends; the clock waits for the next stage's 受理 (tb:clock stopsAt).
            doc, stopped = stop_periods(case.clocks, stopping, now)
            case.set(clocks=doc, **derived_columns(doc, svc.calendar.get()))
            uow.extensions.lapse_open(case.id, stopping, now)     # a request belongs to its period (第四十二条)
            inputs.append(ev.ClocksStopped(element_id=task.element_id, task_id=task.id, clocks=stopped))
        if starting or stopping:
            # Open tasks whose budget counts on a case clock follow it (the one completing goes nowhere).
            follow_case_clocks(uow, svc, case, definition, skip=(task.id,))
        with case_clocks_bound(case.clocks):
            if starting or stopping:
                # Timers armed with legal_due() while the clock waited get their real due time now.
                inputs += rearm_timers(uow, svc, case, workflow, "clocks_started" if starting else "clocks_stopped")
            if case.owning_district != case.receiving_district:
                # A receiving window's process routes on the grants in force now, not those of the intake.
                data = {**data, **refreshed_rights(uow, case, svc.runner.task_data(workflow, task.spiff_task_id),
                                                   now)}
            step = svc.runner.complete(workflow, task.spiff_task_id, data)
        before = {t.spiff_task_id: t for t in step.timers_before}
        created, rows = _apply_step(uow, svc, case, definition, workflow, step, inputs, cmd.actor, now, before)
        change = {"state": "completed", "completed_at": now, "completed_by": cmd.actor.username,
                  "assignee": task.assignee or cmd.actor.username}
        uow.cases.save(case, events=rows, task_update=(task.id, change))
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version, created)


def fire_due_timers(cmd: FireDueTimers, svc: Services) -> CaseRef:
    """Let the case's due timers fire at the clock's now (the worker calls this per due case)."""
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(cmd.case_id)
        if case.status != "running":
            raise Conflict("办件已结束，无需触发定时器", details={"case_id": case.id})
        definition = svc.catalog.get(uow, case.definition_id)
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        before = {t.spiff_task_id: t for t in svc.runner.waiting_timers(workflow)}
        due = tuple(t.element_id for t in before.values() if t.due_at is not None and t.due_at < now)
        if not due:
            # A leased row the workflow no longer waits on (its activity ended) must not be claimed again.
            stale = uow.cases.waiting_timer_ids(case.id) - before.keys()
            uow.cases.finish_timers(case.id, stale, at=now)
            uow.commit()
            return CaseRef(case.id, case.case_no, case.status, case.version)
        missed = svc.runner.merge_missed_cycles(workflow) if cmd.merge_missed else None
        with case_clocks_bound(case.clocks):
            step = svc.runner.fire_timers(workflow)
        fired = ev.TimersFired(due_elements=due, missed=missed)
        created, rows = _apply_step(uow, svc, case, definition, workflow, step, [fired], cmd.actor, now, before)
        uow.cases.save(case, events=rows)
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version, created)


def _record_refusal(svc: Services, case_id: int, task: TaskRecord, actor: Actor, refused: GrantMissing,
                    now: datetime) -> None:
    """Record a receiving district's refused task in the case's audit log, in a transaction of its own."""
    details = refused.details
    with svc.uow() as uow:
        case = uow.cases.lock(case_id)
        rows = _record(case, [ev.GrantRefused(element_id=task.element_id, task_id=task.id, right=details["right"],
                                              owning_district=details["owning_district"],
                                              receiving_district=details["receiving_district"])], actor, now)
        uow.cases.save(case, events=rows)
        uow.commit()


def rearm_timers(uow: SqlAlchemyUnitOfWork, svc: Services, case: CaseRecord, workflow: Any,
                 reason: str) -> list[ev.Event]:
    """Re-evaluate the case's date timers against its clocks as they are now; move the rows that changed.

    Call inside :func:`case_clocks_bound` with the case's new clocks. Returns the audit event naming each
    moved timer and its new due instant (none when nothing moved).
    """
    moved = svc.runner.rearm_timers(workflow)
    moved = [t for t in moved if t.due_at is not None]
    for timer in moved:
        uow.cases.reschedule_timer(case.id, timer.spiff_task_id, timer.due_at)
    if not moved:
        return []
    return [ev.TimersRearmed(reason=reason, timers={t.element_id: t.due_at.isoformat() for t in moved})]


def _task_name(definition: LoadedDefinition, task: TaskRecord) -> str:
    info = definition.user_tasks.get(task.element_id)
    return info.name if info is not None and info.name else task.element_id


def _check_actionable(task: TaskRecord, actor: Actor, *, releasing: bool = False) -> None:
    # A holder no longer in any of the task's groups (组织调整) may only give it back (403 NOT_CANDIDATE_ANYMORE
    # else). Reads the task row and the actor only, both loaded already: no statement on the completion path.
    candidate = still_candidate(actor, task.candidate_groups)
    if not candidate and task.assignee != actor.username:
        # 404, not 403: a user outside the task's groups must not learn that it exists.
        raise NotFound("任务不存在或无权访问", details={"task_id": task.id})
    if task.state != "open":
        raise Conflict("该任务已办结或已撤销，不能再次处理", details={"task_id": task.id, "state": task.state})
    if task.assignee is not None and task.assignee != actor.username:
        raise Conflict(f"该任务已被 {task.assignee} 认领", details={"task_id": task.id, "assignee": task.assignee})
    if not candidate and not releasing:
        require_candidate(task, actor)


def _apply_step(uow: SqlAlchemyUnitOfWork, svc: Services, case: CaseRecord, definition: LoadedDefinition,
                workflow: Any, step: StepResult, inputs: list[ev.Event], actor: Actor, now: datetime,
                timers_before: dict[str, Any]) -> tuple[tuple[int, ...], list[dict[str, Any]]]:
    """Write what one step produced (tasks, timers), update the case record; return task ids and event rows.

    The event rows and the case record are written by the caller's ``save``, in the same statement where
    the database allows it.
    """
    case_fields = {"owning_district": case.owning_district, "receiving_district": case.receiving_district,
                   "deciding_district": case.deciding_district}
    # The rows the step closes, named by its TaskCancelled events: read while they are still open (any read
    # sends the queued writes first, the close below among them).
    closed = uow.cases.open_rows(case.id, [sid for sid, _ in step.cancelled])
    rows, groups_per_row = [], []
    for ready in step.created:
        info = definition.user_tasks.get(ready.element_id)
        groups = resolve_groups(info.candidate_groups if info else (), case_fields, ready.data)
        groups += [f"user:{u}" for u in (info.candidate_users if info else ())]
        groups_per_row.append(groups)
        due_at = yellow_at = bound = None
        if info is not None and info.deadline is not None and svc.calendar is not None:
            due_at, yellow_at = budget_instants(info.deadline, now, case.clocks, svc.calendar.get())
            bound = None if info.deadline.clock == "task" else info.deadline.clock
        rows.append({"case_id": case.id, "spiff_task_id": ready.spiff_task_id, "element_id": ready.element_id,
                     "name": ready.name, "lane": ready.lane, "process_key": case.process_key,
                     "district": case.owning_district, "form_key": info.form_key if info else None,
                     "candidate_groups": groups, "state": "open", "created_at": now, "due_at": due_at,
                     "yellow_at": yellow_at, "deadline_clock": bound, "activation": ready.activation,
                     **inbox_columns(case, ready, due_at, yellow_at, own=bound is not None)})
    ids = uow.cases.insert_tasks(rows)
    uow.cases.insert_candidates([{"task_id": i, "group_key": g, "available": True, "inbox_due_at": r["inbox_due_at"],
                                  "inbox_yellow_at": r["inbox_yellow_at"], "created_at": now}
                                 for i, r, gs in zip(ids, rows, groups_per_row) for g in gs])
    uow.cases.close_tasks(case.id, [sid for sid, _ in step.cancelled], state="cancelled", at=now)

    after = {t.spiff_task_id: t for t in step.timers}
    uow.cases.finish_timers(case.id, [sid for sid in timers_before if sid not in after], at=now)
    uow.cases.insert_timers([{"case_id": case.id, "spiff_task_id": t.spiff_task_id, "element_id": t.element_id,
                              "kind": t.kind, "due_at": t.due_at, "state": "waiting", "created_at": now,
                              "attempts": 0}
                             for sid, t in after.items() if sid not in timers_before and t.due_at is not None])
    # A cycle that fired waits for its next slot as the same timer: its row follows it, lease ended.
    moved = {sid: t.due_at for sid, t in after.items()
             if sid in timers_before and t.due_at is not None and t.due_at != timers_before[sid].due_at}
    if moved:
        uow.timers.reschedule(case.id, moved)

    effects: list[ev.Event] = [ev.TaskCancelled(element_id=element, task_id=closed.get(sid))
                               for sid, element in step.cancelled]
    if step.advanced:
        effects.append(ev.FlowAdvanced(elements=tuple(step.advanced)))
    effects += [ev.TaskCreated(element_id=r["element_id"], task_id=i, name=r["name"],
                               candidate_groups=tuple(r["candidate_groups"]), form_key=r["form_key"])
                for r, i in zip(rows, ids)]
    effects += write_outbox(uow, svc, case, definition, step.thrown, now,
                            lambda u, c, parts, at: attach_parts(u, c, definition, parts, at))
    if step.completed:
        effects.append(ev.CaseCompleted())
        case.set(status="completed", ended_at=now)
        if case.clocks:
            closed = close_all(case.clocks, now)
            case.set(clocks=closed, deadline_provisional=False,
                     **{f"{k}_{c}_at": None for k in KINDS for c in ("due", "yellow")},
                     **closing_columns(closed, now, svc.calendar.get() if svc.calendar is not None else None))
        for hook in svc.on_case_completed:
            hook(uow, svc, case, workflow, step, actor, now)
    case.set(workflow_state=svc.runner.dump(workflow), serializer_version=SERIALIZER_VERSION)
    return tuple(ids), _record(case, inputs + effects, actor, now)


def inbox_columns(case: CaseRecord, ready: ReadyTask, due_at: datetime | None,
                  yellow_at: datetime | None, *, own: bool = False) -> dict[str, Any]:
    """The case facts copied onto a new inbox row, so the inbox filters and sorts on ``tasks`` alone.

    The stage is the case's stage when it has one, else the task's lane; the applicant is the case data's
    ``applicant_name`` (or ``applicant``). The due instants are the task's own budget (``own``: one counted
    on a case clock, which has none while that clock stands still), else the case's committed (承诺) clock;
    ``CaseRepository.save`` keeps the latter current when the clock moves, :mod:`.task_budget_moves` the former.
    """
    applicant = ready.data.get("applicant_name") or ready.data.get("applicant")
    own = own or due_at is not None
    return {"case_no": case.case_no, "stage": case.stage or ready.lane,
            "applicant_name": applicant[:128] if isinstance(applicant, str) else None,
            "inbox_due_at": (due_at or NO_DEADLINE) if own else case.committed_due_at or NO_DEADLINE,
            "inbox_yellow_at": yellow_at if own else case.committed_yellow_at}


def _record(case: CaseRecord, items: list[ev.Event], actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """Chain events onto the case's hash chain, move its head on the record, return the rows to insert.

    When the command has set a new workflow snapshot, the last event carries its digest (``STATE_DIGEST``),
    so verification can tell the snapshot the case runs on from the one the engine wrote. The first carries
    the calendar generation the command counts with (``CALENDAR_GENERATION``), which replay seeds it with.
    """
    rows, prev, seq = [], case.chain_head, case.event_seq
    snapshot = case.changes.get("workflow_state")
    generation = generation_in_use()
    for item in items:
        seq += 1
        payload = item.payload()
        if generation is not None and item is items[0]:
            payload[CALENDAR_GENERATION] = generation
        if snapshot and item is items[-1]:
            payload[STATE_DIGEST] = state_digest(snapshot)
        digest = event_hash(prev, case_no=case.case_no, seq=seq, event_type=item.event_type, occurred_at=now,
                            actor=actor.username, element_id=item.element_id, task_id=item.task_id,
                            payload=payload)
        rows.append({"case_id": case.id, "seq": seq, "event_type": item.event_type, "occurred_at": now,
                     "actor": actor.username, "element_id": item.element_id, "task_id": item.task_id,
                     "payload": payload, "prev_hash": prev, "hash": digest})
        prev = digest
    case.set(event_seq=seq, chain_head=prev, updated_at=now, **event_columns(case, items, case.clocks, now))
    read = generation_read()
    if read is not None and (case.calendar_generation is None or read < case.calendar_generation):
        # Counted with an older calendar than the case's last full count: the worker's recount will catch up.
        case.set(calendar_generation=read)
    return rows
