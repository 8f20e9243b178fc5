"""The SpiffWorkflow adapter: every test round-trips the snapshot between steps, as the engine does."""
from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from engine.clock import CST, ManualClock
from engine.errors import Conflict, ExpressionFailed, ExpressionRejected
from engine.expressions import Evaluator
from engine.spiff.parser import parse_unit
from engine.spiff.runner import WorkflowRunner
from engine.spiff.script_env import safe_script_engine
from tests.bpmn_factory import diagram

DATA = Path(__file__).resolve().parent.parent / "data" / "processes"
SHIPPED = Path(__file__).resolve().parent.parent.parent / "processes"


def specs(path_or_bytes, key):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    process = parse_unit([("t.bpmn", data)], Evaluator(), max_bytes=10**7, validate_xsd=False).processes[key]
    return process.spec, process.subprocess_specs


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=CST))


@pytest.fixture
def runner(clock):
    return WorkflowRunner(safe_script_engine(), clock)


class Case:
    """A workflow that lives only as a snapshot between steps, like a case row."""

    def __init__(self, runner, spec, subs, data=None):
        self.runner, self.spec, self.subs = runner, spec, subs
        workflow, self.last = runner.start(spec, subs, data or {})
        self.snapshot = runner.dump(workflow)

    def ready(self):
        return self.runner.ready_user_tasks(self.workflow())

    def workflow(self):
        return self.runner.load(self.snapshot, self.spec, self.subs)

    def complete(self, element_id, **data):
        workflow = self.workflow()
        task = next(t for t in self.runner.ready_user_tasks(workflow) if t.element_id == element_id)
        self.last = self.runner.complete(workflow, task.spiff_task_id, data)
        self.snapshot = self.runner.dump(workflow)
        return self.last


def test_parallel_approval_runs_to_the_end_with_a_restore_between_every_step(runner):
    case = Case(runner, *specs(SHIPPED / "parallel_approval" / "main.bpmn", "parallel_approval"))
    assert [t.element_id for t in case.last.created] == ["accept"]
    step = case.complete("accept", decision="accept", opinion="ok")
    assert sorted(t.element_id for t in step.created) == ["review_guihua", "review_xiaofang", "review_zhujian"]
    assert step.advanced[:2] == ["accepted_gw", "split"]
    case.complete("review_guihua", approved="approve")
    case.complete("review_xiaofang", approved="approve")
    step = case.complete("review_zhujian", approved="approve")
    assert step.completed and step.advanced == ["record_zhujian", "join", "all_agreed_gw", "end_done"]
    assert runner.current_data(case.workflow())["decision"] == "accept"


def test_the_rejected_branch_ends_the_case_without_reviews(runner):
    case = Case(runner, *specs(SHIPPED / "parallel_approval" / "main.bpmn", "parallel_approval"))
    step = case.complete("accept", decision="reject", opinion="材料不全")
    assert step.completed and step.created == [] and step.advanced == ["accepted_gw", "end_rejected"]


def test_a_case_looping_2000_times_still_completes_and_its_snapshot_stays_small(runner):
    case = Case(runner, *specs(DATA / "loop.bpmn", "loop"))
    sizes, durations = [], []
    for round_no in range(2000):
        started = time.perf_counter()
        step = case.complete("work", done=False, round=round_no)
        durations.append(time.perf_counter() - started)
        sizes.append(len(case.snapshot))
        assert [t.element_id for t in step.created] == ["work"], f"lost the ready task at round {round_no}"
    step = case.complete("work", done=True)
    assert step.completed
    # The snapshot does not grow with history: compaction keeps only what the future needs.
    assert max(sizes[-100:]) <= max(sizes[:100]) * 1.2
    workflow = case.workflow()
    assert len(workflow.tasks) < 20


def test_multi_instance_completes_when_two_of_three_approve(runner):
    case = Case(runner, *specs(DATA / "mi_vote.bpmn", "joint_vote"), {"reviewers": ["a", "b", "c"]})
    assert len(case.ready()) == 3
    case.complete("vote", vote_result="approve")
    step = case.complete("vote", vote_result="approve")
    assert step.completed
    assert len(step.cancelled) == 1
    assert runner.current_data(case.workflow())["votes"] == ["approve", "approve"]


def test_boundary_timer_fires_on_the_manual_clock_and_reports_its_due_time(runner, clock):
    case = Case(runner, *specs(DATA / "timer.bpmn", "timed_review"))
    (timer,) = case.last.timers
    assert timer.element_id == "overdue_timer"
    assert timer.due_at == datetime(2026, 11, 23, 11, 0, tzinfo=CST)
    clock.advance(hours=1, minutes=59)
    workflow = case.workflow()
    assert runner.fire_timers(workflow).created == []
    clock.advance(minutes=2)
    workflow = case.workflow()
    step = runner.fire_timers(workflow)
    assert [t.element_id for t in step.created] == ["escalate"]
    assert [e for _, e in step.cancelled] == ["review"]
    assert step.timers == []


def test_completing_a_task_that_a_timer_cancelled_is_a_conflict_not_a_silent_loss(runner, clock):
    case = Case(runner, *specs(DATA / "timer.bpmn", "timed_review"))
    review = case.ready()[0]
    clock.advance(hours=3)
    workflow = case.workflow()
    runner.fire_timers(workflow)
    with pytest.raises(Conflict):
        runner.complete(workflow, review.spiff_task_id, {"x": 1})


def test_script_tasks_run_in_the_restricted_evaluator(runner):
    case = Case(runner, *specs(DATA / "script_fee.bpmn", "fee_calc"), {"area": 80})
    data = case.ready()[0].data
    assert (data["fee"], data["band"]) == (160, "high")


def test_an_unsafe_expression_that_slipped_past_loading_fails_the_step_and_never_runs(runner, tmp_path):
    marker = tmp_path / "pwned"
    unit = parse_unit([("t.bpmn", diagram(condition="approved == True"))], Evaluator(), max_bytes=10**7)
    process = unit.processes["probe"]
    # Tamper with the parsed spec after the load-time check, as if a check had been bypassed.
    gateway = process.spec.task_specs["gw"]
    condition, target = gateway.cond_task_specs[0]
    condition.args = (f"__import__('os').system('touch {marker}')",)
    case = Case(runner, process.spec, process.subprocess_specs)
    with pytest.raises(ExpressionRejected):
        case.complete("task", approved=True)
    assert not marker.exists()


def test_a_condition_on_a_missing_variable_fails_with_a_clear_error(runner):
    case = Case(runner, *specs(diagram(condition="approved == True"), "probe"))
    with pytest.raises(ExpressionFailed) as exc:
        case.complete("task", other=1)
    assert "approved" in exc.value.message


def test_snapshots_do_not_embed_the_process_spec(runner):
    case = Case(runner, *specs(SHIPPED / "parallel_approval" / "main.bpmn", "parallel_approval"))
    snapshot = json.loads(case.snapshot)
    assert "spec" not in snapshot and snapshot["spec_name"] == "parallel_approval"


def test_the_workflow_cache_hands_an_entry_out_once_and_only_at_its_version():
    from engine.spiff.workflow_cache import WorkflowCache
    cache = WorkflowCache(capacity=2)
    cache.put(1, 5, 9, "wf-1")
    assert cache.take(1, 4, 9) is None            # another version: a miss, and the entry is dropped
    assert cache.take(1, 5, 9) is None
    cache.put(1, 5, 9, "wf-1")
    assert cache.take(1, 5, 8) is None            # another definition (a migrated case)
    cache.put(1, 6, 9, "wf-1")
    cache.put(1, 5, 9, "older")                   # an older version never replaces a newer one
    assert cache.take(1, 6, 9) == "wf-1"
    assert cache.take(1, 6, 9) is None            # taken: nobody else can hold it
    for case_id in (1, 2, 3):
        cache.put(case_id, 1, 9, f"wf-{case_id}")
    assert cache.take(1, 1, 9) is None and cache.take(3, 1, 9) == "wf-3"   # least recently used evicted


def test_a_finished_workflow_is_not_kept_in_the_cache(clock):
    from engine.spiff.workflow_cache import WorkflowCache
    runner = WorkflowRunner(safe_script_engine(), clock, cache=WorkflowCache(capacity=8))
    spec, subs = specs(SHIPPED / "parallel_approval" / "main.bpmn", "parallel_approval")
    workflow, _ = runner.start(spec, subs, {})
    runner.checkin(1, 1, 9, workflow)
    assert runner.cache.take(1, 1, 9) is workflow        # running: kept, and handed out at its version
    workflow.cancel()                                     # a terminated case's workflow: finished
    assert workflow.is_completed()
    runner.checkin(1, 2, 9, workflow)
    assert runner.cache.take(1, 2, 9) is None             # nothing advances it again; it is not held
