"""Alterations a DBA can make that ``verify`` missed although the README promised it would find them.

Found by an adversarial audit (helper-105). Each test makes one alteration the way someone with write and DDL
rights would (the append-only triggers out of the way, as in ``test_chain_heads.py``) and asserts what the
README promises; each failed before these checks (a head verified with its case, a chain that must carry a
snapshot digest, the head message naming the case row).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import CompleteTask, StartCase, seal_days, verify_case
from engine.persistence.models import Case, CaseEvent
from tests.helpers import ACCEPT, CLERK, OUTSIDER, deploy_shipped, open_task
from tests.integration.closing import closed_case
from tests.integration.test_chain_heads import attack


@pytest.fixture
def history(engine, clock):
    """Day 1: a case closed and one started in 500103, one started in 500101. Day 2: the open 500103 case moves."""
    deploy_shipped(engine)
    closed = closed_case(engine)
    running = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    outside = engine.handle(StartCase("parallel_approval", OUTSIDER)).case_id
    clock.advance(days=1)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    clock.advance(hours=16)     # 2026-11-25 01:00: both days have ended
    return {"closed": closed, "running": running, "outside": outside}


def cut_tail(engine, database_url: str, case_id: int, drop: int) -> tuple[int, str]:
    """Delete the case's last ``drop`` events and move the row's head and count back; return (kept, head)."""
    with engine.database.read_sessions() as session:
        keep = session.get(Case, case_id).event_seq - drop
        head = session.scalar(select(CaseEvent.hash).where(CaseEvent.case_id == case_id, CaseEvent.seq == keep))
    attack(database_url, "case_events", "DELETE FROM case_events WHERE case_id = :c AND seq > :k",
           "UPDATE cases SET event_seq = :k, chain_head = :h WHERE id = :c",
           params={"c": case_id, "k": keep, "h": head})
    return keep, head


def test_verify_case_finds_a_cut_tail_whose_sealed_entry_was_edited_to_match(engine, history, database_url,
                                                                             runner):
    """README (Daily chain heads): "`tongban verify CASE` and `verify --all` then report a sealed event that is
    gone or changed ... and an edited or deleted head"; the API's verify checks "the districts' sealed daily
    heads". A cut tail whose sealed entry (chain_head_cases) was edited to the new head is found by
    ``verify --all`` (the day's list no longer matches its hash) but ``verify CASE``, the API and the history
    page's 校验链条 (all ``verify_case``) only compare the case's own entries and say 完整."""
    seal_days(engine)
    case_id = history["outside"]        # 500101, all four events on day 1; the last is the accept TaskCreated
    keep, head = cut_tail(engine, database_url, case_id, 1)
    attack(database_url, "chain_head_cases", "UPDATE chain_head_cases SET seq = :k, hash = :h WHERE case_id = :c",
           params={"c": case_id, "k": keep, "h": head})
    assert runner.invoke(args=["verify", "--all"]).exit_code == 1     # the day's head no longer holds
    found = verify_case(engine, case_id)
    assert not found.ok, f"verify CASE: 完整（{found.checked} 个事件）after its last event was cut"
    single = runner.invoke(args=["verify", str(case_id)])
    assert single.exit_code == 1, single.output


def test_an_edited_case_row_head_is_not_reported_as_a_deleted_tail(engine, history, database_url):
    """Misleading message: only ``cases.chain_head`` edited, every event there and the row's count right.
    verify says 「最后一个事件与办件记录的链头不符（末尾事件被删除）」 with ``broken_seq`` one past the last
    event, blaming a deletion that did not happen (the count check's messages say 「或办件记录被改动」)."""
    case_id = history["running"]
    with engine.database.read_sessions() as session:
        count = session.get(Case, case_id).event_seq
        first = session.scalar(select(CaseEvent.hash).where(CaseEvent.case_id == case_id, CaseEvent.seq == 1))
    attack(database_url, "cases", "UPDATE cases SET chain_head = :h WHERE id = :c",
           params={"h": first, "c": case_id})
    found = verify_case(engine, case_id)
    assert (found.ok, found.checked) == (False, count)
    assert "办件记录被改动" in found.reason, found.reason


def test_a_cut_tail_that_takes_the_only_snapshot_digest_does_not_switch_the_snapshot_check_off(
        engine, history, database_url):
    """README (audit row): the last event of each command that writes a snapshot records its sha256, and verify
    "compares the case's stored snapshot with the last recorded digest"; the API's ``state_checked`` is false
    only "for a chain written before snapshots were digested". Cutting the one-command 500101 case's last event
    (its accept ``TaskCreated``, the only one carrying ``state_sha256``) and moving the row's head and count back
    leaves a chain of today's engine (``CaseStarted`` carries ``calendar_generation``) with no digest at all:
    verify reports 完整 with ``state_checked`` false, although the stored snapshot is the one written with the
    deleted event. Before the day is sealed nothing else catches it, so the snapshot check, which
    ``verify_case`` counts on for cut tails, is switched off by the cut itself."""
    case_id = history["outside"]
    with engine.database.read_sessions() as session:
        events = session.execute(select(CaseEvent.seq, CaseEvent.payload).where(CaseEvent.case_id == case_id)
                                 .order_by(CaseEvent.seq)).all()
    assert [seq for seq, payload in events if "state_sha256" in payload] == [len(events)]
    assert "calendar_generation" in events[0].payload
    cut_tail(engine, database_url, case_id, 1)
    found = verify_case(engine, case_id)
    assert (found.state_checked, found.ok) == (True, False), found
