"""The history counts each event's clocks with the holiday schedule in force at its instant, and says what it cannot.

A parallel approval starts on Monday 2026-11-23 at 09:00 (法定 due 2026-12-21); at 10:00 2026 is replaced by a
schedule with one more holiday (2026-12-01) and the deadlines are recomputed (``DeadlinesRecomputed``: before
12-21, after 12-22); at 11:00 受理. The timeline and the state as of an event used to count every event with
today's calendar, so events before the replacement showed 12-22 beside a record that says 12-21. A schedule
replaced before tongban kept replaced schedules is lost: those events are counted with today's schedule of the
year and say so; a year not loaded yet at an event was counted weekends only, and says so too.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import update

from app import create_app
from app.runtime import set_engine
from engine import (
    CST, Actor, CompleteTask, Conflict, StartCase, ensure_calendar_seeded, import_calendar_year, parse_schedule,
)
from engine.persistence.models import CalendarReplacedDay
from tests.conftest import DATA
from tests.helpers import ACCEPT, CLERK, count_statements, deploy_shipped, open_task
from tests.integration.test_calendar_replaced_replay import (  # noqa: F401 - the clock fixture
    clock, forget_replaced_rows, replaced_while_running, revised_2026,
)
from tests.pages_helpers import PASSWORD, client_for

AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
LOST = "2026 年当时施行的节假日安排已被替换且未保存，时限按该年现行安排计算"


def legal(clocks: list[dict]) -> str | None:
    return next(c["due_date"] for c in clocks if c["kind"] == "legal")


def timeline(engine, case_id: int) -> list[dict]:
    return engine.history.timeline(AUDITOR, case_id, limit=500).events


def recomputed_seq(events: list[dict]) -> int:
    return next(e["seq"] for e in events if e["event_type"] == "DeadlinesRecomputed")


def test_each_event_is_counted_with_the_schedule_in_force_at_its_instant(engine, clock):
    case_id = replaced_while_running(engine, clock)
    events = timeline(engine, case_id)
    cut = recomputed_seq(events)
    recorded = events[cut - 1]["details"]
    # The recorded due instants are the ends of the due days: 12-21 before the replacement, 12-22 after it.
    assert (recorded["before"]["legal_due_at"], recorded["after"]["legal_due_at"]) == (
        "2026-12-21T16:00:00+00:00", "2026-12-22T16:00:00+00:00")
    shown = {e["seq"]: legal(e["clocks"]) for e in events}
    assert shown[1] is None and cut == 5
    assert {shown[seq] for seq in range(2, cut)} == {"2026-12-21"}
    assert {shown[seq] for seq in range(cut, len(events) + 1)} == {"2026-12-22"}
    assert {e["calendar_note"] for e in events} == {None}
    started = engine.history.state_at(AUDITOR, case_id, 1)
    assert (started["through_seq"], legal(started["clocks"]), started["calendar_note"]) == (4, "2026-12-21", None)
    assert legal(engine.history.state_at(AUDITOR, case_id, cut)["clocks"]) == "2026-12-22"
    assert legal(engine.history.state_at(AUDITOR, case_id, len(events))["clocks"]) == "2026-12-22"


def test_a_page_read_again_costs_no_calendar_query_and_builds_one_calendar_per_version(engine, clock):
    case_id = replaced_while_running(engine, clock)
    timeline(engine, case_id)
    with count_statements(engine) as again:
        assert legal(timeline(engine, case_id)[1]["clocks"]) == "2026-12-21"
    assert len(again) == 4 and not [s for s in again if "calendar_" in s], again   # case, page, clocks, users
    # Events from the replacement on use the engine's own calendar; the four before it share one version.
    assert len(engine.history.calendars._versions.built) == 1


def test_a_replacement_after_a_page_was_read_changes_the_earlier_events_of_the_next_read(engine, clock):
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=CST))
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    assert {legal(e["clocks"]) for e in timeline(engine, case_id)[1:]} == {"2026-12-21"}
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=CST))
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)
    engine.recompute_deadlines("2026 年节假日安排替换")
    events = timeline(engine, case_id)
    assert [legal(e["clocks"]) for e in events[1:]] == ["2026-12-21"] * 3 + ["2026-12-22"]


def test_events_under_a_schedule_that_was_not_kept_use_todays_and_say_so(engine, clock):
    case_id = replaced_while_running(engine, clock)
    forget_replaced_rows(engine)
    events = timeline(engine, case_id)
    cut = recomputed_seq(events)
    assert [(legal(e["clocks"]), e["calendar_note"]) for e in events[1:cut - 1]] == [("2026-12-22", LOST)] * 3
    assert events[0]["calendar_note"] is None                     # no clock running yet: nothing to say
    assert {e["calendar_note"] for e in events[cut - 1:]} == {None}
    # The state cannot be rebuilt at all: replay refuses what it would have to estimate.
    with pytest.raises(Conflict) as refused:
        engine.history.state_at(AUDITOR, case_id, len(events))
    assert refused.value.code == "HISTORY_CALENDAR_REPLACED"


def test_versions_edited_into_overlapping_ones_leave_todays_calendar_and_say_why(engine, clock):
    case_id = replaced_while_running(engine, clock)
    with engine.services.uow() as uow:       # what a host with its clock a minute behind once could write
        uow.session.execute(update(CalendarReplacedDay).values(replaced_at=datetime(2026, 11, 23, 10, 30, tzinfo=CST)))
        uow.commit()
    events = timeline(engine, case_id)
    notes = {e["calendar_note"] for e in events[1:recomputed_seq(events) - 1]}
    assert len(notes) == 1 and notes.pop().startswith("节假日安排的历史版本记录有误（2026 年的两个版本同时有效")
    assert {legal(e["clocks"]) for e in events[1:]} == {"2026-12-22"}


def test_a_year_loaded_after_an_event_was_an_estimate_then_and_the_event_says_so(engine, clock):
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=CST))
    ensure_calendar_seeded(engine)                                # 2004-2026: 2027 is not loaded yet
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    clock.set(datetime(2026, 12, 14, 10, 0, tzinfo=CST))
    import_calendar_year(engine, parse_schedule((DATA / "calendar" / "2027.yaml").read_text("utf-8"), "yaml"),
                         actor="admin")
    engine.recompute_deadlines("2027 年节假日安排载入")
    clock.set(datetime(2026, 12, 14, 11, 0, tzinfo=CST))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    events = timeline(engine, case_id)
    cut = recomputed_seq(events)
    assert events[cut - 1]["details"]["before"]["deadline_provisional"] is True
    # Weekends only, 2027-01-01 was a working day: 20 working days end on 01-11; loaded, on 01-12.
    estimate = ("2027-01-11", "2027 年的节假日安排当时尚未载入，到期日为仅按周末推算的暂定日期")
    assert [(legal(e["clocks"]), e["calendar_note"]) for e in events[1:cut - 1]] == [estimate] * 3
    assert {(legal(e["clocks"]), e["calendar_note"]) for e in events[cut - 1:]} == {("2027-01-12", None)}
    state = engine.history.state_at(AUDITOR, case_id, 2)
    assert (legal(state["clocks"]), state["calendar_note"]) == estimate


def test_the_page_shows_the_due_date_then_and_the_note(engine, clock, database_url):
    case_id = replaced_while_running(engine, clock)
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    auditor = client_for(app, "auditor")
    state = auditor.get(f"/cases/{case_id}/history/2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<td>2026-12-21</td>" in state and "calendar-note" not in state
    forget_replaced_rows(engine)
    engine.calendar.invalidate()         # a database holds replaced rows or not; this one changes under the page
    html = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert html.count(f'<div class="sub calendar-note">{LOST}</div>') == 3


def test_the_api_and_the_cli_carry_the_note(engine, clock, database_url, runner):
    case_id = replaced_while_running(engine, clock)
    forget_replaced_rows(engine)
    engine.calendar.invalidate()
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor')}"}
    events = app.test_client().get(f"/api/v1/cases/{case_id}/history?limit=50", headers=bearer).get_json()["events"]
    assert [e["calendar_note"] for e in events[1:4]] == [LOST] * 3 and events[0]["calendar_note"] is None
    shown = runner.invoke(args=["history", "show", str(case_id)]).output.splitlines()
    assert sum(line.endswith(f"（{LOST}）") for line in shown) == 3
