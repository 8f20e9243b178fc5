"""Timers that read the case's clocks: legal_due(), committed_due() and workdays_before() follow every change.

The diagram (tests/data/processes/legal_alert.bpmn) waits in parallel for "two working days of the legal
period left" and, on the decision task, for the committed deadline. Both clocks start at 受理, so before that
the timers wait for ever; a pause parks them, a resume or an extension moves them, and the worker fires them
at the new instant.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, ExtendDeadline, ManualClock, ResumeClock, StartCase,
    SuspendClock, TimerWorker, ensure_calendar_seeded,
)
from engine.calendar_functions import NEVER
from engine.persistence.models import Timer

DATA = Path(__file__).resolve().parent.parent / "data" / "processes"
REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", None)
HEAD = Actor("head_yz", ("department_head", "reviewer"), "500103", None)   # reads the case through its review tasks
SUPERVISOR = Actor("supervisor", ("supervisor",), "500000", None)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00 CST (legal 20 WD from here end 2026-03-18, committed 10 WD 2026-03-04)."""
    return ManualClock(cst(2026, 2, 12, 10, 0))


@pytest.fixture
def case_id(engine) -> int:
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("legal_alert.bpmn", (DATA / "legal_alert.bpmn").read_bytes()),)))
    engine.identity.create_user(HEAD.username, display_name="科长", roles=HEAD.roles, district="500103")
    return engine.handle(StartCase("legal_alert", REVIEWER)).case_id


def waiting(engine, case_id) -> dict[str, datetime]:
    with engine.database.read_sessions() as session:
        rows = session.scalars(select(Timer).where(Timer.case_id == case_id, Timer.state == "waiting")).all()
    assert len(rows) == len({r.element_id for r in rows}), "a timer row was inserted twice"
    return {r.element_id: r.due_at for r in rows}


def complete(engine, case_id, element_id, actor=REVIEWER) -> None:
    task = next(t for t in engine.queries.case(actor, case_id)["tasks"]
                if t["element_id"] == element_id and t["state"] == "open")
    engine.handle(CompleteTask(task["id"], actor, {}))


def open_elements(engine, case_id) -> set[str]:
    return {t["element_id"] for t in engine.queries.case(SUPERVISOR, case_id)["tasks"] if t["state"] == "open"}


def test_before_acceptance_the_clock_does_not_run_and_its_timer_waits(engine, case_id):
    assert waiting(engine, case_id) == {"warn": NEVER}


def test_acceptance_arms_the_timers_at_the_clock_due_instants(engine, case_id):
    complete(engine, case_id, "accept")
    assert waiting(engine, case_id) == {"warn": cst(2026, 3, 17),               # 03-17 and 03-18 left
                                        "committed_overdue": cst(2026, 3, 5)}   # end of 03-04
    rearmed = [e.payload for e in engine.queries.events(case_id) if e.event_type == "TimersRearmed"]
    assert rearmed == [{"reason": "clocks_started", "timers": {"warn": "2026-03-17T00:00:00+08:00"}}]


def test_a_pause_parks_the_timers_and_the_resume_moves_them_by_the_paused_working_days(engine, clock, case_id):
    complete(engine, case_id, "accept")
    clock.set(cst(2026, 2, 24, 10, 0))
    engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正材料"))
    assert waiting(engine, case_id) == {"warn": NEVER, "committed_overdue": NEVER}
    clock.set(cst(2026, 2, 27, 10, 0))
    engine.handle(ResumeClock(case_id, REVIEWER))
    # 02-24, 02-25 and 02-26 were not counted: both deadlines move three working days later.
    assert waiting(engine, case_id) == {"warn": cst(2026, 3, 20), "committed_overdue": cst(2026, 3, 10)}
    kinds = [e.payload["reason"] for e in engine.queries.events(case_id) if e.event_type == "TimersRearmed"]
    assert kinds == ["clocks_started", "ClockPaused", "ClockResumed"]


def test_a_pause_after_the_deadline_leaves_the_timers_and_the_worker_still_fires_them(engine, clock, case_id):
    """A late pause moves no deadline (第七十四条), so it must not park the timers that read it either."""
    complete(engine, case_id, "accept")
    armed = waiting(engine, case_id)
    clock.set(cst(2026, 3, 19, 10, 0))                 # both deadlines passed; the worker has not swept yet
    engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正材料"))
    assert waiting(engine, case_id) == armed
    assert TimerWorker(engine).sweep().cases == 1
    assert open_elements(engine, case_id) == {"decide", "urge", "alert"}


def test_an_extension_moves_only_the_timers_of_the_extended_clock(engine, case_id):
    complete(engine, case_id, "accept")
    engine.handle(ExtendDeadline(case_id, HEAD, 10, "需要现场勘验", told_to_applicant=True))
    # legal due 03-18 + 10 WD = 04-01; two working days left from the end of 03-30.
    assert waiting(engine, case_id) == {"warn": cst(2026, 3, 31), "committed_overdue": cst(2026, 3, 5)}


def test_the_worker_fires_the_moved_timer_at_its_new_instant_not_the_old_one(engine, clock, case_id):
    complete(engine, case_id, "accept")
    clock.set(cst(2026, 2, 24, 10, 0))
    engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正材料"))
    clock.set(cst(2026, 2, 27, 10, 0))
    engine.handle(ResumeClock(case_id, REVIEWER))
    worker = TimerWorker(engine)
    clock.set(cst(2026, 3, 9, 23, 0))                  # past the committed instant it had before the pause
    assert worker.sweep().cases == 0 and open_elements(engine, case_id) == {"decide"}
    clock.set(cst(2026, 3, 10, 0, 0, 1))
    assert worker.sweep().cases == 1 and open_elements(engine, case_id) == {"decide", "urge"}
    clock.set(cst(2026, 3, 17, 9, 0))                  # the warning instant it had before the pause
    assert worker.sweep().cases == 0
    clock.set(cst(2026, 3, 20, 0, 0, 1))
    assert worker.sweep().cases == 1
    assert open_elements(engine, case_id) == {"decide", "urge", "alert"}
    assert waiting(engine, case_id) == {}


def test_completing_a_task_finishes_its_boundary_timer_row(engine, clock, case_id):
    complete(engine, case_id, "accept")
    complete(engine, case_id, "decide")
    assert waiting(engine, case_id) == {"warn": cst(2026, 3, 17)}
    with engine.database.read_sessions() as session:
        done = session.scalars(select(Timer.element_id).where(Timer.case_id == case_id, Timer.state == "done")).all()
    assert done == ["committed_overdue"]
