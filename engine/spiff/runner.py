"""Drive a BpmnWorkflow: start, complete a user task, fire timers, and compact what the future no longer needs.

Every method returns spiff-free facts (:class:`StepResult`): which user tasks became ready or went away,
which elements the engine passed through, which timers wait and until when, and whether the process ended.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..clock import Clock
from ..errors import Conflict, EngineError, WorkflowFailed
from . import clock_bridge, migration
from .message_steps import MessageSteps
from .migration import Blocker
from .serializer import StateCodec, TongbanWorkflow


@dataclass(frozen=True)
class ReadyTask:
    """A user task that is ready for a person: its spiff id, element and the data it sees."""

    spiff_task_id: str
    element_id: str
    name: str
    lane: str | None
    data: Mapping[str, Any]
    activation: str | None = None
    """The spiff id shared by the instances of one multi-instance activation (会签), else the task's own."""


@dataclass(frozen=True)
class WaitingTimer:
    """A timer event waiting in the workflow, with its absolute due time."""

    spiff_task_id: str
    element_id: str
    kind: str
    due_at: datetime | None


@dataclass(frozen=True)
class ThrownMessage:
    """A message the workflow threw during a step: the element, the message name and the thrower's data."""

    element_id: str
    name: str
    data: Mapping[str, Any]


@dataclass
class StepResult:
    """What one command did to the workflow, in BPMN terms."""

    created: list[ReadyTask] = field(default_factory=list)
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    """(spiff task id, element id) of user tasks that were ready and no longer are."""
    advanced: list[str] = field(default_factory=list)
    timers: list[WaitingTimer] = field(default_factory=list)
    completed: bool = False
    pruned: int = 0
    thrown: list[ThrownMessage] = field(default_factory=list)
    """Messages thrown, in order; the host writes them to the outbox (the engine routes nothing itself)."""


class WorkflowCache:
    """Recently written workflows kept in memory, keyed by case and row version, to skip deserializing.

    An entry is taken out (popped) by the command that uses it, so no two threads ever hold one workflow;
    it is put back only after that command committed, under the case's new version. A command that fails
    never puts its (possibly half-advanced) workflow back, and any write by another process bumps the
    version, so a stale entry is never used: the snapshot in the database stays the truth.
    """

    def __init__(self, capacity: int = 512):
        self.capacity = capacity
        self._items: OrderedDict[int, tuple[int, int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int, definition_id: int) -> Any | None:
        """Remove and return the workflow of ``case_id`` if it is exactly at ``version``."""
        with self._lock:
            item = self._items.pop(case_id, None)
        if item is None or item[0] != version or item[1] != definition_id:
            return None
        return item[2]

    def put(self, case_id: int, version: int, definition_id: int, workflow: Any) -> None:
        """Remember a committed workflow under the case's new version."""
        if self.capacity <= 0:
            return
        with self._lock:
            current = self._items.get(case_id)
            if current is not None and current[0] > version:
                return
            self._items[case_id] = (version, definition_id, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class WorkflowRunner(MessageSteps):
    """Start and advance workflows with the restricted script engine and the injected clock."""

    def __init__(self, script_engine: Any, clock: Clock, codec: StateCodec | None = None,
                 cache: WorkflowCache | None = None):
        clock_bridge.install()
        self.script_engine = script_engine
        self.clock = clock
        self.codec = codec or StateCodec()
        self.cache = cache if cache is not None else WorkflowCache(0)

    def checkout(self, case_id: int, version: int, definition_id: int, snapshot: str, spec: Any,
                 subprocess_specs: dict[str, Any]) -> Any:
        """Return the case's workflow: from the cache when it holds this exact version, else from ``snapshot``."""
        cached = self.cache.take(case_id, version, definition_id)
        return cached if cached is not None else self.load(snapshot, spec, subprocess_specs)

    def checkin(self, case_id: int, version: int, definition_id: int, workflow: Any) -> None:
        """Hand a committed workflow back to the cache under the case's new version."""
        self.cache.put(case_id, version, definition_id, workflow)

    def start(self, spec: Any, subprocess_specs: dict[str, Any], data: Mapping[str, Any]) -> tuple[Any, StepResult]:
        """Create a workflow seeded with ``data`` and run it until it waits."""
        workflow = TongbanWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(data)
        result = self._advance(workflow, before={}, action=lambda: None)
        return workflow, result

    def load(self, snapshot: str, spec: Any, subprocess_specs: dict[str, Any]) -> Any:
        """Restore a workflow from its snapshot (with the restricted script engine)."""
        return self.codec.load(snapshot, spec, subprocess_specs, self.script_engine)

    def dump(self, workflow: Any) -> str:
        """Snapshot a workflow."""
        return self.codec.dump(workflow)

    def complete(self, workflow: Any, spiff_task_id: str, data: Mapping[str, Any]) -> StepResult:
        """Complete a READY user task with ``data`` and run until the workflow waits again."""
        task = self._ready_user_task(workflow, spiff_task_id)
        before = self._ready_ids(workflow)

        def action() -> None:
            task.data.update(data)
            task.run()
        result = self._advance(workflow, before=before, action=action)
        result.cancelled = [(i, e) for i, e in result.cancelled if i != spiff_task_id]
        return result

    def return_to_previous(self, workflow: Any, spiff_task_id: str) -> tuple[StepResult, str]:
        """Send the case back from a READY user task to the user task completed before it (退回).

        The previous user task is the nearest completed user task among the task's ancestors, i.e. on the
        same path; it is reset (SpiffWorkflow's ``reset_from_task_id``) to run again with the data it saw
        the first time, and everything after it, this task included, is withdrawn. Refused (Conflict) when
        there is no such task in this (sub)process, or when the path back crosses a parallel or inclusive
        join, where "the previous step" would be several branches. Returns the step and the element id
        returned to.
        """
        task = self._ready_user_task(workflow, spiff_task_id)
        node = task.parent
        while node is not None and not (node.task_spec.manual and node.has_state(TaskState.COMPLETED)):
            if _is_join(node.task_spec):
                raise Conflict("退回路径经过并行汇聚，无法确定上一步，不能退回",
                               code="RETURN_ACROSS_JOIN", details={"element_id": _element(node)})
            node = node.parent
        if node is None or node.parent is None:
            raise Conflict("没有可退回的上一步人工环节", code="NO_PREVIOUS_TASK",
                           details={"element_id": _element(task)})
        previous = node
        before = self._ready_ids(workflow)
        result = self._advance(workflow, before=before,
                               action=lambda: workflow.reset_from_task_id(previous.id))
        return result, _element(previous)

    def fire_timers(self, workflow: Any) -> StepResult:
        """Let due timers fire (at the engine clock's now) and run until the workflow waits."""
        before = self._ready_ids(workflow)
        return self._advance(workflow, before=before, action=workflow.refresh_timers)

    def rearm_timers(self, workflow: Any) -> list[WaitingTimer]:
        """Re-evaluate every waiting date timer's expression (e.g. after a calendar import); return those moved.

        Only ``timeDate`` timers are re-armed: their expression names an absolute instant (typically via the
        working-day functions), so evaluating it again with the same task data applies the new calendar.
        Duration and cycle timers count from the moment they were reached and keep their due time.
        """
        moved = []
        with clock_bridge.using(self.clock):
            for task in workflow.get_tasks(state=TaskState.WAITING):
                event = getattr(task.task_spec, "event_definition", None)
                if not isinstance(event, TimeDateEventDefinition) or task.internal_data.get("event_fired"):
                    continue
                try:
                    value = workflow.script_engine.evaluate(task, event.expression)
                except SpiffWorkflowException as exc:
                    raise _translate(exc) from None
                if value != task.internal_data.get("event_value"):
                    task.internal_data["event_value"] = value
                    moved.append(task.id)
        return [t for t in waiting_timers(workflow) if UUID(t.spiff_task_id) in moved]

    def migration_blockers(self, workflow: Any, spec: Any, subprocess_specs: dict[str, Any]) -> list[Blocker]:
        """Return why ``workflow`` cannot move onto ``spec`` (another version of its process); empty: it can."""
        return migration.blockers(workflow, spec, subprocess_specs, self.codec.describe)

    def live_elements(self, workflow: Any) -> list[str]:
        """Element ids of every ready, waiting or running task (where the case is), in tree order, once each."""
        return list(dict.fromkeys(state[0] for state in migration.live_signature(workflow).values()))

    def migrate(self, workflow: Any, spec: Any, subprocess_specs: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        """Move ``workflow`` onto ``spec`` (check :meth:`migration_blockers` first); return it and the mapping.

        The ready and waiting tasks keep their ids, data and timer due times, so inbox and timer rows stay valid.
        """
        def load_on_target(current: Any) -> Any:
            return self.load(self.dump(current), spec, subprocess_specs)
        return migration.repin(workflow, load_on_target)

    def waiting_timers(self, workflow: Any) -> list[WaitingTimer]:
        """Return the timers waiting in ``workflow`` with their due times."""
        return waiting_timers(workflow)

    def task_data(self, workflow: Any, spiff_task_id: str) -> dict[str, Any]:
        """Return the data a task of ``workflow`` sees, empty when the task is no longer in it."""
        if not _has_task(workflow, spiff_task_id):
            return {}
        return dict(workflow.get_task_from_id(UUID(spiff_task_id)).data)

    def ready_user_tasks(self, workflow: Any) -> list[ReadyTask]:
        """Return every READY user task, in tree order."""
        return [_ready(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]

    def current_data(self, workflow: Any) -> dict[str, Any]:
        """Return the case data as the most recent step left it."""
        if workflow.is_completed() and workflow.data:
            return dict(workflow.data)
        source = workflow.last_task or workflow.task_tree
        return dict(source.data)

    @staticmethod
    def _ready_user_task(workflow: Any, spiff_task_id: str) -> Any:
        task = workflow.get_task_from_id(UUID(spiff_task_id)) if _has_task(workflow, spiff_task_id) else None
        if task is None:
            raise Conflict("该任务已不在流程中（可能已被处理或撤销）", details={"spiff_task_id": spiff_task_id})
        # SpiffWorkflow runs a task in any state and silently drops the input of one a timer just cancelled.
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise Conflict("该任务已不在待办状态，无法提交", details={"state": TaskState.get_name(task.state)})
        return task

    def _ready_ids(self, workflow: Any) -> dict[str, str]:
        return {str(t.id): t.task_spec.bpmn_id or t.task_spec.name
                for t in workflow.get_tasks(state=TaskState.READY, manual=True)}

    def _advance(self, workflow: Any, *, before: dict[str, str], action: Callable[[], Any]) -> StepResult:
        advanced: list[str] = []
        thrown: list[ThrownMessage] = []

        def did_complete(task: Any) -> None:
            spec = task.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            if bpmn_id and not spec.manual:
                advanced.append(bpmn_id)
            event = getattr(spec, "event_definition", None)
            if isinstance(spec, ThrowingEvent) and isinstance(event, MessageEventDefinition):
                thrown.append(ThrownMessage(bpmn_id or spec.name, event.name, copy.deepcopy(dict(task.data))))
        with clock_bridge.using(self.clock):
            try:
                action()
                workflow.do_engine_steps(did_complete_task=did_complete)
                # A timer that came due during the steps is only marked READY; run what it released.
                workflow.refresh_timers()
                workflow.do_engine_steps(did_complete_task=did_complete)
            except EngineError:
                raise
            except SpiffWorkflowException as exc:
                raise _translate(exc) from None
        # Thrown messages are routed by the host through the outbox; never keep them in the snapshot.
        workflow.get_events()
        ready, timers = _ready_and_waiting(workflow)
        ready_ids = {t.spiff_task_id for t in ready}
        result = StepResult(
            created=[t for t in ready if t.spiff_task_id not in before],
            cancelled=[(i, e) for i, e in before.items() if i not in ready_ids],
            advanced=advanced,
            completed=workflow.is_completed(),
            thrown=thrown,
            timers=timers,
        )
        # Compaction drops finished tasks only: the ready and waiting tasks found above stay as they are.
        result.pruned = compact(workflow)
        return result


def waiting_timers(workflow: Any) -> list[WaitingTimer]:
    """Return every timer event currently waiting, with its due time parsed to an aware datetime."""
    return [t for t in map(_waiting_timer, workflow.get_tasks(state=TaskState.WAITING)) if t is not None]


def _ready_and_waiting(workflow: Any) -> tuple[list[ReadyTask], list[WaitingTimer]]:
    """The READY user tasks and the waiting timers, in tree order, found in one walk of the task tree."""
    ready, timers = [], []
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                ready.append(_ready(task))
        else:
            timer = _waiting_timer(task)
            if timer is not None:
                timers.append(timer)
    return ready, timers


def _waiting_timer(task: Any) -> WaitingTimer | None:
    event = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event, TimerEventDefinition):
        return None
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    due = _parse_instant(value) if isinstance(value, str) else None
    kind = type(event).__name__.replace("EventDefinition", "").replace("Timer", "").lower() or "timer"
    return WaitingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, kind, due)


def compact(workflow: Any) -> int:
    """Drop finished history above the lowest common ancestor of all unfinished tasks; return tasks removed.

    SpiffWorkflow never prunes its task tree: per-step cost grows with history and past depth 1,000 it
    silently stops finding ready tasks. The event log keeps the history, so the snapshot keeps only what the
    future needs. The new root is always a finished task, because joins and newly-ready tasks read their
    parent's data, and it sits above the last completed user task before the open work, so that task can
    still be returned to (退回).
    """
    removed = _prune(workflow)
    for sub in list(workflow.subprocesses.values()):
        removed += _prune(sub)
    live: set[UUID] = set(workflow.tasks)
    for sub in workflow.subprocesses.values():
        live |= set(sub.tasks)
    for sub_id in [k for k in workflow.subprocesses if k not in live]:
        del workflow.subprocesses[sub_id]
        removed += 1
    return removed


def _prune(workflow: Any) -> int:
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    path: list[Any] = []
    node = unfinished[0]
    while node is not None:
        path.append(node)
        node = node.parent
    path.reverse()
    index = {id(t): i for i, t in enumerate(path)}
    lowest = len(path) - 1
    for task in unfinished[1:]:
        node = task
        while id(node) not in index:
            node = node.parent
        lowest = min(lowest, index[id(node)])
    while lowest > 0 and not path[lowest].has_state(TaskState.FINISHED_MASK):
        lowest -= 1
    # Keep the last completed user task above the open work, and its parent (whose data a reset copies), so
    # that an open task can still be returned to the step before it (退回). History stays bounded.
    for i in range(lowest, 0, -1):
        if path[i].task_spec.manual and path[i].has_state(TaskState.COMPLETED):
            lowest = i - 1
            break
    new_root = path[lowest]
    if new_root is workflow.task_tree:
        return 0
    keep: set[UUID] = set()
    stack = [new_root]
    while stack:
        node = stack.pop()
        keep.add(node.id)
        stack.extend(node.children)
    new_root.data = dict(new_root.data)
    new_root._parent = None
    workflow.task_tree = new_root
    before = len(workflow.tasks)
    workflow.tasks = {k: v for k, v in workflow.tasks.items() if k in keep}
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
    return before - len(workflow.tasks)


def _is_join(spec: Any) -> bool:
    kinds = {cls.__name__ for cls in type(spec).__mro__}
    return bool(kinds & {"ParallelGateway", "InclusiveGateway"}) and len(spec.inputs) > 1


def _element(task: Any) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def _has_task(workflow: Any, spiff_task_id: str) -> bool:
    try:
        key = UUID(spiff_task_id)
    except ValueError:
        return False
    return key in workflow.tasks or any(key in sub.tasks for sub in workflow.subprocesses.values())


def _ready(task: Any) -> ReadyTask:
    spec = task.task_spec
    parent = task.parent
    in_multi_instance = parent is not None and isinstance(parent.task_spec, MultiInstanceTask)
    return ReadyTask(str(task.id), spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name,
                     spec.lane, task.data, str(parent.id if in_multi_instance else task.id))


def _parse_instant(value: str) -> datetime | None:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def _translate(exc: SpiffWorkflowException) -> EngineError:
    """Turn a SpiffWorkflow exception into an EngineError, keeping our own error when one is wrapped."""
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, EngineError):
            element = getattr(getattr(exc, "task", None), "task_spec", None)
            inner.details.setdefault("element_id", getattr(element, "bpmn_id", None))
            return inner
        inner = getattr(inner, "exception", None) or inner.__cause__ or inner.__context__
    element = getattr(getattr(exc, "task", None), "task_spec", None)
    return WorkflowFailed(f"流程执行失败：{exc}", details={"element_id": getattr(element, "bpmn_id", None)})
