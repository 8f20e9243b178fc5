"""The period a metric covers: whole business days (Beijing time), checked before any query runs.

A period is a day, an ISO week (Monday to Sunday), a month or a year around an anchor date (today by
default), or an explicit ``from``..``to`` (both inclusive). Ranges that are reversed, longer than ten years,
before 2000, more than a year ahead or not dates at all are refused with a Chinese message and a stable
code, so a typo never turns into a full-table scan or a silent empty answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from .clock import CST
from .errors import InvalidInput

KINDS = {"day": "日", "week": "周", "month": "月", "year": "年"}
INTERVALS = ("day", "week", "month", "year")
EARLIEST = date(2000, 1, 1)
MAX_DAYS = 3653
"""Ten years of days, leap days included."""
MAX_BUCKETS = 400


class MetricsQueryInvalid(InvalidInput):
    """A metrics request names a period that cannot be answered; ``code`` says which rule it broke."""

    code = "METRICS_RANGE_INVALID"


@dataclass(frozen=True)
class Period:
    """Business days ``first``..``last`` (inclusive), with the kind it was built from for labels."""

    first: date
    last: date
    kind: str = "range"

    @property
    def start(self) -> datetime:
        """The instant the period begins (00:00 Beijing time of its first day)."""
        return datetime.combine(self.first, time(), CST)

    @property
    def end(self) -> datetime:
        """The instant after the period (00:00 Beijing time of the day after its last day)."""
        return datetime.combine(self.last + timedelta(days=1), time(), CST)

    @property
    def days(self) -> int:
        """The number of days in the period."""
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """The period as people read it: ``2026-11``, ``2026 第 48 周``, ``2026-11-01 至 2026-11-30``."""
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year} 年第 {week} 周（{self.first} 至 {self.last}）"
        if self.kind == "month":
            return f"{self.first.year} 年 {self.first.month} 月"
        if self.kind == "year":
            return f"{self.first.year} 年"
        return f"{self.first} 至 {self.last}"

    @property
    def key(self) -> str:
        """A short stable name of the period: ``2026-11-23``, ``2026-W48``, ``2026-11``, ``2026``."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first.year}-{self.first.month:02d}"
        if self.kind == "year":
            return str(self.first.year)
        return self.first.isoformat() if self.kind == "day" else f"{self.first}..{self.last}"

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "kind": self.kind, "label": self.label}


def parse_date(value: Any, what: str, param: str = "date") -> date:
    """Read ``YYYY-MM-DD`` (or a date); refuse anything else with ``METRICS_DATE_INVALID``.

    ``what`` names the value in the message; ``param`` is the query parameter it came from, under
    ``details.fields`` as the API's own field errors are.
    """
    if isinstance(value, datetime):
        return value.astimezone(CST).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        message = f"{what}“{text[:40]}”不是有效日期，应写成 YYYY-MM-DD，例如 2026-11-23"
        raise MetricsQueryInvalid(message, code="METRICS_DATE_INVALID",
                                  details={"fields": {param: [message]}, "value": text[:40]}) from None


def around(kind: str, anchor: date) -> Period:
    """Return the day, ISO week, month or year containing ``anchor``."""
    if kind == "day":
        return Period(anchor, anchor, "day")
    if kind == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return Period(first, _days_after(first, 6), "week")
    if kind == "month":
        if anchor.month == 12:
            return Period(anchor.replace(day=1), anchor.replace(day=31), "month")
        following = date(anchor.year, anchor.month + 1, 1)
        return Period(anchor.replace(day=1), following - timedelta(days=1), "month")
    if kind == "year":
        return Period(date(anchor.year, 1, 1), date(anchor.year, 12, 31), "year")
    message = f"统计周期“{str(kind)[:20]}”无效，应为 day（日）、week（周）、month（月）或 year（年）"
    raise MetricsQueryInvalid(message, code="METRICS_PERIOD_INVALID", details={"fields": {"period": [message]}})


def _days_after(day: date, days: int) -> date:
    """``day`` plus ``days``, held to the last date Python has (the week of 9999-12-31 ends there).

    Such a period is far past the horizon, so :func:`check` refuses it with ``METRICS_RANGE_TOO_LATE``
    rather than the calendar overflowing into a 500.
    """
    return day + timedelta(days=days) if date.max - day >= timedelta(days=days) else date.max


def resolve(today: date, *, period: str | None = None, anchor: Any = None, first: Any = None,
            last: Any = None) -> Period:
    """Build the period a request asks for and check it (today is the business date of the engine clock).

    Raises:
        MetricsQueryInvalid: a date that does not parse, only one of ``from``/``to``, a reversed range,
            one longer than ten years, starting before 2000 or ending more than a year after today.
    """
    if first not in (None, "") or last not in (None, ""):
        if first in (None, "") or last in (None, ""):
            message = "自定义区间须同时给出开始日期（from）和结束日期（to）"
            missing = "from" if first in (None, "") else "to"
            raise MetricsQueryInvalid(message, code="METRICS_RANGE_INCOMPLETE",
                                      details={"fields": {missing: [message]}})
        chosen = Period(parse_date(first, "开始日期", "from"), parse_date(last, "结束日期", "to"))
    else:
        chosen = around(period or "month", parse_date(anchor, "日期") if anchor not in (None, "") else today)
    return check(chosen, today)


def check(chosen: Period, today: date) -> Period:
    """Refuse a period that is reversed, too long, too early or too far ahead; return it otherwise."""
    if chosen.first > chosen.last:
        raise MetricsQueryInvalid(f"开始日期 {chosen.first} 晚于结束日期 {chosen.last}，请对调后重试",
                                  code="METRICS_RANGE_REVERSED", details=chosen.to_dict())
    if chosen.first < EARLIEST:
        raise MetricsQueryInvalid(f"开始日期 {chosen.first} 早于 {EARLIEST}：系统没有更早的办件数据",
                                  code="METRICS_RANGE_TOO_EARLY", details=chosen.to_dict())
    horizon = today + timedelta(days=366)
    if chosen.last > horizon:
        raise MetricsQueryInvalid(f"结束日期 {chosen.last} 晚于 {horizon}（今天起一年内）",
                                  code="METRICS_RANGE_TOO_LATE", details=chosen.to_dict())
    if chosen.days > MAX_DAYS:
        raise MetricsQueryInvalid(f"统计区间 {chosen.days} 天，超过十年（{MAX_DAYS} 天）上限，请缩短区间",
                                  code="METRICS_RANGE_TOO_LONG", details=chosen.to_dict())
    return chosen


def buckets(chosen: Period, interval: str) -> list[Period]:
    """Split a period into days, ISO weeks, months or years (the first and last may be partial).

    Raises:
        MetricsQueryInvalid: an unknown interval, or more than :data:`MAX_BUCKETS` buckets.
    """
    if interval not in INTERVALS:
        message = f"趋势粒度“{str(interval)[:20]}”无效，应为 day、week、month 或 year"
        raise MetricsQueryInvalid(message, code="METRICS_INTERVAL_INVALID", details={"fields": {"interval": [message]}})
    out: list[Period] = []
    day = chosen.first
    while day <= chosen.last:
        whole = around(interval, day)
        out.append(Period(day, min(whole.last, chosen.last), interval))
        day = whole.last + timedelta(days=1)
        if len(out) > MAX_BUCKETS:
            raise MetricsQueryInvalid(f"趋势最多 {MAX_BUCKETS} 个时间段，请改用更粗的粒度（周、月）或缩短区间",
                                      code="METRICS_TOO_MANY_BUCKETS", details={"interval": interval})
    return out
