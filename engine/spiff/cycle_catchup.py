"""Missed repetitions of a cycle timer fire once, not once each (a reminder after an outage is one reminder).

SpiffWorkflow fires a ``timeCycle`` timer once per refresh while its next instant is in the past, moving the
next instant one period on each time. A worker that was down for a month would then let a daily reminder fire
30 times in one step (30 reminders, 30 branches of the task tree), and an hourly one hundreds of times, which
the step limit refuses (``ENGINE_STEPS_EXCEEDED``): the case could no longer move its timers at all.

Like Camunda and Zeebe, the engine lets a late cycle timer fire once for every slot that passed while it waited:
the slots stay those of the original schedule (a finite ``R5/...`` still ends after its fifth slot), and the
next fire is the first slot after now. How many slots were merged is recorded with the fire (``TimersFired``
``missed``), so the history says that reminders were missed.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.util.task import TaskState


def merge_missed_cycles(workflow: Any, now: datetime) -> dict[str, int]:
    """Move each late cycle timer of ``workflow`` to its last passed slot; return the slots skipped, by element.

    A timer whose next instant is before ``now`` would fire once per passed slot; after this it fires once
    (at the last passed slot) and its next instant is the first slot after ``now``. Finite repeats count the
    skipped slots as used. Timers with at most one passed slot are left as they are and not reported.
    """
    missed: dict[str, int] = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if not isinstance(getattr(task.task_spec, "event_definition", None), CycleTimerEventDefinition):
            continue
        value = task.internal_data.get("event_value")
        if not isinstance(value, dict) or value.get("cycles", 0) == 0:
            continue
        next_at, period = datetime.fromisoformat(value["next"]), timedelta(seconds=value["duration"])
        passed = _slots_before(next_at, period, now)
        if value["cycles"] > 0:
            passed = min(passed, value["cycles"])
        if passed <= 1:
            continue
        skipped = passed - 1
        task.internal_data["event_value"] = {
            **value, "next": (next_at + skipped * period).isoformat(),
            "cycles": value["cycles"] - skipped if value["cycles"] > 0 else value["cycles"]}
        element = task.task_spec.bpmn_id or task.task_spec.name
        missed[element] = missed.get(element, 0) + skipped
    return missed


def _slots_before(first: datetime, period: timedelta, now: datetime) -> int:
    """How many instants ``first + k * period`` (k = 0, 1, ...) lie strictly before ``now``."""
    if first >= now or period <= timedelta(0):
        return 0
    return (now - first - timedelta(microseconds=1)) // period + 1
