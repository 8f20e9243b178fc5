"""Deterministic replay (DESIGN §8): re-run a case from its pinned definition and inputs, compare the effects.

A scratch SQLite database, migrated to head, receives exactly what the case needs: its pinned definition
version (BPMN, resources, the pinned form versions) and every version a ``CaseMigrated`` moved it to (replay
issues the migration again at that event, so the spec switches there), the matter version it was received
under and that matter's grants, the users its events name, and the calendar facts; before each command the
scratch holds only the facts loaded by then, so a year imported later (and the DeadlinesRecomputed it
caused) replays too, and only the grants as they stood then (:mod:`engine.replay_inputs`, which also refuses
a pinned definition missing from the store or edited in it). A history file carries only the calendar years
its case can need: a command that consults another year the case had loaded refuses the replay
(:mod:`engine.replay_calendar`).
A fresh engine on a :class:`ManualClock` then walks the recorded events in order: at each *input* event the
clock is set to the recorded instant and the command that produced the event is issued as the recorded
actor. Every event the replay writes is compared with the recorded one at the same position by type,
element, actor, instant and payload; database ids (inbox task ids, 督办 item ids) differ between the two
databases and are compared through a 1:1 mapping made where the ids are born (``TaskCreated``,
``SupervisionRaised``, ``ExtensionRequested``). The case number is reused, so it matches too.

An effect recorded before the engine added a field to its type (``ClocksStarted``'s budget of a clock started
at 受理) is compared without that field; one that records it must match it exactly (:mod:`engine.replay_shapes`).
A 受理 recorded before 受理 ended the 补正 pauses of the other clocks has a ``ClocksStarted`` without
``resumed`` where the clocks stayed paused: replay re-issues it so (``CompleteTask.resume_pauses``), and the
``ClockResumed`` someone recorded later by hand replays as recorded.

Replay does not re-check permissions: the record shows the command was allowed, so the replay actor holds the
task's candidate groups and the roles the clock and 督办 commands ask for. An input event with no command to
replay it is reported as unsupported, never passed over. Tampering is :mod:`engine.verification`'s job: an
edited input replays as edited, and shows here only where it changes an effect.
"""
from __future__ import annotations

import shutil
import tempfile
from bisect import bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time as dtime
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

from sqlalchemy import bindparam, delete, insert, select

from . import events as ev, replay_case_row as case_row
from .audit import STATE_DIGEST, canonical_json
from .bootstrap import Engine, bootstrap
from .case_history import CaseHistory, load_case_history
from .clock import CST, ManualClock
from .commands import (
    Actor, ClaimTask, CloseSupervision, Command, CompleteTask, DecideExtension, DelegateTask, ExtendDeadline,
    FireDueTimers, MigrateCase, RaiseSupervision, RecomputeDeadlines, RequestExtension, ResumeClock, ReturnTask,
    StartCase, SuspendClock, UnclaimTask, WithdrawExtension,
)
from .errors import EngineError, NotFound
from .grants import GrantMissing
from .handlers import _record, open_case
from .migrations import upgrade_database
from .persistence.models import (
    CalendarDay, Case, CaseCounter, CaseEvent, CaseMaterial, FormVersion, MatterVersion, ProcessDefinition, TaskItem,
    User,
)
from .replay_calendar import WithheldYears
from .replay_inputs import GrantsAsOf, check_pins_against_chain
from .replay_messages import MESSAGE_INPUTS, RECEIPT_OF_MESSAGE, start_from_message
from .replay_shapes import as_recorded, resumed_at_acceptance

# Events written as part of another command's outcome (after its input event) or as effects.
_EFFECTS = frozenset({"MatterReceived", "GrantExercised", "ApplicationReceived", "TaskCreated",
                      "TaskCancelled", "FlowAdvanced", "CaseCompleted", "ClocksStarted", "ClocksStopped",
                      "TimersRearmed"})
_RECEIPT = frozenset({"MatterReceived", "GrantExercised", "ApplicationReceived"}) | RECEIPT_OF_MESSAGE
T = TypeVar("T")

# 好差评 events follow a case's end: the rating and what its 差评整改 case (a case of its own, replayed on
# its own) did. They are no input of this case's process, so replay stops before them; they must all come
# after the process part, and verify checks their hash chain like any other event.
AFTER_END = frozenset({"CaseRated", "RectificationOpened", "RectificationClosed", "RatingRemoved"})


@dataclass(frozen=True)
class RecordedEvent:
    """One stored audit event, as replay reads it from either database."""

    seq: int
    event_type: str
    occurred_at: datetime
    actor: str | None
    element_id: str | None
    task_id: int | None
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape for reports (the instant in UTC ISO form)."""
        return {"seq": self.seq, "event_type": self.event_type, "occurred_at": _iso(self.occurred_at),
                "actor": self.actor, "element_id": self.element_id, "task_id": self.task_id,
                "payload": self.payload}


@dataclass(frozen=True)
class ReplayDivergence:
    """Where a replay first differs from the record."""

    seq: int
    """The event number (``seq``) in the recorded log where the difference shows."""
    reason: str
    """``mismatch``, ``missing`` (recorded, not replayed), ``extra`` (replayed, not recorded),
    ``refused`` (the replayed command raised an error), ``unsupported`` (no command replays this input), or
    ``case_row``: every event matched, but the case row's clocks, due instants, status or end do not (``seq``
    is then the last event's)."""
    expected: dict[str, Any] | None = None
    """The recorded event, or None when the replay produced an extra one; for ``case_row``, the differing
    columns as recorded."""
    got: dict[str, Any] | None = None
    """The replayed event in the record's id space, or None when the replay produced nothing here; for
    ``case_row``, the differing columns as replayed."""
    message: str = ""
    """A one-line explanation (the refused command's error, the unsupported event type)."""


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying one case."""

    case_id: int
    """The case's id in the source database."""
    case_no: str
    """Its 办件编号."""
    events: int
    """How many recorded events were compared."""
    divergence: ReplayDivergence | None = None
    """The first difference, None when the replay is identical."""

    @property
    def identical(self) -> bool:
        """Whether every recorded event was reproduced and nothing more."""
        return self.divergence is None


@dataclass(frozen=True)
class ReplayedState(Generic[T]):
    """What :meth:`Replayer.state_at` found."""

    divergence: ReplayDivergence | None
    """The first difference up to the event asked for; None when the replay matched the record so far."""
    value: T | None
    """What the inspection returned, None when the replay diverged first."""


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
    calendar: list[dict[str, Any]] = field(default_factory=list)  # every source row, oldest load first
    calendar_seeded: int = -1                                     # how many of them the scratch holds
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


class Replayer:
    """Replays cases of ``engine``'s database in scratch databases; one template migration per replayer."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._workdir: Path | None = None
        self._template: Path | None = None

    def close(self) -> None:
        """Remove the scratch folder."""
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = self._template = None

    def __enter__(self) -> "Replayer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def find(self, case_ref: str | int) -> int:
        """Return the id of the case named by its id or its 办件编号; NotFound otherwise."""
        with self.engine.database.read_sessions() as session:
            stmt = select(Case.id)
            stmt = stmt.where(Case.id == int(case_ref)) if str(case_ref).isdigit() else stmt.where(
                Case.case_no == str(case_ref))
            found = session.execute(stmt).scalar()
        if found is None:
            raise NotFound(f"办件 {case_ref} 不存在", details={"case": str(case_ref)})
        return int(found)

    def case_ids(self, since: date | None = None) -> list[int]:
        """Return the ids of every case (started on or after ``since``, a CST business date), in id order."""
        stmt = select(Case.id).order_by(Case.id)
        if since is not None:
            stmt = stmt.where(Case.started_at >= datetime.combine(since, dtime(0), tzinfo=CST))
        with self.engine.database.read_sessions() as session:
            return list(session.execute(stmt).scalars())

    def replay_case(self, case_ref: str | int) -> ReplayResult:
        """Replay one case (id or 办件编号) of the engine's database and return the first divergence, if any."""
        return self.replay_history(load_case_history(self.engine.database, self.find(case_ref)))

    def replay_history(self, history: CaseHistory) -> ReplayResult:
        """Replay a case from its history (read from a database or a history file); no source database is read."""
        with self._scratch(history) as (run, recorded):
            process_part, stray = _split_after_end(recorded)
            divergence = _walk(run, process_part) if stray is None else ReplayDivergence(
                stray.seq, "unsupported", stray.to_dict(), None,
                f"第 {stray.seq} 个事件 {stray.event_type} 出现在评价事件之后，重放不支持")
            if divergence is None and run.case_id is not None:
                divergence = _case_row(run, history, recorded)
        return ReplayResult(history.case["id"], history.case_no, len(recorded), divergence)

    def state_at(self, case_ref: str | int, seq: int,
                 inspect: Callable[[Engine, int, Mapping[int, int]], T]) -> ReplayedState[T]:
        """Replay one case up to the command that wrote event ``seq`` and inspect the scratch database then.

        ``inspect(engine, case_id, task_ids)`` gets the scratch engine, the replayed case's id there and the
        mapping of its task ids to the recorded ones; it is not called when the replay diverges first.
        """
        history = load_case_history(self.engine.database, self.find(case_ref))
        with self._scratch(history) as (run, recorded):
            # The state after a 好差评 event is the state the process ended in.
            divergence = _walk(run, _split_after_end(recorded)[0], until=seq)
            if divergence is not None or run.case_id is None:
                return ReplayedState(divergence, None)
            return ReplayedState(None, inspect(run.engine, run.case_id, dict(run.tasks)))

    @contextmanager
    def _scratch(self, history: CaseHistory) -> Iterator[tuple[_Run, list[RecordedEvent]]]:
        """A scratch engine seeded for the case, with its recorded events; removed afterwards."""
        case = SimpleNamespace(**history.case)
        recorded = [RecordedEvent(e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id, e.payload)
                    for e in history.events]
        folder = Path(tempfile.mkdtemp(dir=self._scratch_dir()))
        try:
            url = f"sqlite:///{folder / 'replay.sqlite'}"
            shutil.copy(self._template_path(), folder / "replay.sqlite")
            start = (recorded[0].occurred_at if recorded else case.started_at).astimezone(CST)
            clock = ManualClock(start)
            config = replace(self.engine.config, database_url=url, materials_dir=folder / "materials")
            scratch = bootstrap(config, clock=clock)
            try:
                with scratch.database.engine.connect() as reader:   # one read connection for the whole walk
                    run = _Run(scratch, clock, case, reader=reader)
                    _seed(run, history)
                    yield run, recorded
            finally:
                scratch.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def replay_all(self, since: date | None = None) -> Iterator[ReplayResult]:
        """Replay every case (started on or after ``since``) in id order, yielding each result."""
        for case_id in self.case_ids(since):
            yield self.replay_case(case_id)

    def _scratch_dir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="tongban-replay-"))
        return self._workdir

    def _template_path(self) -> Path:
        if self._template is None:
            path = self._scratch_dir() / "template.sqlite"
            upgrade_database(f"sqlite:///{path}")
            self._template = path
        return self._template

def _seed(run: _Run, history: CaseHistory) -> None:
    """Copy into the scratch database exactly the rows the case's commands read (see CaseHistory)."""
    case = run.source_case
    # Refused before anything runs: a pinned definition or form missing from the store, or edited in it (or
    # missing because the event naming it was edited: then the broken link is the reason).
    check_pins_against_chain(history)
    with run.engine.database.writer.begin() as conn:
        conn.execute(delete(CalendarDay.__table__))
        for table, rows in ((ProcessDefinition, history.definitions), (FormVersion, history.forms),
                            (MatterVersion, history.matters), (User, history.users)):
            if rows:
                conn.execute(insert(table.__table__), rows)
        day, number = case.case_no[2:10], case.case_no[10:]
        if case.case_no.startswith("TB") and day.isdigit() and number.isdigit():
            # The replayed case gets the recorded 办件编号 from the per-day counter.
            conn.execute(insert(CaseCounter.__table__), [{"day": day, "last": int(number) - 1}])
    run.users = {u["username"]: u for u in history.users}
    run.grants = GrantsAsOf(history.grants)   # written as of each command's instant (a later revocation is not)
    run.calendar = sorted(history.calendar, key=lambda row: row["loaded_at"])
    if history.calendar_withheld:
        # A trimmed calendar: consulting a year left out that the case had loaded refuses the replay.
        run.withheld = WithheldYears(history.calendar_withheld, case_no=history.case_no)
        run.engine.calendar.wrap(run.withheld.guard)
    run.materials = list(history.materials)
    run.messages = {m["idempotency_key"]: m for m in history.messages}


def _split_after_end(recorded: list[RecordedEvent]) -> tuple[list[RecordedEvent], RecordedEvent | None]:
    """Return the events before the first 好差评 event, and the first non-rating event after it, if any."""
    for index, event in enumerate(recorded):
        if event.event_type in AFTER_END:
            stray = next((e for e in recorded[index:] if e.event_type not in AFTER_END), None)
            return recorded[:index], stray
    return recorded, None


_EVENTS_AFTER = (select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.occurred_at, CaseEvent.actor,
                        CaseEvent.element_id, CaseEvent.task_id, CaseEvent.payload)
                 .where(CaseEvent.case_id == bindparam("case_id"), CaseEvent.seq > bindparam("after"))
                 .order_by(CaseEvent.seq))   # built once: it is read after every replayed command


def _events(session: Any, case_id: int, after: int = 0) -> list[RecordedEvent]:
    rows = session.execute(_EVENTS_AFTER, {"case_id": case_id, "after": after})
    return [RecordedEvent(*row) for row in rows]


def _walk(run: _Run, recorded: list[RecordedEvent], until: int | None = None) -> ReplayDivergence | None:
    """Issue a command at each input event and compare what it wrote; stop at the first difference.

    With ``until``, stop before the first command whose input comes after event ``until``: the effects the
    command of event ``until`` wrote after it are still compared, as they were written in one transaction.
    """
    got: list[RecordedEvent] = []
    position = 0
    while position < len(recorded):
        event = recorded[position]
        if len(got) > position:
            divergence = _compare(run, event, got[position])
            if divergence is not None:
                return divergence
            position += 1
            continue
        if until is not None and event.seq > until:
            return None
        if event.event_type in _EFFECTS or event.event_type not in _COMMANDS:
            if event.event_type in _EFFECTS:
                return ReplayDivergence(event.seq, "missing", event.to_dict(), None,
                                        "记录中有此事件，重放未产生")
            return ReplayDivergence(event.seq, "unsupported", event.to_dict(), None,
                                    f"第 {event.seq} 个事件 {event.event_type} 没有可重放的命令，重放不支持")
        if run.case_id is None and event.event_type != "CaseStarted":
            return ReplayDivergence(event.seq, "unsupported", event.to_dict(), None,
                                    f"第 {event.seq} 个事件 {event.event_type} 出现在办件开始之前，重放不支持")
        run.clock.set(event.occurred_at.astimezone(CST))
        _calendar_as_of(run, event.occurred_at)
        run.withheld.at(event.seq, event.event_type, event.occurred_at)
        run.grants.apply(run.engine, event.occurred_at)
        try:
            try:
                _COMMANDS[event.event_type](run, event, recorded[position + 1:])
            finally:
                run.withheld.raise_if_refused()   # a year the history left out: refuse, whatever the command did
        except EngineError as exc:
            if exc is run.withheld.refused:
                raise
            return ReplayDivergence(event.seq, "refused", event.to_dict(), None,
                                    f"重放命令被拒绝：[{exc.code}] {exc.message}")
        except (KeyError, TypeError, ValueError) as exc:
            # A payload without the fields its command needs (edited, or from an older engine).
            return ReplayDivergence(event.seq, "refused", event.to_dict(), None, f"记录的输入无法重放：{exc!r}")
        fresh = _replayed(run, after=len(got))
        if not fresh:
            return ReplayDivergence(event.seq, "missing", event.to_dict(), None, "重放命令未产生任何事件")
        got += fresh
    if len(got) > len(recorded):
        extra = _translate(run, got[len(recorded)], None)
        return ReplayDivergence(len(recorded) + 1, "extra", None, extra, "重放产生了记录中没有的事件")
    return None


def _case_row(run: _Run, history: CaseHistory, recorded: list[RecordedEvent]) -> ReplayDivergence | None:
    """Every event matched: compare the case row's clocks, due instants, status and end (:mod:`.replay_case_row`)."""
    found = case_row.differences(history.case, run.reader, run.case_id)
    if found is None:
        return None
    want, got = found
    return ReplayDivergence(recorded[-1].seq if recorded else 0, "case_row", want, got, case_row.message(want))


def _calendar_as_of(run: _Run, instant: datetime) -> None:
    """Give the scratch database the calendar facts loaded by ``instant`` (a year imported later is not)."""
    known = bisect_right(run.calendar, instant, key=itemgetter("loaded_at"))   # sorted by loaded_at
    if known == run.calendar_seeded:
        return
    with run.engine.database.writer.begin() as conn:
        conn.execute(delete(CalendarDay.__table__))
        if known:
            conn.execute(insert(CalendarDay.__table__), run.calendar[:known])
    run.calendar_seeded = known
    run.engine.calendar.invalidate()


def _replayed(run: _Run, *, after: int) -> list[RecordedEvent]:
    # Only the new ones (re-reading all is quadratic), on the run's connection: a session per command cost
    # a fifth of the replay. Ending the read lets the next one see the next command's commit.
    try:
        return _events(run.reader, run.case_id, after)
    finally:
        run.reader.rollback()


def _compare(run: _Run, expected: RecordedEvent, actual: RecordedEvent) -> ReplayDivergence | None:
    want = _without_state_digest(expected.to_dict())
    # An event recorded before a field was added to its type is compared without it (replay_shapes).
    got = as_recorded(_without_state_digest(_translate(run, actual, expected)), want)
    if canonical_json(got) == canonical_json(want):
        return None
    differing = [key for key in want if canonical_json(want[key]) != canonical_json(got.get(key))]
    named = "、".join(dict.fromkeys(_COMPARED.get(key, key) for key in differing)) or "内容"
    return ReplayDivergence(expected.seq, "mismatch", want, got, f"记录与重放的{named}不同")


def _without_state_digest(event: dict[str, Any]) -> dict[str, Any]:
    """The event without its snapshot digest: the replay's snapshot holds its own task ids, so never the same.

    The digest is verification's to check (:mod:`engine.verification`), against the stored snapshot.
    """
    payload = event["payload"]
    if STATE_DIGEST not in payload:
        return event
    return {**event, "payload": {k: v for k, v in payload.items() if k != STATE_DIGEST}}


_COMPARED = {"seq": "序号", "event_type": "事件类型", "occurred_at": "时间", "actor": "办理人", "element_id": "环节",
             "task_id": "任务", "payload": "内容"}
"""What a mismatch names, per compared field of an event (the verdict table's row labels)."""


def _translate(run: _Run, actual: RecordedEvent, expected: RecordedEvent | None) -> dict[str, Any]:
    """Return the replayed event with its ids mapped into the record's; learn mappings where ids are born."""
    same_kind = expected is not None and expected.event_type == actual.event_type \
        and expected.element_id == actual.element_id
    if same_kind and actual.event_type == "TaskCreated" and actual.task_id not in run.tasks \
            and expected.task_id not in run.tasks.values():
        run.tasks[actual.task_id] = expected.task_id
        if "candidate_groups" in actual.payload:   # the task row's groups, fixed at creation
            run.groups[actual.task_id] = frozenset(actual.payload["candidate_groups"])
    payload = dict(actual.payload)
    if same_kind and actual.event_type == "SupervisionRaised" and payload.get("item_id") not in run.items \
            and expected.payload.get("item_id") not in run.items.values():
        run.items[payload["item_id"]] = expected.payload.get("item_id")
    if "item_id" in payload and actual.event_type.startswith("Supervision"):
        payload["item_id"] = run.items.get(payload["item_id"], f"replay:{payload['item_id']}")
    if same_kind and actual.event_type == "ExtensionRequested" and payload.get("request_id") not in run.requests \
            and expected.payload.get("request_id") not in run.requests.values():
        run.requests[payload["request_id"]] = expected.payload.get("request_id")
    if "request_id" in payload and actual.event_type.startswith("Extension"):
        payload["request_id"] = run.requests.get(payload["request_id"], f"replay:{payload['request_id']}")
    task_id = actual.task_id
    if task_id is not None:
        task_id = run.tasks.get(task_id, f"replay:{task_id}")
    return {**replace(actual, payload=payload).to_dict(), "task_id": task_id}


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
}
REPLAYED_EVENTS = tuple(sorted(_COMMANDS))
"""The input event types replay can re-issue as commands."""


def _iso(value: datetime) -> str:
    return value.astimezone(CST).isoformat()
