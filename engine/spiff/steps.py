"""What one runner step did to a workflow, in spiff-free terms the handlers and the audit log use.

Every :class:`~engine.spiff.runner.WorkflowRunner` method that moves a workflow returns a :class:`StepResult`:
which user tasks became ready or went away, which elements the engine passed through, which timers wait and
until when, which messages were thrown, and whether the process ended.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping


@dataclass(frozen=True)
class ReadyTask:
    """A user task that is ready for a person: its spiff id, element and the data it sees."""

    spiff_task_id: str
    element_id: str
    name: str
    lane: str | None
    data: Mapping[str, Any]
    activation: str | None = None
    """The id shared by the instances of one multi-instance activation (会签: ``task_tree.activation``), else the
    task's own spiff id."""


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
    timers_before: list[WaitingTimer] = field(default_factory=list)
    """The timers that waited when the step began (read in the same walk as the ready tasks then)."""
    completed: bool = False
    pruned: int = 0
    thrown: list[ThrownMessage] = field(default_factory=list)
    """Messages thrown, in order; the host writes them to the outbox (the engine routes nothing itself)."""
