"""TaskCancelled names the inbox row it closed, on SQLite and PostgreSQL.

A 会签 decided early withdraws the instances nobody did, a boundary timer withdraws the task it is attached to,
a 退回 withdraws the task returned and its parallel siblings: each ``TaskCancelled`` carries the ``task_id`` its
``TaskCreated`` gave, so an auditor can match the two. The chain covers the column; replay maps it like every
other task id, and a history recorded before (``TaskCancelled`` without a task) still verifies and replays
identically, while a recorded task id that was changed diverges.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from app import create_app
from app.runtime import set_engine
from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, ManualClock, Replayer, ReturnTask, StartCase, TimerWorker,
    load_case_history, read_history, verify_case, verify_history,
)
from engine.audit import GENESIS, event_hash
from engine.persistence.models import TaskItem
from tests.conftest import DATA
from tests.goldens import HISTORIES
from tests.helpers import ACCEPT, CLERK, ZHUJIAN, deploy_shipped, open_task
from tests.integration.test_replay import tamper
from tests.pages_helpers import PASSWORD, client_for

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
OLD_SHAPE_GOLDEN = HISTORIES / "standard_permit_tolerance_expired.json"
"""A timer withdrew two tasks (许可决定 and 接收容缺材料) in this case."""


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 CST."""
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def vote(engine) -> Any:
    """A 会签 of five reviewers that two approvals decide: three instances are withdrawn. Returns the case ref."""
    engine.handle(DeployDefinitions((("mi_vote.bpmn", (DATA / "processes" / "mi_vote.bpmn").read_bytes()),)))
    ref = engine.handle(StartCase("joint_vote", REVIEWER, data={"reviewers": ["a", "b", "c", "d", "e"]}))
    assert len(ref.created_task_ids) == 5
    for task_id in ref.created_task_ids[:2]:
        done = engine.handle(CompleteTask(task_id, REVIEWER, {"vote_result": "approve"}))
    assert done.status == "completed"
    return ref


def events_of(engine, case_id: int, event_type: str) -> list:
    return [e for e in engine.queries.events(case_id) if e.event_type == event_type]


def row_states(engine, task_ids) -> dict[int, str]:
    with engine.database.read_sessions() as session:
        return dict(session.execute(select(TaskItem.id, TaskItem.state).where(TaskItem.id.in_(list(task_ids)))).all())


def replayed(engine, history) -> Any:
    with Replayer(engine) as replayer:
        return replayer.replay_history(history)


def rehashed(history, change) -> Any:
    """``history`` with ``change(event)`` applied to each event (returning it, maybe replaced) and the chain re-hashed."""
    prev, events = GENESIS, []
    for event in history.events:
        event = change(event)
        digest = event_hash(prev, case_no=history.case_no, seq=event.seq, event_type=event.event_type,
                            occurred_at=event.occurred_at, actor=event.actor, element_id=event.element_id,
                            task_id=event.task_id, payload=event.payload)
        events.append(replace(event, prev_hash=prev, hash=digest))
        prev = digest
    return replace(history, events=events, case={**history.case, "chain_head": prev})


def without_cancelled_ids(event) -> Any:
    """The shape an engine from before wrote: a TaskCancelled named its element only."""
    return replace(event, task_id=None) if event.event_type == "TaskCancelled" else event


# --- recording -----------------------------------------------------------------------------------------------------

def test_a_decided_vote_names_each_instance_it_withdrew(engine, vote):
    cancelled = events_of(engine, vote.case_id, "TaskCancelled")
    withdrawn = set(vote.created_task_ids[2:])
    assert [e.element_id for e in cancelled] == ["vote"] * 3
    assert {e.task_id for e in cancelled} == withdrawn and len(cancelled) == len(withdrawn)
    created = {e.task_id for e in events_of(engine, vote.case_id, "TaskCreated")}
    assert withdrawn <= created                              # each matches the TaskCreated that opened it
    assert row_states(engine, vote.created_task_ids) == {
        **{i: "completed" for i in vote.created_task_ids[:2]}, **{i: "cancelled" for i in withdrawn}}


def test_a_boundary_timer_names_the_task_it_withdrew(engine, clock):
    engine.handle(DeployDefinitions((("timer.bpmn", (DATA / "processes" / "timer.bpmn").read_bytes()),)))
    ref = engine.handle(StartCase("timed_review", REVIEWER))
    (review,) = ref.created_task_ids
    clock.advance(hours=2, seconds=1)
    assert TimerWorker(engine).sweep().cases == 1
    (cancelled,) = events_of(engine, ref.case_id, "TaskCancelled")
    assert (cancelled.element_id, cancelled.task_id) == ("review", review)
    assert row_states(engine, [review]) == {review: "cancelled"}


def test_a_return_names_the_task_returned_and_each_parallel_sibling_it_withdrew(engine):
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK))
    reviews = engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT)).created_task_ids
    assert len(reviews) == 3
    returned = open_task(engine, ZHUJIAN, "review_zhujian")["id"]
    engine.handle(ReturnTask(returned, ZHUJIAN, "缺少土地证明"))
    (back,) = events_of(engine, ref.case_id, "TaskReturned")
    cancelled = events_of(engine, ref.case_id, "TaskCancelled")
    assert back.task_id == returned and returned in {e.task_id for e in cancelled}
    assert sorted(e.task_id for e in cancelled) == sorted(reviews)
    names = {e.task_id: e.element_id for e in events_of(engine, ref.case_id, "TaskCreated")}
    assert all(names[e.task_id] == e.element_id for e in cancelled)


# --- chain and replay ----------------------------------------------------------------------------------------------

def test_a_new_history_verifies_and_replays_with_the_withdrawn_tasks_mapped(engine, vote):
    assert verify_case(engine, vote.case_id).ok
    history = load_case_history(engine.database, vote.case_id)
    result = replayed(engine, history)
    assert (result.identical, result.divergence) == (True, None)


def test_the_chain_covers_the_cancelled_task_id(engine, vote, database_url):
    first = events_of(engine, vote.case_id, "TaskCancelled")[0]
    tamper(database_url, "UPDATE case_events SET task_id = NULL WHERE case_id = :c AND seq = :s",
           {"c": vote.case_id, "s": first.seq})
    check = verify_case(engine, vote.case_id)
    assert (check.ok, check.broken_seq) == (False, first.seq)


def test_an_old_shaped_history_verifies_and_replays_identical(engine, vote):
    old = rehashed(load_case_history(engine.database, vote.case_id), without_cancelled_ids)
    assert [e.task_id for e in old.events if e.event_type == "TaskCancelled"] == [None] * 3
    assert verify_history(old).ok
    result = replayed(engine, old)
    assert (result.identical, result.divergence) == (True, None)


def test_a_golden_recorded_without_cancelled_task_ids_verifies_and_replays_identical(engine):
    golden = rehashed(read_history(OLD_SHAPE_GOLDEN), without_cancelled_ids)
    assert [e.element_id for e in golden.events if e.event_type == "TaskCancelled"] == ["decide", "receive_tolerance"]
    assert verify_history(golden).ok
    result = replayed(engine, golden)
    assert (result.identical, result.divergence) == (True, None)


def test_a_cancelled_task_id_changed_to_another_task_diverges(engine, vote):
    history = load_case_history(engine.database, vote.case_id)
    first = next(e for e in history.events if e.event_type == "TaskCancelled")
    other = vote.created_task_ids[0]                          # a completed instance, not the one withdrawn

    def swapped(event):
        return replace(event, task_id=other) if event.seq == first.seq else event
    edited = rehashed(history, swapped)
    assert verify_history(edited).ok                          # re-hashed: only replay can tell
    found = replayed(engine, edited).divergence
    assert found is not None and (found.seq, found.reason) == (first.seq, "mismatch")
    assert (found.expected["task_id"], found.got["task_id"]) == (other, first.task_id)
    assert "任务" in found.message


# --- 办理历史 ---------------------------------------------------------------------------------------------------------

def test_the_history_shows_which_task_each_withdrawal_closed(engine, vote, database_url):
    page = engine.history.timeline(AUDITOR, vote.case_id, limit=100)
    shown = [e["task_id"] for e in page.events if e["event_type"] == "TaskCancelled"]
    assert sorted(shown) == sorted(vote.created_task_ids[2:])
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor')}"}
    api = app.test_client().get(f"/api/v1/cases/{vote.case_id}/history?limit=50", headers=bearer).get_json()
    assert sorted(e["task_id"] for e in api["events"] if e["event_type"] == "TaskCancelled") == sorted(shown)
    html = client_for(app, "auditor").get(f"/cases/{vote.case_id}/history").get_data(as_text=True)
    for event in events_of(engine, vote.case_id, "TaskCancelled") + events_of(engine, vote.case_id, "TaskCreated"):
        row = html.split(f'<tr id="event-{event.seq}"', 1)[1].split("</tr>", 1)[0]
        assert f'<div class="sub task-ref">任务 #{event.task_id}</div>' in row, row
