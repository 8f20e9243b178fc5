"""The facts a case carries for the metrics, derived from its own events and clocks (pure).

The dashboards aggregate columns of the ``cases`` row and never read workflows or the audit log, so each
command keeps these columns current from the events it records (:func:`event_columns`) and, when the case
ends, from its closed clocks (:func:`closing_columns`):

* ``channel``: how the application came in (``counter`` for a window intake; none for a case a system
  started through the API);
* ``accepted_at``: the instant the case was accepted (受理), i.e. no clock waits for 受理 any more; a case
  without such a clock is accepted when it is received; a case never accepted (不予受理) keeps none;
* ``corrections``: the 补正 rounds: each one-time 补正 notice and each clock pause for 补正 (a round is counted
  where it starts; whether 受理 ended it, ``ClocksStarted.resumed``, or someone resumed the clocks by hand
  changes nothing);
* ``tolerance``: 容缺 was used: materials were missing at intake under 容缺, or a clock paused for 容缺;
* ``visits``: the trips to a window the record shows: the counter intake, one per 补正 round (the applicant
  brings the materials) and one for 容缺 (the missing materials follow); none for an online application
  (全程网办), whose 补正 and 容缺 materials are uploaded too. ``visits <= 1`` is 最多跑一次;
* per clock, ``*_used_days`` (working days used from T0 to the closing date, paused days excluded: a pause
  ends where its clock ran again, at a ``ClockResumed`` or at the 受理 that resumed it),
  ``*_limit_days`` (the limit with its extension, in working days) and ``*_late`` (closed after its due date).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Iterable, Mapping

from . import events as ev
from .calendar import WorkCalendar, business_date
from .case_clocks import KINDS, clocks_of, pending_kinds
from .legal_clock import Budget, Clock
from .legal_clock_counting import count_due

FACTS_VERSION = 2
"""Stored in ``cases.facts_version``: rows without it predate the facts and are backfilled by ``migrate``.

Version 2: a case started by a handoff counts the intake of the case that received the application (channel,
补正 rounds, 容缺, visits); ``migrate`` recomputes those four facts of version-1 cases started so.
"""
COUNTER = "counter"
ONLINE = "online"


def department_of(matter_doc: Mapping[str, Any] | None, data: Mapping[str, Any]) -> str | None:
    """Return the case's 承办部门 code: the matter catalog's ``department``, else the start data's ``department``."""
    found = (matter_doc or {}).get("department") or data.get("department")
    return found[:40] if isinstance(found, str) and found.strip() else None


def visits(channel: str | None, corrections: int, tolerance: bool) -> int:
    """Return the trips to a window the record shows (see the module docstring)."""
    if channel == ONLINE:
        return 0  # 全程网办: the application, its 补正 and its 容缺 materials all come online (零跑动)
    return (1 if channel == COUNTER else 0) + corrections + (1 if tolerance else 0)


def event_columns(current: Any, items: Iterable[ev.Event], clocks: Mapping[str, Any] | None,
                  now: datetime) -> dict[str, Any]:
    """Return the fact columns that change with ``items`` (the events one command records at ``now``).

    ``current`` is the case record as it stands (``channel``, ``corrections``, ``tolerance``,
    ``accepted_at``); ``clocks`` its clocks document after the command.
    """
    channel = current.channel
    corrections = current.corrections or 0
    tolerance = bool(current.tolerance)
    accepted = current.accepted_at
    for item in items:
        if isinstance(item, ev.ApplicationReceived):
            channel = item.channel or channel
            tolerance = tolerance or item.tolerance
        elif isinstance(item, ev.ClockPaused):
            corrections += item.reason_kind == "correction"
            tolerance = tolerance or item.reason_kind == "tolerance"
        elif isinstance(item, (ev.CaseStarted, ev.ClocksStarted)) and accepted is None \
                and not pending_kinds(clocks):
            accepted = now
    changed = {"channel": channel, "corrections": corrections, "tolerance": tolerance, "accepted_at": accepted}
    changed = {key: value for key, value in changed.items() if getattr(current, key) != value}
    if changed:
        changed["visits"] = visits(channel, corrections, tolerance)
    return changed


def closing_columns(clocks: Mapping[str, Any] | None, ended_at: datetime,
                    calendar: WorkCalendar | None) -> dict[str, Any]:
    """Return the working days used, the limits and the late flags of a case's closed clocks.

    A clock that never started (the case ended before 受理) has none.
    """
    columns: dict[str, Any] = {f"{kind}_{what}": None for kind in KINDS for what in ("used_days", "limit_days",
                                                                                      "late")}
    if calendar is None:
        return columns
    for kind, clock in clocks_of(clocks).items():
        if kind not in KINDS:
            continue
        used, limit, late = clock_facts(clock, ended_at, calendar)
        columns.update({f"{kind}_used_days": used, f"{kind}_limit_days": limit, f"{kind}_late": late})
    return columns


def clock_facts(clock: Clock, ended_at: datetime, calendar: WorkCalendar) -> tuple[int, int, bool]:
    """Return (working days used, limit in working days, closed after the due date) of one clock at its end.

    A limit in natural days is converted to the working days it spans from T0, so every figure of the
    metrics is in working days.
    """
    extension = sum(e.days for e in clock.extensions)
    if clock.budget.unit == "workday":
        limit = clock.budget.amount + extension
        in_workdays = clock
    else:
        # The natural days, then the extension in working days (第四十二条 read with 第八十二条).
        due = count_due(calendar, "day", clock.t0, clock.budget.amount, extension)
        limit = calendar.working_days_between(clock.t0, due.date)
        in_workdays = replace(clock, budget=Budget(clock.budget.amount, "workday"))
    used = in_workdays.used(calendar, ended_at)
    late = business_date(ended_at) > clock.due(calendar).date
    return used, limit, late
