"""QA F16: the parallel approval grants (办结) only when all three departments agree, else ends 不予许可.

Each branch copies its department's conclusion into its own variable before the join, so a later 同意 no
longer overwrites an earlier 不同意; after the join a gateway picks ``end_done`` or ``end_refused``.
"""
from __future__ import annotations

import pytest

from engine import Actor, CompleteTask, StartCase
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN, deploy_shipped, open_task

AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
REVIEWS = {"review_zhujian": ZHUJIAN, "review_guihua": GUIHUA, "review_xiaofang": XIAOFANG}
REFUSE = {"approved": "reject", "opinion": "不同意：消防通道宽度不足"}


def run_case(engine, refusing: str | None = None) -> int:
    """Accept, then complete the three reviews, the refusing one (if any) first so the others come after it."""
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"},
                                      title="某项目施工许可")).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    order = sorted(REVIEWS, key=lambda element: element != refusing)      # stable: the refuser moves first
    for element in order:
        actor = REVIEWS[element]
        engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor,
                                   REFUSE if element == refusing else APPROVE))
    return case_id


def ends_passed(engine, case_id: int) -> list[str]:
    passed = [element for e in engine.queries.events(case_id) if e.event_type == "FlowAdvanced"
              for element in e.payload["elements"]]
    return [element for element in passed if element.startswith("end_")]


def test_three_agreements_end_at_end_done(engine):
    case_id = run_case(engine)
    assert engine.queries.case(CLERK, case_id)["status"] == "completed"
    assert ends_passed(engine, case_id) == ["end_done"]
    assert engine.queries.events(case_id)[-1].event_type == "CaseCompleted"
    path = {step["element_id"]: step["name"] for step in engine.history.overview(AUDITOR, case_id).path}
    assert path["all_agreed_gw"] == "是否全部同意" and path["end_done"] == "办结" and "end_refused" not in path


@pytest.mark.parametrize("refusing", ["review_zhujian", "review_guihua", "review_xiaofang"])
def test_one_refusal_ends_at_end_refused_even_when_the_others_agree_after_it(engine, refusing):
    case_id = run_case(engine, refusing)
    case = engine.queries.case(CLERK, case_id)
    assert case["status"] == "completed" and {t["state"] for t in case["tasks"]} == {"completed"}
    assert ends_passed(engine, case_id) == ["end_refused"]
    assert engine.queries.events(case_id)[-1].event_type == "CaseCompleted"
    overview = engine.history.overview(AUDITOR, case_id)
    path = {step["element_id"]: step["name"] for step in overview.path}
    assert path["end_refused"] == "不予许可" and "end_done" not in path
    assert {"record_zhujian", "record_guihua", "record_xiaofang", "join", "all_agreed_gw"} <= set(path)
    assert overview.integrity.ok
    # Every department's conclusion survives the join under its own name.
    final = engine.history.state_at(AUDITOR, case_id, case["event_count"])["data"]
    department = refusing.removeprefix("review_")
    assert final[f"{department}_approved"] == "reject"
    assert [final[f"{d}_approved"] for d in ("zhujian", "guihua", "xiaofang") if d != department] == \
        ["approve", "approve"]
