"""The calendar of a replay: each command reads the schedules in force at its instant; a withheld year, or a
schedule replaced before it was kept, refuses once the command would read it."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import DayFact, DayKind, WorkCalendar
from engine.clock import CST
from engine.persistence.calendar_repository import LostVersion
from engine.replay_calendar import (
    CalendarNotCarried, CalendarVersionLost, CalendarVersions, CalendarVersionsInvalid, WithheldYears, versions_problem,
)

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


# --- replaced schedules -------------------------------------------------------------------------------------------

NINE, TEN, ELEVEN = (datetime(2026, 11, 23, hour, 0, tzinfo=CST) for hour in (9, 10, 11))


def day_row(day: date, kind: str, loaded_at: datetime, **replaced: datetime) -> dict:
    return {"day": day, "kind": kind, "note": "测试", "year": day.year, "source": "测试", "loaded_at": loaded_at,
            "loaded_by": "admin", **replaced}


def test_the_rows_in_force_follow_each_replacement_and_never_hold_a_day_twice():
    first = day_row(date(2026, 12, 1), "holiday", NINE, replaced_at=TEN)
    second = day_row(date(2026, 12, 1), "makeup_workday", TEN, replaced_at=ELEVEN)
    current = day_row(date(2026, 12, 2), "holiday", ELEVEN)
    versions = CalendarVersions([current], [second, first])
    assert versions.in_force(datetime(2026, 11, 23, 8, 0, tzinfo=CST)) == []
    assert [(r["day"], r["kind"]) for r in versions.in_force(NINE)] == [(date(2026, 12, 1), "holiday")]
    assert [(r["day"], r["kind"]) for r in versions.in_force(TEN)] == [(date(2026, 12, 1), "makeup_workday")]
    assert [(r["day"], r["kind"]) for r in versions.in_force(ELEVEN)] == [(date(2026, 12, 2), "holiday")]
    assert "replaced_at" not in versions.in_force(NINE)[0]          # a calendar_days row
    assert len({versions.key(t) for t in (NINE, TEN, ELEVEN)}) == 3
    assert versions.key(NINE) == versions.key(datetime(2026, 11, 23, 9, 59, tzinfo=CST))


@pytest.mark.parametrize("loaded_at, instant, refused", [
    (NINE, datetime(2026, 11, 23, 8, 0, tzinfo=CST), False),     # before the lost schedule: not loaded then
    (NINE, NINE, True),
    (NINE, datetime(2026, 11, 23, 9, 59, tzinfo=CST), True),
    (NINE, TEN, False),                                             # the replacement is carried
    (None, datetime(2020, 1, 1, tzinfo=CST), True),                 # the log does not say when it was loaded
])
def test_a_lost_schedule_refuses_only_while_it_was_in_force(loaded_at, instant, refused):
    withheld = WithheldYears({}, case_no="TB20261123000001", lost=[LostVersion(2026, loaded_at, TEN)])
    withheld.at(2, "TaskCompleted", instant)
    calendar = withheld.guard(WorkCalendar({}, set()))
    calendar.is_workday(date(2027, 3, 1))                           # another year: never refused
    if not refused:
        calendar.is_workday(date(2026, 12, 1))
        assert withheld.refused is None
        return
    with pytest.raises(CalendarVersionLost) as lost:
        calendar.is_workday(date(2026, 12, 1))
    assert (lost.value.code, lost.value.http_status) == ("HISTORY_CALENDAR_REPLACED", 409)
    assert lost.value.details == {"year": 2026, "replaced_at": TEN.isoformat(), "seq": 2, "event_type": "TaskCompleted"}
    assert "2026 年的节假日安排已于 2026-11-23 10:00 被替换" in lost.value.message


def test_a_zero_length_version_between_two_replacements_at_one_instant_is_a_schedule():
    # Replaced at 10:00 by B, and B at 10:00 by C (one host, a frozen clock): B was never in force.
    rows = [day_row(date(2026, 12, 1), "holiday", NINE, replaced_at=TEN),
            day_row(date(2026, 12, 1), "workday", TEN, replaced_at=TEN)]
    current = [day_row(date(2026, 12, 1), "dayoff", TEN)]
    assert versions_problem(current, rows) is None
    assert [r["kind"] for r in CalendarVersions(current, rows).in_force(TEN)] == ["dayoff"]


@pytest.mark.parametrize("current, replaced, problem", [
    ([day_row(date(2026, 12, 1), "holiday", NINE)], [day_row(date(2026, 12, 1), "holiday", TEN, replaced_at=ELEVEN)],
     "2026 年的两个版本同时有效"),
    ([], [day_row(date(2026, 12, 1), "holiday", NINE, replaced_at=ELEVEN),
          day_row(date(2026, 12, 2), "holiday", TEN, replaced_at=ELEVEN)], "2026 年的两个版本同时有效"),
    ([day_row(date(2026, 12, 1), "holiday", NINE)] * 2, [], "2026-12-01 在同一版本中出现两次"),
    ([{**day_row(date(2026, 12, 1), "holiday", NINE), "year": 2027}], [], "2026-12-01 记在 2027 年"),
    ([], [day_row(date(2026, 12, 1), "holiday", TEN, replaced_at=NINE)], "2026-12-01 的 replaced_at 早于其 loaded_at"),
], ids=["current-starts-too-early", "replaced-overlap", "day-twice", "wrong-year", "ends-before-load"])
def test_rows_that_are_no_succession_of_versions_are_refused(current, replaced, problem):
    assert problem in versions_problem(current, replaced)
    with pytest.raises(CalendarVersionsInvalid) as refused:
        CalendarVersions(current, replaced)
    assert refused.value.code == "HISTORY_CALENDAR_INVALID" and problem in refused.value.message


# --- by generation ------------------------------------------------------------------------------------------------

def load(entry_id: int, year: int, action: str, at: datetime) -> dict:
    return {"id": entry_id, "year": year, "action": action, "content_hash": "h", "previous_hash": None,
            "source": "测试", "actor": "admin", "at": at}


def test_a_generation_is_the_calendar_after_that_many_loads():
    versions = CalendarVersions([day_row(date(2026, 12, 2), "holiday", ELEVEN), day_row(date(2027, 1, 1), "holiday", TEN)],
                                [day_row(date(2026, 12, 1), "holiday", NINE, replaced_at=ELEVEN)],
                                [load(1, 2026, "created", NINE), load(2, 2027, "created", TEN),
                                 load(3, 2027, "unchanged", TEN), load(4, 2026, "replaced", ELEVEN)])
    assert versions.by_generation
    assert versions.at_generation(0) == ([], {})
    assert [r["day"] for r in versions.at_generation(1)[0]] == [date(2026, 12, 1)]
    assert [r["day"] for r in versions.at_generation(3)[0]] == [date(2026, 12, 1), date(2027, 1, 1)]
    rows, missing = versions.at_generation(4)
    assert [r["day"] for r in rows] == [date(2026, 12, 2), date(2027, 1, 1)] and missing == {}
    assert "replaced_at" not in rows[0]                      # calendar_days rows
    # The instant of a command does not matter: one that ran at nine with generation 4 counted the new 2026.
    assert [r["day"] for r in versions.in_force(NINE)] == [date(2026, 12, 1)]


@pytest.mark.parametrize("generation", [-1, 5])
def test_a_generation_the_log_does_not_reach_refuses_the_replay(generation):
    versions = CalendarVersions([day_row(date(2026, 12, 1), "holiday", NINE)], [],
                                [load(1, 2026, "created", NINE)] * 4)
    with pytest.raises(CalendarVersionsInvalid) as refused:
        versions.at_generation(generation)
    assert refused.value.code == "HISTORY_CALENDAR_INVALID" and refused.value.details["loads"] == 4


def test_a_version_the_log_does_not_name_makes_the_history_go_by_instant():
    # Rows written behind the log's back (an old fixture): a generation could not say when they counted.
    versions = CalendarVersions([day_row(date(2026, 12, 1), "holiday", NINE)], [], [load(1, 2027, "created", TEN)])
    assert not versions.by_generation
    assert not CalendarVersions([day_row(date(2026, 12, 1), "holiday", NINE)]).by_generation


def test_a_version_in_force_at_a_generation_without_its_rows_is_missing_and_refuses_when_consulted():
    # 2026 was loaded at nine and replaced at ten before replaced schedules were kept.
    versions = CalendarVersions([day_row(date(2026, 12, 2), "holiday", TEN)], [],
                                [load(1, 2026, "created", NINE), load(2, 2026, "replaced", TEN)])
    rows, missing = versions.at_generation(1)
    assert rows == [] and missing == {2026: NINE}
    withheld = WithheldYears({}, case_no="TB20261123000001", lost=[LostVersion(2026, NINE, TEN)])
    withheld.at(2, "TaskCompleted", ELEVEN, missing)     # the instant says 2026's new schedule; the generation not
    calendar = withheld.guard(WorkCalendar({}, set()))
    calendar.is_workday(date(2027, 3, 1))
    with pytest.raises(CalendarVersionLost) as lost:
        calendar.is_workday(date(2026, 12, 1))
    assert lost.value.details["replaced_at"] == TEN.isoformat()
    withheld.at(3, "TaskCompleted", NINE, versions.at_generation(2)[1])   # an instant before: the generation wins
    withheld.refused = None
    withheld.guard(WorkCalendar({}, set())).is_workday(date(2026, 12, 1))
    assert withheld.refused is None


def test_a_withheld_year_in_force_at_a_generation_refuses_as_not_carried():
    versions = CalendarVersions([], [], [load(1, 2028, "created", LOADED_2028)])
    rows, missing = versions.at_generation(1)
    withheld = WithheldYears({2028: LOADED_2028}, case_no="TB20261123000001")
    withheld.at(3, "TaskCompleted", datetime(2026, 11, 1, tzinfo=CST), missing)   # an instant before its load
    with pytest.raises(CalendarNotCarried):
        withheld.guard(WorkCalendar(FACTS, {2027})).is_workday(date(2028, 1, 3))
