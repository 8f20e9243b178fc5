"""工改 parallel approvals joined ANY: one milestone permit granted moves the stage on, a rejection does not.

processes/gongcheng/targets.yaml: ANY means 任一里程碑事项办结即进入下一阶段（其余并联事项撤回）, one milestone permit
granted. A department's 不同意 grants nothing, so the join counts approvals. When every department rejects, the
multi-instance ends with the last opinion and the stage goes to its lead's 阶段办结 with all of them, as an ALL
stage does; the lead's 不予许可 ends the case at the stage's refusal end. On SQLite and PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from lxml import etree

from engine import CST, ManualClock
from engine.expressions import Evaluator
from tests.conftest import ROOT
from tests.gongcheng_helpers import (
    FAGAI, GC_ACCEPT, GC_FAIL, case_data, gc_do, gc_states, gc_task, gongcheng_case, open_elements, opinion,
)

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 CST: a working day with no holiday within the stages' budgets."""
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


def test_an_any_join_stage_is_not_closed_by_a_first_opinion_that_rejects(engine):
    """一般工业项目's stage 1 joins ANY: the first *approval* moves on; a rejection first must not withdraw the rest.

    The diagram's completion condition counted any opinion (``len(s1_opinions) >= 1``), so when 规划 rejected
    first, 发改's 立项 review was withdrawn before it was decided, and the stage went to 阶段办结 with no
    approval at all. After 规划's rejection 发改's review stays open, and 发改's approval then closes the 会签
    with both opinions on record.
    """
    case_id = gongcheng_case(engine, "industrial")
    gc_do(engine, case_id, "fagai", "s1_accept", GC_ACCEPT)
    gc_do(engine, case_id, "guihua", "s1_review", opinion("s1_review", "reject"))

    assert gc_states(engine, case_id, "s1_review") == [("fagai", "open"), ("guihua", "completed")]
    assert [t["element_id"] for t in engine.queries.tasks(FAGAI).items if t["case_id"] == case_id] == ["s1_review"]
    gc_do(engine, case_id, "fagai", "s1_review", opinion("s1_review", "approve"))
    assert gc_task(engine, case_id, "fagai", "s1_conclude")
    assert case_data(engine, case_id)["s1_opinions"] == ["reject", "approve"]


def test_an_any_join_stage_that_every_department_rejects_goes_to_its_lead_and_ends_refused(engine):
    """No permit granted: the 会签 ends with the last opinion (it does not wait for an approval that cannot come),
    the lead's 阶段办结 sees both rejections, and its 不予许可 takes the stage's refusal path."""
    case_id = gongcheng_case(engine, "industrial")
    gc_do(engine, case_id, "fagai", "s1_accept", GC_ACCEPT)
    gc_do(engine, case_id, "guihua", "s1_review", opinion("s1_review", "reject"))
    gc_do(engine, case_id, "fagai", "s1_review", opinion("s1_review", "reject"))

    assert gc_states(engine, case_id, "s1_review") == [("fagai", "completed"), ("guihua", "completed")]
    assert open_elements(engine, case_id) == ["s1_conclude"]
    assert case_data(engine, case_id)["s1_opinions"] == ["reject", "reject"]
    ended = gc_do(engine, case_id, "fagai", "s1_conclude", GC_FAIL)

    assert ended.status == "completed"
    passed = [e for e in engine.queries.events(case_id) if e.event_type == "FlowAdvanced"]
    elements = [el for e in passed for el in e.payload["elements"]]
    assert "stage1_refused" in elements and "plan_gw" not in elements
    assert open_elements(engine, case_id) == []


@pytest.mark.parametrize("element", ["s1_review", "s2_review", "s3_review"])
def test_every_stage_approval_joined_any_completes_on_an_approval_only(element):
    """The three 并联审批 of the shipped diagram: ANY completes on the first approval and never on rejections
    alone; ALL never completes early (the multi-instance then ends when every department has answered)."""
    root = etree.parse(str(ROOT / "processes" / "gongcheng" / "main.bpmn")).getroot()
    (task,) = [t for t in root.iter(f"{BPMN}userTask") if t.get("id") == element]
    condition = task.find(f"{BPMN}multiInstanceLoopCharacteristics/{BPMN}completionCondition").text
    stage = element.split("_")[0]

    def completes(join: str, opinions: list[str]) -> bool:
        return bool(Evaluator().evaluate(condition, {f"{stage}_join": join, f"{stage}_opinions": opinions}))

    assert [completes("ANY", o) for o in ([], ["reject"], ["reject", "reject"], ["reject", "approve"],
                                          ["approve"])] == [False, False, False, True, True]
    assert [completes("ALL", o) for o in ([], ["reject"], ["approve"], ["approve", "approve"])] == [False] * 4
