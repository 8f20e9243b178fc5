"""What one audit event does to one of a case's clocks: the rules every reader of the clock events shares.

A case's 法定 and 承诺 clocks are stored on its row (:class:`~engine.legal_clock.Clock`, one record per period),
yet each part of a started clock follows from the events of :data:`CLOCK_EVENTS`, read in order:

* ``ClocksStarted`` opens a period of each clock it names in ``clocks`` (its first running segment starts at
  the event), also one that was stopped: that is the next period of a per-stage clock (``tb:clock stopsAt``);
* on a clock whose period is open (started, not closed), ``ClockPaused`` and ``ClockResumed`` end the current
  segment and open a paused or running one, as a ``ClocksStarted`` does (running) for each clock its
  ``resumed`` names (受理 ended that clock's 补正 pause); ``DeadlineExtended`` adds an extension;
  ``ClocksStopped`` closes the period of each clock it names and ``CaseCompleted`` closes every clock;
* on a clock not started yet or between periods, nothing: a 补正 before 受理 only notes the one-time notice.

:mod:`engine.history_clocks` (a clock as it stood at any event) and :mod:`engine.archive_clocks` (an
archive's clocks rebuilt from its events) both read the events by :func:`clock_change`. A field of another
type than the engine writes (``clocks`` a list of kinds for pauses and resumptions, an object otherwise)
names no clock, since an archive package is read as untrusted input.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, Mapping

CLOCK_EVENTS = ("ClocksStarted", "ClockPaused", "ClockResumed", "DeadlineExtended", "ClocksStopped",
                "CaseCompleted")
"""The event types that change a clock's record."""


class ClockChange(Enum):
    """What an event does to one clock's record."""

    START = "start"
    """A new period opens, its first segment running from the event."""
    PAUSE = "pause"
    """The current segment ends at the event and a paused one opens, with the event's reason and terms."""
    RESUME = "resume"
    """The current segment ends at the event and a running one opens."""
    EXTEND = "extend"
    """The period gains the event's extension."""
    CLOSE = "close"
    """The period ends at the event (its last segment too)."""


def started_clocks(event_type: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entries (T0, budget, …) per kind of the clocks a ``ClocksStarted`` started; empty for any other event."""
    named = payload.get("clocks") if event_type == "ClocksStarted" else None
    return named if isinstance(named, Mapping) else {}


def clock_change(kind: str, event_type: str, payload: Mapping[str, Any], *, in_period: bool) -> ClockChange | None:
    """What the event ``event_type`` with ``payload`` does to the clock ``kind``; None when it leaves it as it is.

    ``in_period`` says whether the clock has an open period then (it started and has not closed since).
    """
    if kind in started_clocks(event_type, payload):
        return ClockChange.START
    if not in_period:
        return None
    if event_type == "ClocksStarted":
        resumed = payload.get("resumed")
        return ClockChange.RESUME if isinstance(resumed, Mapping) and kind in resumed else None
    if event_type in ("ClockPaused", "ClockResumed"):
        named = payload.get("clocks")
        if isinstance(named, (list, tuple)) and kind in named:
            return ClockChange.PAUSE if event_type == "ClockPaused" else ClockChange.RESUME
        return None
    if event_type == "DeadlineExtended":
        return ClockChange.EXTEND if payload.get("clock") == kind else None
    if event_type == "ClocksStopped":
        named = payload.get("clocks")
        return ClockChange.CLOSE if isinstance(named, Mapping) and kind in named else None
    return ClockChange.CLOSE if event_type == "CaseCompleted" else None
