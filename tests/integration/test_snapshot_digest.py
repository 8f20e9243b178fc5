"""The workflow snapshot on the chain: each command's last event records its digest, and verify compares it.

``cases.workflow_state`` is what the engine runs the case on next, yet it is not an event. Without its digest
on the chain, a snapshot edited in the database changed the case's future while ``tongban verify`` said intact.
"""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import text

from engine import CompleteTask, StartCase, verify_case
from engine.verification import verify_all
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task

from .test_replay import tamper


@pytest.fixture
def started(engine):
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return ref


def _snapshot(engine, case_id) -> str:
    with engine.database.engine.connect() as conn:
        return conn.execute(text("SELECT workflow_state FROM cases WHERE id = :c"), {"c": case_id}).scalar_one()


def _stamps(engine, case_id) -> list[tuple[int, str]]:
    """(seq, digest) of each event carrying a snapshot digest, in order."""
    out = []
    for event in engine.queries.events(case_id):
        if "state_sha256" in event.payload:
            out.append((event.seq, event.payload["state_sha256"]))
    return out


def test_each_command_that_writes_a_snapshot_records_its_digest_on_its_last_event(engine, started):
    events = engine.queries.events(started.case_id)
    stamps = _stamps(engine, started.case_id)
    # StartCase and the completion of 受理: one digest each, on the last event each wrote
    assert len(stamps) == 2 and stamps[-1][0] == events[-1].seq
    assert stamps[-1][1] == hashlib.sha256(_snapshot(engine, started.case_id).encode()).hexdigest()
    first_completion = next(e.seq for e in events if e.event_type == "TaskCompleted")
    assert stamps[0][0] == first_completion - 1


def test_an_intact_case_verifies_with_its_snapshot_checked(engine, started, runner):
    result = verify_case(engine, started.case_id)
    assert (result.ok, result.state_checked, result.state_differs) == (True, True, False)
    assert result.to_dict()["state_checked"] is True
    out = runner.invoke(args=["verify", started.case_no])
    assert out.exit_code == 0 and out.output.strip().endswith("个事件，流程状态快照相符）")


def test_a_snapshot_edited_in_the_database_fails_verify_though_every_link_holds(engine, started, database_url,
                                                                                 runner):
    before = _snapshot(engine, started.case_id)
    document = json.loads(before)
    document["data"] = {**document.get("data", {}), "approved": True}   # e.g. an approval nobody gave
    tamper(database_url, "UPDATE cases SET workflow_state = :s WHERE id = :c",
           {"s": json.dumps(document), "c": started.case_id})
    result = verify_case(engine, started.case_no)
    last = engine.queries.events(started.case_id)[-1].seq
    assert (result.ok, result.state_differs, result.broken_seq, result.checked) == (False, True, last, last)
    assert result.reason == (f"办件的流程状态快照与第 {last} 个事件记下的摘要不符："
                             "当前快照不是引擎在该事件时写入的那一份")
    (listed,) = [r for r in verify_all(engine) if r.case_id == started.case_id]
    assert listed == result
    out = runner.invoke(args=["verify", "--all"])
    assert out.exit_code == 1
    assert f"办件 {started.case_no}：链条完整，但流程状态快照被改动：" in out.output
    assert "1 个办件被篡改" in out.output
    # putting the engine's own snapshot back makes the case verify again
    tamper(database_url, "UPDATE cases SET workflow_state = :s WHERE id = :c", {"s": before, "c": started.case_id})
    assert verify_case(engine, started.case_id).ok


def test_a_case_whose_chain_carries_no_digest_is_verified_without_its_snapshot(engine, started, database_url):
    # As for cases written before snapshots were digested: the chain is all there is to check.
    other = engine.handle(StartCase("parallel_approval", CLERK))
    assert _stamps(engine, other.case_id)
    tamper(database_url, "UPDATE cases SET workflow_state = 'edited' WHERE id = :c", {"c": other.case_id})
    from engine.audit import ChainCheck, check_state
    unstamped = ChainCheck(True, 3)
    assert check_state(unstamped, "anything") is unstamped
    assert check_state(ChainCheck(True, 3, state_seq=2, state_digest="a" * 64), "a" * 64).ok
    broken = check_state(ChainCheck(True, 3, state_seq=2, state_digest="a" * 64), "b" * 64)
    assert (broken.ok, broken.broken_seq) == (False, 2)
    assert not verify_case(engine, other.case_id).ok
