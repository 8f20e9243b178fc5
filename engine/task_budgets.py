"""When an open task is due: its own budget (``<tb:deadline>``), counted on its own or on a case clock.

A budget with ``clock="task"`` (the default) counts from the task's creation on the working-day calendar, or in
wall hours for ``hours``. One with ``clock="legal"`` or ``clock="committed"`` counts on that clock of the case
(法定 or 承诺时限), with the clock's own rules (:mod:`engine.legal_clock`):

- it counts only while the clock runs: a 补正, 容缺 or 特别程序 pause after the task's creation pushes the task's
  due date by the days it lasts, and while the clock stands still the task has no due instant (已暂停);
- a task created before the clock starts (or between two 工改 periods) has no due instant until it starts, and
  then counts from the clock's T0: the 受理 date, or the receipt date when 第三十二条 deems the application accepted
  then (the clock has run since, and so has the task's budget);
- an extension of the clock granted while the task is open adds its days to the task's budget (第四十二条: the
  extension is there because the decision needs more time, which its open steps are);
- it is never due after the clock itself: a task made late in the period gets what is left;
- the period a task belongs to is the one running when it was created (or the next to start): a 工改 stage's
  task left open when its stage ends keeps that stage's reckoning.

The yellow instant is the due date less max(1, 20 % of the budget with extensions) working days, as for a
budget of its own. Pure: the calendar and the clocks only.
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from .calendar import ONE_DAY, WorkCalendar, business_date, period_end
from .definitions import Deadline
from .legal_clock import Budget, Clock

Instants = tuple[datetime | None, datetime | None]
"""(due_at, yellow_at); both None while the budget has no due instant."""


def budget_instants(deadline: Deadline, created_at: datetime, doc: Mapping[str, Any] | None,
                    calendar: WorkCalendar) -> Instants:
    """Return (due_at, yellow_at) of a task budget, counted on its own or on the case clock it names.

    ``doc`` is the case's clocks as stored (``cases.clocks``); it is read only for a budget on a case clock.
    """
    if deadline.clock == "task":
        return task_deadline(deadline.amount, deadline.unit, created_at, calendar)
    return clock_task_deadline(doc, deadline.clock, deadline.amount, deadline.unit, created_at, calendar)


def task_deadline(amount: int, unit: str, created_at: datetime,
                  calendar: WorkCalendar) -> tuple[datetime, datetime]:
    """Return (due_at, yellow_at) of a task budget from ``<tb:deadline>``, counted from its creation."""
    if unit == "hours":
        due = created_at + timedelta(hours=amount)
        return due, due - max(timedelta(hours=1), timedelta(hours=amount) * 0.2)
    start = business_date(created_at)
    count = calendar.workdays_after if unit == "workdays" else calendar.days_after
    due_day = count(start, amount).date
    return period_end(due_day), period_end(back_from(calendar, due_day, _threshold(amount)))


def clock_task_deadline(doc: Mapping[str, Any] | None, kind: str, amount: int, unit: str, created_at: datetime,
                        calendar: WorkCalendar) -> Instants:
    """Return (due_at, yellow_at) of ``amount`` ``unit`` (workdays or days) counted on the case's ``kind`` clock.

    Both are None while that clock has not started, or stands still (unless the task, or the clock, was
    already overdue when the pause began: such a pause moves nothing and the task stays red).
    """
    clock = period_at((doc or {}).get(kind), created_at)
    if clock is None:
        return None, None
    counted = counted_on(clock, created_at, Budget(amount, "day" if unit == "days" else "workday"))
    if counted.paused and not (counted.expired_before_pause(calendar) or clock.expired_before_pause(calendar)):
        return None, None
    due_day = min(counted.due(calendar).date, clock.due(calendar).date)
    period = amount + sum(e.days for e in counted.extensions)
    return period_end(due_day), period_end(back_from(calendar, due_day, _threshold(period)))


def period_at(entry: Mapping[str, Any] | None, at: datetime) -> Clock | None:
    """The period of a stored clock entry a task created at ``at`` counts on, or None when none has started.

    That is the period running at ``at``, else the first to start after it; a period closed before ``at``
    is not the task's.
    """
    if not entry:
        return None
    stored = [*entry.get("periods", ()), *([entry["clock"]] if "clock" in entry else [])]
    return next((clock for clock in map(Clock.from_dict, stored)
                 if clock.closed_at is None or clock.closed_at > at), None)


def counted_on(clock: Clock, created_at: datetime, budget: Budget) -> Clock:
    """The task's own reckoning: ``budget`` on ``clock``'s segments and extensions from the task's creation on.

    Its T0 (not counted itself, as for the case) is the later of the task's creation date and the clock's T0,
    which 第三十二条 may have back-dated before the clock was started; the clock's pauses from the later of the
    task's creation and the clock's start on pause it, and the extensions granted from then on extend it.
    """
    begin = max(created_at, clock.segments[0].start)
    last = clock.segments[-1]
    segments = tuple(replace(s, start=max(s.start, begin)) for s in clock.segments
                     if s is last or s.end is None or s.end > begin)
    extensions = tuple(e for e in clock.extensions if e.at >= begin)
    return Clock(clock.kind, budget, max(business_date(created_at), clock.t0), segments, extensions, clock.closed_at)


def back_from(calendar: WorkCalendar, due_day: date, threshold: int) -> date:
    """Return the last business date on which more than ``threshold`` working days were left."""
    day = due_day
    while calendar.working_days_between(day, due_day) <= threshold:
        day -= ONE_DAY
    return day


def _threshold(period: int) -> int:
    return max(1, math.floor(0.2 * period))
