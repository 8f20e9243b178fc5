"""A cycle timer late by many slots (the worker was down) fires once, records the slots it merged, and replays.

Before, a daily reminder fired once per missed day in one step, and an hourly one past 500 fires failed the step
with ``ENGINE_STEPS_EXCEEDED`` on every attempt: the case's timers could no longer move.
"""
from __future__ import annotations

from app import create_app
from app.runtime import get_engine
from engine import DeployDefinitions, FireDueTimers, Replayer, StartCase
from tests.helpers import CLERK
from tests.pages_helpers import PASSWORD, client_for, seed
from tests.unit.test_timer_values import timer_diagram


def start(engine, cycle: str) -> int:
    engine.handle(DeployDefinitions((("probe.bpmn", timer_diagram("timeCycle", f'"{cycle}"')),)))
    return engine.handle(StartCase("probe", CLERK)).case_id


def fires(engine, case_id: int) -> list[tuple[dict, list[str]]]:
    """Each TimersFired payload with the elements passed after it (up to the next input)."""
    out: list[tuple[dict, list[str]]] = []
    for event in engine.queries.events(case_id):
        if event.event_type == "TimersFired":
            out.append((event.payload, []))
        elif event.event_type == "FlowAdvanced" and out:
            out[-1][1].extend(event.payload["elements"])
    return out


def reminders(passed: list[str]) -> int:
    return passed.count("remind")


def replays(engine, case_id: int) -> bool:
    case_no = engine.queries.case(CLERK, case_id)["case_no"]
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_no)
    assert result.identical, result.divergence
    return True


def test_an_hourly_reminder_after_a_month_down_fires_once_and_keeps_its_schedule(engine, clock):
    case_id = start(engine, "R/PT1H")
    clock.advance(days=30, minutes=30)               # 720 slots passed; before, the step failed past 500
    engine.handle(FireDueTimers(case_id))
    ((payload, passed),) = fires(engine, case_id)
    assert payload["missed"] == {"timer": 719} and reminders(passed) == 1
    clock.advance(minutes=29)                         # the next slot is the first one after now: 30 minutes on
    engine.handle(FireDueTimers(case_id))
    assert len(fires(engine, case_id)) == 1
    clock.advance(minutes=2)
    engine.handle(FireDueTimers(case_id))
    payload, passed = fires(engine, case_id)[-1]
    assert payload["missed"] == {} and reminders(passed) == 1
    assert replays(engine, case_id)


def test_a_finite_cycle_counts_the_merged_slots_as_used(engine, clock):
    case_id = start(engine, "R3/PT1H")
    clock.advance(hours=10)                           # all three slots passed: one fire, and the cycle is over
    engine.handle(FireDueTimers(case_id))
    ((payload, passed),) = fires(engine, case_id)
    assert payload["missed"] == {"timer": 2} and reminders(passed) == 1
    clock.advance(days=2)
    engine.handle(FireDueTimers(case_id))
    assert len(fires(engine, case_id)) == 1            # nothing left to fire
    assert replays(engine, case_id)


def test_a_fire_recorded_before_slots_were_merged_replays_as_recorded(engine, clock):
    case_id = start(engine, "R/P1D")
    clock.advance(days=5, hours=1)
    engine.handle(FireDueTimers(case_id, merge_missed=False))   # what the engine did before: one fire per slot
    ((payload, passed),) = fires(engine, case_id)
    assert "missed" not in payload and reminders(passed) == 5
    assert replays(engine, case_id)


def test_the_history_page_says_how_many_slots_a_fire_merged(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    seed(application)
    engine = get_engine(application)
    try:
        engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                    department="shenji", password=PASSWORD)
        case_id = start(engine, "R/PT1H")
        clock.advance(days=2, minutes=30)
        engine.handle(FireDueTimers(case_id))
        page = client_for(application, "auditor").get(f"/cases/{case_id}/history").get_data(as_text=True)
        assert "错过的 47 次周期触发已合并为本次" in page
    finally:
        engine.close()
