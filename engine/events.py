"""Events: what happened, in the past tense. They are the audit log's and replay's vocabulary.

Inputs (a person completing a task, a timer firing) and effects (tasks created, elements passed, the case
ending) are both recorded, so replay can feed the inputs and compare the effects.

The vocabulary is one namespace (``from . import events as ev``; ``ev.TaskCompleted``), its parts by topic next
to this module: the base :class:`Event` and the process's events (:mod:`engine.case_events`), the clocks'
(:mod:`engine.clock_events`), messages' (:mod:`engine.message_events`), 好差评's (:mod:`engine.rating_events`) and
the timers' administration (:mod:`engine.timer_events`).
"""
from __future__ import annotations

from .case_events import (
    ApplicationReceived, CaseCompleted, CaseMigrated, CaseStarted, Event, FlowAdvanced, GrantExercised,
    GrantRefused, MatterReceived, SupplementReceived, TaskCancelled, TaskClaimed, TaskCompleted, TaskCreated,
    TaskDelegated, TaskReturned, TaskUnclaimed, TimersFired,
)
from .clock_events import (
    ClockPaused, ClockResumed, ClocksStarted, ClocksStopped, DeadlineExtended, DeadlinesRecomputed,
    ExtensionApproved, ExtensionRejected, ExtensionRequested, ExtensionWithdrawn, SupervisionClosed,
    SupervisionRaised, TimersRearmed,
)
from .message_events import (
    CaseLinked, MessageExpired, MessageReceived, MessageResolved, MessageSent, MessageUndeliverable,
)
from .rating_events import CaseRated, RatingRemoved, RectificationClosed, RectificationOpened
from .timer_events import TimerRetried

__all__ = [
    "Event", "CaseStarted", "MatterReceived", "ApplicationReceived", "SupplementReceived", "TaskCreated",
    "TaskClaimed", "TaskUnclaimed", "TaskDelegated", "TaskReturned", "TaskCompleted", "TaskCancelled",
    "FlowAdvanced", "TimersFired", "CaseCompleted", "GrantExercised", "GrantRefused", "CaseMigrated",
    "ClocksStarted", "ClocksStopped", "ClockPaused", "ClockResumed", "DeadlineExtended", "DeadlinesRecomputed",
    "TimersRearmed", "SupervisionRaised", "SupervisionClosed", "ExtensionRequested", "ExtensionApproved",
    "ExtensionRejected", "ExtensionWithdrawn",
    "MessageSent", "MessageReceived", "MessageExpired", "MessageUndeliverable", "CaseLinked", "MessageResolved",
    "CaseRated", "RectificationOpened", "RectificationClosed", "RatingRemoved", "TimerRetried",
]
