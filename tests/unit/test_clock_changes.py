"""The clock events read one way: the history's clocks at each event and the archive check share one rule book.

:func:`engine.clock_changes.clock_change` says what an event does to one clock; the timeline
(:mod:`engine.history_clocks`) and the offline archive check (:mod:`engine.archive_clocks`) both read the
events by it, so the two cannot come to differ on what a clock went through.
"""
from __future__ import annotations

from datetime import date

import pytest

from engine import archive_format, history_clocks
from engine.archive_clocks import check_clocks
from engine.archive_format import EventFacts
from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.clock_changes import CLOCK_EVENTS, ClockChange, clock_change
from engine.history_clocks import ClockTracks
from engine.legal_clock import Budget, Clock
from tests.unit.archive_fixture import chained

STARTED = {"clocks": {"legal": {"t0": "2026-11-23", "budget": {"amount": 20, "unit": "workday"}}}}
TWENTY = [{"amount": 20, "unit": "workday"}]


@pytest.mark.parametrize("event_type, payload, in_period, change", [
    ("ClocksStarted", STARTED, False, ClockChange.START),
    ("ClocksStarted", STARTED, True, ClockChange.START),                       # the next period of a stage clock
    ("ClocksStarted", {"clocks": {"committed": {}}}, True, None),
    ("ClocksStarted", {"clocks": {"committed": {}}, "resumed": {"legal": "correction"}}, True, ClockChange.RESUME),
    ("ClocksStarted", {"clocks": {"committed": {}}, "resumed": {"legal": "correction"}}, False, None),
    ("ClockPaused", {"clocks": ["legal", "committed"], "reason_kind": "correction"}, True, ClockChange.PAUSE),
    ("ClockPaused", {"clocks": ["legal"], "reason_kind": "correction"}, False, None),   # 补正 before 受理
    ("ClockPaused", {"clocks": ["committed"]}, True, None),
    ("ClockResumed", {"clocks": ["legal"]}, True, ClockChange.RESUME),
    ("DeadlineExtended", {"clock": "legal", "days": 5}, True, ClockChange.EXTEND),
    ("DeadlineExtended", {"clock": "committed", "days": 5}, True, None),
    ("ClocksStopped", {"clocks": {"legal": {"t0": "2026-11-23", "period": 1}}}, True, ClockChange.CLOSE),
    ("ClocksStopped", {"clocks": {"committed": {}}}, True, None),
    ("ClocksStopped", {"clocks": {"legal": {}}}, False, None),
    ("CaseCompleted", {}, True, ClockChange.CLOSE),
    ("CaseCompleted", {}, False, None),
    ("TaskCompleted", {"clocks": ["legal"]}, True, None),
])
def test_each_clock_event_changes_the_clocks_it_names_and_only_an_open_period_but_for_a_start(
        event_type, payload, in_period, change):
    assert clock_change("legal", event_type, payload, in_period=in_period) is change


@pytest.mark.parametrize("event_type, payload", [
    ("ClocksStarted", {"clocks": ["legal"]}),
    ("ClocksStarted", {"clocks": "legal"}),
    ("ClocksStarted", {"clocks": {}, "resumed": ["legal"]}),
    ("ClockPaused", {"clocks": "legal"}),
    ("ClockPaused", {"clocks": {"legal": {}}}),
    ("ClockResumed", {"clocks": 3}),
    ("ClocksStopped", {"clocks": ["legal"]}),
])
def test_a_field_of_another_type_than_the_engine_writes_names_no_clock(event_type, payload):
    assert clock_change("legal", event_type, payload, in_period=True) is None


def test_the_history_reads_a_pause_whose_clocks_is_a_string_as_naming_no_clock():
    # The timeline tested ``kind in payload["clocks"]`` whatever it held: "legal" in "legal" paused the clock.
    cal = WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))
    pause = {"reason_kind": "correction", "reason": "补正"}
    events = chained([("ClocksStarted", {}, STARTED), ("ClockPaused", {}, {**pause, "clocks": "legal"}),
                      ("ClockPaused", {}, {**pause, "clocks": ["legal"]})])
    clock = Clock.start("legal", Budget(20), date(2026, 11, 23), events[0].occurred_at, "window_yz")
    clock = clock.pause(events[2].occurred_at, "correction", "补正", "window_yz")
    tracks = ClockTracks({"legal": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": clock.to_dict()}},
                         [(e.seq, e.event_type, e.payload) for e in events], cal)
    assert [tracks.at(e.seq, e.occurred_at)[0].state for e in events] == ["running", "running", "paused"]


def test_a_clock_both_started_and_resumed_by_one_event_opens_one_running_segment_in_the_archive_as_in_the_history():
    # The engine never writes it (受理 resumes only clocks paused before it); the two readers used to differ on it:
    # the archive check opened the period and then a second running segment at the same instant.
    events = chained([("CaseStarted", {}, {}),
                      ("ClocksStarted", {}, {**STARTED, "resumed": {"legal": "correction"}}),
                      ("CaseCompleted", {}, {})])
    facts = EventFacts(events[0].case_no)
    for event in events:
        facts.add(event)
    clock = Clock.start("legal", Budget(20), date(2026, 11, 23), events[1].occurred_at, "window_yz")
    clock = clock.close(events[2].occurred_at)
    doc = {"legal": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": clock.to_dict()}}
    check_clocks(doc, facts, TWENTY)
    cal = WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))
    tracks = ClockTracks(doc, [(e.seq, e.event_type, e.payload) for e in facts.clock_events], cal)
    assert [c.state for c in tracks.at(2, events[1].occurred_at)] == ["running"]


def test_the_history_and_the_archive_read_the_same_clock_events():
    assert history_clocks.CLOCK_EVENTS is CLOCK_EVENTS
    # archive_format keeps its own copy for EventFacts; it must name the same events.
    assert archive_format.CLOCK_EVENTS == frozenset(CLOCK_EVENTS)
