"""Where every "now" comes from.

The engine never calls ``datetime.now()`` itself: it asks the injected :class:`Clock`. Production uses
:class:`SystemClock`; tests, scenarios, demos and replay use :class:`ManualClock`, which only moves when told.
All instants are timezone-aware; China Standard Time (UTC+08:00, no daylight saving) is the business zone.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

CST = timezone(timedelta(hours=8), "CST")
"""China Standard Time, the zone of every business date (受理日, 办结日, deadlines)."""


class Clock(Protocol):
    """Anything that can tell the current instant."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""
        ...


class SystemClock:
    """The real wall clock, in China Standard Time."""

    def now(self) -> datetime:
        """Return the wall-clock instant in CST."""
        return datetime.now(CST)


class ManualClock:
    """A clock that stands still until moved; safe to share between threads.

    Args:
        start: the initial instant; naive values are read as CST.
        monotonic: refuse to be set back (the default: timers and audit assume time moves forward). Replay
            turns it off: it re-issues each command at its recorded instant, and hosts whose clocks differ
            can have recorded an earlier instant after a later one.
    """

    def __init__(self, start: datetime | None = None, *, monotonic: bool = True):
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=CST)
        self._now = start if start.tzinfo else start.replace(tzinfo=CST)
        self._lock = threading.Lock()
        self._monotonic = monotonic

    def now(self) -> datetime:
        """Return the instant the clock was last set to."""
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant``; moving backwards is refused (unless built with ``monotonic=False``)."""
        instant = instant if instant.tzinfo else instant.replace(tzinfo=CST)
        with self._lock:
            if self._monotonic and instant < self._now:
                raise ValueError(f"ManualClock cannot move backwards ({instant} < {self._now})")
            self._now = instant

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``) and return the new instant."""
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            if step < timedelta(0):
                raise ValueError("ManualClock cannot move backwards")
            self._now += step
            return self._now
