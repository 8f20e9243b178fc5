"""The 法定 and 承诺 clocks of a case as they stood at any event of its history.

A stored :class:`~engine.legal_clock.Clock` keeps every segment and extension it ever had, so its state at
an earlier moment is a prefix of it: the segments and extensions that existed then, the last segment still
open, not yet closed. Which prefix is read off the audit log, event by event (never by time, since one
command writes several events at the same instant), by the rules of :func:`~engine.clock_changes.clock_change`:
each change opens a period, a segment or an extension, or closes the period (the next ``ClocksStarted`` of a
per-stage clock opens the next period, whose record is the next entry of the stored ``periods``). Days used
and left are then computed by the clock itself, with the working-day calendar the event's command counted with
(:class:`engine.history_calendar.HistoryCalendars`). :func:`resumed_clocks` puts a
``ClocksStarted``'s ``resumed`` into words for the timeline.

Pure: no database; the caller hands over the case's clock document and its clock events.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Hashable, Iterable, Mapping

from .calendar import WorkCalendar, business_date
from .clock_changes import CLOCK_EVENTS, ClockChange, clock_change
from .legal_clock import Clock, ClockKind, PauseKind

__all__ = ["CLOCK_EVENTS", "ClockAt", "ClockTracks", "clock_at", "clocks_now", "resumed_clocks"]


@dataclass(frozen=True)
class ClockAt:
    """One clock at one moment.

    Attributes:
        kind: ``legal`` (法定) or ``committed`` (承诺).
        state: ``not_started`` (waiting for 受理), ``running``, ``paused`` or ``stopped`` (the case closed).
        used: working (or natural) days of the budget used by then; None before the clock started.
        left: days left to the due date then (negative when overdue); None before the clock started.
        due_date: the due date as it stood then (ISO date); None before the clock started.
        light: green, yellow, red, paused or closed; None before the clock started.
    """

    kind: str
    state: str
    used: int | None = None
    left: int | None = None
    due_date: str | None = None
    light: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape of the API."""
        return {"kind": self.kind, "state": self.state, "used": self.used, "left": self.left,
                "due_date": self.due_date, "light": self.light}


@dataclass(frozen=True)
class _Progress:
    """How much of a clock's final record existed after some event."""

    started: bool = False
    segments: int = 0
    extensions: int = 0
    closed: bool = False
    period: int = 0
    """Which period's record (1-based) of a per-stage clock; plain clocks have one."""


def clock_at(kind: str, clock: Clock | None, entry: Mapping[str, Any], calendar: WorkCalendar,
             at: datetime) -> ClockAt:
    """Describe ``clock`` (None: not started) at instant ``at`` with the light thresholds of ``entry``."""
    if clock is None:
        return ClockAt(kind, "not_started")
    state = "stopped" if clock.closed else "paused" if clock.paused else "running"
    light = clock.light(calendar, at, yellow_days=int(entry.get("yellow_days", 1)),
                        yellow_ratio=float(entry.get("yellow_ratio", 0.2)))
    return ClockAt(kind, state, clock.used(calendar, at), clock.left(calendar, at),
                   clock.due(calendar, at).date.isoformat(), light)


def clocks_now(doc: Mapping[str, Any] | None, calendar: WorkCalendar, at: datetime) -> list[ClockAt]:
    """Describe every clock of a stored clock document at instant ``at`` (pending ones as not started)."""
    return [clock_at(kind, Clock.from_dict(entry["clock"]) if "clock" in entry else None, entry, calendar, at)
            for kind, entry in (doc or {}).items()]


def resumed_clocks(event_type: str, payload: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """The clocks a ``ClocksStarted`` resumed (受理 ended their pause), each as ``kind``, ``reason_kind``, ``label``.

    The label names the clock and the pause that ended in words, e.g. "承诺时限（补正）"; a kind or reason this
    engine does not know is shown as recorded. Any other event, or one that resumed nothing, gives ``[]``.
    """
    resumed = (payload or {}).get("resumed") if event_type == "ClocksStarted" else None
    if not isinstance(resumed, Mapping):
        return []
    return [{"kind": str(kind), "reason_kind": str(reason),
             "label": f"{_zh(ClockKind, kind)}（{_zh(PauseKind, reason)}）"} for kind, reason in resumed.items()]


def _zh(names: type[ClockKind] | type[PauseKind], value: Any) -> str:
    return names(value).zh if value in names.__members__.values() else str(value)


class ClockTracks:
    """Every clock of one case, answerable at any event number.

    Args:
        doc: the case's stored clock document (``cases.clocks``), as it is now.
        clock_events: ``(seq, event_type, payload)`` of the case's clock events (:data:`CLOCK_EVENTS`) in
            order, at least up to the last event that will be asked about.
        calendar: the working-day calendar the days are counted with.
        calendar_at: instead, the calendar in force at an instant, as ``(key, calendar)``: one key, one
            calendar (:class:`engine.history_calendar.HistoryCalendars`).
    """

    def __init__(self, doc: Mapping[str, Any] | None, clock_events: Iterable[tuple[int, str, Mapping[str, Any]]],
                 calendar: WorkCalendar | None = None, *,
                 calendar_at: Callable[[datetime], tuple[Hashable, WorkCalendar]] | None = None):
        self.doc = dict(doc or {})
        self.calendar_at = calendar_at or (lambda instant: (None, calendar))
        # Every period's final record, in order: the closed earlier ones, then the current clock if any.
        self.final = {kind: [Clock.from_dict(p) for p in entry.get("periods", ())]
                      + ([Clock.from_dict(entry["clock"])] if "clock" in entry else [])
                      for kind, entry in self.doc.items()}
        self._seqs: dict[str, list[int]] = {kind: [] for kind in self.doc}
        self._steps: dict[str, list[_Progress]] = {kind: [] for kind in self.doc}
        self._memo: dict[tuple[Any, ...], ClockAt] = {}
        progress = {kind: _Progress() for kind in self.doc}
        for seq, event_type, payload in clock_events:
            for kind in self.doc:
                changed = _advance(progress[kind], kind, event_type, payload or {})
                if changed != progress[kind]:
                    progress[kind] = changed
                    self._seqs[kind].append(seq)
                    self._steps[kind].append(changed)

    def at(self, seq: int, instant: datetime,
           counted_with: tuple[Hashable, WorkCalendar] | None = None) -> list[ClockAt]:
        """Return every clock as it stood right after event ``seq``, which happened at ``instant``.

        ``counted_with``: the ``(key, calendar)`` to count with (one key, one calendar) instead of the one
        ``calendar_at`` gives for ``instant``: the event's command's (:mod:`engine.history_calendar`).
        """
        found = []
        version, calendar = (counted_with or self.calendar_at(instant)) if self.doc else (None, None)
        for kind, entry in self.doc.items():
            index = bisect.bisect_right(self._seqs[kind], seq) - 1
            progress = self._steps[kind][index] if index >= 0 else _Progress()
            key = (kind, progress, business_date(instant), version)
            if key not in self._memo:
                records = self.final[kind]
                record = records[progress.period - 1] if 0 < progress.period <= len(records) else None
                clock = _prefix(record, progress)
                # Days are counted per business date, so one answer serves every event of that day.
                self._memo[key] = clock_at(kind, clock, entry, calendar, instant)
            found.append(self._memo[key])
        return found


def _advance(progress: _Progress, kind: str, event_type: str, payload: Mapping[str, Any]) -> _Progress:
    change = clock_change(kind, event_type, payload, in_period=progress.started and not progress.closed)
    if change is ClockChange.START:
        return _Progress(started=True, segments=1, period=progress.period + 1)
    if change in (ClockChange.PAUSE, ClockChange.RESUME):
        return replace(progress, segments=progress.segments + 1)
    if change is ClockChange.EXTEND:
        return replace(progress, extensions=progress.extensions + 1)
    if change is ClockChange.CLOSE:
        return replace(progress, closed=True)
    return progress


def _prefix(final: Clock | None, progress: _Progress) -> Clock | None:
    """The part of ``final`` that existed at ``progress``; None when the clock had not started."""
    if final is None or not progress.started:
        return None
    segments = final.segments[:max(1, min(progress.segments, len(final.segments)))]
    extensions = final.extensions[:progress.extensions]
    if progress.closed and final.closed_at is not None:
        return replace(final, segments=segments, extensions=extensions)
    return replace(final, segments=segments[:-1] + (replace(segments[-1], end=None),), extensions=extensions,
                   closed_at=None)
