"""The worker under jobs that always fail: timers, recounts and archive builds back off and end somewhere visible.

Messages back off (5 s doubling, capped at 1 h, poison after 8) and so do archive builds (1, 5, 30, 120 min,
then ``failed``). A timer whose firing fails now backs off too (30 s doubling by its ``attempts``, capped at 1 h)
and is set aside (state ``failed``) after its tenth failed firing, listed by ``tongban timers list`` and put
back by ``tongban timers retry ID --by ADMIN``; a recount or 督办 that fails waits likewise (in the worker's memory)
instead of being tried at every wake-up; an archive build that kills the worker ends ``failed`` after its last attempt.
"""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select, text

from engine import (
    CST, Actor, DeployDefinitions, ManualClock, StartCase, TimerWorker, WorkerKilled, ensure_calendar_seeded,
    import_calendar_year, parse_schedule,
)
from engine.persistence.models import Archive, Timer
from tests.conftest import DATA
from tests.helpers import CLERK, deploy_shipped
from tests.integration.closing import closed_case
from tests.integration.test_cli import failed, ok

PROCESSES = DATA / "processes"
CALENDAR_2027 = DATA / "calendar" / "2027.yaml"
REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")


@pytest.fixture
def clock() -> ManualClock:
    """Friday 2026-12-25 10:00 CST: 2027's schedule is not loaded yet, so its deadlines are estimates."""
    return ManualClock(datetime(2026, 12, 25, 10, 0, tzinfo=CST))


def timer_rows(engine, case_id: int) -> list[Timer]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(Timer).where(Timer.case_id == case_id).order_by(Timer.id)))


def corrupt_snapshot(engine, case_id: int) -> None:
    """Make the case's stored workflow unreadable (not an EngineError: any command on it fails unexpectedly)."""
    with engine.database.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET workflow_state = '{', version = version + 1 WHERE id = :id"),
                     {"id": case_id})


def poison_timer_case(engine) -> int:
    engine.handle(DeployDefinitions((("timer.bpmn", (PROCESSES / "timer.bpmn").read_bytes()),)))
    case_id = engine.handle(StartCase("timed_review", REVIEWER)).case_id
    corrupt_snapshot(engine, case_id)
    return case_id


def load_2027_cut_short(engine) -> None:
    """Import 2027 the way a ``tongban calendar import`` killed right after its commit leaves it: no recompute."""
    import_calendar_year(engine, parse_schedule(CALENDAR_2027.read_text("utf-8"), "yaml"), actor="admin")


def test_a_timer_that_always_fails_backs_off_instead_of_retrying_every_30_seconds_for_ever(engine, clock):
    """Over one hour of wake-ups 30 s apart, a fixed 30 s retry tried it 60 times; the back-off, 7."""
    case_id = poison_timer_case(engine)
    clock.advance(hours=3)
    worker = TimerWorker(engine)
    for _ in range(120):                    # an hour of wake-ups, one every 30 s
        worker.sweep()
        clock.advance(seconds=30)
    (row,) = timer_rows(engine, case_id)
    assert row.last_error and row.state == "waiting"
    assert row.attempts <= 12, f"{row.attempts} failed firings in one hour: no back-off"
    assert row.locked_until > clock.now()   # waiting out its back-off


def test_a_timer_failing_ten_times_is_set_aside_listed_and_can_be_retried(engine, clock, runner):
    case_id = poison_timer_case(engine)
    worker = TimerWorker(engine)
    results = []
    clock.advance(minutes=1)                # the timer is due 2 h after the start
    for _ in range(10):
        clock.advance(hours=2)              # past any back-off (capped at 1 h)
        results.append(worker.sweep())
    assert [r.failed for r in results] == [1] * 10 and [r.set_aside for r in results] == [0] * 9 + [1]
    (row,) = timer_rows(engine, case_id)
    assert (row.state, row.attempts) == ("failed", 10) and row.last_error
    clock.advance(hours=2)
    assert worker.sweep().cases + worker.sweep().failed == 0     # out of the workers' way
    listed = ok(runner.invoke(args=["timers", "list", "--failed"]))
    engine.identity.create_user("ops_admin", display_name="运维管理员", roles=("admin",), district="500000")
    by = ["--by", "ops_admin"]
    assert f"#{row.id} [已搁置]" in listed and "尝试 10 次" in listed and "合计：被搁置的定时器 1 个" in listed
    assert json.loads(ok(runner.invoke(args=["timers", "list", "--json"])))[0]["state"] == "failed"
    assert "TIMER_NOT_FOUND" in failed(runner.invoke(args=["timers", "retry", str(row.id + 1000), *by]))
    assert "已重新排队" in ok(runner.invoke(args=["timers", "retry", str(row.id), *by]))
    assert "TIMER_NOT_FAILED" in failed(runner.invoke(args=["timers", "retry", str(row.id), *by]))
    (row,) = timer_rows(engine, case_id)
    assert (row.state, row.attempts) == ("waiting", 0)
    assert worker.sweep().failed == 1       # still broken: tried again at once, then backs off from the start
    listed = ok(runner.invoke(args=["timers", "list"]))
    assert "重试中，下次" in listed and "合计：没有被搁置的定时器" in ok(runner.invoke(args=["timers", "list",
                                                                                    "--failed"]))
    with engine.database.engine.begin() as conn:      # set aside again, and its case ended meanwhile
        conn.execute(text("UPDATE timers SET state = 'failed' WHERE id = :id"), {"id": row.id})
        conn.execute(text("UPDATE cases SET status = 'completed' WHERE id = :id"), {"id": case_id})
    assert "已关闭" in ok(runner.invoke(args=["timers", "retry", str(row.id), *by]))
    assert timer_rows(engine, case_id)[0].state == "done"


def test_a_recount_that_always_fails_is_not_retried_at_every_wake_up(engine, clock, monkeypatch):
    """README: a case whose recompute fails is logged and retried at a later wake-up; it used to be every one
    (86,400 failed recounts a day per case with the default 1 s interval, each taking the case's lock)."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    poison = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    healthy = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    corrupt_snapshot(engine, poison)
    load_2027_cut_short(engine)
    tried: list[int] = []
    handle = engine.handle

    def counting(command):
        if type(command).__name__ == "RecomputeDeadlines":
            tried.append(command.case_id)
        return handle(command)
    monkeypatch.setattr(engine, "handle", counting)
    worker = TimerWorker(engine)
    results = []
    for _ in range(10):                     # ten seconds of wake-ups
        results.append(worker.sweep())
        clock.advance(seconds=1)
    assert tried.count(healthy) == 1        # the healthy case was recounted once and is done
    assert tried.count(poison) <= 2, f"the failing recount was tried {tried.count(poison)} times in 10 s"
    assert results[0].recounted == 1 and results[0].recount_failed == 1
    assert sum(r.recount_failed for r in results) == tried.count(poison)
    clock.advance(minutes=2)                # past its back-off: tried again
    worker.sweep()
    assert tried.count(poison) == 2


def test_a_calendar_recompute_goes_on_past_a_case_that_fails(engine, clock):
    """``Engine.recompute_deadlines`` (after ``tongban calendar import``) used to stop at the first failing case."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    poison = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(StartCase("parallel_approval", CLERK))
    corrupt_snapshot(engine, poison)
    load_2027_cut_short(engine)
    assert engine.recompute_deadlines("2027 年节假日安排载入") == (1, 1)


def test_the_worker_starts_even_when_its_first_sweep_fails(engine, monkeypatch):
    """``run_forever`` runs a sweep before scheduling; a database error there used to end the process."""
    import engine.timers as timers

    started = []

    class Scheduler:
        def __init__(self, **_kwargs):
            self.jobs = []

        def add_job(self, *args, **kwargs):
            self.jobs.append(kwargs["id"])

        def start(self):
            started.append(self.jobs)

    def down(self):
        raise RuntimeError("database not reachable")
    monkeypatch.setattr(timers, "BlockingScheduler", Scheduler)
    monkeypatch.setattr(TimerWorker, "sweep", down)
    timers.run_forever(engine)
    assert len(started) == 1 and any(job.startswith("timers-") for job in started[0])


def test_an_archive_build_that_kills_the_worker_each_time_ends_failed_after_the_last_attempt(engine, monkeypatch):
    """A build that takes the worker process down (OOM killer, a crash in zlib) never reaches the ``except``
    path that applies :data:`engine.archives.MAX_ATTEMPTS`; ``claim`` used to take back the ``building`` row
    every time its 10-minute lease ran out, for ever, killing a worker each time, while the API answered
    ``ARCHIVE_PENDING`` and ``tongban archive list --state failed`` never showed it."""
    import engine.archives as archives
    deploy_shipped(engine)
    closed_case(engine)

    def killed(*_args, **_kwargs):
        raise WorkerKilled("the worker process died while writing the package")
    monkeypatch.setattr(archives, "write_package", killed)
    worker = TimerWorker(engine)
    for _ in range(archives.MAX_ATTEMPTS + 3):
        try:
            worker.build_archives()
        except WorkerKilled:
            pass
        engine.clock.advance(minutes=11)     # the dead worker's lease (10 min) runs out
    with engine.database.read_sessions() as session:
        (row,) = session.scalars(select(Archive)).all()
    assert row.attempts == archives.MAX_ATTEMPTS, f"leased {row.attempts} times"
    assert (row.state, row.last_error) == ("failed", "归档生成未完成（进程中断）")
