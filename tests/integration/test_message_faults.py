"""Fault injection: a worker killed at each step of a delivery, and racing workers, still deliver exactly once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import EngineConfig, MessageWorker, WorkerKilled, bootstrap
from engine.persistence.models import CaseEvent
from tests.conftest import ROOT
from tests.message_helpers import cases, complete, deploy, event_types, messages, open_elements, start_ping

POINTS = ("receiver_written", "marked_delivered", "committed")


def kill_at(point):
    def hook(reached):
        if reached == point:
            raise WorkerKilled(point)
    return hook


def received(engine, case_id) -> int:
    return event_types(engine, case_id).count("MessageReceived")


def crash_then_recover(engine, clock, point) -> None:
    """Run one sweep that dies at ``point``, then recover the way a restarted worker would."""
    with pytest.raises(WorkerKilled):
        MessageWorker(engine, worker_id="doomed", fault=kill_at(point)).sweep()
    survivor = MessageWorker(engine, worker_id="survivor")
    assert survivor.sweep().delivered == 0          # the dead worker's lease still holds (or it was delivered)
    clock.advance(timedelta(minutes=3))             # the lease runs out
    survivor.sweep()


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_while_starting_the_receiver_leaves_exactly_one_started_case(engine, clock, point):
    deploy(engine)
    start_ping(engine)
    with pytest.raises(WorkerKilled):
        MessageWorker(engine, worker_id="doomed", fault=kill_at(point)).sweep()
    committed = point == "committed"
    assert len(cases(engine, "pong")) == (1 if committed else 0)
    assert messages(engine)[0].state == ("delivered" if committed else "pending")
    survivor = MessageWorker(engine, worker_id="survivor")
    survivor.sweep()
    clock.advance(timedelta(minutes=3))
    survivor.sweep()
    [pong] = cases(engine, "pong")
    assert received(engine, pong.id) == 1 and messages(engine)[0].state == "delivered"
    assert messages(engine)[0].receiver_case_id == pong.id


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_while_catching_leaves_the_waiting_case_advanced_exactly_once(engine, clock, point):
    deploy(engine)
    ping = start_ping(engine)
    MessageWorker(engine).sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "7"})
    complete(engine, ping, "hold", {})
    before = event_types(engine, ping)
    crash_then_recover(engine, clock, point)
    assert received(engine, ping) == 1 and open_elements(engine, ping) == ["read"]
    assert event_types(engine, ping)[:len(before)] == before
    assert [m.state for m in messages(engine)] == ["delivered", "delivered"]
    # The case keeps running normally after the recovery (its cached workflow was never reused half-done).
    complete(engine, ping, "read", {})
    assert cases(engine, "ping")[0].status == "completed"


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("two concurrent workers need PostgreSQL's row locks and SKIP LOCKED")
    return database_url


def test_two_racing_workers_on_postgresql_deliver_every_message_exactly_once(postgres_only, clock, tmp_path):
    config = EngineConfig(database_url=postgres_only, processes_dir=ROOT / "processes", forms_dir=ROOT / "forms",
                          materials_dir=tmp_path / "materials", message_secret="shared-test-secret")
    engines = [bootstrap(config, clock=clock) for _ in range(2)]
    try:
        deploy(engines[0])
        pings = [start_ping(engines[0], topic=f"t{i}") for i in range(40)]
        # A lease that is already over lets both workers claim the same rows: only the row lock and the
        # "still pending" check inside the delivery stand between them and a double delivery.
        workers = [MessageWorker(e, worker_id=f"w{i}", batch=7, lease=timedelta(seconds=-1))
                   for i, e in enumerate(engines)]
        errors: list[BaseException] = []
        outcomes: list[dict] = []

        def run(worker):
            try:
                for _ in range(20):
                    result = worker.sweep()
                    outcomes.append({"delivered": result.delivered, **result.other})
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sum(o.get("delivered", 0) for o in outcomes) == 40
        pongs = cases(engines[0], "pong")
        assert len(pongs) == 40 and all(m.state == "delivered" for m in messages(engines[0]))
        assert len({m.receiver_case_id for m in messages(engines[0])}) == 40
        with engines[0].database.read_sessions() as session:
            per_case = session.execute(select(CaseEvent.case_id, func.count()).where(
                CaseEvent.event_type == "MessageReceived").group_by(CaseEvent.case_id)).all()
        assert sorted(n for _case, n in per_case) == [1] * 40
        assert len(pings) == 40
    finally:
        for e in engines:
            e.close()
