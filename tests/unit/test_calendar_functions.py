"""Working-day functions for diagram expressions: ISO instants with +08:00, clear errors, fresh calendars."""
from __future__ import annotations

from datetime import date

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.calendar_functions import CalendarProvider, calendar_functions, generation_in_use
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


def test_the_provider_reloads_once_when_a_command_observes_another_calendar_generation():
    loads: list[int] = []

    def load() -> WorkCalendar:
        loads.append(1)
        return calendar_2026()
    provider = CalendarProvider(load, ttl=3600)
    provider.observe(3)
    provider.get()
    provider.observe(3)                  # the generation it was loaded at: kept
    provider.get()
    assert len(loads) == 1
    provider.observe(4)                  # another process imported a year
    provider.get(), provider.get()
    assert len(loads) == 2
    provider.observe(4)
    provider.get()
    assert len(loads) == 2


def test_a_calendar_loaded_before_any_observation_is_reloaded_at_the_first_one():
    # Its generation is not known: it may be older than the one the first command saw committed.
    loads: list[int] = []

    def load() -> WorkCalendar:
        loads.append(1)
        return calendar_2026()
    provider = CalendarProvider(load, ttl=3600)
    provider.get()
    provider.observe(1)
    provider.get()
    provider.observe(1)
    provider.get()
    assert len(loads) == 2


def test_the_time_to_live_still_bounds_reads_that_observe_no_generation():
    loads: list[int] = []

    def load() -> WorkCalendar:
        loads.append(1)
        return calendar_2026()
    provider = CalendarProvider(load, ttl=-1)   # always past its time to live
    provider.observe(1)
    provider.get(), provider.get()
    assert len(loads) == 2


def test_a_command_counts_with_the_calendar_it_read_first_and_says_which_generation():
    loaded = iter([(calendar_2026(), 7), (WorkCalendar({}, set()), 8)])
    provider = CalendarProvider(lambda: next(loaded), ttl=-1)     # every read outside a command would reload
    assert generation_in_use() is None                             # outside a command: nothing to record
    with provider.in_use():
        provider.observe(6)                # an import committed after the command's read: the newer rows are kept
        first = provider.get()
        assert provider.get() is first and generation_in_use() == 7
        with provider.in_use():            # a unit of work inside the command's own
            assert provider.get() is first
    assert generation_in_use() is None
    with provider.in_use():
        provider.observe(8)
        assert generation_in_use() == 8    # counted no days: the generation it saw committed
        assert provider.get() is not first and generation_in_use() == 8


def test_a_loader_that_knows_no_generation_records_the_observed_one():
    provider = CalendarProvider(calendar_2026, ttl=3600)
    with provider.in_use():
        provider.observe(3)
        provider.get()
        assert generation_in_use() == 3


def test_a_calendar_read_at_an_older_generation_than_observed_is_reloaded():
    loads = []

    def load():
        loads.append(1)
        return calendar_2026(), 2
    provider = CalendarProvider(load, ttl=3600)
    provider.get()
    provider.observe(1)                    # older than the rows: kept
    provider.get()
    assert len(loads) == 1
    provider.observe(3)
    provider.get()
    assert len(loads) == 2


def test_current_says_the_generation_the_cached_rows_were_read_at_only_when_the_loader_knew_it():
    loaded = iter([(calendar_2026(), 4), (calendar_2026(), 5)])
    provider = CalendarProvider(lambda: next(loaded), ttl=3600)
    calendar, generation = provider.current()
    assert generation == 4 and provider.get() is calendar
    provider.observe(5)                    # the history reader's way to have a stale calendar reloaded
    assert provider.current()[1] == 5
    with provider.in_use():                # a command's calendar may be older than the cache: not said
        assert provider.current() == (provider.get(), None)
    assert CalendarProvider(calendar_2026, ttl=3600).current()[1] is None


def running_doc(**clock_changes):
    from datetime import datetime

    from engine.clock import CST
    from engine.legal_clock import Budget, Clock
    clock = Clock.start("legal", Budget(20, "workday"), date(2026, 2, 12), datetime(2026, 2, 12, 10, tzinfo=CST), "u")
    if clock_changes.get("paused"):
        clock = clock.pause(datetime(2026, 2, 24, 10, tzinfo=CST), "correction", "补正", "u", None)
    return {"legal": {"clock": clock.to_dict(), "yellow_days": 1, "yellow_ratio": 0.2}}


def test_workdays_before_is_the_instant_when_n_working_days_are_left(functions):
    # Period ends with Wednesday 03-18: at midnight starting 03-17, 03-17 and 03-18 are left.
    assert functions["workdays_before"]("2026-03-19T00:00:00+08:00", 2) == "2026-03-17T00:00:00+08:00"
    assert functions["workdays_before"]("2026-03-18", 2) == "2026-03-17T00:00:00+08:00"
    # Across 春节: 02-15..02-23 are off and Saturday 02-14 is a 调休 working day, the third one left.
    assert functions["workdays_before"]("2026-02-25", 2) == "2026-02-24T00:00:00+08:00"
    assert functions["workdays_before"]("2026-02-25", 3) == "2026-02-14T00:00:00+08:00"


def test_legal_due_reads_the_clocks_bound_to_the_case_being_worked(functions):
    from engine.calendar_functions import case_clocks_bound
    with case_clocks_bound(running_doc()):
        assert functions["legal_due"]() == "2026-03-19T00:00:00+08:00"
        assert functions["workdays_before"](functions["legal_due"](), 2) == "2026-03-17T00:00:00+08:00"


def test_a_paused_or_pending_clock_has_no_due_instant_so_its_timers_wait(functions):
    from engine.calendar_functions import NEVER, case_clocks_bound
    with case_clocks_bound(running_doc(paused=True)):
        assert functions["legal_due"]() == NEVER.isoformat()
        assert functions["workdays_before"](functions["legal_due"](), 2) == NEVER.isoformat()
    with case_clocks_bound({"committed": {"pending": {"starts_at": "accept"}}}):
        assert functions["committed_due"]() == NEVER.isoformat()


def test_clock_functions_refuse_a_case_without_that_clock_and_outside_a_case(functions):
    from engine.calendar_functions import case_clocks_bound
    with pytest.raises(ExpressionFailed, match="没有声明承诺时限"):
        with case_clocks_bound(running_doc()):
            functions["committed_due"]()
    with pytest.raises(ExpressionFailed, match="只能在办件的流程中使用"):
        functions["legal_due"]()
    from engine.calendar import CalendarInvalid
    with pytest.raises(CalendarInvalid, match="期限天数 -1 无效"):
        functions["workdays_before"]("2026-03-18", -1)


def test_accepted_on_is_the_t0_of_the_case_clock_and_refuses_before_acceptance(functions):
    from engine.calendar_functions import case_clocks_bound
    with case_clocks_bound(running_doc()):
        assert functions["accepted_on"]() == "2026-02-12"
        assert Evaluator(functions).evaluate("workdays_after(accepted_on(), 5)", {}) == "2026-02-27T00:00:00+08:00"
    with pytest.raises(ExpressionFailed, match="尚未受理"):
        with case_clocks_bound({"legal": {"pending": {"starts_at": "accept"}}}):
            functions["accepted_on"]()
    with pytest.raises(ExpressionFailed, match="只能在办件的流程中使用"):
        functions["accepted_on"]()
