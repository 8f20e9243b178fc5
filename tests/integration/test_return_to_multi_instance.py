"""退回 to a finished multi-instance review: a single reviewer reviews again, a 会签 runs again for everyone.

The engine here keeps no workflow cache, so every command restores the workflow from its compacted snapshot.
Each case is then replayed from its record and its chain verified: the 退回 must replay identically. On
SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from engine import (
    CST, Actor, CompleteTask, Conflict, DeployDefinitions, EngineConfig, ManualClock, Replayer, ReturnTask,
    StartCase, bootstrap, verify_case,
)
from tests.conftest import ROOT
from tests.gongcheng_helpers import (
    FAGAI, GC_ACCEPT, GC_PASS, SHENGTAI, at_design_review, case_data, gc_do, gc_states, gc_task, gongcheng_case,
    open_elements, opinion,
)
from engine.persistence.models import TaskItem as TaskRow
from engine.separation import SeparationOfDuties
from tests.helpers import CLERK, ZHUJIAN, ZHUJIAN_2, deploy_shipped, open_task

HEAD_ZJ = Actor("head_zj", ("department_head",), "500103", "zhujian")
PERMIT_RECEIVE = {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "standard",
                  "received_materials": "申请书、营业执照", "originals_checked": True}
PERMIT_ACCEPT = {"intake_decision": "accept", "review_note": "材料齐全，符合法定形式"}
PERMIT_RECEIPT = {"receipt_no": "渝中受〔2026〕0001 号"}
PERMIT_REVIEW = {"review_result": {"conclusion": "meets", "opinion": "符合法定条件", "site_checked": True}}


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 CST: a working day with no holiday within the stages' budgets."""
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def engine(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator:
    """An engine without a workflow cache, so each command reads the compacted snapshot back."""
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials",
                                 archives_dir=tmp_path / "archives", workflow_cache_size=0), clock=clock)
    yield eng
    eng.close()


def returned_events(engine, case_id: int) -> list:
    return [e for e in engine.queries.events(case_id) if e.event_type == "TaskReturned"]


def assert_replays_and_verifies(engine, case_id: int) -> None:
    case_no = engine.queries.case(CLERK, case_id)["case_no"]
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_no)
    assert (result.identical, result.divergence) == (True, None)
    check = verify_case(engine, case_id)
    assert (check.ok, check.reason) == (True, None)


def permit_reviewed(engine, substantive_check: bool) -> int:
    """A 排水许可 case received and accepted at 渝中区's window, whose 审查 is open (1 or 2 instances)."""
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("standard_permit", CLERK, title="排水许可申请", data={
        "department": "zhujian", "substantive_check": substantive_check})).case_id
    for element, data in (("receive", PERMIT_RECEIVE), ("formal_review", PERMIT_ACCEPT),
                          ("accept_on_spot", PERMIT_RECEIPT)):
        engine.handle(CompleteTask(open_task(engine, CLERK, element)["id"], CLERK, data))
    return case_id


def open_reviews(engine, case_id: int) -> list[int]:
    return [t["id"] for t in engine.queries.case(CLERK, case_id)["tasks"]
            if t["element_id"] == "review" and t["state"] == "open"]


# --- one reviewer -------------------------------------------------------------------------------------------------

def test_a_permit_decision_can_be_returned_to_its_single_reviewer(engine, clock):
    """退回 from 许可决定 reaches 审查 when one person reviewed (no 实质核查): it is no multi-person 会签.

    The standard permit's 审查 is a multi-instance task whose count is ``2 if substantive_check else 1``.
    Without 实质核查 exactly one reviewer reviewed, so the department head's 退回 reopens that review (the
    commonest 退回 of a permit: 审查意见不充分). It was refused with 409 ``RETURN_ACROSS_JOIN`` and the untrue
    reason 上一步是会签环节“review”，由多人办理, naming the element id instead of 审查.
    """
    case_id = permit_reviewed(engine, substantive_check=False)
    engine.handle(CompleteTask(open_task(engine, ZHUJIAN, "review")["id"], ZHUJIAN, PERMIT_REVIEW))
    decide = open_task(engine, HEAD_ZJ, "decide")

    clock.advance(minutes=30)
    engine.handle(ReturnTask(decide["id"], HEAD_ZJ, "审查意见不充分，请补充现场核查情况"))

    reopened = open_task(engine, ZHUJIAN, "review")
    assert reopened["id"] != decide["id"]
    states = [(t["element_id"], t["state"]) for t in engine.queries.case(CLERK, case_id)["tasks"]]
    assert states[-3:] == [("review", "completed"), ("decide", "cancelled"), ("review", "open")]
    (returned,) = returned_events(engine, case_id)
    assert returned.payload["to_element_id"] == "review"
    clock.advance(minutes=30)
    engine.handle(CompleteTask(reopened["id"], ZHUJIAN, PERMIT_REVIEW))
    assert open_task(engine, HEAD_ZJ, "decide")["id"] > reopened["id"]
    assert_replays_and_verifies(engine, case_id)


# --- a 会签 -------------------------------------------------------------------------------------------------------

def test_after_a_return_to_a_substantive_review_both_reviewers_review_again_and_still_apart(engine, clock):
    """实质核查 by two staff (第三十四条): after 退回 each may redo a review (a new round), and one person still
    may not do both reviews of that round (separation of duties binds within a round)."""
    case_id = permit_reviewed(engine, substantive_check=True)
    first, second = open_reviews(engine, case_id)
    engine.handle(CompleteTask(first, ZHUJIAN, PERMIT_REVIEW))
    engine.handle(CompleteTask(second, ZHUJIAN_2, PERMIT_REVIEW))
    clock.advance(minutes=30)
    engine.handle(ReturnTask(open_task(engine, HEAD_ZJ, "decide")["id"], HEAD_ZJ, "两份审查意见不一致，请重新审查"))

    again = open_reviews(engine, case_id)
    assert len(again) == 2 and not set(again) & {first, second}
    engine.handle(CompleteTask(again[0], ZHUJIAN_2, PERMIT_REVIEW))
    with pytest.raises(SeparationOfDuties):
        engine.handle(CompleteTask(again[1], ZHUJIAN_2, PERMIT_REVIEW))
    engine.handle(CompleteTask(again[1], ZHUJIAN, PERMIT_REVIEW))
    assert open_task(engine, HEAD_ZJ, "decide")
    assert_replays_and_verifies(engine, case_id)


def test_each_return_to_a_substantive_review_opens_a_round_of_its_own(engine, clock):
    """Two 退回 in a row: the third round's reviews share an activation of their own, not the second's.

    Separation of duties binds within a round. A reviewer who did one review in the second round may do one in
    the third; within the third, one person still may not do both.
    """
    case_id = permit_reviewed(engine, substantive_check=True)
    activations = []
    for round_no in range(3):
        reviews = open_reviews(engine, case_id)
        assert len(reviews) == 2
        with engine.database.engine.connect() as conn:
            found = set(conn.scalars(select(TaskRow.activation).where(TaskRow.id.in_(reviews))))
        assert len(found) == 1
        activations.append(found.pop())
        engine.handle(CompleteTask(reviews[0], ZHUJIAN_2, PERMIT_REVIEW))
        with pytest.raises(SeparationOfDuties):
            engine.handle(CompleteTask(reviews[1], ZHUJIAN_2, PERMIT_REVIEW))
        engine.handle(CompleteTask(reviews[1], ZHUJIAN, PERMIT_REVIEW))
        if round_no < 2:
            clock.advance(minutes=30)
            engine.handle(ReturnTask(open_task(engine, HEAD_ZJ, "decide")["id"], HEAD_ZJ, "请重新审查"))
    assert len(set(activations)) == 3
    assert open_task(engine, HEAD_ZJ, "decide")
    assert_replays_and_verifies(engine, case_id)


def test_a_return_to_a_countersign_reruns_it_for_every_department(engine, clock):
    """退回 from 阶段办结 to the stage-1 会签: both departments review again, from the data the 会签 started with.

    It was refused (RETURN_ACROSS_JOIN); walking past it to 受理 would silently drop both opinions, and picking
    one department would be arbitrary. The first round's opinions stay in the event log, not in the data.
    """
    case_id = gongcheng_case(engine, "social")
    gc_do(engine, case_id, "fagai", "s1_accept", GC_ACCEPT)
    gc_do(engine, case_id, "guihua", "s1_review", opinion("s1_review", "approve"))
    gc_do(engine, case_id, "fagai", "s1_review", opinion("s1_review", "reject"))

    clock.advance(minutes=30)
    engine.handle(ReturnTask(gc_task(engine, case_id, "fagai", "s1_conclude")["id"], FAGAI, "立项意见需重新研究"))

    assert gc_states(engine, case_id, "s1_review") == [
        ("fagai", "completed"), ("guihua", "completed"), ("fagai", "open"), ("guihua", "open")]
    assert gc_states(engine, case_id, "s1_conclude") == [("fagai", "cancelled")]
    (returned,) = returned_events(engine, case_id)
    assert (returned.element_id, returned.payload["to_element_id"]) == ("s1_conclude", "s1_review")
    assert "s1_opinions" not in case_data(engine, case_id)

    clock.advance(minutes=30)
    gc_do(engine, case_id, "fagai", "s1_review", opinion("s1_review", "approve"))
    gc_do(engine, case_id, "guihua", "s1_review", opinion("s1_review", "approve"))
    assert open_elements(engine, case_id) == ["s1_conclude"]
    assert case_data(engine, case_id)["s1_opinions"] == ["approve", "approve"]
    gc_do(engine, case_id, "fagai", "s1_conclude", GC_PASS)
    assert open_elements(engine, case_id) == ["s2_accept"]
    assert_replays_and_verifies(engine, case_id)


def test_returning_one_department_of_a_running_review_reruns_the_finished_countersign_before_it(engine, clock):
    """Returning one instance of a running 会签 goes to the step before that 会签; here that step is the
    设计方案会审, which runs again for its three departments while the other instance is withdrawn."""
    case_id = at_design_review(engine)
    gc_do(engine, case_id, "guihua", "s2_design", opinion("s2_design", "approve"))
    gc_do(engine, case_id, "zhujian", "s2_design", opinion("s2_design", "approve"))
    assert sorted(open_elements(engine, case_id)) == ["s2_review", "s2_review"]

    clock.advance(minutes=30)
    review = gc_task(engine, case_id, "shengtai", "s2_review")
    engine.handle(ReturnTask(review["id"], SHENGTAI, "设计方案未体现环评要求，请重新会审"))

    assert gc_states(engine, case_id, "s2_review") == [("guihua", "cancelled"), ("shengtai", "cancelled")]
    assert gc_states(engine, case_id, "s2_design")[3:] == [("guihua", "open"), ("zhujian", "open"),
                                                          ("xiaofang", "open")]
    (returned,) = returned_events(engine, case_id)
    assert returned.payload["to_element_id"] == "s2_design"
    gc_do(engine, case_id, "xiaofang", "s2_design", opinion("s2_design", "approve"))
    gc_do(engine, case_id, "zhujian", "s2_design", opinion("s2_design", "approve"))
    assert sorted(open_elements(engine, case_id)) == ["s2_review", "s2_review"]
    assert case_data(engine, case_id)["design_opinions"] == ["approve", "approve"]
    assert_replays_and_verifies(engine, case_id)


# --- a multi-instance that is no user task -------------------------------------------------------------------------

TALLY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_tally" targetNamespace="http://tongban.test">
  <bpmn:process id="tally_return" name="汇总后决定" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="apply"/>
    <bpmn:userTask id="apply" name="收件">
      <bpmn:extensionElements><tb:assignment candidateGroups="window_clerk@${receiving}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="apply" targetRef="tally"/>
    <bpmn:scriptTask id="tally" name="逐项汇总">
      <bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>counted = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="tally" targetRef="decide"/>
    <bpmn:userTask id="decide" name="决定">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}/zhujian"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_return_past_a_finished_multi_instance_that_is_no_user_task_is_refused_by_its_name(engine):
    """Nobody is asked again at a multi-instance script, and walking past it is refused as before: the reason
    names the step in Chinese and says what it is, and nothing changes."""
    engine.handle(DeployDefinitions((("tally_return.bpmn", TALLY.encode()),)))
    case_id = engine.handle(StartCase("tally_return", CLERK)).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {}))
    decide = open_task(engine, ZHUJIAN, "decide")
    before = engine.queries.case(CLERK, case_id)

    with pytest.raises(Conflict) as refused:
        engine.handle(ReturnTask(decide["id"], ZHUJIAN, "退回"))

    assert (refused.value.code, refused.value.details["element_id"]) == ("RETURN_ACROSS_JOIN", "tally")
    assert "“逐项汇总”" in refused.value.message and "多实例" in refused.value.message
    after = engine.queries.case(CLERK, case_id)
    assert (after["event_count"], after["tasks"]) == (before["event_count"], before["tasks"])
