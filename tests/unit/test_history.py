"""The history's pure parts: the path taken with loop counts, and both clocks as they stood at each event."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.clock import CST
from engine.history import path_taken
from engine.history_clocks import ClockTracks, clocks_now
from engine.legal_clock import Budget, Clock


def at(iso: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(iso).replace(hour=hour, tzinfo=CST)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))


def test_the_path_counts_each_entry_so_a_return_loop_shows_two_rounds():
    events = [
        ("CaseStarted", None, {"data": {}}),
        ("FlowAdvanced", None, {"elements": ["start"]}),
        ("TaskCreated", "accept", {"name": "受理"}),
        ("TaskCompleted", "accept", {"data": {}}),
        ("FlowAdvanced", None, {"elements": ["gw", "split"]}),
        ("TaskCreated", "review", {}),
        ("TaskReturned", "review", {"to_element_id": "accept"}),
        ("TaskCancelled", "review", {}),
        ("TaskCreated", "accept", {}),
        ("FlowAdvanced", None, {"elements": ["gw", "split"]}),
        ("TaskCreated", "review", {}),
        ("FlowAdvanced", None, {"elements": ["end"]}),
    ]
    path = path_taken(events)
    assert path == {"start": 1, "accept": 2, "gw": 2, "split": 2, "review": 2, "end": 1}
    assert list(path) == ["start", "accept", "gw", "split", "review", "end"]     # order of first entry


def test_an_empty_or_effect_free_log_has_no_path():
    assert path_taken([]) == {}
    assert path_taken([("TaskClaimed", "accept", {}), ("FlowAdvanced", None, None)]) == {}


def clock_doc(clock: Clock | None, pending: bool = False) -> dict:
    entry: dict = {"yellow_days": 1, "yellow_ratio": 0.2}
    if pending:
        entry["pending"] = {"budget": {"amount": 20, "unit": "workday"}, "starts_at": "accept",
                            "received_at": at("2026-03-02").isoformat(), "notice_at": None}
    else:
        entry["clock"] = clock.to_dict()
    return entry


def test_each_event_sees_the_clock_as_it_stood_then_even_within_one_instant(cal):
    # 受理 on Mon 03-02; 补正 pause Wed 03-04 to Mon 03-09; extended by 5 on 03-10; the case closes 03-12.
    clock = Clock.start("legal", Budget(20, "workday"), date(2026, 3, 2), at("2026-03-02"), "clerk")
    clock = clock.pause(at("2026-03-04"), "correction", "补正材料", "clerk")
    clock = clock.resume(at("2026-03-09"), "clerk")
    clock = clock.extend(5, "案情复杂", "head", "clerk", at("2026-03-10"), max_total_days=10, approver_roles_ok=True)
    clock = clock.close(at("2026-03-12"))
    doc = {"legal": clock_doc(clock), "committed": clock_doc(None, pending=True)}
    events = [
        (3, "ClocksStarted", {"clocks": {"legal": {}}}),
        (6, "ClockPaused", {"clocks": ["legal", "committed"]}),    # committed still waits: only a notice
        (7, "ClockResumed", {"clocks": ["legal"]}),
        (9, "DeadlineExtended", {"clock": "legal"}),
        (11, "CaseCompleted", {}),
    ]
    tracks = ClockTracks(doc, events, cal)

    def legal_at(seq: int, instant: datetime):
        found = {c.kind: c for c in tracks.at(seq, instant)}
        assert found["committed"].state == "not_started" and found["committed"].left is None
        return found["legal"]

    # Events 2 and 3 share one instant: only the ClocksStarted event (3) sees the clock running.
    assert legal_at(2, at("2026-03-02")).state == "not_started"
    started = legal_at(3, at("2026-03-02"))
    assert (started.state, started.used, started.left, started.due_date) == ("running", 0, 20, "2026-03-30")
    before_pause = legal_at(5, at("2026-03-04"))
    assert (before_pause.state, before_pause.used, before_pause.left) == ("running", 2, 18)
    paused = legal_at(6, at("2026-03-04"))
    assert (paused.state, paused.light) == ("paused", "paused")
    still = legal_at(6, at("2026-03-06"))          # days left stay frozen during the pause
    assert (still.state, still.left) == ("paused", 18)
    resumed = legal_at(7, at("2026-03-09"))         # 03-04..03-06 paused: 3 working days pushed
    assert (resumed.state, resumed.used, resumed.left, resumed.due_date) == ("running", 2, 18, "2026-04-02")
    extended = legal_at(9, at("2026-03-10"))
    assert (extended.left, extended.due_date) == (22, "2026-04-10")      # 清明 04-04..06 is not counted
    stopped = legal_at(11, at("2026-03-12"))
    assert (stopped.state, stopped.light, stopped.used) == ("stopped", "closed", 5)
    assert legal_at(11, at("2026-05-01")).used == 5           # a closed clock counts no more days


def test_the_final_record_read_now_matches_the_track_after_the_last_event(cal):
    clock = Clock.start("committed", Budget(10, "workday"), date(2026, 3, 2), at("2026-03-02"), "clerk")
    clock = clock.pause(at("2026-03-03"), "tolerance", "容缺", "clerk")
    doc = {"committed": clock_doc(clock)}
    tracks = ClockTracks(doc, [(2, "ClocksStarted", {"clocks": {"committed": {}}}),
                               (4, "ClockPaused", {"clocks": ["committed"]})], cal)
    now = at("2026-03-05")
    assert [c.to_dict() for c in tracks.at(4, now)] == [c.to_dict() for c in clocks_now(doc, cal, now)]
    assert tracks.at(4, now)[0].state == "paused"
    assert tracks.at(3, at("2026-03-03"))[0].state == "running"


def test_a_case_without_clocks_has_none():
    assert ClockTracks(None, [], None).at(5, at("2026-03-02")) == []   # type: ignore[arg-type]


def test_a_per_stage_clock_shows_each_period_with_its_own_record(cal):
    # Stage 1: 受理 03-02, 阶段办结 03-04; stage 2: 受理 03-18 (tb:clock stopsAt); still running.
    first = Clock.start("legal", Budget(45, "workday"), date(2026, 3, 2), at("2026-03-02"), "fagai")
    first = first.close(at("2026-03-04"))
    second = Clock.start("legal", Budget(45, "workday"), date(2026, 3, 18), at("2026-03-18"), "guihua")
    doc = {"legal": {**clock_doc(second), "periods": [first.to_dict()]}}
    tracks = ClockTracks(doc, [(2, "ClocksStarted", {"clocks": {"legal": {}}}),
                               (6, "ClocksStopped", {"clocks": {"legal": {"t0": "2026-03-02", "period": 1}}}),
                               (8, "ClocksStarted", {"clocks": {"legal": {}}})], cal)
    running = tracks.at(3, at("2026-03-03"))[0]
    assert (running.state, running.due_date) == ("running", "2026-05-08")
    between = tracks.at(7, at("2026-03-10"))[0]
    assert (between.state, between.used) == ("stopped", 2)
    fresh = tracks.at(8, at("2026-03-18"))[0]
    assert (fresh.state, fresh.used, fresh.left, fresh.due_date) == ("running", 0, 45, "2026-05-25")
