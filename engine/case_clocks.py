"""A case's two clocks (法定 and 承诺) as stored on the case row, and the columns derived from them.

The clocks themselves are :class:`engine.legal_clock.Clock` values kept in ``cases.clocks`` (JSON). Each
write also stores, per clock, the instant it turns yellow and the instant it turns red (``*_yellow_at``,
``*_due_at``), computed here with the working-day calendar, so the inbox colours and sorts with plain
comparisons against "now" and never computes a deadline per row at query time. A paused clock stores
neither: its light is "paused" until it resumes.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from .calendar import ONE_DAY, WorkCalendar, business_date, period_end
from .definitions import ClockSpec
from .legal_clock import Budget, Clock

KINDS = ("legal", "committed")


def start_clocks(specs: tuple[ClockSpec, ...], at: datetime, actor: str) -> dict[str, Any]:
    """Start every clock a definition declares, with T0 = the business date of ``at``."""
    doc: dict[str, Any] = {}
    for spec in specs:
        clock = Clock.start(spec.kind, Budget(spec.amount, spec.unit), business_date(at), at, actor)
        doc[spec.kind] = {"clock": clock.to_dict(), "yellow_days": spec.yellow_days,
                          "yellow_ratio": spec.yellow_ratio}
    return doc


def clocks_of(doc: Mapping[str, Any] | None) -> dict[str, Clock]:
    """Return the stored clocks by kind."""
    return {kind: Clock.from_dict(entry["clock"]) for kind, entry in (doc or {}).items()}


def with_clock(doc: Mapping[str, Any], kind: str, clock: Clock) -> dict[str, Any]:
    """Return a copy of ``doc`` with one clock replaced."""
    return {**doc, kind: {**doc[kind], "clock": clock.to_dict()}}


def derived_columns(doc: Mapping[str, Any] | None, calendar: WorkCalendar) -> dict[str, Any]:
    """Return ``{legal,committed}_{due,yellow}_at`` (None where absent or paused) and ``deadline_provisional``.

    ``deadline_provisional`` is True while any running clock's due date reaches a year whose holidays are
    not loaded yet; ``tongban calendar provisional`` lists those cases and an import recomputes them.
    """
    columns: dict[str, Any] = {f"{k}_{c}_at": None for k in KINDS for c in ("due", "yellow")}
    columns["deadline_provisional"] = False if doc else None
    for kind, clock in clocks_of(doc).items():
        if clock.paused or clock.closed:
            continue
        entry = (doc or {})[kind]
        due = clock.due(calendar)
        due_day = due.date
        columns["deadline_provisional"] = columns["deadline_provisional"] or not due.confirmed
        columns[f"{kind}_due_at"] = period_end(due_day)
        period = clock.budget.amount + sum(e.days for e in clock.extensions)
        threshold = max(int(entry["yellow_days"]), math.floor(float(entry["yellow_ratio"]) * period))
        columns[f"{kind}_yellow_at"] = period_end(_back(calendar, due_day, threshold))
    return columns


def summary(doc: Mapping[str, Any] | None, calendar: WorkCalendar, at: datetime) -> list[dict[str, Any]]:
    """Return each clock as people read it: due date, confirmed or provisional, days left, light, why."""
    rows = []
    for kind, clock in clocks_of(doc).items():
        entry = (doc or {})[kind]
        due = clock.due(calendar, at)
        rows.append({
            "kind": kind, "budget": str(clock.budget), "t0": clock.t0.isoformat(), "due_date": due.date.isoformat(),
            "status": due.status, "left": clock.left(calendar, at), "used": clock.used(calendar, at),
            "light": clock.light(calendar, at, yellow_days=int(entry["yellow_days"]),
                                 yellow_ratio=float(entry["yellow_ratio"])),
            "paused": clock.paused, "extended_days": sum(e.days for e in clock.extensions), "rule": due.rule,
        })
    return rows


def task_deadline(amount: int, unit: str, created_at: datetime,
                  calendar: WorkCalendar) -> tuple[datetime, datetime]:
    """Return (due_at, yellow_at) of a task budget from ``<tb:deadline>``, counted from its creation."""
    if unit == "hours":
        due = created_at + timedelta(hours=amount)
        return due, due - max(timedelta(hours=1), timedelta(hours=amount) * 0.2)
    start = business_date(created_at)
    due_day = (calendar.workdays_after(start, amount) if unit == "workdays" else calendar.days_after(start, amount)).date
    threshold = max(1, math.floor(0.2 * amount))
    return period_end(due_day), period_end(_back(calendar, due_day, threshold))


def _back(calendar: WorkCalendar, due_day: date, threshold: int) -> date:
    """Return the last business date on which more than ``threshold`` working days were left."""
    day = due_day
    while calendar.working_days_between(day, due_day) <= threshold:
        day -= ONE_DAY
    return day
