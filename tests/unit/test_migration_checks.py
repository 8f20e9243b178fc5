"""Moving a workflow onto another version of its process: what blocks it, and what survives a move (no database)."""
from __future__ import annotations

import re

from engine.spiff.migration import live_signature
from tests.bpmn_factory import diagram
from tests.unit.test_runner import DATA, SHIPPED, Case, clock, runner, specs  # noqa: F401 - fixtures
from tests.versioning import parallel_v1, renamed, retitled, with_review

PARALLEL = "parallel_approval"


def codes(runner, case, target):
    return [(b.code, b.element_id) for b in runner.migration_blockers(case.workflow(), *target)]


def move(runner, case, target):
    """Migrate the case's snapshot onto ``target`` and keep the new snapshot, as the handler does."""
    workflow, mapping = runner.migrate(case.workflow(), *target)
    case.spec, case.subs = target
    case.snapshot = runner.dump(workflow)
    return mapping


def test_a_case_at_an_unchanged_task_moves_keeping_its_task_ids_and_follows_the_new_diagram(runner):
    case = Case(runner, *specs(parallel_v1(), PARALLEL))
    before = [(t.spiff_task_id, t.element_id) for t in case.ready()]
    target = specs(with_review(parallel_v1()), PARALLEL)
    assert codes(runner, case, target) == []
    assert move(runner, case, target) == {"accept": "accept"}
    assert [(t.spiff_task_id, t.element_id) for t in case.ready()] == before
    step = case.complete("accept", decision="accept")
    assert sorted(t.element_id for t in step.created) == [
        "review_guihua", "review_shengtai", "review_xiaofang", "review_zhujian"]
    for element in ("review_guihua", "review_shengtai", "review_xiaofang", "review_zhujian"):
        last = case.complete(element, approved="approve")
    assert last.completed


def test_waiting_at_a_removed_task_blocks_with_its_element(runner):
    case = Case(runner, *specs(parallel_v1(), PARALLEL))
    target = specs(renamed(parallel_v1(), "accept", "accept_window"), PARALLEL)
    assert codes(runner, case, target) == [("MIGRATION_ELEMENT_REMOVED", "accept")]


def test_a_removed_task_kept_in_the_history_for_return_blocks_too(runner):
    case = Case(runner, *specs(parallel_v1(), PARALLEL))
    case.complete("accept", decision="accept")
    target = specs(renamed(parallel_v1(), "accept", "accept_window"), PARALLEL)
    assert ("MIGRATION_PATH_REMOVED", "accept") in codes(runner, case, target)


def test_a_parallel_join_with_some_branches_arrived_blocks(runner):
    case = Case(runner, *specs(parallel_v1(), PARALLEL))
    case.complete("accept", decision="accept")
    case.complete("review_zhujian", approved="approve")
    assert codes(runner, case, specs(retitled(parallel_v1()), PARALLEL)) == [("MIGRATION_JOIN_WAITING", "join")]


def test_a_new_branch_into_a_join_from_a_split_the_case_has_passed_blocks(runner):
    case = Case(runner, *specs(parallel_v1(), PARALLEL))
    case.complete("accept", decision="accept")
    target = specs(with_review(parallel_v1()), PARALLEL)
    assert codes(runner, case, target) == [("MIGRATION_JOIN_UNREACHABLE", "join")]
    # Before the split the same target is fine: the new branch is reached from where the case is.
    assert codes(runner, Case(runner, *specs(parallel_v1(), PARALLEL)), target) == []


def test_a_waiting_timer_keeps_its_due_time_and_an_edited_timer_blocks(runner, clock):
    source = specs(DATA / "timer.bpmn", "timed_review")
    case = Case(runner, *source)
    timers = runner.waiting_timers(case.workflow())
    xml = (DATA / "timer.bpmn").read_bytes()
    edited = specs(xml.replace(b'"PT2H"', b'"PT4H"'), "timed_review")
    assert codes(runner, case, edited) == [("MIGRATION_EVENT_CHANGED", "overdue_timer")]
    move(runner, case, specs(xml.replace("督办".encode(), "超期督办".encode()), "timed_review"))
    assert runner.waiting_timers(case.workflow()) == timers
    clock.advance(hours=3)
    workflow = case.workflow()
    step = runner.fire_timers(workflow)
    assert [t.element_id for t in step.created] == ["escalate"]


def test_adding_a_boundary_event_to_the_waiting_task_blocks(runner):
    case = Case(runner, *specs(diagram(), "probe"))
    assert codes(runner, case, specs(diagram(timer='"PT1H"'), "probe")) == [("MIGRATION_BOUNDARY_CHANGED", "task")]


def test_a_waiting_task_whose_type_changed_blocks(runner):
    case = Case(runner, *specs(diagram(), "probe"))
    manual = diagram(task_extensions="").replace(b"<bpmn:userTask", b"<bpmn:manualTask").replace(
        b"</bpmn:userTask>", b"</bpmn:manualTask>")
    (blocker,) = runner.migration_blockers(case.workflow(), *specs(manual, "probe"))
    assert (blocker.code, blocker.element_id) == ("MIGRATION_TYPE_CHANGED", "task")
    assert "类型已改变" in blocker.message


def test_a_completed_task_kept_for_return_whose_type_changed_blocks(runner):
    case = Case(runner, *specs(parallel_v1(), PARALLEL))
    case.complete("accept", decision="accept")
    manual = re.sub(r'<bpmn:userTask id="accept" name="受理">.*?</bpmn:userTask>',
                    '<bpmn:manualTask id="accept" name="受理"><bpmn:incoming>f_start_accept</bpmn:incoming>'
                    '<bpmn:outgoing>f_accept_gw</bpmn:outgoing></bpmn:manualTask>', parallel_v1().decode(), flags=re.S)
    blockers = runner.migration_blockers(case.workflow(), *specs(manual.encode(), PARALLEL))
    (blocker,) = [b for b in blockers if b.element_id == "accept"]
    assert blocker.code == "MIGRATION_TYPE_CHANGED"
    assert "保留（退回需要）" in blocker.message and "UserTask → ManualTask" in blocker.message
    # The same completed task with its type kept (only renamed) does not block.
    assert ("MIGRATION_TYPE_CHANGED", "accept") not in codes(runner, case, specs(retitled(parallel_v1()), PARALLEL))


def test_a_running_multi_instance_moves_unless_its_settings_changed(runner):
    xml = (DATA / "mi_vote.bpmn").read_bytes()
    case = Case(runner, *specs(xml, "joint_vote"), {"reviewers": ["a", "b", "c"]})
    case.complete("vote", vote_result="approve")
    stricter = specs(xml.replace(b"&gt;= 2", b"&gt;= 3"), "joint_vote")
    assert codes(runner, case, stricter) == [("MIGRATION_MULTI_INSTANCE_CHANGED", "vote")]
    signature = live_signature(case.workflow())
    move(runner, case, specs(xml.replace("会签（三取二）".encode(), "会签".encode()), "joint_vote"))
    assert live_signature(case.workflow()) == signature
    assert case.complete("vote", vote_result="approve").completed


def test_a_case_inside_an_embedded_subprocess_moves_and_finishes(runner):
    xml = (SHIPPED / "qiye_kaiban" / "main.bpmn").read_bytes()
    case = Case(runner, *specs(xml, "qiye_kaiban"))
    assert [t.element_id for t in case.ready()] == ["license_review"]
    target = specs(xml.replace("营业执照登记审核".encode(), "营业执照登记".encode()), "qiye_kaiban")
    assert codes(runner, case, target) == []
    move(runner, case, target)
    assert [t.name for t in case.ready()] == ["营业执照登记"]
    case.complete("license_review", license_outcome="registered")
    for element in ("seal_review", "invoice_review", "social_review", "fund_review"):
        case.complete(element, **{f"{element.removesuffix('_review')}_outcome": "done"})
    assert case.complete("deliver").completed


def test_a_vote_started_in_one_process_finishes_on_specs_parsed_by_another(runner):
    xml = (DATA / "mi_vote.bpmn").read_bytes()
    case = Case(runner, *specs(xml, "joint_vote"), {"reviewers": ["a", "b", "c"]})
    case.complete("vote", vote_result="approve")
    case.spec, case.subs = specs(xml, "joint_vote")  # a fresh parse: another web process, or after a restart
    assert case.complete("vote", vote_result="approve").completed
