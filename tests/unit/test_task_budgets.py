"""A task budget counted on a case clock (``<tb:deadline clock="legal|committed">``): engine.task_budgets.

March 2026 has no holidays: 2026-03-02 is a Monday, and the 20-working-day 法定 clock accepted that day is due
2026-03-30. A due date D is stored as the instant D ends (00:00 of the next day, Beijing time).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.case_clocks import start_clocks, start_pending, stop_periods, with_clock
from engine.clock import CST
from engine.definitions import ClockSpec, Deadline
from engine.legal_clock import Clock, ClockKind, decision_budget
from engine.task_budgets import budget_instants, clock_task_deadline, task_deadline


def at(day: int, month: int = 3, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


def ends(day: int, month: int = 3) -> datetime:
    """The instant 2026-<month>-<day> ends."""
    return datetime(2026, month, day, tzinfo=CST) + timedelta(days=1)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))


def legal(*changes) -> dict:
    """The case's clocks: 法定 20 working days accepted 2026-03-02, then ``changes`` applied in order."""
    clock = Clock.start(ClockKind.LEGAL, decision_budget(False), date(2026, 3, 2), at(2, hour=9), "窗口甲")
    for change in changes:
        clock = change(clock)
    return {"legal": {"clock": clock.to_dict(), "yellow_days": 1, "yellow_ratio": 0.2}}


def pause(day: int):
    return lambda clock: clock.pause(at(day), "correction", "补正营业执照", "审查员")


def resume(day: int):
    return lambda clock: clock.resume(at(day), "窗口甲")


def extend(day: int, days: int = 10):
    return lambda clock: clock.extend(days, "需现场核查", "局长", "审查员", at(day), max_total_days=10,
                                      approver_roles_ok=True)


def due(doc, created: datetime, cal, amount: int = 5, unit: str = "workdays") -> datetime | None:
    return clock_task_deadline(doc, "legal", amount, unit, created, cal)[0]


def test_a_running_clock_counts_the_budget_from_the_task_creation_like_its_own(cal):
    assert due(legal(), at(4), cal) == ends(11) == task_deadline(5, "workdays", at(4), cal)[0]
    assert budget_instants(Deadline(5, "workdays"), at(4), None, cal) == task_deadline(5, "workdays", at(4), cal)


def test_a_pause_after_the_task_was_made_stops_its_budget_and_pushes_it_by_the_paused_days(cal):
    assert clock_task_deadline(legal(pause(5)), "legal", 5, "workdays", at(4), cal) == (None, None)
    # Paused Thursday 5th to Monday 9th: the 5th and 6th do not count, so the 11th becomes the 13th.
    assert due(legal(pause(5), resume(9)), at(4), cal) == ends(13)
    # Natural days: 10 days from the 4th is the 14th; the pause covers the 5th to the 8th.
    assert due(legal(pause(5), resume(9)), at(4), cal, 10, "days") == ends(18)


def test_a_task_made_while_the_clock_stands_still_starts_counting_when_it_resumes(cal):
    doc = legal(pause(3), resume(9))
    # Counting from the resume day (it counts): the 9th, 10th, 11th, 12th and 13th.
    assert due(doc, at(4), cal) == ends(13)


def test_an_extension_while_the_task_is_open_extends_it_but_not_one_granted_before(cal):
    assert due(legal(extend(6)), at(4), cal) == ends(25)          # 5 + 10 working days from the 4th
    assert due(legal(extend(3)), at(4), cal) == ends(11)
    due_at, yellow_at = clock_task_deadline(legal(extend(6)), "legal", 5, "workdays", at(4), cal)
    assert yellow_at == ends(19)            # 20 % of 15 days: yellow once 3 working days or fewer are left


def test_a_task_is_never_due_after_the_clock_it_counts_on(cal):
    assert due(legal(), at(27), cal) == ends(30)                     # its own 5 days would reach April
    assert task_deadline(5, "workdays", at(27), cal)[0] > ends(30)


def test_a_pause_after_the_task_was_overdue_moves_nothing_and_keeps_it_red(cal):
    assert due(legal(pause(13)), at(4), cal) == ends(11)
    assert due(legal(pause(13), resume(20)), at(4), cal) == ends(11)


def test_a_clock_that_has_not_started_gives_no_due_instant_until_it_starts(cal):
    spec = ClockSpec("legal", 20, "workday", starts_at="accept")
    waiting = start_clocks((spec,), at(2), "窗口甲")
    assert clock_task_deadline(waiting, "legal", 5, "workdays", at(2), cal) == (None, None)
    assert clock_task_deadline(None, "legal", 5, "workdays", at(2), cal) == (None, None)
    started, _ = start_pending(waiting, "accept", at(4), cal, "窗口甲")
    assert due(started, at(2), cal) == ends(11)                      # from the 受理 on the 4th, not the 2nd


def test_a_task_keeps_the_period_it_was_made_in_and_one_made_between_periods_waits_for_the_next(cal):
    spec = ClockSpec("legal", 45, "workday", starts_at="s1_accept s2_accept", stops_at="s1_done s2_done")
    doc, _ = start_pending(start_clocks((spec,), at(2), "窗口甲"), "s1_accept", at(2), cal, "发改")
    assert due(doc, at(3), cal) == ends(10)
    doc, _ = stop_periods(doc, ("legal",), at(4))
    assert due(doc, at(3), cal) == ends(10)                          # the closed period is still its reckoning
    assert due(doc, at(10), cal) is None                              # made between periods: nothing counts yet
    doc, _ = start_pending(doc, "s2_accept", at(18), cal, "规划")
    assert due(doc, at(10), cal) == ends(25)


def test_a_budget_on_the_committed_clock_reads_that_clock_only(cal):
    doc = legal(pause(5))
    committed = Clock.start(ClockKind.COMMITTED, decision_budget(False), date(2026, 3, 2), at(2, hour=9), "甲")
    doc = {**doc, "committed": {"clock": committed.to_dict(), "yellow_days": 1, "yellow_ratio": 0.2}}
    assert clock_task_deadline(doc, "committed", 5, "workdays", at(4), cal)[0] == ends(11)
    assert budget_instants(Deadline(5, "workdays", "legal"), at(4), doc, cal) == (None, None)
    doc = with_clock(doc, "legal", Clock.from_dict(doc["legal"]["clock"]).resume(at(9), "甲"))
    assert budget_instants(Deadline(5, "workdays", "legal"), at(4), doc, cal)[0] == ends(13)


def test_a_task_made_at_receipt_counts_from_the_t0_that_deemed_acceptance_back_dates(cal):
    """QA: 受理 came after 第三十二条's 5 working days, so the clock counts from the receipt; so does the task."""
    spec = ClockSpec("legal", 20, "workday", starts_at="accept")
    doc, started = start_pending(start_clocks((spec,), at(2), "窗口甲"), "accept", at(12), cal, "窗口甲")
    assert started[0]["deemed"] and started[0]["t0"] == "2026-03-02"
    assert due(doc, at(2), cal, 3) == ends(5)              # already overdue when 受理 is finally recorded
    assert due(doc, at(6), cal, 3) == ends(11)             # made later than the T0: counts from its own day
