"""Working-day functions for diagram expressions: ISO instants with +08:00, clear errors, fresh calendars."""
from __future__ import annotations

from datetime import date

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.calendar_functions import CalendarProvider, calendar_functions
from engine.errors import ExpressionFailed
from engine.expressions import Evaluator


def calendar_2026() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))


@pytest.fixture
def functions():
    return calendar_functions(CalendarProvider(calendar_2026))


def test_workdays_after_returns_the_midnight_that_ends_the_period(functions):
    assert functions["workdays_after"]("2026-02-12", 5) == "2026-02-27T00:00:00+08:00"
    # 20:30 UTC is already Friday 02-13 in Chongqing: counting starts a day later.
    assert functions["workdays_after"]("2026-02-12T20:30:00+00:00", 5) == "2026-02-28T00:00:00+08:00"


def test_days_after_moves_a_period_ending_on_a_holiday_to_the_next_working_day(functions):
    assert functions["days_after"]("2026-09-30", 1) == "2026-10-09T00:00:00+08:00"


def test_expressions_can_call_the_calendar_functions(functions):
    evaluator = Evaluator(functions)
    assert evaluator.evaluate("workdays_after(received_on, 20)", {"received_on": "2026-02-12"}) \
        == "2026-03-19T00:00:00+08:00"
    assert evaluator.evaluate("is_workday(d)", {"d": "2026-02-14"}) is True


@pytest.mark.parametrize("start, n", [("12/02/2026", 5), ("2026-02-12", "5"), ("2026-02-12", True), (20260212, 5)])
def test_bad_arguments_fail_the_expression_with_a_chinese_message(functions, start, n):
    with pytest.raises(ExpressionFailed) as exc:
        functions["workdays_after"](start, n)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)


def test_the_provider_reloads_after_invalidation():
    loads: list[int] = []

    def load() -> WorkCalendar:
        loads.append(1)
        return calendar_2026()
    provider = CalendarProvider(load, ttl=3600)
    provider.get(), provider.get()
    assert len(loads) == 1
    provider.invalidate()
    assert provider.get().is_workday(date(2026, 2, 14)) and len(loads) == 2
