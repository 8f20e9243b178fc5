"""ClocksStarted records the budget of a clock started at 受理: an archive or a history cannot swap it.

Both clocks of the process start at 受理 with a length the diagram declares (法定 20, 承诺 10 working days)
and no ``amountFrom``. Before, the event held only T0, so a package whose 承诺 budget was made 20 (declared too,
by the 法定 clock) verified. Now the event holds it: the archive check names the budget, and replay still
accepts an event recorded without it (the old shape) while a recorded budget that was edited diverges.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

import pytest

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, Replayer, StartCase, TimerWorker, ensure_calendar_seeded,
    list_archives, load_case_history, verify_archive, verify_history,
)
from engine.archive_problems import CASE_MISMATCH
from engine.audit import GENESIS, event_hash
from tests.unit.archive_fixture import entries, rezip

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_tc" targetNamespace="http://tongban.test">
  <bpmn:process id="two_clocks_at_accept" name="受理后起算两个时限" isExecutable="true">
    <bpmn:extensionElements>
      <tb:clock kind="legal" workdays="20" startsAt="accept"/>
      <tb:clock kind="committed" workdays="10" startsAt="accept"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="accept"/>
    <bpmn:userTask id="accept" name="受理">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="accept" targetRef="decide"/>
    <bpmn:userTask id="decide" name="决定">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.fixture
def closed(engine, clock) -> int:
    """A case accepted on Tuesday 2026-11-24 and decided the day after; its id."""
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("two_clocks.bpmn", BPMN),)))
    ref = engine.handle(StartCase("two_clocks_at_accept", REVIEWER))
    clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=CST))
    decide = engine.handle(CompleteTask(ref.created_task_ids[0], REVIEWER, {})).created_task_ids[0]
    clock.set(datetime(2026, 11, 25, 10, 0, tzinfo=CST))
    assert engine.handle(CompleteTask(decide, REVIEWER, {})).status == "completed"
    return ref.case_id


def started_at_accept(engine, case_id: int):
    (started,) = [e for e in engine.queries.events(case_id) if e.event_type == "ClocksStarted"]
    return started


def test_the_clocks_started_at_acceptance_record_their_budgets_and_t0(engine, closed):
    started = started_at_accept(engine, closed)
    assert started.element_id == "accept"
    clocks = started.payload["clocks"]
    assert {kind: (entry["budget"], entry["t0"]) for kind, entry in clocks.items()} == {
        "legal": ({"amount": 20, "unit": "workday"}, "2026-11-24"),
        "committed": ({"amount": 10, "unit": "workday"}, "2026-11-24")}
    assert not any("amount_from" in entry for entry in clocks.values())


def test_the_history_timeline_shows_the_event_with_its_budgets_and_both_clocks_running(engine, closed):
    page = engine.history.timeline(AUDITOR, closed, limit=100)
    (started,) = [e for e in page.events if e["event_type"] == "ClocksStarted"]
    assert started["details"]["clocks"]["committed"]["budget"] == {"amount": 10, "unit": "workday"}
    clocks = {c["kind"]: (c["state"], c["left"]) for c in started["clocks"]}
    assert clocks == {"legal": ("running", 20), "committed": ("running", 10)}


def test_an_archive_whose_budget_was_swapped_for_another_declared_one_fails_naming_the_budget(engine, closed):
    TimerWorker(engine).build_archives()
    (info,) = list_archives(engine)
    assert info.state == "built", info.last_error
    path = engine.config.archives_dir / info.path
    assert verify_archive(path).ok
    original = path.read_bytes()
    case = json.loads(entries(original)["metadata/case.json"])
    committed = case["clocks"]["committed"]["clock"]
    assert committed["budget"] == {"amount": 10, "unit": "workday"}
    committed["budget"]["amount"] = 20                 # the 法定 clock's length: declared by the diagram too
    tampered = engine.config.archives_dir / "swapped.zip"
    tampered.write_bytes(rezip(original, change={"metadata/case.json": json.dumps(case).encode()},
                               fix_manifest=True, case_no=info.case_no))
    result = verify_archive(tampered)
    seq = started_at_accept(engine, closed).seq
    assert not result.ok and result.problem.entry == "metadata/case.json", result.problem
    assert result.problem.message == f"clocks.committed.clock.budget（时限）与第 {seq} 个事件（ClocksStarted）不符"
    assert (result.problem.expected, result.problem.got, result.problem.code) == (
        "10 个工作日", "20 个工作日", CASE_MISMATCH)


def rehashed(history, change: Callable[[dict[str, Any]], None]):
    """The history with every ``ClocksStarted`` payload changed and the chain re-hashed to match."""
    prev, events = GENESIS, []
    for event in history.events:
        payload = json.loads(json.dumps(event.payload))
        if event.event_type == "ClocksStarted":
            change(payload)
        digest = event_hash(prev, case_no=history.case_no, seq=event.seq, event_type=event.event_type,
                            occurred_at=event.occurred_at, actor=event.actor, element_id=event.element_id,
                            task_id=event.task_id, payload=payload)
        events.append(replace(event, payload=payload, prev_hash=prev, hash=digest))
        prev = digest
    return replace(history, events=events, case={**history.case, "chain_head": prev})


def without_budgets(payload: dict[str, Any]) -> None:
    """The shape an engine from before wrote: a clock started at 受理 had no budget (no amountFrom)."""
    for entry in payload["clocks"].values():
        entry.pop("budget")


def committed_made_20(payload: dict[str, Any]) -> None:
    payload["clocks"]["committed"]["budget"]["amount"] = 20


def test_an_old_shaped_event_replays_identical_and_an_edited_budget_diverges(engine, closed):
    history = load_case_history(engine.database, closed)
    seq = started_at_accept(engine, closed).seq
    with Replayer(engine) as replayer:
        assert replayer.replay_history(history).divergence is None
        old = rehashed(history, without_budgets)
        assert verify_history(old).ok and "budget" not in old.events[seq - 1].payload["clocks"]["legal"]
        assert replayer.replay_history(old).divergence is None
        edited = rehashed(history, committed_made_20)
        assert verify_history(edited).ok                 # the chain was re-hashed: only replay can tell
        found = replayer.replay_history(edited).divergence
    assert found is not None and (found.seq, found.reason) == (seq, "mismatch")
    assert found.expected["payload"]["clocks"]["committed"]["budget"] == {"amount": 20, "unit": "workday"}
    assert found.got["payload"]["clocks"]["committed"]["budget"] == {"amount": 10, "unit": "workday"}


def test_an_old_shaped_event_with_one_budget_edited_still_diverges_at_that_clock(engine, closed):
    """Only the clock whose recorded entry lacks a budget is compared without one."""
    def one_left(payload: dict[str, Any]) -> None:
        payload["clocks"]["legal"].pop("budget")
        committed_made_20(payload)
    history = rehashed(load_case_history(engine.database, closed), one_left)
    with Replayer(engine) as replayer:
        found = replayer.replay_history(history).divergence
    assert found is not None and found.reason == "mismatch"
    assert "budget" not in found.got["payload"]["clocks"]["legal"]
    assert found.got["payload"]["clocks"]["committed"]["budget"]["amount"] == 10
