"""Stored snapshots of the current serializer version restore and run to the end.

A SpiffWorkflow upgrade or a change to our converter that cannot read yesterday's snapshots must fail here,
before it reaches a database full of waiting cases. A new SERIALIZER_VERSION needs its own fixture folder and
a migration test for the previous one.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from engine.clock import CST, ManualClock
from engine.expressions import Evaluator
from engine.spiff.parser import parse_unit
from engine.spiff.runner import WorkflowRunner
from engine.spiff.script_env import safe_script_engine
from engine.spiff.serializer import SERIALIZER_VERSION

ROOT = Path(__file__).resolve().parent.parent.parent
SNAPSHOTS = ROOT / "tests" / "data" / "snapshots"


def test_there_are_fixtures_for_the_current_serializer_version():
    assert (SNAPSHOTS / SERIALIZER_VERSION).is_dir(), f"add fixtures for {SERIALIZER_VERSION}"


def test_a_mid_parallel_snapshot_restores_with_its_data_and_completes():
    # Loaded with the diagram it was taken under (as a stored case is pinned to its version), not today's
    # shipped one: QA F16 added elements between the reviews and the join that this snapshot never saw.
    diagram = SNAPSHOTS / SERIALIZER_VERSION / "parallel_approval_two_reviews_open.bpmn"
    unit = parse_unit([("main.bpmn", diagram.read_bytes())],
                      Evaluator(), max_bytes=10**7)
    process = unit.processes["parallel_approval"]
    runner = WorkflowRunner(safe_script_engine(), ManualClock(datetime(2026, 11, 24, 9, tzinfo=CST)))
    snapshot = (SNAPSHOTS / SERIALIZER_VERSION / "parallel_approval_two_reviews_open.json").read_text()
    workflow = runner.load(snapshot, process.spec, process.subprocess_specs)
    ready = {t.element_id: t for t in runner.ready_user_tasks(workflow)}
    assert set(ready) == {"review_guihua", "review_xiaofang"}
    assert ready["review_guihua"].data["applicant"] == "重庆某建设有限公司"
    runner.complete(workflow, ready["review_guihua"].spiff_task_id, {"approved": "approve"})
    step = runner.complete(workflow, ready["review_xiaofang"].spiff_task_id, {"approved": "approve"})
    assert step.completed
    data = runner.current_data(workflow)
    assert (data["decision"], data["approved"], data["applicant"]) == ("accept", "approve", "重庆某建设有限公司")
