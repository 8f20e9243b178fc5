"""Daily chain heads per district on SQLite and PostgreSQL: sealed once, append-only, and a cut tail is named."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from engine import CompleteTask, StartCase, TimerWorker, check_chain_heads, seal_days, verify_case
from engine.audit import GENESIS, ChainedEvent, verify_chain
from engine.persistence.models import Case, CaseEvent, ChainHead, ChainHeadCase
from tests.helpers import ACCEPT, CLERK, OUTSIDER, deploy_shipped, open_task
from tests.integration.closing import closed_case

DAY1, DAY2 = date(2026, 11, 23), date(2026, 11, 24)


@pytest.fixture
def history(engine, clock):
    """Day 1: a case closed and one started in 500103, one started in 500101. Day 2: the open 500103 case moves."""
    deploy_shipped(engine)
    closed = closed_case(engine)
    running = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(StartCase("parallel_approval", OUTSIDER))
    clock.advance(days=1)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    clock.advance(hours=16)     # 2026-11-25 01:00: both days have ended
    return {"closed": closed, "running": running}


def attack(database_url: str, table: str, *statements: str, params: dict | None = None) -> None:
    """Run statements the way someone with DDL rights would: with the table's append-only trigger out of the way."""
    eng = create_engine(database_url)
    with eng.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for action in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        for statement in statements:
            conn.execute(text(statement), params or {})
        if postgres:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    eng.dispose()


def heads(engine) -> list[ChainHead]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(ChainHead).order_by(ChainHead.id)))


def test_each_district_gets_one_head_per_day_chained_to_its_previous_one(engine, history):
    sealed = seal_days(engine)
    assert sorted((h.district, h.day, h.case_count, h.created) for h in sealed) == [
        ("500101", DAY1, 1, True), ("500103", DAY1, 2, True), ("500103", DAY2, 1, True)]
    rows = {(h.district, h.day): h for h in heads(engine)}
    assert rows[("500103", DAY1)].prev_hash == GENESIS == rows[("500101", DAY1)].prev_hash
    assert rows[("500103", DAY2)].prev_hash == rows[("500103", DAY1)].head_hash
    with engine.database.read_sessions() as session:
        closed = session.get(Case, history["closed"])
        (entry,) = session.scalars(select(ChainHeadCase).where(ChainHeadCase.case_id == closed.id))
    assert (entry.seq, entry.hash) == (closed.event_seq, closed.chain_head)
    assert seal_days(engine) == [] and list(check_chain_heads(engine)) == []
    again = seal_days(engine, day=DAY1)
    assert {(h.district, h.created) for h in again} == {("500101", False), ("500103", False)}
    assert {h.head_hash for h in again} == {rows[("500103", DAY1)].head_hash, rows[("500101", DAY1)].head_hash}


def test_racing_workers_seal_each_district_day_once(engine, history):
    workers = [TimerWorker(engine, worker_id=f"w{n}") for n in range(3)]
    counts, barrier = [], threading.Barrier(len(workers))

    def run(worker):
        barrier.wait()
        counts.append(worker.seal())
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Exactly once per district and day: the three heads are sealed once in all, however the racing workers
    # shared them (on SQLite, without an advisory lock, a slow machine can let two of them each seal some).
    assert sum(counts) == 3 and len(counts) == 3 and len(heads(engine)) == 3
    assert workers[0].seal() == 0                  # once a day: the next attempt waits for tomorrow


def test_the_worker_seals_a_day_only_after_it_has_ended(engine, clock):
    deploy_shipped(engine)
    engine.handle(StartCase("parallel_approval", CLERK))
    worker = TimerWorker(engine)
    assert worker.seal() == 0 and heads(engine) == []
    clock.advance(hours=15, minutes=2)             # 2026-11-24 00:02 CST, inside the grace period
    assert TimerWorker(engine).seal() == 0
    clock.advance(minutes=5)
    assert TimerWorker(engine).seal() == 1 and heads(engine)[0].day == DAY1


@pytest.mark.parametrize("statement", ["UPDATE chain_heads SET event_count = 0",
                                       "DELETE FROM chain_head_cases", "DELETE FROM chain_heads"])
def test_the_database_refuses_to_change_sealed_heads(engine, history, database_url, statement):
    seal_days(engine)
    eng = create_engine(database_url)
    with pytest.raises(DBAPIError, match="append-only"):
        with eng.begin() as conn:
            conn.execute(text(statement))
    eng.dispose()


def test_a_cut_tail_with_the_head_moved_back_is_named_by_district_day_and_case(engine, history, database_url,
                                                                               runner):
    seal_days(engine)
    case_id = history["closed"]
    with engine.database.read_sessions() as session:
        case = session.get(Case, case_id)
        keep = case.event_seq - 3
        new_head = session.scalar(select(CaseEvent.hash).where(CaseEvent.case_id == case_id, CaseEvent.seq == keep))
    attack(database_url, "case_events", "DELETE FROM case_events WHERE case_id = :c AND seq > :k",
           "UPDATE cases SET event_seq = :k, chain_head = :h WHERE id = :c",
           params={"c": case_id, "k": keep, "h": new_head})
    with engine.database.read_sessions() as session:   # the cut chain is consistent in itself...
        rows = session.execute(select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.occurred_at, CaseEvent.actor,
                                      CaseEvent.element_id, CaseEvent.task_id, CaseEvent.payload,
                                      CaseEvent.prev_hash, CaseEvent.hash)
                               .where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all()
    assert verify_chain([ChainedEvent(case.case_no, *r) for r in rows], expected_head=new_head).ok
    found = verify_case(engine, case_id)              # ...but not with what was sealed
    assert (found.ok, found.broken_seq) == (False, keep + 3)
    assert "区县 500103 2026-11-23 的链头" in found.reason and "现已不存在" in found.reason
    result = runner.invoke(args=["verify", "--all"])
    assert result.exit_code == 1, result.output
    assert (f"区县 500103 2026-11-23 的链头：办件 {case.case_no}：封存时第 {keep + 3} 个事件存在" in result.output)
    assert "1 个办件被篡改" in result.output and "1 处与封存的链头不符" in result.output


def test_all_events_of_a_case_deleted_is_found_through_the_seal(engine, history, database_url, runner):
    seal_days(engine)
    case_id = history["running"]
    attack(database_url, "case_events", "DELETE FROM case_events WHERE case_id = :c",
           "UPDATE cases SET event_seq = 0, chain_head = :g WHERE id = :c", params={"c": case_id, "g": GENESIS})
    problems = list(check_chain_heads(engine))
    assert [(p.district, p.day, p.seq is not None) for p in problems] == [("500103", DAY1, True)]
    result = runner.invoke(args=["verify", "--all", "--json"])
    assert result.exit_code == 1 and '"kind": "chain_head"' in result.output


def test_an_edited_or_deleted_head_is_found(engine, history, database_url, runner):
    seal_days(engine)
    attack(database_url, "chain_heads", "UPDATE chain_heads SET event_count = event_count + 1 "
                                        "WHERE district = '500101'")
    (edited,) = list(check_chain_heads(engine))
    assert (edited.district, edited.day, edited.case_no) == ("500101", DAY1, None) and "链头被改动" in edited.reason
    attack(database_url, "chain_head_cases", "DELETE FROM chain_head_cases WHERE head_id IN "
                                             "(SELECT id FROM chain_heads WHERE district = '500103' AND day = :d)",
           params={"d": DAY1})
    attack(database_url, "chain_heads", "DELETE FROM chain_heads WHERE district = '500103' AND day = :d",
           params={"d": DAY1})
    reasons = [p.describe() for p in check_chain_heads(engine)]
    assert "区县 500103 2026-11-24 的链头：与前一日链头的链接不符（有链头被删除或改动）" in reasons
    assert runner.invoke(args=["verify", "--all"]).exit_code == 1


def test_audit_seal_on_the_command_line(runner, history):
    gap = runner.invoke(args=["audit", "seal", "--day", "2026-11-24"])
    assert gap.exit_code == 2 and "SEAL_DAY_GAP" in gap.output and "2026-11-23 起的日期尚未封存" in gap.output
    result = runner.invoke(args=["audit", "seal", "--day", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "已封存 区县 500103 2026-11-23：" in result.output and "新封存 2 个区县日链头" in result.output
    again = runner.invoke(args=["audit", "seal"])
    assert "此前已封存" not in again.output and "已封存 区县 500103 2026-11-24" in again.output
    assert "没有需要封存的日期" in runner.invoke(args=["audit", "seal"]).output
    future = runner.invoke(args=["audit", "seal", "--day", "2026-11-25"])
    assert future.exit_code == 2 and "SEAL_DAY_NOT_OVER" in future.output
    assert runner.invoke(args=["audit", "seal", "--day", "23/11/2026"]).exit_code == 2
    assert runner.invoke(args=["verify", "--all"]).exit_code == 0
