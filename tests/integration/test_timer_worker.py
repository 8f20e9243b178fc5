"""Durable timers: the worker fires due timers once, on the manual clock, with any number of workers."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import CST, DeployDefinitions, ManualClock, StartCase, TimerWorker, ensure_calendar_seeded
from engine.persistence.models import Timer
from tests.helpers import CLERK

DATA = Path(__file__).resolve().parent.parent / "data" / "processes"
REVIEWER = CLERK.__class__("reviewer_yz", ("reviewer",), "500103", "zhujian")
SUPERVISOR = CLERK.__class__("supervisor", ("supervisor",), "500000", None)


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00 CST, just before 春节 and its 调休 Saturday."""
    return ManualClock(datetime(2026, 2, 12, 10, 0, tzinfo=CST))


def start_timed_case(engine):
    engine.handle(DeployDefinitions((("timer.bpmn", (DATA / "timer.bpmn").read_bytes()),)))
    return engine.handle(StartCase("timed_review", REVIEWER))


def timer_rows(engine, case_id):
    with engine.database.read_sessions() as session:
        return session.scalars(select(Timer).where(Timer.case_id == case_id)).all()


def test_a_waiting_timer_is_stored_with_its_absolute_due_time(engine, clock):
    ref = start_timed_case(engine)
    (row,) = timer_rows(engine, ref.case_id)
    assert (row.element_id, row.state) == ("overdue_timer", "waiting")
    assert row.due_at == clock.now() + timedelta(hours=2)


def test_the_worker_fires_a_due_timer_once_and_the_process_moves_on(engine, clock):
    ref = start_timed_case(engine)
    worker = TimerWorker(engine)
    clock.advance(hours=1)
    assert worker.sweep().cases == 0
    clock.advance(hours=1, seconds=1)
    assert worker.sweep().cases == 1
    case = engine.queries.case(SUPERVISOR, ref.case_id)
    states = {t["element_id"]: t["state"] for t in case["tasks"]}
    assert states == {"review": "cancelled", "escalate": "open"}
    assert [r.state for r in timer_rows(engine, ref.case_id)] == ["done"]
    assert worker.sweep().cases == 0
    fired = [e for e in engine.queries.events(ref.case_id) if e.event_type == "TimersFired"]
    assert len(fired) == 1 and fired[0].payload["due_elements"] == ["overdue_timer"]


def test_two_workers_racing_fire_each_timer_exactly_once(engine, clock):
    refs = [start_timed_case(engine) for _ in range(6)]
    clock.advance(hours=3)
    workers = [TimerWorker(engine, worker_id=f"w{i}", batch=2) for i in range(2)]
    barrier = threading.Barrier(2)

    def run(worker: TimerWorker) -> None:
        barrier.wait()
        worker.sweep()
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ref in refs:
        fired = [e for e in engine.queries.events(ref.case_id) if e.event_type == "TimersFired"]
        assert len(fired) == 1
        assert [r.state for r in timer_rows(engine, ref.case_id)] == ["done"]


def test_a_timer_computed_in_working_days_fires_after_the_period_ends(engine, clock):
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("wd.bpmn", (DATA / "workday_timer.bpmn").read_bytes()),)))
    ref = engine.handle(StartCase("workday_deadline", REVIEWER, data={"received_on": "2026-02-12"}))
    (row,) = timer_rows(engine, ref.case_id)
    # 5 working days after Thu 2026-02-12 is Thu 02-26 (Sat 02-14 is a 调休 workday; 02-15..23 are 春节).
    assert row.due_at == datetime(2026, 2, 27, 0, 0, tzinfo=CST)
    worker = TimerWorker(engine)
    clock.set(datetime(2026, 2, 26, 23, 59, tzinfo=CST))
    assert worker.sweep().cases == 0
    clock.set(datetime(2026, 2, 27, 0, 0, 1, tzinfo=CST))
    assert worker.sweep().cases == 1
    states = {t["element_id"]: t["state"] for t in engine.queries.case(SUPERVISOR, ref.case_id)["tasks"]}
    assert states == {"review": "open", "urge": "open"}


def test_importing_the_next_year_re_arms_a_working_day_timer_that_crossed_into_it(engine, clock):
    from engine import import_calendar_year, parse_schedule
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("wd.bpmn", (DATA / "workday_timer.bpmn").read_bytes()),)))
    clock.set(datetime(2026, 12, 25, 10, 0, tzinfo=CST))
    ref = engine.handle(StartCase("workday_deadline", REVIEWER, data={"received_on": "2026-12-25"}))
    # 2027 unknown: weekends-only estimate counts Fri 2027-01-01 as the 5th working day.
    assert timer_rows(engine, ref.case_id)[0].due_at == datetime(2027, 1, 2, 0, 0, tzinfo=CST)
    fixture = (Path(__file__).resolve().parent.parent / "data" / "calendar" / "2027.yaml").read_text("utf-8")
    import_calendar_year(engine, parse_schedule(fixture, "yaml"), actor="admin")
    checked, changed = engine.recompute_deadlines("2027 年节假日安排载入")
    assert (checked, changed) == (1, 1)
    # With 元旦 2027-01-01..03 loaded, the 5th working day is Mon 01-04.
    assert timer_rows(engine, ref.case_id)[0].due_at == datetime(2027, 1, 5, 0, 0, tzinfo=CST)
    worker = TimerWorker(engine)
    clock.set(datetime(2027, 1, 2, 9, 0, tzinfo=CST))
    assert worker.sweep().cases == 0
    clock.set(datetime(2027, 1, 5, 0, 0, 1, tzinfo=CST))
    assert worker.sweep().cases == 1
    events = [e for e in engine.queries.events(ref.case_id) if e.event_type == "DeadlinesRecomputed"]
    assert events[0].payload["after"] == {"timer:deadline": "2027-01-04T16:00:00+00:00"}


def test_a_case_that_fails_unexpectedly_does_not_stop_the_other_timers(engine, clock):
    from sqlalchemy import text
    refs = [start_timed_case(engine) for _ in range(3)]
    with engine.database.engine.begin() as conn:   # a snapshot the engine cannot read: not an EngineError
        conn.execute(text("UPDATE cases SET workflow_state = '{', version = version + 1 WHERE id = :id"),
                     {"id": refs[1].case_id})
    clock.advance(hours=3)
    result = TimerWorker(engine).sweep()
    assert (result.cases, result.failed) == (2, 1)
    broken = timer_rows(engine, refs[1].case_id)[0]
    assert broken.state == "waiting" and broken.last_error and broken.locked_until > clock.now()
    for ref in (refs[0], refs[2]):
        assert [r.state for r in timer_rows(engine, ref.case_id)] == ["done"]
