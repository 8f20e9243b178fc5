"""Replay's commands: the command that re-issues each recorded input event, and the state of one replay.

:mod:`engine.replay_walk` calls :data:`_COMMANDS` at each input event, with the mutable :class:`_Run` that maps
the scratch database's ids to the recorded ones. The recorded actor acts with the acted-on task's candidate
groups and the roles the clock and 督办 commands ask for (:class:`ReplayActor`): permissions are not checked
again, the record shows the command was allowed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import insert, select

from . import events as ev
from .bootstrap import Engine
from .clock import ManualClock
from .commands import (
    Actor, ClaimTask, CloseSupervision, Command, CompleteTask, DecideExtension, DelegateTask, ExtendDeadline,
    FireDueTimers, MigrateCase, RaiseSupervision, RecomputeDeadlines, RequestExtension, ResumeClock, ReturnTask,
    StartCase, SuspendClock, UnclaimTask, WithdrawExtension,
)
from .errors import NotFound
from .grants import GrantMissing
from .case_start import open_case
from .handlers import _record
from .persistence.models import CaseMaterial, TaskItem
from .replay_calendar import CalendarVersions, WithheldYears
from .replay_inputs import GrantsAsOf
from .replay_messages import MESSAGE_INPUTS, RECEIPT_OF_MESSAGE, start_from_message
from .replay_results import RecordedEvent
from .replay_shapes import resumed_at_acceptance

# Events written as part of another command's outcome (after its input event) or as effects.
_EFFECTS = frozenset({"MatterReceived", "GrantExercised", "ApplicationReceived", "TaskCreated",
                      "TaskCancelled", "FlowAdvanced", "CaseCompleted", "ClocksStarted", "ClocksStopped",
                      "TimersRearmed"})
_RECEIPT = frozenset({"MatterReceived", "GrantExercised", "ApplicationReceived"}) | RECEIPT_OF_MESSAGE


@dataclass
class _Run:
    """Mutable state of one replay: the scratch engine, its clock and the id mappings."""

    engine: Engine
    clock: ManualClock
    source_case: Any
    reader: Any = None                                        # a Core connection to the scratch database
    case_id: int | None = None
    tasks: dict[int, int] = field(default_factory=dict)       # replay task id -> recorded task id
    items: dict[int, int] = field(default_factory=dict)       # replay 督办 item id -> recorded item id
    requests: dict[int, int] = field(default_factory=dict)    # replay extension request id -> recorded id
    groups: dict[int, frozenset[str]] = field(default_factory=dict)  # replay task id -> its candidate groups
    users: dict[str, Any] = field(default_factory=dict)
    calendar: CalendarVersions = field(default_factory=lambda: CalendarVersions(()))  # set by _seed
    calendar_seeded: tuple[Any, ...] = ()   # which calendar the scratch holds (by generation or instant)
    by_generation: bool = False   # the command being replayed was seeded by its recorded calendar generation
    withheld: WithheldYears = field(default_factory=lambda: WithheldYears({}))  # loaded years not carried
    grants: GrantsAsOf = field(default_factory=lambda: GrantsAsOf([]))  # the matter's grants, as of each command
    materials: list[dict[str, Any]] = field(default_factory=list)  # the case's received materials
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # received messages by idempotency key


class ReplayActor(Actor):
    """An actor that also holds the candidate groups of the task it acts on (permissions are not checked)."""

    extra_groups: frozenset[str] = frozenset()

    def __init__(self, username: str, roles: tuple[str, ...], district: str | None, department: str | None,
                 extra_groups: frozenset[str] = frozenset()):
        super().__init__(username, roles, district, department)
        object.__setattr__(self, "extra_groups", extra_groups)

    @property
    def groups(self) -> frozenset[str]:
        """The actor's own groups plus the task's."""
        return super().groups | self.extra_groups


def _replay_task_id(run: _Run, recorded_id: int | None) -> int:
    for replay_id, original in run.tasks.items():
        if original == recorded_id:
            return replay_id
    raise NotFound(f"记录中的任务 {recorded_id} 在重放中不存在", details={"task_id": recorded_id})


def _actor(run: _Run, username: str | None, task_id: int | None = None) -> Actor:
    """The recorded actor, with its user row's roles where known, and the acted-on task's groups."""
    user = run.users.get(username or "")
    roles = tuple(dict.fromkeys([*(user["roles"] if user else ()), "admin", "supervisor"]))
    district = user["district"] if user and user["district"] else run.source_case.owning_district
    groups = run.groups.get(task_id) if task_id is not None else frozenset()
    if groups is None:
        try:
            found = run.reader.execute(select(TaskItem.candidate_groups).where(TaskItem.id == task_id)).scalar()
        finally:
            run.reader.rollback()
        groups = frozenset(found or ())
    return ReplayActor(username or "system", roles, district, user["department"] if user else None, groups)


def _start(run: _Run, event: RecordedEvent, rest: list[RecordedEvent]) -> None:
    p, case = event.payload, run.source_case
    receipt = {}
    for later in rest:
        if later.event_type not in _RECEIPT:
            break
        receipt[later.event_type] = later
    if "MessageReceived" in receipt:
        started, workflow = start_from_message(run, receipt["MessageReceived"], _actor(run, event.actor))
        run.engine.services.runner.checkin(started.id, started.version, started.definition_id, workflow)
        run.case_id = started.id
        return
    matter = receipt.get("MatterReceived")
    cmd = StartCase(p["process_key"], _actor(run, event.actor), p["data"], version=p["definition_version"],
                    business_key=case.business_key, title=case.title, owning_district=p.get("owning_district"),
                    receiving_district=p.get("receiving_district"),
                    matter_code=matter.payload["code"] if matter is not None else None)
    application = receipt.get("ApplicationReceived")
    extra: Callable[..., list[ev.Event]] | None = None
    if application is not None:
        a = application.payload
        received = ev.ApplicationReceived(channel=a["channel"], materials=tuple(a["materials"]),
                                          missing=tuple(a["missing"]), tolerance=a["tolerance"])
        extra = lambda _case, _row: [received]  # noqa: E731 - the recorded application is the input
    svc = run.engine.services
    with svc.uow() as uow:
        started, _, workflow = open_case(uow, svc, cmd, dict(p["data"]), svc.clock.now(), inputs_after=extra,
                                         intake=application is not None)
        if application is not None and run.materials:
            # Intake stored these with the application; a handoff's manifest is built from them.
            uow.connection.execute(insert(CaseMaterial.__table__), [{**m, "case_id": started.id}
                                                                    for m in run.materials])
        uow.commit()
    svc.runner.checkin(started.id, started.version, started.definition_id, workflow)
    run.case_id = started.id


def _task_command(make: Callable[[int, Actor, RecordedEvent], Command]) -> Callable[..., None]:
    def issue(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
        task_id = _replay_task_id(run, event.task_id)
        run.engine.handle(make(task_id, _actor(run, event.actor, task_id), event))
    return issue


def _complete(run: _Run, event: RecordedEvent, rest: list[RecordedEvent]) -> None:
    """Re-issue a completion; a 受理 whose ``ClocksStarted`` has no ``resumed`` leaves paused clocks paused.

    Such a 受理 either resumed nothing (the same either way) or was recorded before 受理 ended the 补正
    pauses of the other clocks: then they stayed paused until a recorded ``ClockResumed``, as replayed.
    """
    task_id = _replay_task_id(run, event.task_id)
    run.engine.handle(CompleteTask(task_id, _actor(run, event.actor, task_id), event.payload["data"],
                                   on_record=True, resume_pauses=resumed_at_acceptance(event, rest, _EFFECTS)))


def _refused_completion(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
    """Re-issue a receiving district's completion its grant did not cover (``GrantRefused``).

    The grants are as of then: refused again, the handler records the same event; allowed, replay shows what
    it did instead.
    """
    task_id = _replay_task_id(run, event.task_id)
    try:
        run.engine.handle(CompleteTask(task_id, _actor(run, event.actor, task_id), {}))
    except GrantMissing:
        pass    # the refusal is the input's whole effect: its GrantRefused row is compared next


def _case_command(make: Callable[[int, Actor, dict[str, Any]], Command]) -> Callable[..., None]:
    def issue(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
        run.engine.handle(make(run.case_id, _actor(run, event.actor), event.payload))
    return issue


def _message_command(issue: Callable[[_Run, RecordedEvent, Actor], None]) -> Callable[..., None]:
    def run_input(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
        issue(run, event, _actor(run, event.actor))
    return run_input


def _close_supervision(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
    item = next((mine for mine, original in run.items.items() if original == event.payload["item_id"]), None)
    if item is None:
        raise NotFound(f"记录中的督办事项 {event.payload['item_id']} 在重放中不存在")
    run.engine.handle(CloseSupervision(item, _actor(run, event.actor), event.payload["opinion"]))


def _extension_request(make: Callable[[int, Actor, dict[str, Any]], Command]) -> Callable[..., None]:
    def issue(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
        recorded = event.payload["request_id"]
        mine = next((replayed for replayed, original in run.requests.items() if original == recorded), None)
        if mine is None:
            raise NotFound(f"记录中的延期申请 {recorded} 在重放中不存在")
        run.engine.handle(make(mine, _actor(run, event.actor), event.payload))
    return issue


def _supplement(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
    """Re-record an online 补正 upload: an input with no effect on the workflow (the files are not replayed)."""
    p = event.payload
    received = ev.SupplementReceived(materials=tuple(p["materials"]), note=p["note"])
    svc = run.engine.services
    with svc.uow() as uow:
        case = uow.cases.lock(run.case_id)
        uow.cases.save(case, events=_record(case, [received], _actor(run, event.actor), svc.clock.now()))
        uow.commit()


def _administrative(make: Callable[[RecordedEvent], ev.Event]) -> Callable[..., None]:
    """Re-record an administrative input as recorded: it changes no workflow state (``TimerRetried``)."""
    def record_again(run: _Run, event: RecordedEvent, _rest: list[RecordedEvent]) -> None:
        svc = run.engine.services
        with svc.uow() as uow:
            case = uow.cases.lock(run.case_id)
            uow.cases.save(case, events=_record(case, [make(event)], _actor(run, event.actor), svc.clock.now()))
            uow.commit()
    return record_again


ADMINISTRATIVE: dict[str, Callable[[RecordedEvent], ev.Event]] = {
    "TimerRetried": lambda e: ev.TimerRetried(element_id=e.element_id, timer_id=e.payload["timer_id"],
                                              action=e.payload["action"], attempts=e.payload["attempts"],
                                              due_at=e.payload["due_at"]),
}
"""Administrative inputs by event type: an administrator acted on the case's machinery (a timer set aside), not
on its process. They may come at any point, after the case's end and its 好差评 too (:mod:`engine.replay_walk`)."""


_COMMANDS: dict[str, Callable[[_Run, RecordedEvent, list[RecordedEvent]], None]] = {
    "CaseStarted": _start,
    "TaskClaimed": _task_command(lambda t, a, e: ClaimTask(t, a)),
    "TaskUnclaimed": _task_command(lambda t, a, e: UnclaimTask(t, a)),
    "TaskCompleted": _complete,
    "TaskDelegated": _task_command(lambda t, a, e: DelegateTask(t, a, e.payload["to_user"],
                                                                e.payload["reason"])),
    "TaskReturned": _task_command(lambda t, a, e: ReturnTask(t, a, e.payload["reason"], on_record=True)),
    "TimersFired": _case_command(lambda c, a, p: FireDueTimers(c, a, merge_missed="missed" in p)),
    "GrantRefused": _refused_completion,
    "ClockPaused": _case_command(lambda c, a, p: SuspendClock(
        c, a, p["reason_kind"], p["reason"], tuple(p["clocks"]), p.get("procedure", ""),
        p.get("expected_days"), on_record=True)),
    "ClockResumed": _case_command(lambda c, a, p: ResumeClock(c, a, tuple(p["clocks"]))),
    # Extensions recorded before approvals moved into the system name a head the actor recorded (on_record).
    "DeadlineExtended": _case_command(lambda c, a, p: ExtendDeadline(
        c, a, p["days"], p["reason"], p["approved_by"], p["clock"], p["told_to_applicant"], on_record=True)),
    "ExtensionRequested": _case_command(lambda c, a, p: RequestExtension(
        c, a, p["days"], p["reason"], p["clock"], p["told_to_applicant"], on_record=True)),
    "ExtensionApproved": _extension_request(lambda r, a, p: DecideExtension(r, a, True, p["comment"],
                                                                            on_record=True)),
    "ExtensionRejected": _extension_request(lambda r, a, p: DecideExtension(r, a, False, p["comment"],
                                                                            on_record=True)),
    "ExtensionWithdrawn": _extension_request(lambda r, a, p: WithdrawExtension(r, a)),
    # Recomputes recorded before they moved open tasks' own deadlines name no task: keys (replay them so).
    "DeadlinesRecomputed": _case_command(lambda c, a, p: RecomputeDeadlines(
        c, p["reason"], a, move_tasks=any(str(k).startswith("task:") for k in p.get("after") or {}))),
    "SupervisionRaised": _case_command(lambda c, a, p: RaiseSupervision(c, a)),
    "SupervisionClosed": _close_supervision,
    "CaseMigrated": _case_command(lambda c, a, p: MigrateCase(c, a, p["to_version"])),
    "SupplementReceived": _supplement,
    **{name: _message_command(issue) for name, issue in MESSAGE_INPUTS.items()},
    **{name: _administrative(make) for name, make in ADMINISTRATIVE.items()},
}
REPLAYED_EVENTS = tuple(sorted(_COMMANDS))
"""The input event types replay can re-issue as commands."""
