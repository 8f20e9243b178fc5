"""A worker wake-up recounts the cases counted with an older calendar before it fires timers or raises 督办.

The worker was down while 2027 was imported and the import's own recompute was cut short (a ``tongban calendar
import`` killed right after its commit): the cases still hold instants counted over a 2027 assumed to have
weekends only. The next wake-up must act on the committed calendar, not on those stale instants.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import (
    CST, Actor, DeployDefinitions, ManualClock, StartCase, TimerWorker, ensure_calendar_seeded, import_calendar_year,
    parse_schedule,
)
from engine.persistence.models import Case, Timer
from tests.conftest import DATA
from tests.helpers import CLERK, deploy_shipped

PROCESSES = DATA / "processes"
CALENDAR_2027 = DATA / "calendar" / "2027.yaml"
REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
SUPERVISOR_YZ = Actor("super_yz", ("supervisor",), "500103", None)


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def clock() -> ManualClock:
    """Friday 2026-12-25 10:00 CST: 2027's schedule is not loaded yet, so its deadlines are estimates."""
    return ManualClock(cst(2026, 12, 25, 10, 0))


def timer_rows(engine, case_id: int) -> list[Timer]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(Timer).where(Timer.case_id == case_id).order_by(Timer.id)))


def event_types(engine, case_id: int) -> list[str]:
    return [e.event_type for e in engine.queries.events(case_id)]


def load_2027_cut_short(engine) -> None:
    """Import 2027 the way a ``tongban calendar import`` killed right after its commit leaves it: no recompute."""
    import_calendar_year(engine, parse_schedule(CALENDAR_2027.read_text("utf-8"), "yaml"), actor="admin")


def test_a_wake_up_recounts_a_stale_working_day_timer_before_firing_it(engine, clock):
    """Armed for 2027-01-02 00:00 (5 working days over a weekends-only estimate); with 元旦 loaded it is due
    2027-01-05 00:00. A wake-up on 2027-01-02 used to fire it first and recount afterwards, opening the 督办
    branch three days early against a calendar already committed."""
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("wd.bpmn", (PROCESSES / "workday_timer.bpmn").read_bytes()),)))
    ref = engine.handle(StartCase("workday_deadline", REVIEWER, data={"received_on": "2026-12-25"}))
    assert timer_rows(engine, ref.case_id)[0].due_at == cst(2027, 1, 2)
    load_2027_cut_short(engine)
    clock.set(cst(2027, 1, 2, 9, 0))
    result = TimerWorker(engine).sweep()
    assert (result.recounted, result.cases) == (1, 0)
    assert "TimersFired" not in event_types(engine, ref.case_id)
    assert timer_rows(engine, ref.case_id)[0].due_at == cst(2027, 1, 5)


def test_a_wake_up_recounts_a_stale_committed_deadline_before_raising_its_supervision(engine, clock):
    """The 承诺 deadline counted over the unknown 2027 ends one day early (元旦 counted as a working day). A
    wake-up between that stale instant and the real one used to open ``committed_overdue`` for a deadline that
    had not passed: a supervisor told of an overdue case that is not, on the case's audit chain for good."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    with engine.database.read_sessions() as session:
        stale = session.scalar(select(Case.committed_due_at).where(Case.id == case_id))
    assert stale is not None and stale.astimezone(CST).year == 2027
    load_2027_cut_short(engine)
    clock.set(stale + timedelta(hours=1))
    TimerWorker(engine).sweep()
    with engine.database.read_sessions() as session:
        moved = session.scalar(select(Case.committed_due_at).where(Case.id == case_id))
    assert moved > clock.now(), "the recount should have moved the deadline past now"
    assert engine.queries.supervision(SUPERVISOR_YZ, state="all") == []
    assert "SupervisionRaised" not in event_types(engine, case_id)
