"""How a clock's days become dates: the due date of a budget with its extension, and where its light turns yellow.

Split from :mod:`engine.legal_clock`, whose :class:`~engine.legal_clock.Clock` keeps the record and reads its due
date from :func:`reckon` (the walk over its pauses and extensions, in time order). Two rules:

* **Units.** A budget counts in its own unit: working days (行政许可法第八十二条: "期限以工作日计算，不含法定节假日")
  or natural days (a period another law sets, e.g. 建筑法 7 日; a last day that is not a working day moves to the
  next working day, 民法典第二百零三条). An extension under 第四十二条 is a period of 行政许可法 itself, so it
  counts in working days whatever the budget's unit: a 日 budget's extension adds its working days to the due date
  the natural days reach (:func:`count_due`).
* **Yellow.** A running clock is yellow (临期) when at most ``yellow_days`` *working* days are left, or at most
  ``yellow_ratio`` of its period (the budget with its extension) in the budget's own unit (:func:`first_yellow_day`):
  the ClockSpec and catalog thresholds (DOMAIN.md 2.7: "到期前的一个工作日，发出提示信号"; ≤1 WD or ≤20 % left).
  For a working-day budget both count working days; for a 日 budget the share counts natural days, and the
  working-day floor makes sure the warning falls on a working day before the due date, not on the weekend
  before a Monday due date. The case page's light (:meth:`~engine.legal_clock.Clock.light`) and the stored
  yellow instant the inbox, 督办 and dashboard read (:func:`engine.case_clocks.derived_columns`) both come from
  :func:`first_yellow_day`, so they turn on the same day.

Pure: standard library, :mod:`engine.calendar` and :mod:`engine.legal_clock_records` only.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from .calendar import ONE_DAY, Due, WorkCalendar, business_date
from .legal_clock_records import UNIT_ZH, Extension

if TYPE_CHECKING:
    from .legal_clock import Clock

EXTENSION_UNIT = "workday"
"""The unit of every extension's days (第四十二条 read with 第八十二条)."""


def count_due(calendar: WorkCalendar, unit: str, t0: date, total: int, extension: int = 0) -> Due:
    """Return the due date of ``total`` days of ``unit`` from ``t0`` plus ``extension`` working days.

    A working-day budget counts both in one stretch (as it always has). A 日 budget counts its natural days
    first (民法典第二百零三条 moving a non-working last day), then the extension's working days after that day.
    """
    if unit == "workday":
        return calendar.workdays_after(t0, total + extension)
    natural = calendar.days_after(t0, total)
    if not extension:
        return natural
    extended = calendar.workdays_after(natural.date, extension)
    unknown = tuple(sorted(set(natural.unknown_years) | set(extended.unknown_years)))
    status = "confirmed" if natural.confirmed and extended.confirmed else "provisional"
    return Due(extended.date, status, f"{natural.rule}；延长期限{extended.rule}", unknown)


def first_yellow_day(calendar: WorkCalendar, unit: str, due_day: date, period: int, *, yellow_days: int,
                     yellow_ratio: float) -> date:
    """Return the first business date on which a clock due on ``due_day`` is yellow (see the module docstring).

    Args:
        calendar: the working-day calendar.
        unit: the budget's unit (``workday`` or ``day``).
        due_day: the clock's due date.
        period: the budget's amount plus its extension's days.
        yellow_days: yellow with this many working days left or fewer.
        yellow_ratio: ...or with this share of ``period`` left or less, in the budget's unit.
    """
    share = math.floor(yellow_ratio * period)
    if unit == "workday":
        return _first_with_workdays_left(calendar, due_day, max(yellow_days, share))
    return min(_first_with_workdays_left(calendar, due_day, yellow_days), due_day - timedelta(days=share))


def _first_with_workdays_left(calendar: WorkCalendar, due_day: date, n: int) -> date:
    """The first business date from which at most ``n`` working days are left up to ``due_day`` (counted)."""
    day, left = due_day, 0
    while True:
        step = calendar.working_days_between(day - ONE_DAY, day)   # 1 when ``day`` itself is a working day
        if left + step > n:
            return day
        left += step
        day -= ONE_DAY


def span_days(calendar: WorkCalendar, unit: str, first: date, last: date) -> int:
    """Count the days of ``unit`` in [first, last] (0 when ``last`` is before ``first``)."""
    if last < first:
        return 0
    if unit == "day":
        return (last - first).days + 1
    return calendar.working_days_between(first - ONE_DAY, last)


def reckon(clock: Clock, calendar: WorkCalendar, at: datetime | None) -> tuple[Due, list[tuple[date, date]]]:
    """Walk ``clock``'s pauses and extensions in time order; return its due date and the counted pause spans.

    A pause pushes the due date by its days in the budget's unit, an extension by its working days; either one
    that begins after the due date as it then stood moves nothing (see :mod:`engine.legal_clock`). ``at`` ends
    an open pause for the count (None: it counts nothing yet).
    """
    events = sorted([(s.start, 1, s) for s in clock.pauses] + [(e.at, 0, e) for e in clock.extensions],
                    key=lambda event: (event[0], event[1]))
    unit = clock.budget.unit
    total, extension = clock.budget.amount, 0
    current = count_due(calendar, unit, clock.t0, total)
    spans: list[tuple[date, date]] = []
    added: dict[str, int] = {}
    notes: list[str] = []
    for instant, _, item in events:
        day = business_date(instant)
        if day > current.date:
            what = "延长" if isinstance(item, Extension) else f"因{item.label}暂停"
            notes.append(f"{day} 的{what}发生在期限届满（{current.date}）之后，不顺延")
            continue
        if isinstance(item, Extension):
            days, key = item.days, "经批准延长"
        else:
            end = item.end if item.end is not None else (at if at is not None else item.start)
            first, last = max(day, clock.t0 + ONE_DAY), business_date(end) - ONE_DAY
            days, key = span_days(calendar, unit, first, last), f"另因{item.label}暂停"
            spans.append((first, last))
        if days:
            added[key] = added.get(key, 0) + days
            if isinstance(item, Extension):
                extension += days
            else:
                total += days
            current = count_due(calendar, unit, clock.t0, total, extension)
    parts = [f"{clock.kind.zh} {clock.budget}"]
    parts += [f"{key} {days} {UNIT_ZH[EXTENSION_UNIT]}" if key.startswith("经") else f"{key} {days} {UNIT_ZH[unit]}顺延"
              for key, days in added.items()]
    if clock.paused:
        pause = clock.segments[-1]
        parts.append(f"当前因{pause.label}自 {business_date(pause.start)} 起暂停中，恢复前到期日随之顺延")
    rule = "；".join(parts + notes) + "。" + current.rule
    return Due(current.date, current.status, rule, current.unknown_years), spans
