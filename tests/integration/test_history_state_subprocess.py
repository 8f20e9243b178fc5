"""办理历史's state as of an event inside an expanded subprocess (a 工改 stage), on SQLite and PostgreSQL.

``history.state_at`` promises the case's process data then, as the most recent step left it: the data of the
task completed last, in the top workflow or in any of its subprocesses, whatever compaction dropped since.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import CST, CompleteTask, ManualClock, ReturnTask
from tests.gongcheng_helpers import (
    FAGAI, GC_ACCEPT, at_design_review, case_data, event_count, gc_do, gongcheng_case, opinion,
)
from tests.helpers import CLERK, open_task


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 CST: a working day with no holiday within the stages' budgets."""
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


def test_the_history_state_after_a_countersign_inside_a_stage_holds_its_result(engine):
    """After 设计方案会审 passed with 规划 and 住建 approving, ``design_opinions`` holds their votes, and after a
    failed round (1 of 3) ``design_history`` holds the archived round.

    ``WorkflowRunner.current_data`` read the top workflow's ``last_task`` (or its root), which a step inside a
    subprocess never moves, so the state showed the data the stage started with.
    """
    case_id = at_design_review(engine)
    gc_do(engine, case_id, "guihua", "s2_design", opinion("s2_design", "reject"))
    gc_do(engine, case_id, "zhujian", "s2_design", opinion("s2_design", "approve"))
    gc_do(engine, case_id, "xiaofang", "s2_design", opinion("s2_design", "reject"))
    failed = event_count(engine, case_id)
    engine.handle(CompleteTask(open_task(engine, CLERK, "s2_design_correct")["id"], CLERK,
                               {"correction_note": "已按一次性告知意见修改", "resubmitted": True}))
    gc_do(engine, case_id, "guihua", "s2_design", opinion("s2_design", "approve"))
    gc_do(engine, case_id, "zhujian", "s2_design", opinion("s2_design", "approve"))
    passed = event_count(engine, case_id)

    after_failure = case_data(engine, case_id, failed)
    assert after_failure.get("design_history") == [["reject", "approve", "reject"]], after_failure
    after_pass = case_data(engine, case_id, passed)
    assert after_pass.get("design_opinions") == ["approve", "approve"], after_pass
    assert after_pass.get("design_history") == [["reject", "approve", "reject"]], after_pass


def test_each_vote_of_a_running_countersign_shows_the_opinions_given_so_far(engine):
    """A vote that does not decide the 会签 leaves the opinions collected so far, not the voter's stale copy."""
    case_id = at_design_review(engine)
    started = event_count(engine, case_id)
    gc_do(engine, case_id, "guihua", "s2_design", opinion("s2_design", "reject"))
    first = event_count(engine, case_id)
    gc_do(engine, case_id, "xiaofang", "s2_design", opinion("s2_design", "approve"))

    assert "design_opinions" not in case_data(engine, case_id, started)
    assert case_data(engine, case_id, first)["design_opinions"] == ["reject"]
    assert case_data(engine, case_id)["design_opinions"] == ["reject", "approve"]
    assert case_data(engine, case_id)["stage_passed"] == "pass"       # stage 1's conclusion, carried into stage 2


def test_the_state_follows_the_case_from_stage_to_stage_and_back_after_a_return(engine):
    """Every step of stage 1 shows its own result; a 退回 shows the data the reopened step sees again."""
    case_id = gongcheng_case(engine, "social")
    gc_do(engine, case_id, "fagai", "s1_accept", GC_ACCEPT)
    accepted = event_count(engine, case_id)
    gc_do(engine, case_id, "guihua", "s1_review", opinion("s1_review", "approve"))
    gc_do(engine, case_id, "fagai", "s1_review", opinion("s1_review", "reject"))
    reviewed = event_count(engine, case_id)
    engine.handle(ReturnTask(open_task(engine, FAGAI, "s1_conclude")["id"], FAGAI, "立项意见需重新研究"))

    assert case_data(engine, case_id, accepted)["accept_note"] == "材料齐全，予以受理"
    assert "s1_opinions" not in case_data(engine, case_id, accepted)
    assert case_data(engine, case_id, reviewed)["s1_opinions"] == ["approve", "reject"]
    returned = case_data(engine, case_id)
    assert "s1_opinions" not in returned and returned["accept_note"] == "材料齐全，予以受理"
