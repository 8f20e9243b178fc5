"""Durable timers at scale: two worker processes fire 10,000 due timers on PostgreSQL, each exactly once.

The 10,000 waiting timers are one real case of ``timer.bpmn`` started through the engine plus 9,999 clones
made in SQL (``bench.timers.clone_case``, whose docstring explains why a clone is a faithful, independent
case: the same workflow snapshot, with fresh task UUIDs as a real start would draw). The workers are two
spawned processes, each with its own engine and a manual clock one minute past the common due time, released
together by a barrier; every firing goes through the real ``FireDueTimers`` command.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from bench.timers import TIMER_KEY, build_due_timers, run_workers
from engine import Actor, EngineConfig, ManualClock, bootstrap
from engine.audit import ChainedEvent, verify_chain
from engine.persistence.models import Base

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

N = 10_000
WORKERS = 2
SUPERVISOR = Actor("supervisor", ("supervisor",), "500000", None)


def _truncate(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The session's PostgreSQL schema, emptied before (other tests leave timers) and after (10,000 cases)."""
    if request.config.getoption("--db") == "sqlite":
        pytest.skip("--db=sqlite")
    url = request.getfixturevalue("postgresql_url")
    _truncate(url)
    yield url
    _truncate(url)


def test_two_worker_processes_fire_10000_due_timers_exactly_once(pg_url):
    began = time.perf_counter()
    fixture = build_due_timers(pg_url, N)
    db = create_engine(pg_url)
    try:
        with db.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*), count(DISTINCT case_id), count(DISTINCT due_at), "
                "count(DISTINCT spiff_task_id) FROM timers WHERE state = 'waiting'")).one()
            assert tuple(waiting) == (N, N, 1, N)
            open_reviews = text("SELECT count(*) FROM tasks WHERE element_id = 'review' AND state = 'open'")
            assert conn.execute(open_reviews).scalar() == N
        built = time.perf_counter()

        run = run_workers(pg_url, fixture.due_at + timedelta(minutes=1), processes=WORKERS, batch=200)
        fired = {w["worker"]: w["fired"] for w in run.workers}
        assert sum(fired.values()) == N, fired
        assert all(count > N // 10 for count in fired.values()), f"one worker did nearly everything: {fired}"
        assert run.failed == 0

        with db.connect() as conn:
            all_cases = {r[0] for r in conn.execute(text("SELECT id FROM cases WHERE process_key = :k"),
                                                    {"k": TIMER_KEY})}
            assert len(all_cases) == N
            per_case = conn.execute(text(
                "SELECT case_id, count(*) FROM case_events WHERE event_type = 'TimersFired' GROUP BY case_id"
            )).all()
            assert len(per_case) == N
            assert {case_id for case_id, _ in per_case} == all_cases
            assert {count for _, count in per_case} == {1}
            timers = dict(conn.execute(text("SELECT state, count(*) FROM timers GROUP BY state")).all())
            assert timers == {"done": N}
            failed = text("SELECT count(*) FROM timers WHERE last_error IS NOT NULL")
            assert conn.execute(failed).scalar() == 0
            without_one_escalate = conn.execute(text(
                "SELECT c.id FROM cases c LEFT JOIN tasks t "
                "ON t.case_id = c.id AND t.element_id = 'escalate' AND t.state = 'open' "
                "GROUP BY c.id HAVING count(t.id) <> 1")).all()
            assert without_one_escalate == []
            reviews = dict(conn.execute(text(
                "SELECT state, count(*) FROM tasks WHERE element_id = 'review' GROUP BY state")).all())
            assert reviews == {"cancelled": N}
    finally:
        db.dispose()

    # The one case started through the engine keeps an intact audit chain after a worker process fired it.
    engine = bootstrap(EngineConfig(database_url=pg_url), clock=ManualClock(fixture.due_at))
    try:
        events = engine.queries.events(fixture.template_case_id)
        case_no = engine.queries.case(SUPERVISOR, fixture.template_case_id)["case_no"]
        chained = [ChainedEvent(case_no, e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id,
                                e.payload, e.prev_hash, e.hash) for e in events]
        assert verify_chain(chained).ok
        assert [e.event_type for e in events].count("TimersFired") == 1
    finally:
        engine.close()

    done = time.perf_counter()
    print(f"\n{N:,} timers: fixture {built - began:.1f} s, firing {run.last_fire - run.released:.1f} s "
          f"({N / (run.last_fire - run.released):.0f} timers/s), workers {fired}, total {done - began:.1f} s")
