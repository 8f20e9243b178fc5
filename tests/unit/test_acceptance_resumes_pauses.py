"""受理 ends the 补正 and 容缺 pauses of the clocks already running (第三十二条第一款第五项), never a 特别程序.

The pure parts: which clocks resume, how ``ClocksStarted`` records it, how the history and the applicant's
view read that record, and which recorded completions replay ending the pauses.
"""
from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from engine import events as ev
from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.case_clocks import clocks_of, resume_at_acceptance
from engine.case_progress import current_pause, stage_of
from engine.clock import CST
from engine.history_clocks import ClockTracks, resumed_clocks
from engine.legal_clock import Budget, Clock
from engine.replay_shapes import resumed_at_acceptance

EFFECTS = {"TaskCreated", "TaskCancelled", "FlowAdvanced", "ClocksStarted", "ClocksStopped", "TimersRearmed",
           "GrantExercised", "CaseCompleted"}


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST)


def running(kind: str = "committed") -> Clock:
    return Clock.start(kind, Budget(50, "workday"), date(2026, 3, 2), at("2026-03-02"), "reviewer_fg")


def entry(clock: Clock) -> dict:
    return {"yellow_days": 1, "yellow_ratio": 0.2, "clock": clock.to_dict()}


def waiting() -> dict:
    return {"yellow_days": 1, "yellow_ratio": 0.2, "periods": [running("legal").close(at("2026-03-04")).to_dict()],
            "pending": {"budget": {"amount": 45, "unit": "workday"}, "starts_at": "s2_accept",
                        "received_at": at("2026-03-04").isoformat(), "notice_at": None, "next_period": True}}


@pytest.mark.parametrize("reason_kind", ["correction"])
def test_a_clock_paused_for_correction_runs_again_from_the_acceptance(reason_kind):
    paused = running().pause(at("2026-03-05"), reason_kind, "补正", "window_yz")
    doc, resumed = resume_at_acceptance({"legal": waiting(), "committed": entry(paused)}, at("2026-03-11"),
                                        "reviewer_gh")
    assert resumed == {"committed": reason_kind}
    clock = clocks_of(doc)["committed"]
    assert not clock.paused and clock == paused.resume(at("2026-03-11"), "reviewer_gh")
    assert "pending" in doc["legal"]                      # a waiting clock is started by start_pending, not here


def test_a_tolerance_pause_goes_on_across_the_acceptance():
    """容缺受理 accepts while materials are still owed: the window resumes the clock when they come."""
    tolerance = running().pause(at("2026-03-05"), "tolerance", "容缺：消防设计说明后补", "window_yz")
    doc = {"legal": waiting(), "committed": entry(tolerance)}
    assert resume_at_acceptance(doc, at("2026-03-11"), "reviewer_gh") == (doc, {})


def test_a_special_procedure_a_running_and_a_closed_clock_are_left_as_they_are():
    special = running().pause(at("2026-03-05"), "special_procedure", "专家评审", "window_yz", Budget(5, "workday"),
                              procedure="专家评审")
    legal = running("legal")
    doc = {"legal": entry(legal), "committed": entry(special)}
    assert resume_at_acceptance(doc, at("2026-03-11"), "reviewer_gh") == (doc, {})
    closed = running().pause(at("2026-03-05"), "correction", "补正", "window_yz").close(at("2026-03-06"))
    assert resume_at_acceptance({"committed": entry(closed)}, at("2026-03-11"), "x")[1] == {}


def test_clocks_started_records_what_it_resumed_and_nothing_when_none_did():
    started = {"legal": {"t0": "2026-03-11"}}
    assert "resumed" not in ev.ClocksStarted(clocks=started).payload()
    assert ev.ClocksStarted(clocks=started, resumed={"committed": "correction"}).payload() == {
        "clocks": started, "resumed": {"committed": "correction"}}


def test_the_history_sees_the_resumed_clock_running_from_the_acceptance_event():
    cal = WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))
    committed = running().pause(at("2026-03-05"), "correction", "补正", "window_yz").resume(at("2026-03-11"),
                                                                                           "reviewer_gh")
    legal = Clock.start("legal", Budget(45, "workday"), date(2026, 3, 11), at("2026-03-11"), "reviewer_gh")
    doc = {"legal": {**entry(legal), "periods": [running("legal").close(at("2026-03-04")).to_dict()]},
           "committed": entry(committed)}
    tracks = ClockTracks(doc, [(5, "ClocksStarted", {"clocks": {"committed": {}, "legal": {}}}),
                               (13, "ClocksStopped", {"clocks": {"legal": {}}}),
                               (16, "ClockPaused", {"clocks": ["legal", "committed"]}),
                               (18, "ClocksStarted", {"clocks": {"legal": {}}, "resumed": {"committed": "correction"}})],
                         cal)
    before = {c.kind: c for c in tracks.at(17, at("2026-03-11"))}
    assert (before["legal"].state, before["committed"].state) == ("stopped", "paused")
    after = {c.kind: c for c in tracks.at(18, at("2026-03-11"))}
    assert (after["legal"].state, after["committed"].state) == ("running", "running")
    assert (after["committed"].due_date, after["committed"].light) == ("2026-05-20", "green")   # 4 days later


def test_the_timeline_names_each_clock_the_acceptance_resumed_and_the_pause_it_ended():
    started = {"clocks": {"legal": {"t0": "2026-03-11"}}}
    assert resumed_clocks("ClocksStarted", {**started, "resumed": {"committed": "correction"}}) == [
        {"kind": "committed", "reason_kind": "correction", "label": "承诺时限（补正）"}]
    both = resumed_clocks("ClocksStarted", {**started, "resumed": {"legal": "correction", "committed": "tolerance"}})
    assert [r["label"] for r in both] == ["法定时限（补正）", "承诺时限（容缺）"]
    # A kind or reason this engine does not know is shown as recorded, not dropped and not an error.
    assert resumed_clocks("ClocksStarted", {"resumed": {"stage": "recess"}})[0]["label"] == "stage（recess）"
    assert resumed_clocks("ClocksStarted", started) == []
    assert resumed_clocks("ClocksStarted", {**started, "resumed": ["committed"]}) == []
    assert resumed_clocks("ClockResumed", {"clocks": ["committed"], "resumed": {"committed": "correction"}}) == []
    assert resumed_clocks("ClocksStarted", None) == []


def event(seq: int, event_type: str, payload: dict | None = None, **columns) -> dict:
    return {"seq": seq, "event_type": event_type, "payload": payload or {}, **columns}


@pytest.mark.parametrize("reason_kind, in_force", [("correction", False), ("tolerance", False),
                                                   ("special_procedure", True)])
def test_the_applicant_s_view_ends_a_correction_at_acceptance_but_not_a_special_procedure(reason_kind, in_force):
    events = [event(1, "CaseStarted"), event(2, "TaskCompleted", element_id="s1_accept"),
              event(3, "ClocksStarted", {"clocks": {"legal": {}}}, element_id="s1_accept"),
              event(4, "ClockPaused", {"reason_kind": reason_kind, "clocks": ["committed"]}),
              event(5, "TaskCompleted", element_id="s2_accept"),
              event(6, "ClocksStarted", {"clocks": {"legal": {}}}, element_id="s2_accept")]
    assert (current_pause(events) is not None) is in_force
    clocks = [{"kind": "legal", "status": "on_time"}, {"kind": "committed", "status": "on_time"}]
    assert stage_of("running", clocks, events) == ("special" if in_force else "accepted")
    assert current_pause([*events, event(7, "ClockResumed", {"clocks": ["committed"]})]) is None


def recorded(seq: int, event_type: str, payload: dict | None = None, element_id: str | None = None,
             task_id: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(seq=seq, event_type=event_type, payload=payload or {}, element_id=element_id,
                           task_id=task_id)


def test_a_recorded_acceptance_replays_ending_the_pauses_only_where_its_clocks_started_says_so():
    done = recorded(17, "TaskCompleted", element_id="s2_accept", task_id=9)
    new = [recorded(18, "ClocksStarted", {"clocks": {"legal": {}}, "resumed": {"committed": "correction"}},
                    "s2_accept"), recorded(19, "TaskCreated", element_id="s2_design")]
    older = [recorded(18, "ClocksStarted", {"clocks": {"legal": {}}}, "s2_accept"),
             recorded(23, "ClockResumed", {"clocks": ["committed"]})]
    assert resumed_at_acceptance(done, new, EFFECTS) is True
    assert resumed_at_acceptance(done, older, EFFECTS) is False
    # No clock started by this completion (the next input comes first): nothing to decide, the rule applies.
    other = [recorded(18, "TaskCreated", element_id="x"), recorded(19, "TaskCompleted", element_id="x"),
             recorded(20, "ClocksStarted", {"clocks": {"legal": {}}}, "s2_accept")]
    assert resumed_at_acceptance(done, other, EFFECTS) is True
    assert resumed_at_acceptance(done, [], EFFECTS) is True
