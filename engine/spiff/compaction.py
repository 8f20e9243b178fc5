"""Compaction: drop the finished part of a workflow's task tree that the future no longer needs."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState


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
