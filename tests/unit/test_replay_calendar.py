"""The guarded calendar of a replay from a trimmed history: a withheld year refuses once it was loaded."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import DayFact, DayKind, WorkCalendar
from engine.clock import CST
from engine.replay_calendar import CalendarNotCarried, WithheldYears

LOADED_2028 = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
FACTS = {date(2027, 1, 1): DayFact(DayKind.HOLIDAY, "元旦")}


def guarded(instant: datetime) -> tuple[WorkCalendar, WithheldYears]:
    withheld = WithheldYears({2028: LOADED_2028}, case_no="TB20261123000001")
    withheld.at(3, "TaskCompleted", instant)
    return withheld.guard(WorkCalendar(FACTS, {2027})), withheld


def test_a_period_inside_the_carried_years_is_answered_as_before():
    calendar, withheld = guarded(datetime(2026, 12, 1, tzinfo=CST))
    plain = WorkCalendar(FACTS, {2027})
    assert calendar.workdays_after(date(2026, 12, 30), 3) == plain.workdays_after(date(2026, 12, 30), 3)
    assert calendar.is_workday(date(2027, 1, 1)) is False and withheld.refused is None


@pytest.mark.parametrize("consult", [
    lambda c: c.workdays_after(date(2027, 12, 29), 5),
    lambda c: c.days_after(date(2027, 12, 20), 20),
    lambda c: c.is_workday(date(2028, 1, 3)),
    lambda c: c.working_days_between(date(2027, 12, 1), date(2028, 1, 10)),
    lambda c: c.workdays_before(date(2028, 1, 4), 5),
], ids=["workdays_after", "days_after", "is_workday", "working_days_between", "workdays_before"])
def test_consulting_a_withheld_year_loaded_by_then_refuses_and_is_remembered(consult):
    calendar, withheld = guarded(datetime(2026, 12, 1, tzinfo=CST))
    with pytest.raises(CalendarNotCarried) as refused:
        consult(calendar)
    assert refused.value.code == "HISTORY_CALENDAR_MISSING"
    assert refused.value.details == {"year": 2028, "loaded_at": LOADED_2028.isoformat(), "seq": 3,
                                     "event_type": "TaskCompleted"}
    assert "历史文件未携带 2028 年的节假日安排" in refused.value.message and "TB20261123000001" in refused.value.message
    with pytest.raises(CalendarNotCarried):
        withheld.raise_if_refused()                 # even if the command swallowed it


def test_a_withheld_year_loaded_only_later_is_an_estimate_as_it_was_live():
    calendar, withheld = guarded(datetime(2026, 11, 1, tzinfo=CST))      # before 2028 was loaded
    due = calendar.workdays_after(date(2027, 12, 29), 5)
    assert due == WorkCalendar(FACTS, {2027}).workdays_after(date(2027, 12, 29), 5)
    assert due.status == "provisional" and withheld.refused is None
