"""What a history event's clock figures cannot show as they stood then, in words (engine.history_calendar)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.clock import CST
from engine.history_calendar import NOW, CalendarNotes, InForce, calendar_note
from engine.persistence.calendar_repository import calendar_from_rows

LOADED = WorkCalendar.from_schedules(facts_from_chinesecalendar([2025, 2026]))
AT = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
STARTED = TODAY = date(2026, 11, 23)


def test_a_calendar_that_holds_every_year_counted_says_nothing():
    assert calendar_note(InForce(LOADED, NOW), STARTED, ["2026-12-21", "2026-12-07"], TODAY) is None


def test_nothing_is_said_before_a_clock_runs():
    assert calendar_note(InForce(WorkCalendar({}, ()), NOW, lost=(2026,), problem="x"), STARTED, [], TODAY) is None


def test_a_lost_schedule_is_named_only_when_its_year_was_counted():
    lost = InForce(LOADED, ("v",), lost=(2010, 2026))
    assert calendar_note(lost, STARTED, ["2026-12-21"], TODAY) == (
        "2026 年当时施行的节假日安排已被替换且未保存，时限按该年现行安排计算")
    assert calendar_note(InForce(LOADED, ("v",), lost=(2010,)), STARTED, ["2026-12-21"], TODAY) is None


def test_a_year_not_loaded_then_is_named_with_the_estimate_and_joined_to_the_other_reasons():
    note = calendar_note(InForce(LOADED, ("v",), lost=(2026,), problem="2026 年的两个版本同时有效"),
                         date(2026, 12, 14), ["2027-01-11", None], date(2026, 12, 14))
    assert note == ("节假日安排的历史版本记录有误（2026 年的两个版本同时有效），时限按现行安排计算；"
                    "2026 年当时施行的节假日安排已被替换且未保存，时限按该年现行安排计算；"
                    "2027 年的节假日安排当时尚未载入，到期日为仅按周末推算的暂定日期")


def test_the_notes_of_a_case_say_nothing_while_every_year_counted_is_loaded_and_the_same_as_the_function():
    notes = CalendarNotes(lambda instant: InForce(LOADED, NOW), AT)
    assert notes(AT, ["2026-12-21", None]) is None and notes(AT, [None, None]) is None
    late = datetime(2026, 12, 31, 17, tzinfo=CST)
    assert notes(late, ["2027-01-11"]) == calendar_note(InForce(LOADED, NOW), STARTED, ["2027-01-11"], late.date())
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)       # 2027-01-01 00:30 in CST
    assert notes(new_year, ["2026-12-21"]) == (
        "2027 年的节假日安排当时尚未载入，到期日为仅按周末推算的暂定日期")   # an overdue clock counts 2027 too
    lost = CalendarNotes(lambda instant: InForce(LOADED, ("v",), lost=(2026,)), AT)
    assert lost(AT, ["2026-12-21"]) == "2026 年当时施行的节假日安排已被替换且未保存，时限按该年现行安排计算"


def test_rows_make_the_calendar_load_calendar_would():
    rows = [{"day": day, "kind": fact.kind.value, "note": fact.note, "year": day.year}
            for day, fact in LOADED.facts.items()]
    built = calendar_from_rows(rows)
    assert dict(built.facts) == dict(LOADED.facts) and built.known_years == LOADED.known_years
    assert not built.strict and calendar_from_rows(rows, strict=True).strict
