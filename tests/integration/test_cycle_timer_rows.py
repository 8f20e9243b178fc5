"""A cycle timer's ``timers`` row follows the cycle: after each fire it shows the next slot, lease ended.

A cycle timer stays the same waiting task with a new next instant. Its row used to keep the first slot's
``due_at`` and the successful claim's lease for good, so a slot shorter than the 2-minute lease fired late (each
~2 min 10 s, merged as "missed"), the case page showed a next reminder in the past, and a daily reminder was
claimed again at every lease expiry for the life of the case.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine import CST, DeployDefinitions, ManualClock, StartCase, TimerWorker
from engine.persistence.models import Timer
from tests.helpers import CLERK
from tests.unit.test_timer_values import timer_diagram


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 25, 10, 0, tzinfo=CST))


def fired(engine, case_id: int) -> int:
    return [e.event_type for e in engine.queries.events(case_id)].count("TimersFired")


def start_cycle(engine, cycle: str) -> int:
    engine.handle(DeployDefinitions((("probe.bpmn", timer_diagram("timeCycle", f'"{cycle}"')),)))
    return engine.handle(StartCase("probe", CLERK)).case_id


def test_a_one_minute_cycle_fires_every_minute_and_its_row_shows_the_next_slot(engine, clock):
    case_id = start_cycle(engine, "R/PT1M")
    worker = TimerWorker(engine)
    clock.advance(seconds=5)
    for _ in range(60):                     # 10 minutes of wake-ups, 10 s apart: slots 10:01 ... 10:10
        clock.advance(seconds=10)
        worker.sweep()
    (waiting,) = engine.case_timers.waiting(case_id)
    assert waiting["due_at"] > clock.now(), f"the next reminder is shown at {waiting['due_at']}, in the past"
    assert fired(engine, case_id) == 10
    with engine.database.read_sessions() as session:
        (row,) = session.scalars(select(Timer).where(Timer.case_id == case_id))
    assert (row.state, row.locked_until, row.locked_by, row.attempts) == ("waiting", None, None, 0)


def test_a_daily_reminder_that_fired_is_not_claimed_again_every_lease(engine, clock):
    case_id = start_cycle(engine, "R/P1D")
    worker = TimerWorker(engine)
    clock.advance(days=1, minutes=1)
    assert worker.sweep().cases == 1 and fired(engine, case_id) == 1
    claims = 0
    for _ in range(10):                     # the next 30 minutes: nothing is due until tomorrow
        clock.advance(minutes=3)
        claims += worker.sweep().cases
    assert fired(engine, case_id) == 1
    assert claims == 0, f"the case was claimed {claims} times in 30 minutes with nothing due"
    clock.advance(days=1)
    assert worker.sweep().cases == 1 and fired(engine, case_id) == 2
