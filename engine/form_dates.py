"""Date bounds of form-js date fields: no day before today, after a day, or past an absurd year.

form-js itself offers one rule for a date field, ``disallowPassedDates`` (its date picker then starts at
today). A form may also state bounds in the component's ``validate`` object, as the designer's own data:
``minDate`` and ``maxDate``, each a day (``2100-12-31``) or a day counted from today (``today``, ``today+1``,
``today-30``). The browser ignores those two; the server enforces all three on every submission, counting
"today" from the business date the engine hands in (time is an input, never read from the system clock).

:mod:`engine.form_schema` adds :func:`date_range` to a date field's validators; :mod:`engine.forms` checks the
rules when a form is deployed (:func:`date_rule_problems`). Pure module: stdlib and marshmallow only.
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping

from marshmallow import ValidationError

if TYPE_CHECKING:   # annotations only: engine.form_definition imports this module
    from .form_definition import FormField

Bound = tuple[date | None, int | None]
"""A parsed bound: ``(day, None)`` for a fixed day, ``(None, N)`` for today plus N days."""

_BEIJING = timezone(timedelta(hours=8))   # a datetime value's day is its Beijing day, as the business date
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_RELATIVE = re.compile(r"^today(?:([+-])(\d{1,5}))?$", re.ASCII)
TODAY: ContextVar[date | None] = ContextVar("form_today", default=None)
"""The business date a submission is checked on, set by :meth:`engine.form_definition.FormDefinition.validate`.

Bounds counted from today are checked only while it is set; fixed days always are.
"""


def date_bound(text: Any) -> Bound | None:
    """Read a ``validate.minDate``/``maxDate``; None when it is neither ``YYYY-MM-DD`` nor ``today[±N]``."""
    if not isinstance(text, str):
        return None
    relative = _RELATIVE.match(text)
    if relative:
        sign, days = relative.groups()
        return None, (-1 if sign == "-" else 1) * int(days or 0)
    if not _DAY.match(text):
        return None
    try:
        return date.fromisoformat(text), None
    except ValueError:   # 2023-02-29
        return None


def date_rule_problems(comp: Mapping[str, Any], rules: Mapping[str, Any]) -> list[str]:
    """What is wrong with a component's date bounds, as Chinese phrases for ``FORM_BAD_VALIDATE`` findings."""
    named = [k for k in ("minDate", "maxDate") if rules.get(k) is not None]
    passed = comp.get("disallowPassedDates")
    if passed is None and not named:
        return []
    if comp.get("type") != "datetime" or comp.get("subtype", "date") not in ("date", "datetime"):
        return [f"{k} 只能用于日期字段" for k in (["disallowPassedDates"] if passed is not None else []) + named]
    bad = ["disallowPassedDates 应为 true/false"] if passed is not None and not isinstance(passed, bool) else []
    bounds = {k: date_bound(rules[k]) for k in named}
    bad += [f"{k} 应为 YYYY-MM-DD 日期，或 today、today+N、today-N（N 为天数）" for k, b in bounds.items() if b is None]
    low, high = bounds.get("minDate"), bounds.get("maxDate")
    if low and high and _after(low, high):
        bad.append("minDate 晚于 maxDate，没有日期可填")
    return bad


def _after(low: Bound, high: Bound) -> bool:
    """Whether bound ``low`` is later than ``high`` whatever today is (two days, or two offsets from today)."""
    if low[0] is not None and high[0] is not None:
        return low[0] > high[0]
    return low[0] is None and high[0] is None and (low[1] or 0) > (high[1] or 0)


def date_range(f: FormField, well_formed: Callable[[str], bool]) -> Callable[[Any], None] | None:
    """The validator of a date field's bounds, or None when it has none.

    ``disallowPassedDates`` means today or later, as form-js's picker offers; ``minDate``/``maxDate`` add
    their own bounds, and a value must keep all of them. ``well_formed`` is the field's format check: a
    malformed value is left to it.
    """
    lows = [b for b in (date_bound("today") if f.disallow_passed else None, date_bound(f.rules.get("minDate")))
            if b is not None]
    highs = [b for b in (date_bound(f.rules.get("maxDate")),) if b is not None]
    if not lows and not highs:
        return None
    subtype = f.subtype or "date"

    def run(value: Any) -> None:
        if not isinstance(value, str) or not well_formed(value):
            return
        day = date.fromisoformat(value) if subtype == "date" else \
            datetime.fromisoformat(value).astimezone(_BEIJING).date()
        today = TODAY.get()
        # The strictest bound on each side speaks: 应晚于今日 rather than 不能早于今日 for 1900-01-01.
        low = max(((limit, b) for b in lows if (limit := _on(b, today)) is not None), default=None,
                  key=lambda pair: pair[0])
        high = min(((limit, b) for b in highs if (limit := _on(b, today)) is not None), default=None,
                   key=lambda pair: pair[0])
        if low is not None and day < low[0]:
            raise ValidationError(_message(low[0], low[1][1], today, early=True))
        if high is not None and day > high[0]:
            raise ValidationError(_message(high[0], high[1][1], today, early=False))
    return run


def date_limits(disallow_passed: bool, rules: Mapping[str, Any], today: date) -> tuple[date | None, date | None]:
    """The first and last day a date field accepts on ``today`` (None: unbounded on that side).

    The same bounds :func:`date_range` enforces, for a date input's ``min``/``max`` on a page.
    """
    lows = [_on(b, today) for b in (date_bound("today") if disallow_passed else None,
                                    date_bound(rules.get("minDate"))) if b is not None]
    highs = [_on(b, today) for b in (date_bound(rules.get("maxDate")),) if b is not None]
    return max((d for d in lows if d is not None), default=None), min((d for d in highs if d is not None), default=None)


def _on(bound: Bound, today: date | None) -> date | None:
    fixed, offset = bound
    if fixed is not None:
        return fixed
    return today + timedelta(days=offset or 0) if today is not None else None


def _message(limit: date, offset: int | None, today: date | None, *, early: bool) -> str:
    """不能早于 2000-01-01, or, for a bound of today or the day next to it, 应晚于今日（2026-03-03）."""
    if today is not None and offset == 0:
        return f"{'不能早于' if early else '不能晚于'}今日（{today.isoformat()}）"
    if today is not None and offset == (1 if early else -1):
        return f"{'应晚于' if early else '应早于'}今日（{today.isoformat()}）"
    return f"{'不能早于' if early else '不能晚于'} {limit.isoformat()}"
