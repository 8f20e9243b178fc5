"""A recount of each sealed day finds what the heads' links and lists cannot: on SQLite and PostgreSQL.

The history (``test_chain_heads``'s): day 1 a case closed and one started in 500103, one started in 500101;
day 2 the open 500103 case moves. Each attack below passed ``verify`` before the recount.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, insert, select, update

from engine import CST, CompleteTask, StartCase, check_chain_heads, seal_days, verify_case
from engine.audit import event_hash
from engine.persistence.models import Case, CaseEvent
from tests.helpers import ACCEPT, CLERK, OUTSIDER, deploy_shipped, open_task
from tests.integration.test_chain_heads import DAY1, DAY2, attack, history  # noqa: F401  (a fixture)


def problems(engine) -> list[str]:
    return [p.describe() for p in check_chain_heads(engine)]


def _case_no(engine, case_id: int) -> str:
    with engine.database.read_sessions() as session:
        return session.scalar(select(Case.case_no).where(Case.id == case_id))


def test_an_intact_history_sealed_day_by_day_recounts_clean(engine, history, clock, runner):
    seal_days(engine)
    clock.advance(days=1)
    seal_days(engine)
    assert problems(engine) == []
    assert all(verify_case(engine, case).ok for case in history.values())
    assert runner.invoke(args=["verify", "--all"]).exit_code == 0


@pytest.fixture
def two_districts(engine, clock):
    """A case in 500103 and one in 500101, each started on day 1 and accepted on day 2."""
    deploy_shipped(engine)
    cases = {"500103": engine.handle(StartCase("parallel_approval", CLERK)).case_id,
             "500101": engine.handle(StartCase("parallel_approval", OUTSIDER)).case_id}
    clock.advance(days=1)
    for actor in (CLERK, OUTSIDER):
        engine.handle(CompleteTask(open_task(engine, actor, "accept")["id"], actor, ACCEPT))
    clock.advance(hours=16)
    return cases


def test_the_latest_head_of_a_district_deleted_while_its_events_remain(engine, two_districts, database_url,
                                                                       runner):
    seal_days(engine)
    attack(database_url, "chain_head_cases", "DELETE FROM chain_head_cases WHERE head_id IN "
                                             "(SELECT id FROM chain_heads WHERE district = '500103' AND day = :d)",
           params={"d": DAY2})
    attack(database_url, "chain_heads", "DELETE FROM chain_heads WHERE district = '500103' AND day = :d",
           params={"d": DAY2})
    # No later head of 500103 links to the deleted one; 500101's head of the same day shows the day was sealed.
    assert problems(engine) == ["区县 500103 2026-11-24 的链头：该日有 5 个事件（1 个办件），却没有封存的链头（链头被删除）"]
    found = verify_case(engine, two_districts["500103"])
    assert not found.ok and found.reason == "区县 500103 2026-11-24 的链头：办件 {}：该日有事件，却没有封存的链头（链头被删除）".format(
        _case_no(engine, two_districts["500103"]))
    assert verify_case(engine, two_districts["500101"]).ok
    result = runner.invoke(args=["verify", "--all"])
    assert result.exit_code == 1 and "1 处与封存的链头不符" in result.output


def test_a_day_whose_heads_are_all_deleted_between_two_sealed_days(engine, history, clock, database_url):
    seal_days(engine)
    clock.advance(days=1)
    engine.handle(StartCase("parallel_approval", CLERK))
    clock.advance(days=1)
    seal_days(engine)
    for table, where in (("chain_head_cases", "head_id IN (SELECT id FROM chain_heads WHERE day = :d)"),
                         ("chain_heads", "day = :d")):
        attack(database_url, table, f"DELETE FROM {table} WHERE {where}", params={"d": DAY2})
    found = problems(engine)
    assert "区县 500103 2026-11-24 的链头：该日有 5 个事件（1 个办件），却没有封存的链头（链头被删除）" in found
    assert "区县 500103 2026-11-26 的链头：与前一日链头的链接不符（有链头被删除或改动）" in found


def test_an_event_written_into_a_sealed_day_with_a_valid_hash(engine, history, database_url, runner):
    seal_days(engine)
    case_id = history["closed"]
    with engine.database.read_sessions() as session:
        case = session.get(Case, case_id)
        seq, head, case_no = case.event_seq, case.chain_head, case.case_no
    at = datetime(2026, 11, 23, 18, 0, tzinfo=CST)      # day 1, sealed
    event = {"case_id": case_id, "seq": seq + 1, "event_type": "CaseCommented", "occurred_at": at,
             "actor": "window_yz", "element_id": None, "task_id": None, "payload": {}}
    digest = event_hash(head, case_no=case_no, **{k: v for k, v in event.items() if k != "case_id"})
    eng = create_engine(database_url)     # case_events refuses UPDATE and DELETE, not INSERT
    with eng.begin() as conn:
        conn.execute(insert(CaseEvent), [{**event, "prev_hash": head, "hash": digest}])
        conn.execute(update(Case).where(Case.id == case_id).values(event_seq=seq + 1, chain_head=digest))
    eng.dispose()
    expected = (f"区县 500103 2026-11-23 的链头：办件 {case_no}：封存时该日最后一个事件是第 {seq} 个，"
                f"现在该日有第 {seq + 1} 个（事件在封存后写入）")
    assert problems(engine) == [expected]
    found = verify_case(engine, case_id)
    assert (found.ok, found.broken_seq, found.reason) == (False, seq + 1, expected)
    assert runner.invoke(args=["verify", "--all"]).exit_code == 1


def test_a_case_moved_to_another_district(engine, history, database_url):
    seal_days(engine)
    case_id = history["running"]
    attack(database_url, "cases", "UPDATE cases SET owning_district = '500101' WHERE id = :c",
           params={"c": case_id})
    case_no = _case_no(engine, case_id)
    moved = f"办件 {case_no}：封存时属于区县 500103，现在属于区县 500101（办件的业务属地被改动）"
    assert problems(engine) == [f"区县 500101 2026-11-23 的链头：{moved}", f"区县 500101 2026-11-24 的链头：{moved}"]
    found = verify_case(engine, case_id)
    assert not found.ok and found.reason == f"区县 500101 2026-11-23 的链头：{moved}"


def test_events_after_the_last_sealed_day_are_not_counted_yet(engine, history, clock):
    seal_days(engine, day=DAY1)
    # Day 2 is over but not sealed: its events are the next seal's, not a problem now.
    assert problems(engine) == []
    assert verify_case(engine, history["running"]).ok
