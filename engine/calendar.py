"""Statutory working days (法定工作日): holidays, 调休, and the deadline arithmetic built on them.

《行政许可法》第八十二条 counts periods in working days excluding statutory holidays; 《民法典》第二百零一条
excludes the start day and 第二百零三条 moves a period ending on a 休假日 to the next working day. Which
Saturdays become working days is only known once 国务院办公厅 publishes a year, so the calendar is a table of
dated facts per loaded year. Past the loaded years a result is a weekends-only estimate marked provisional
(or, in strict mode, a refusal) — never a silently "confirmed" guess.

Pure: no database, no clock, no files. The only imports from outside the standard library are PyYAML
(``parse_schedule`` of a YAML text) and ``chinese_calendar`` (seed data), each imported lazily by the one
function that needs it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Iterable, Literal, Mapping

from .clock import CST
from .errors import Conflict, EngineError, InvalidInput

MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_PERIOD = 3650
ONE_DAY = timedelta(days=1)
WEEKDAYS_ZH = "一二三四五六日"


class DayKind(StrEnum):
    """What a dated fact says about a day; every day without a fact follows the Monday-Friday rule.

    ``dayoff`` (调休放假, a weekday off in exchange for a make-up Saturday/Sunday) is kept apart from
    ``holiday`` (法定节假日 and the weekend days inside a holiday block) only for display and audit; the
    arithmetic treats both as non-working days.
    """

    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"
    DAYOFF = "dayoff"


@dataclass(frozen=True)
class DayFact:
    """One dated fact of a published schedule.

    Attributes:
        kind: holiday, make-up workday or 调休 day off.
        note: the festival it belongs to, e.g. "春节".
    """

    kind: DayKind
    note: str = ""

    @property
    def is_workday(self) -> bool:
        """True only for a 调休上班 day."""
        return self.kind is DayKind.MAKEUP_WORKDAY


@dataclass(frozen=True)
class Due:
    """A computed due date and how sure it is.

    Attributes:
        date: the last day of the period (the deadline ends with that day's office hours).
        status: ``confirmed`` when every day consulted lies in a loaded year, else ``provisional``.
        rule: Chinese explanation of how the date was reached, fit to show an applicant or an auditor.
        unknown_years: the years consulted whose schedule is not loaded (empty when confirmed).
    """

    date: date
    status: Literal["confirmed", "provisional"]
    rule: str
    unknown_years: tuple[int, ...] = ()

    @property
    def confirmed(self) -> bool:
        """True when no estimate was involved."""
        return self.status == "confirmed"


class CalendarInvalid(InvalidInput):
    """A schedule file or a calendar argument is wrong; ``details["problems"]`` lists every problem."""

    code = "CALENDAR_INVALID"


class CalendarUnknown(EngineError):
    """Strict mode: the period touches a year whose 节假日安排 has not been loaded."""

    code = "CALENDAR_UNKNOWN"
    http_status = 409


class CalendarYearExists(Conflict):
    """The year is already loaded with different content and ``replace`` was not asked for."""

    code = "CALENDAR_YEAR_EXISTS"


def business_date(instant: datetime) -> date:
    """Return the China Standard Time date of ``instant`` (naive values are read as CST).

    The calendar counts business dates; an instant such as 2026-02-12T17:30Z is already 2026-02-13 in
    Chongqing, so callers convert here instead of calling ``instant.date()``.
    """
    return (instant if instant.tzinfo else instant.replace(tzinfo=CST)).astimezone(CST).date()


def period_end(last_day: date) -> datetime:
    """Return the instant a period whose last counted day is ``last_day`` is over: the next midnight, CST.

    A period includes its last day, so it has run out only when that day has ended in Chongqing; timers
    and lights compare against this instant.
    """
    return datetime.combine(last_day + ONE_DAY, time(0), tzinfo=CST)


def check_date(day: date) -> None:
    """Refuse dates outside 1990..2100, where no calendar is kept and a typo is the likely cause.

    Raises:
        TypeError: for a ``datetime``, whose date depends on a time zone (use :func:`business_date`).
        CalendarInvalid: when ``day`` is out of range or not a date.
    """
    if isinstance(day, datetime):
        raise TypeError("pass a business date, not a datetime: use engine.calendar.business_date(instant)")
    if not isinstance(day, date) or not MIN_YEAR <= day.year <= MAX_YEAR:
        raise CalendarInvalid(f"日期 {day} 超出可计算范围（{MIN_YEAR}–{MAX_YEAR} 年）")


def check_period(n: int) -> None:
    """Refuse negative or absurd period lengths (over ten years is a typo, never a legal period).

    Raises:
        CalendarInvalid: when ``n`` is not an integer between 0 and 3650.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_PERIOD:
        raise CalendarInvalid(f"期限天数 {n} 无效：应为 0 至 {MAX_PERIOD} 之间的整数")


class WorkCalendar:
    """Working-day arithmetic over the loaded schedules.

    Args:
        facts: dated facts (holidays, 调休上班, 调休放假) of the loaded years.
        known_years: the years whose schedule is loaded; other years fall back to weekends only.
        strict: refuse (``CalendarUnknown``) instead of estimating for a year that is not loaded.
    """

    def __init__(self, facts: Mapping[date, DayFact], known_years: Iterable[int], *, strict: bool = False):
        self._facts = dict(facts)
        self.known_years = frozenset(known_years)
        self.strict = strict

    @classmethod
    def from_schedules(cls, schedules: Iterable[Any], *, strict: bool = False) -> "WorkCalendar":
        """Build a calendar from whole years' schedules (``YearSchedule``: ``year`` and ``facts``)."""
        schedules = list(schedules)
        facts = {day: fact for schedule in schedules for day, fact in schedule.facts.items()}
        return cls(facts, {schedule.year for schedule in schedules}, strict=strict)

    @property
    def facts(self) -> Mapping[date, DayFact]:
        """Every dated fact of the loaded years (read-only)."""
        return MappingProxyType(self._facts)

    def fact(self, day: date) -> DayFact | None:
        """Return the dated fact for ``day``, if any."""
        return self._facts.get(day)

    def is_known(self, day: date) -> bool:
        """True when the schedule of ``day``'s year is loaded."""
        return day.year in self.known_years

    def is_workday(self, day: date) -> bool:
        """True when ``day`` is a working day (weekends-only estimate in a year that is not loaded).

        Raises:
            CalendarInvalid: for a date outside 1990..2100.
            CalendarUnknown: in strict mode, for a year that is not loaded.
        """
        check_date(day)
        self._refuse_unknown(self.missing_years(day, day))
        return self._workday(day)

    def missing_years(self, first: date, last: date) -> tuple[int, ...]:
        """Return the years between ``first`` and ``last`` (inclusive, any order) that are not loaded."""
        low, high = sorted((first.year, last.year))
        return tuple(year for year in range(low, high + 1) if year not in self.known_years)

    def workdays_after(self, start: date, n: int) -> Due:
        """Count ``n`` working days forward from ``start``, the start day itself not counted (民法典 201).

        ``n == 0`` returns ``start`` itself (即办件: due the same day).

        Raises:
            CalendarInvalid: for a bad ``n`` or a date outside 1990..2100.
            CalendarUnknown: in strict mode, when the period touches a year that is not loaded.
        """
        check_date(start)
        check_period(n)
        if n == 0:
            return Due(start, "confirmed", f"期限为 0 个工作日：{start} 当日到期")
        day, counted, makeups, skipped = start, 0, [], []
        while counted < n:
            day += ONE_DAY
            fact = self._facts.get(day)
            if self._workday(day):
                counted += 1
                makeups += [day.isoformat()] if fact is not None else []
            elif fact is not None and fact.note and fact.note not in skipped:
                skipped.append(fact.note)
        check_date(day)
        rule = f"自 {start} 起（不含当日）计 {n} 个工作日，跳过休息日和法定节假日"
        rule += f"（{'、'.join(skipped)}）" if skipped else ""
        rule += f"，含调休上班日 {'、'.join(makeups)}" if makeups else ""
        return self._due(day, rule, self.missing_years(start + ONE_DAY, day))

    def days_after(self, start: date, n: int) -> Due:
        """Count ``n`` natural days from ``start`` (start not counted); a non-working last day moves forward.

        A period ending on a weekend or holiday ends on the next working day (民法典 203); a 调休上班
        Saturday is a working day and ends it. ``n == 0`` returns ``start``.

        Raises:
            CalendarInvalid: for a bad ``n`` or a date outside 1990..2100.
            CalendarUnknown: in strict mode, when the days consulted lie in a year that is not loaded.
        """
        check_date(start)
        check_period(n)
        if n == 0:
            return Due(start, "confirmed", f"期限为 0 日：{start} 当日到期")
        end = final = start + timedelta(days=n)
        check_date(end)
        while not self._workday(final):
            final += ONE_DAY
        check_date(final)
        rule = f"自 {start} 起（不含当日）计 {n} 日，期满日 {end}"
        if final != end:
            rule += f" 为休息日或法定节假日，顺延至其后第一个工作日 {final}"
        return self._due(final, rule, self.missing_years(end, final))

    def workdays_before(self, last: date, n: int) -> date:
        """Return the day after which exactly ``n`` working days remain up to ``last`` (inclusive).

        The inverse of :meth:`workdays_after` for warnings: at the end of the returned day, ``n`` working
        days of the period ending with ``last`` are left. ``n == 0`` returns ``last``.

        Raises:
            CalendarInvalid: for a bad ``n`` or a date outside 1990..2100.
        """
        check_date(last)
        check_period(n)
        day, counted = last, 0
        while counted < n:
            counted += self._workday(day)
            day -= ONE_DAY
        check_date(day)
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Count the working days in (first, last]; negative when ``last`` is before ``first``.

        Raises:
            CalendarInvalid: for a date outside 1990..2100.
            CalendarUnknown: in strict mode, when the span touches a year that is not loaded.
        """
        check_date(first)
        check_date(last)
        if last < first:
            return -self.working_days_between(last, first)
        self._refuse_unknown(self.missing_years(first + ONE_DAY, last) if last > first else ())
        return sum(1 for i in range(1, (last - first).days + 1) if self._workday(first + timedelta(days=i)))

    def workday_count(self, year: int) -> int:
        """Return the number of working days in ``year`` (2026 has 248)."""
        first = date(year, 1, 1)
        check_date(first)
        self._refuse_unknown(self.missing_years(first, first))
        length = (date(year + 1, 1, 1) - first).days
        return sum(1 for i in range(length) if self._workday(first + timedelta(days=i)))

    def year_facts(self, year: int) -> list[tuple[date, DayFact]]:
        """Return the dated facts of ``year``, in date order."""
        return sorted((day, fact) for day, fact in self._facts.items() if day.year == year)

    def _workday(self, day: date) -> bool:
        fact = self._facts.get(day)
        return fact.is_workday if fact is not None else day.weekday() < 5

    def _refuse_unknown(self, unknown: tuple[int, ...]) -> None:
        if unknown and self.strict:
            years = "、".join(str(y) for y in unknown)
            raise CalendarUnknown(f"{years} 年节假日安排尚未载入，无法确定期限；请管理员导入国务院办公厅通知"
                                  f"（tongban calendar import）", details={"unknown_years": list(unknown)})

    def _due(self, day: date, rule: str, unknown: tuple[int, ...]) -> Due:
        self._refuse_unknown(unknown)
        if not unknown:
            return Due(day, "confirmed", rule)
        years = "、".join(str(y) for y in unknown)
        rule += f"；{years} 年节假日安排尚未载入，按仅跳过周末估算，结果为暂定，载入后须重算"
        return Due(day, "provisional", rule, unknown)


# The schedule loaders live in their own module; they are part of this module's public surface.
from .calendar_schedule import (  # noqa: E402  (they import the types defined above)
    YearSchedule, content_hash, facts_from_chinesecalendar, parse_schedule,
)

__all__ = [
    "CalendarInvalid", "CalendarUnknown", "CalendarYearExists", "DayFact", "DayKind", "Due", "MAX_PERIOD",
    "MAX_YEAR", "MIN_YEAR", "ONE_DAY", "WorkCalendar", "YearSchedule", "business_date", "check_date",
    "check_period", "content_hash", "facts_from_chinesecalendar", "parse_schedule", "period_end",
]
