"""Drive a BpmnWorkflow: start, complete a user task, fire timers, and compact what the future no longer needs.

Every method returns spiff-free facts (:class:`~.steps.StepResult`): which user tasks became ready or went
away, which elements the engine passed through, which timers wait and until when, and whether the process
ended. What a step returns lives in :mod:`.steps`, the cache of committed workflows in :mod:`.workflow_cache`,
reading the task tree in :mod:`.task_tree` and compaction in :mod:`.compaction`.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from ..clock import Clock
from ..errors import Conflict, EngineError, WorkflowFailed
from . import clock_bridge, migration
from .clock_bridge import TimerValueInvalid, check_timer_value, timer_value_failed
from .compaction import compact
from .cycle_catchup import merge_missed_cycles
from .latest import latest_data, mark_latest
from .message_steps import MessageSteps
from .migration import Blocker
from .serializer import StateCodec, TongbanWorkflow
from .steps import ReadyTask, StepResult, ThrownMessage, WaitingTimer
from .task_tree import ACTIVATION_ROUND, ready_and_waiting, ready_task, waiting_timers
from .workflow_cache import WorkflowCache

MAX_ENGINE_STEPS = 500
"""How many engine tasks (gateways, events, scripts, timer fires) one step may run before it is refused.

A real approval step runs a handful; hundreds mean a loop without a user task, or a cycle timer firing over and
over (``R/PT1M`` after the clock jumped a month) where its missed slots are not merged (:mod:`.cycle_catchup`).
Each fire grows the task tree that the next one walks, so 500 steps already take seconds and thousands would
hold the case's lock for minutes.
"""


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
        """Hand a committed workflow back to the cache under the case's new version.

        A finished workflow (completed, or cancelled when its case was terminated) is not kept: no command
        advances it again, so holding it would only push a running case out of the cache and leave every
        finished case's task tree on the heap for the garbage collector to walk. Whatever still reads an
        ended case loads it from its snapshot.
        """
        if workflow.is_completed():
            return
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
        """Complete a READY user task with ``data`` and run until the workflow waits again.

        The result's ``timers_before`` are the timers that waited before the task was completed.
        """
        task = self._ready_user_task(workflow, spiff_task_id)
        ready, timers_before = ready_and_waiting(workflow)

        def action() -> Any:
            task.data.update(data)
            task.run()
            return task
        result = self._advance(workflow, before={t.spiff_task_id: t.element_id for t in ready}, action=action)
        result.cancelled = [(i, e) for i, e in result.cancelled if i != spiff_task_id]
        result.timers_before = timers_before
        return result

    def return_to_previous(self, workflow: Any, spiff_task_id: str,
                           check: Callable[[str], None] | None = None) -> tuple[StepResult, str]:
        """Send the case back from a READY user task to the user task completed before it (退回).

        The previous user task is the nearest completed user task among the task's ancestors, i.e. on the
        same path; it is reset (SpiffWorkflow's ``reset_from_task_id``) to run again with the data it saw
        the first time, and everything after it, this task included, is withdrawn. When that step is a
        finished multi-instance user task (会签, or a review that ran as one instance), the multi-instance
        itself is reset: every instance is created again from the data it started with, so everyone it
        asked reviews again (the opinions of the round returned are in the event log, not in the data).
        Refused (Conflict) when there is no such task in this (sub)process, when the path back crosses a
        parallel or inclusive join, where "the previous step" would be several branches, or a finished
        multi-instance of anything but a user task. ``check`` is called with the element id of the
        previous task before anything changes, and may refuse by raising. Returns the step and the
        element id returned to.
        """
        task = self._ready_user_task(workflow, spiff_task_id)
        node = task.parent
        while node is not None and not (node.task_spec.manual and node.has_state(TaskState.COMPLETED)):
            if _is_join(node.task_spec):
                raise Conflict("退回路径经过并行汇聚，无法确定上一步，不能退回",
                               code="RETURN_ACROSS_JOIN", details={"element_id": _element(node)})
            if isinstance(node.task_spec, MultiInstanceTask) and node.has_state(TaskState.COMPLETED):
                # A READY instance's own, still running 会签 is no step back (it is not completed): returning
                # one instance goes on to the step before it.
                _check_returnable(node)
                break
            node = node.parent
        if node is None or node.parent is None:
            raise Conflict("没有可退回的上一步人工环节", code="NO_PREVIOUS_TASK",
                           details={"element_id": _element(task)})
        previous = node
        if check is not None:
            check(_element(previous))
        before = self._ready_ids(workflow)

        def action() -> Any:
            # A multi-instance step runs again as a new round: its instances get a new activation id
            # (task_tree.activation); the reset clears internal_data, so the count is written back after it.
            rounds = previous.internal_data.get(ACTIVATION_ROUND, 0) + 1 \
                if isinstance(previous.task_spec, MultiInstanceTask) else None
            _reset_from(workflow, previous.id)
            if rounds is not None:
                previous.internal_data[ACTIVATION_ROUND] = rounds
            return previous.parent     # the data the reopened step sees is the case's data again
        result = self._advance(workflow, before=before, action=action)
        return result, _element(previous)

    def fire_timers(self, workflow: Any) -> StepResult:
        """Let due timers fire (at the engine clock's now) and run until the workflow waits."""
        before = self._ready_ids(workflow)
        return self._advance(workflow, before=before, action=workflow.refresh_timers)

    def merge_missed_cycles(self, workflow: Any) -> dict[str, int]:
        """Let each late cycle timer fire once for all its passed slots (:mod:`.cycle_catchup`); return the skipped."""
        return merge_missed_cycles(workflow, self.clock.now())

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
                try:
                    check_timer_value("date", value)
                except TimerValueInvalid as exc:
                    raise timer_value_failed(_element(task), "date", value, exc.reason) from None
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
        return [ready_task(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]

    def current_data(self, workflow: Any) -> dict[str, Any]:
        """Return the case data as the most recent step left it.

        That is the data of the task completed last, in the workflow or in any of its subprocesses
        (:mod:`.latest`); an ended workflow's result data once it has ended.
        """
        if workflow.is_completed() and workflow.data:
            return dict(workflow.data)
        latest = latest_data(workflow)
        if latest is not None:
            return latest
        source = workflow.last_task or workflow.task_tree     # a snapshot no step has marked yet
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
        """Run ``action``, then the engine until it waits; ``action`` may return the task it completed."""
        advanced: list[str] = []
        thrown: list[ThrownMessage] = []
        completed: list[Any] = []
        steps = 0

        def did_complete(task: Any) -> None:
            nonlocal steps
            completed.append(task)
            steps += 1
            if steps > MAX_ENGINE_STEPS:
                raise _too_many_steps(task)
            spec = task.task_spec
            bpmn_id = getattr(spec, "bpmn_id", None)
            if bpmn_id and not spec.manual:
                advanced.append(bpmn_id)
            event = getattr(spec, "event_definition", None)
            if isinstance(spec, ThrowingEvent) and isinstance(event, MessageEventDefinition):
                thrown.append(ThrownMessage(bpmn_id or spec.name, event.name, copy.deepcopy(dict(task.data))))
        with clock_bridge.using(self.clock):
            try:
                first = action()
                if first is not None:
                    completed.append(first)
                workflow.do_engine_steps(did_complete_task=did_complete)
                if _has_timers(workflow):
                    # The steps end by refreshing timers: one that came due meanwhile is only marked READY
                    # then. Run what it released. (With no timer waiting, that refresh changed nothing.)
                    workflow.do_engine_steps(did_complete_task=did_complete)
            except EngineError:
                raise
            except SpiffWorkflowException as exc:
                raise _translate(exc) from None
        # Thrown messages are routed by the host through the outbox; never keep them in the snapshot.
        workflow.get_events()
        ready, timers = ready_and_waiting(workflow)
        ready_ids = {t.spiff_task_id for t in ready}
        result = StepResult(
            created=[t for t in ready if t.spiff_task_id not in before],
            cancelled=[(i, e) for i, e in before.items() if i not in ready_ids],
            advanced=advanced,
            completed=workflow.is_completed(),
            thrown=thrown,
            timers=timers,
        )
        mark_latest(workflow, completed)
        # Compaction drops finished tasks only: the ready and waiting tasks found above stay as they are.
        result.pruned = compact(workflow)
        return result


def _reset_from(workflow: Any, task_id: Any) -> None:
    """``reset_from_task_id``, then forget the catching events it removed from the task tree.

    SpiffWorkflow 3.2 removes the tasks after the reset point but leaves those that waited on an event (a
    boundary timer such as the 容缺 deadline) registered with the workflow's event manager; the next
    ``refresh_timers`` then updates a task whose parent is gone and fails. Any registration whose task is no
    longer in its workflow's tree is dropped.
    """
    workflow.reset_from_task_id(task_id)
    manager = workflow.event_manager
    for waiting_id, task in list(manager.tasks.items()):
        if task.workflow.tasks.get(waiting_id) is not task:
            manager.remove_task(task)


def _check_returnable(node: Any) -> None:
    """Refuse a 退回 to the finished multi-instance ``node`` unless its instances are user tasks."""
    inner = node.workflow.spec.task_specs.get(node.task_spec.task_spec)
    if inner is not None and inner.manual:
        return
    name = getattr(inner, "bpmn_name", None) or _element(node)
    raise Conflict(f"上一步“{name}”是多实例的自动环节，不是人工办理环节，不能退回",
                   code="RETURN_ACROSS_JOIN", details={"element_id": _element(node)})


def _too_many_steps(task: Any) -> WorkflowFailed:
    element = _element(task)
    return WorkflowFailed(f"流程在一步之内运行了超过 {MAX_ENGINE_STEPS} 个引擎环节（最后在元素 {element}），已中止；"
                          "常见原因是重复定时器的间隔过短或无人工环节的循环，请检查流程定义",
                          code="ENGINE_STEPS_EXCEEDED",
                          details={"element_id": element, "limit": MAX_ENGINE_STEPS})


def _has_timers(workflow: Any) -> bool:
    """Whether any task waits on a timer: the tasks ``BpmnWorkflow.refresh_timers`` looks at."""
    return any(isinstance(t.task_spec.event_definition, (TimerEventDefinition, MultipleEventDefinition))
               for t in workflow.event_manager.tasks.values())


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
