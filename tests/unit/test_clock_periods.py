"""Clocks counted per period (tb:clock stopsAt): a period ends at 阶段办结 and the next starts at 受理."""
from __future__ import annotations

from datetime import datetime

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.case_clocks import close_all, derived_columns, start_clocks, start_pending, stop_periods, stops_clocks, \
    summary
from engine.clock import CST
from engine.definitions import ClockSpec

SPEC = ClockSpec("legal", 45, "workday", starts_at="s1_accept s2_accept", stops_at="s1_conclude s2_conclude")


def calendar() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=CST)


def test_a_period_ends_at_its_stop_task_rests_and_restarts_fresh_at_the_next_start_task():
    cal = calendar()
    doc = start_clocks((SPEC,), at(3, 2), "clerk")
    assert stops_clocks(doc, "s1_conclude") == ()                      # not started yet: nothing to stop
    doc, _ = start_pending(doc, "s1_accept", at(3, 2), cal, "fagai")
    assert stops_clocks(doc, "s2_conclude") == ("legal",) and stops_clocks(doc, "s1_review") == ()
    doc, stopped = stop_periods(doc, ("legal",), at(3, 4))
    assert stopped == {"legal": {"t0": "2026-03-02", "period": 1}}
    assert derived_columns(doc, cal)["legal_due_at"] is None
    (row,) = summary(doc, cal, at(3, 10))
    assert (row["status"], row["periods"], row["due_date"]) == ("between_periods", 1, None)
    # Weeks later the next stage is accepted: no deemed back-dating to the first receipt, a fresh 45 days.
    doc, started = start_pending(doc, "s2_accept", at(3, 18), cal, "guihua")
    assert started[0]["t0"] == "2026-03-18" and started[0]["deemed"] is False
    (row,) = summary(doc, cal, at(3, 18))
    assert (row["periods"], row["left"], row["budget"]) == (2, 45, "45 个工作日")


def test_closing_a_case_between_periods_keeps_the_last_period_as_the_record():
    cal = calendar()
    doc, _ = start_pending(start_clocks((SPEC,), at(3, 2), "clerk"), "s1_accept", at(3, 2), cal, "fagai")
    doc, _ = stop_periods(doc, ("legal",), at(3, 4))
    (row,) = summary(close_all(doc, at(3, 5)), cal, at(3, 5))
    assert (row["t0"], row["light"], row["periods"]) == ("2026-03-02", "closed", 1)
