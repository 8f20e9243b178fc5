"""Reading a workflow's task tree: the ready user tasks and the waiting timers with their due times."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import uuid5

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from .steps import ReadyTask, WaitingTimer


def waiting_timers(workflow: Any) -> list[WaitingTimer]:
    """Return every timer event currently waiting, with its due time parsed to an aware datetime."""
    return [t for t in map(_waiting_timer, workflow.get_tasks(state=TaskState.WAITING)) if t is not None]


def ready_and_waiting(workflow: Any) -> tuple[list[ReadyTask], list[WaitingTimer]]:
    """The READY user tasks and the waiting timers, in tree order, found in one walk of the task tree."""
    ready, timers = [], []
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                ready.append(ready_task(task))
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


ACTIVATION_ROUND = "activation_round"
"""The ``internal_data`` key counting how often a multi-instance task ran again after a 退回 (SpiffWorkflow's reset
clears ``internal_data``, so the runner writes the count back after it resets the task)."""


def ready_task(task: Any) -> ReadyTask:
    """The READY user task ``task`` as the host sees it; instances of one 会签 share their activation id."""
    spec = task.task_spec
    parent = task.parent
    in_multi_instance = parent is not None and isinstance(parent.task_spec, MultiInstanceTask)
    return ReadyTask(str(task.id), spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name,
                     spec.lane, task.data, activation(parent) if in_multi_instance else str(task.id))


def activation(multi_instance: Any) -> str:
    """The id the instances of the multi-instance task's current round share.

    The first round uses the task's own id; a round run again after a 退回 gets a new id derived from the task's
    id and the round's number, so separation of duties binds each round on its own (``engine.separation``).
    """
    rounds = multi_instance.internal_data.get(ACTIVATION_ROUND)
    return str(multi_instance.id) if not rounds else str(uuid5(multi_instance.id, str(rounds)))


def _parse_instant(value: str) -> datetime | None:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)
