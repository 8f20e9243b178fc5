"""The event of a timer's administration: an administrator put back a timer the worker had set aside.

Re-exported by :mod:`engine.events`, the module the rest of the engine imports events from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .case_events import Event


@dataclass(frozen=True)
class TimerRetried(Event):
    """An administrator retried a timer set aside after its failed firings (an administrative input).

    ``action`` is ``requeued`` (back to waiting: the worker's next wake-up fires it) or ``closed`` (its case had
    ended: nothing left to fire). ``attempts`` are the failed firings before the retry, ``due_at`` the timer's
    due instant (ISO 8601). The error text stays in the ``timers`` row: it may quote a case's data, and the
    append-only log keeps no free text it cannot vouch for. The event changes no workflow state: replay records
    it again as recorded (:mod:`engine.replay_commands`).
    """

    event_type: ClassVar[str] = "TimerRetried"
    timer_id: int = 0
    action: str = ""
    attempts: int = 0
    due_at: str = ""
