"""Move a running workflow onto another version of its process: check first, then re-pin and re-predict.

Elements are matched by BPMN id (SpiffWorkflow names its task specs by id). A workflow may move only when
everything it is doing now exists in the target in the same form: every waiting, ready or running task's
element is there with the same type, timers and message waits have the same event definition, a running
multi-instance or subprocess is unchanged, a user task has the same boundary events, no parallel join has
had some of its branches arrive, and every parallel join the case can still reach gets all its branches
from where the case is. What the case has already passed stays as history; the part of it kept in the
snapshot (for 退回) must exist in the target too.

Applying keeps every reached task as it is (ids, data, timer due times), drops the predicted future and
predicts it again from the target spec, then round-trips the snapshot onto the target specs. The inbox and
timer rows stay valid because the ready and waiting tasks keep their ids; :func:`migrate` checks that.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
UNREACHED = TaskState.PREDICTED_MASK | TaskState.FUTURE
_MI_KEYS = ("task_spec", "cardinality", "data_input", "data_output", "input_item", "output_item", "condition")


@dataclass(frozen=True)
class Blocker:
    """Why a workflow cannot move to the target version: a stable code, a Chinese message, the element."""

    code: str
    message: str
    element_id: str | None


@dataclass(frozen=True)
class Scope:
    """One (sub)workflow with its current spec and the target spec it would move to (None: missing)."""

    workflow: Any
    source: Any
    target: Any
    element_id: str | None
    """The subprocess element this scope runs for; None for the process itself."""


def element(spec: Any) -> str:
    """The BPMN id of a task spec (SpiffWorkflow's internal specs have only a name)."""
    return getattr(spec, "bpmn_id", None) or spec.name


def _label(spec: Any) -> str:
    name = getattr(spec, "bpmn_name", None)
    return f"{element(spec)}（{name}）" if name else element(spec)


def scopes(workflow: Any, spec: Any, subprocess_specs: Mapping[str, Any]) -> list[Scope]:
    """The workflow and each of its running subworkflows, paired with their target specs."""
    found = [Scope(workflow, workflow.spec, spec, None)]
    for task_id, sub in workflow.subprocesses.items():
        parent = workflow.get_task_from_id(task_id)
        found.append(Scope(sub, sub.spec, subprocess_specs.get(sub.spec.name), element(parent.task_spec)))
    return found


def blockers(workflow: Any, spec: Any, subprocess_specs: Mapping[str, Any],
             describe: Callable[[Any], dict[str, Any]]) -> list[Blocker]:
    """Return every reason ``workflow`` cannot move to ``spec``/``subprocess_specs`` (empty: it can).

    ``describe`` converts a task spec to its serialized dict (the serializer registry), to compare attributes.
    """
    found: list[Blocker] = []
    for scope in scopes(workflow, spec, subprocess_specs):
        if scope.target is None:
            found.append(Blocker("MIGRATION_SUBPROCESS_REMOVED",
                                 f"办件正在子流程 {scope.element_id} 中办理，目标版本没有该子流程", scope.element_id))
            continue
        found += _scope_blockers(scope, describe)
    unique: dict[tuple[str, str | None], Blocker] = {}
    for blocker in found:
        unique.setdefault((blocker.code, blocker.element_id), blocker)
    return list(unique.values())


def _scope_blockers(scope: Scope, describe: Callable[[Any], dict[str, Any]]) -> list[Blocker]:
    found: list[Blocker] = []
    target = scope.target.task_specs
    dropped = {t.id for t in _unreached_continuations(scope.workflow)}
    for task in scope.workflow.tasks.values():
        if task.id in dropped:
            continue
        spec, new = task.task_spec, target.get(task.task_spec.name)
        if task.has_state(TaskState.ERROR):
            found.append(Blocker("MIGRATION_TASK_ERROR", f"环节 {_label(spec)} 处于出错状态，不能迁移", element(spec)))
        elif not task.has_state(LIVE):
            if new is None:
                found.append(Blocker("MIGRATION_PATH_REMOVED",
                                     f"办件已办理并保留（退回需要）的环节 {_label(spec)} 在目标版本中已删除",
                                     element(spec)))
            elif task.has_state(TaskState.COMPLETED):
                found += _kept_type_blockers(spec, new, describe)
        elif new is None:
            found.append(Blocker("MIGRATION_ELEMENT_REMOVED",
                                 f"办件正在办理的环节 {_label(spec)} 在目标版本中已删除", element(spec)))
        else:
            found += _live_blockers(task, spec, new, scope, describe)
    found += _join_blockers(scope)
    return found


def _kept_type_blockers(spec: Any, new: Any, describe: Callable[[Any], dict[str, Any]]) -> list[Blocker]:
    """A completed task kept for 退回 must keep its type: 退回 reopens it as the target's element."""
    old_type, new_type = describe(spec).get("typename"), describe(new).get("typename")
    if old_type == new_type:
        return []
    return [Blocker("MIGRATION_TYPE_CHANGED", f"办件已办理并保留（退回需要）的环节 {_label(spec)} "
                    f"在目标版本中类型已改变（{old_type} → {new_type}）", element(spec))]


def _live_blockers(task: Any, spec: Any, new: Any, scope: Scope,
                   describe: Callable[[Any], dict[str, Any]]) -> list[Blocker]:
    old_d, new_d = describe(spec), describe(new)
    here = f"办件正在办理的环节 {_label(spec)} "
    if old_d.get("typename") != new_d.get("typename"):
        change = f"（{old_d.get('typename')} → {new_d.get('typename')}）"
        return [Blocker("MIGRATION_TYPE_CHANGED", f"{here}在目标版本中类型已改变{change}", element(spec))]
    problems = []
    if task.has_state(TaskState.WAITING) and isinstance(spec, (ParallelGateway, InclusiveGateway)) \
            and len(spec.inputs) > 1:
        problems.append(("MIGRATION_JOIN_WAITING",
                         f"办件正在汇聚网关 {_label(spec)} 等待其余并行分支（已有分支到达），不能迁移"))
    if "event_definition" in old_d and old_d.get("event_definition") != new_d.get("event_definition"):
        problems.append(("MIGRATION_EVENT_CHANGED", f"{here}所等待的事件在目标版本中定义已改变（定时器、消息等）"))
    if isinstance(spec, LoopTask) and any(old_d.get(k) != new_d.get(k) for k in _MI_KEYS):
        problems.append(("MIGRATION_MULTI_INSTANCE_CHANGED", f"{here}是多实例环节，其设置在目标版本中已改变"))
    if isinstance(spec, SubWorkflowTask) and old_d.get("spec") != new_d.get("spec"):
        problems.append(("MIGRATION_SUBPROCESS_CHANGED", f"{here}是子流程，目标版本中调用的流程已改变"))
    if _boundary(scope.source, spec.name) != _boundary(scope.target, spec.name):
        problems.append(("MIGRATION_BOUNDARY_CHANGED", f"{here}的边界事件（超时、消息等）在目标版本中已改变"))
    return [Blocker(code, message, element(spec)) for code, message in problems]


def _boundary(process_spec: Any, name: str) -> frozenset[str] | None:
    split = process_spec.task_specs.get(f"{name}.BoundaryEventSplit")
    if not isinstance(split, BoundaryEventSplit):
        return None
    return frozenset(o.name for o in split.outputs)


def _join_blockers(scope: Scope) -> list[Blocker]:
    """Every parallel join the case can still reach must get each of its branches from where the case is."""
    target = scope.target.task_specs
    tokens = {t.task_spec.name for t in scope.workflow.tasks.values() if t.has_state(LIVE)}
    reach, todo = set(), [n for n in tokens if n in target]
    while todo:
        name = todo.pop()
        if name in reach:
            continue
        reach.add(name)
        todo.extend(o.name for o in target[name].outputs)
    found = []
    for name in sorted(reach):
        join = target[name]
        if not isinstance(join, ParallelGateway) or len(join.inputs) < 2:
            continue
        missing = sorted(element(i) for i in join.inputs if i.name not in reach)
        if missing and name not in tokens:
            found.append(Blocker("MIGRATION_JOIN_UNREACHABLE",
                                 f"目标版本的汇聚网关 {_label(join)} 需要等待分支 {'、'.join(missing)}，"
                                 f"而办件当前位置已无法到达这些分支，迁移后会永远停在该网关", element(join)))
    return found


def _unreached_continuations(workflow: Any) -> Iterator[Any]:
    """The predicted (not yet reached) children of live tasks: what the source spec said comes next."""
    for task in list(workflow.tasks.values()):
        if not task.has_state(LIVE):
            continue
        outputs = {o.name for o in task.task_spec.outputs}
        for child in task.children:
            if child.has_state(UNREACHED) and child.task_spec.name in outputs:
                yield from _subtree(child)


def _subtree(task: Any) -> Iterator[Any]:
    yield task
    for child in task.children:
        yield from _subtree(child)


def live_signature(workflow: Any) -> dict[str, tuple[str, int, str]]:
    """Every reached, unfinished task by id: element, state and what a timer waits for."""
    found = {}
    for scope in [workflow, *workflow.subprocesses.values()]:
        for task in scope.tasks.values():
            if task.has_state(LIVE):
                found[str(task.id)] = (element(task.task_spec), task.state, repr(task.internal_data.get("event_value")))
    return found


def repin(workflow: Any, load_on_target: Callable[[Any], Any]) -> tuple[Any, dict[str, str]]:
    """Drop the predicted future of ``workflow``, re-pin it with ``load_on_target`` and predict again.

    ``load_on_target`` turns the trimmed workflow into the same workflow on the target specs (a snapshot
    round trip). Returns the new workflow and the element mapping of every live task (source id -> target id).
    Call :func:`blockers` first: this assumes there are none.
    """
    before = live_signature(workflow)
    repredict: list[str] = []
    for scope in [workflow, *workflow.subprocesses.values()]:
        heads = [t for t in _unreached_continuations(scope) if t.parent.has_state(LIVE)]
        for head in heads:
            if head.id in scope.tasks:
                repredict.append(str(head.parent.id))
                scope._remove_task(head.id)
    moved = load_on_target(workflow)
    for task_id in dict.fromkeys(repredict):
        _predict(_find(moved, task_id))
    after = live_signature(moved)
    if after != before:
        raise RuntimeError(f"migration changed the live tasks: {before} -> {after}")
    mapping = {state[0]: state[0] for state in after.values()}
    return moved, mapping


def _find(workflow: Any, task_id: str) -> Any:
    for scope in [workflow, *workflow.subprocesses.values()]:
        for task in scope.tasks.values():
            if str(task.id) == task_id:
                return task
    raise KeyError(task_id)


def _predict(task: Any) -> None:
    """Predict what follows a live task from its (new) spec, the way SpiffWorkflow predicts a reset branch."""
    if any(not c.has_state(UNREACHED) for c in task.children):
        # A running multi-instance keeps its instances as children; only its continuation is added.
        present = {c.task_spec.name for c in task.children}
        for output in task.task_spec.outputs:
            if output.name not in present:
                task._add_child(output, TaskState.FUTURE)
    else:
        task.task_spec._predict_hook(task)
    for child in task.children:
        if child.has_state(UNREACHED):
            child.task_spec._predict(child, mask=UNREACHED)
