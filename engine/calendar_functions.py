"""Working-day functions that diagrams may call in timer and gateway expressions.

A timer in a diagram carries an absolute due time computed by the statutory calendar, e.g.
``<timeDate>workdays_after(received_on, 5)</timeDate>``. The functions return ISO 8601 instants with an
explicit ``+08:00`` (SpiffWorkflow reads naive timestamps in the server's timezone), at the moment the period
ends: midnight after the last day counted, China Standard Time. The calendar is read from the database and
refreshed after an import (and at most every ``ttl`` seconds, so other processes' imports are seen too).
"""
from __future__ import annotations

import threading
import time
from datetime import date, datetime
from typing import Any, Callable

from .calendar import WorkCalendar, business_date, period_end
from .errors import ExpressionFailed


class CalendarProvider:
    """Hands out the current :class:`WorkCalendar`, reloading it when stale or told to."""

    def __init__(self, load: Callable[[], WorkCalendar], *, ttl: float = 60.0):
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._calendar: WorkCalendar | None = None
        self._loaded_at = 0.0

    def get(self) -> WorkCalendar:
        """Return the calendar, loading it on first use and after ``ttl`` seconds."""
        with self._lock:
            if self._calendar is None or time.monotonic() - self._loaded_at > self._ttl:
                self._calendar = self._load()
                self._loaded_at = time.monotonic()
            return self._calendar

    def invalidate(self) -> None:
        """Forget the cached calendar (after a year was imported or replaced)."""
        with self._lock:
            self._calendar = None


def calendar_functions(provider: CalendarProvider) -> dict[str, Callable[..., Any]]:
    """Return the expression functions bound to ``provider``: workdays_after, days_after, is_workday."""

    def workdays_after(start: Any, n: Any) -> str:
        """End of the period of ``n`` working days after ``start`` (start day not counted), as ISO text."""
        due = provider.get().workdays_after(_business_date(start), _count(n))
        return period_end(due.date).isoformat()

    def days_after(start: Any, n: Any) -> str:
        """End of the period of ``n`` natural days after ``start`` (moved past a closing day), as ISO text."""
        due = provider.get().days_after(_business_date(start), _count(n))
        return period_end(due.date).isoformat()

    def is_workday(day: Any) -> bool:
        """Whether ``day`` is a statutory working day."""
        return provider.get().is_workday(_business_date(day))

    return {"workdays_after": workdays_after, "days_after": days_after, "is_workday": is_workday}


def _business_date(value: Any) -> date:
    if isinstance(value, datetime):
        return business_date(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ExpressionFailed(f"日期 {value!r} 格式不正确，应为 YYYY-MM-DD 或 ISO 8601 时间",
                                   details={"reason": "value"}) from None
        return business_date(parsed) if "T" in value or " " in value.strip() else parsed.date()
    raise ExpressionFailed(f"应为日期，得到 {type(value).__name__}", details={"reason": "type"})


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ExpressionFailed(f"天数应为整数，得到 {n!r}", details={"reason": "type"})
    return n




