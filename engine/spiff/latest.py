"""The case's current data: the data of the task completed most recently, in the workflow or any subprocess.

SpiffWorkflow keeps a ``last_task`` per (sub)workflow, so a step inside an expanded subprocess (a 工改 stage)
never moves the top workflow's, and nothing says which of several workflows moved last; compaction may also
drop it. The runner therefore marks, at the end of every step, the task that step completed last
(:func:`mark_latest`), in the task's ``internal_data``, which the snapshot keeps; :func:`latest_data` reads it
back. One mark per case: marking a task clears the previous one.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

LATEST = "tb_latest"
"""The ``internal_data`` key of the most recently completed task (SpiffWorkflow clears it when it resets the task)."""


def mark_latest(workflow: Any, completed: Iterable[Any]) -> None:
    """Mark the last of ``completed`` (in completion order) still in the task tree and completed.

    Leaves the current mark alone when none is: a step that completed nothing (a timer not yet due, a
    message nobody waited for) did not change the case's data.
    """
    latest = next((t for t in reversed(list(completed))
                   if _present(workflow, t) and t.has_state(TaskState.COMPLETED)), None)
    if latest is None:
        return
    for task in _all_tasks(workflow):
        task.internal_data.pop(LATEST, None)
    latest.internal_data[LATEST] = True


def latest_data(workflow: Any) -> dict[str, Any] | None:
    """The data of the marked task, None when no task is marked (a snapshot written before marks existed).

    One instance of a 会签 still running holds its own copy of the collected opinions, taken when the 会签
    started; the process data then is its multi-instance's, where every opinion given so far is merged.
    """
    for task in _all_tasks(workflow):
        if task.internal_data.get(LATEST) and task.has_state(TaskState.COMPLETED):
            parent = task.parent
            if (parent is not None and isinstance(parent.task_spec, MultiInstanceTask)
                    and task.task_spec.name == parent.task_spec.task_spec
                    and not parent.has_state(TaskState.FINISHED_MASK)):
                return dict(parent.data)
            return dict(task.data)
    return None


def _present(workflow: Any, task: Any) -> bool:
    owner = workflow if task.workflow is workflow else workflow.subprocesses.get(task.workflow.parent_task_id)
    return owner is task.workflow and owner.tasks.get(task.id) is task


def _all_tasks(workflow: Any) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()
