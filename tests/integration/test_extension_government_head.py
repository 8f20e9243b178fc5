"""The 45-day joint procedure's extension is approved by 本级人民政府负责人 (行政许可法第四十二条第二款).

Before, the head of the matter's lead department (牵头部门) stood in: 住建's head approved 工改's 15-day extension
and found it in their queue. Now each request records whose approval it waits for (``approver_role``): the
district government's head (``government_head``) for a joint procedure's clock, else a head of the 承办部门 as
before. Histories recorded while the lead department's head approved still replay and verify.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import (
    CST, Actor, CompleteTask, DecideExtension, ExtendDeadline, ExtensionApproverRequired, ManualClock, NotFound,
    Replayer, RequestExtension, StartCase, WithdrawExtension, ensure_calendar_seeded, read_history, verify_history,
)
from tests.goldens import HISTORIES
from tests.integration.test_extension_department import reads
from tests.helpers import CLERK, deploy_shipped, open_task

REVIEWER_FG = Actor("reviewer_fg", ("reviewer",), "500103", "fagai")
HEAD_ZJ = Actor("head_zj", ("department_head",), "500103", "zhujian")          # the lead department's head
HEAD_FG = Actor("head_fg", ("department_head", "reviewer"), "500103", "fagai")  # reads the case: 发改 受理
GOV = Actor("gov_yz", ("government_head",), "500103", None)
GOV_WZ = Actor("gov_wz", ("government_head",), "500101", None)
ACCEPT = {"materials_complete": True, "accept_note": "材料齐全，予以受理"}
WHY = "联合审图意见分歧，需组织专家论证"
GOLDEN = HISTORIES / "gongcheng_joint_extension_by_lead_department.json"


@pytest.fixture
def clock() -> ManualClock:
    """Monday 2026-03-02 09:00 CST: stage 1 is accepted today, its 45 working days end 2026-05-08."""
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def people(engine):
    """Calendar, shipped files, and the district's 发改 reviewer, two department heads and two government heads."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    for who in (REVIEWER_FG, HEAD_ZJ, HEAD_FG, GOV, GOV_WZ):
        engine.identity.create_user(who.username, display_name=who.username, roles=who.roles,
                                    district=who.district, department=who.department)
    return engine


def gongcheng(engine, category: str = "social") -> int:
    """A 工改 case of 渝中区 (承办部门 住建) whose stage 1 is accepted: the 45-day legal clock runs."""
    case_id = engine.handle(StartCase("gongcheng", CLERK, {"project_name": "渝中区某综合楼", "project_category": category,
                                                           "department": "zhujian"})).case_id
    engine.handle(CompleteTask(open_task(engine, REVIEWER_FG, "s1_accept")["id"], REVIEWER_FG, ACCEPT))
    return case_id


def clocks(engine, case_id) -> dict:
    return {c["kind"]: c for c in engine.queries.case(CLERK, case_id)["clocks"]}


def written(engine, case_id) -> tuple[int, int]:
    case = engine.queries.case(CLERK, case_id)
    return case["version"], case["event_count"]




def test_a_joint_procedure_request_waits_for_the_government_head_not_the_lead_departments(people, clock):
    engine = people
    case_id = gongcheng(engine)
    assert (clocks(engine, case_id)["legal"]["extension_approver_role"],
            clocks(engine, case_id)["legal"]["due_date"]) == ("government_head", "2026-05-08")
    request = engine.handle(RequestExtension(case_id, CLERK, 15, WHY, told_to_applicant=True))
    assert (request["approver_role"], request["approver_label"]) == ("government_head", "本级人民政府负责人")
    before = written(engine, case_id)
    for head in (HEAD_ZJ, HEAD_FG):
        for approve in (True, False):
            with pytest.raises(ExtensionApproverRequired) as refused:
                engine.handle(DecideExtension(request["id"], head, approve, "同意" if approve else "不同意"))
            assert "本级人民政府负责人" in refused.value.message and "第四十二条第二款" in refused.value.message
            assert refused.value.details == {"approver_role": "government_head", "approver": "本级人民政府负责人",
                                             "district": "500103"}
            assert refused.value.http_status == 403
    with pytest.raises(NotFound):                                   # another district's government head
        engine.handle(DecideExtension(request["id"], GOV_WZ, True))
    assert written(engine, case_id) == before

    clock.advance(hours=2)
    approved = engine.handle(DecideExtension(request["id"], GOV, True, "同意延长"))
    assert (approved["state"], approved["decided_by"]) == ("approved", "gov_yz")
    legal = clocks(engine, case_id)["legal"]
    assert (legal["extended_days"], legal["due_date"]) == (15, "2026-05-28")   # 05-08 + 15 WD (05-09 works)
    (extended,) = [e for e in engine.queries.events(case_id) if e.event_type == "DeadlineExtended"]
    assert (extended.actor, extended.payload["approved_by"]) == ("gov_yz", "gov_yz")


def test_a_department_head_cannot_extend_a_joint_procedure_clock_directly_and_the_government_head_can(people):
    engine = people
    case_id = gongcheng(engine)
    assert reads(engine, HEAD_FG, case_id)                          # through 发改's 受理
    before = written(engine, case_id)
    with pytest.raises(ExtensionApproverRequired) as refused:
        engine.handle(ExtendDeadline(case_id, HEAD_FG, 15, WHY))
    assert refused.value.details["approver_role"] == "government_head"
    with pytest.raises(NotFound):                                   # no one asked the government head yet
        engine.handle(ExtendDeadline(case_id, GOV, 15, WHY))
    assert written(engine, case_id) == before

    # Asked once (even if withdrawn), the government head reads the case and may extend by acting.
    request = engine.handle(RequestExtension(case_id, CLERK, 10, WHY))["id"]
    engine.handle(WithdrawExtension(request, CLERK))
    assert reads(engine, GOV, case_id) and not reads(engine, GOV_WZ, case_id)
    with pytest.raises(NotFound):
        engine.handle(ExtendDeadline(case_id, GOV_WZ, 15, WHY))
    engine.handle(ExtendDeadline(case_id, GOV, 15, WHY, told_to_applicant=True))
    assert clocks(engine, case_id)["legal"]["extended_days"] == 15


def test_a_clock_that_is_no_joint_procedure_stays_with_the_handling_departments_head(people):
    """工改's committed clock of an industrial project is 15 working days: 第一款, the 承办部门's head approves."""
    engine = people
    case_id = gongcheng(engine, "industrial")
    assert clocks(engine, case_id)["committed"]["extension_approver_role"] == "department_head"
    request = engine.handle(RequestExtension(case_id, CLERK, 5, WHY, clock="committed"))
    assert request["approver_role"] == "department_head"
    with pytest.raises(ExtensionApproverRequired) as refused:
        engine.handle(DecideExtension(request["id"], GOV, True))
    assert refused.value.details == {"approver_role": "department_head", "approver": "承办部门的科室负责人",
                                     "department": "zhujian"}
    assert [r["id"] for r in engine.queries.extension_requests(GOV)] == []
    assert not reads(engine, GOV, case_id)
    assert engine.handle(DecideExtension(request["id"], HEAD_ZJ, True))["state"] == "approved"
    assert clocks(engine, case_id)["committed"]["extended_days"] == 5


def test_the_queues_give_the_government_head_the_joint_requests_and_no_department_head(people):
    engine = people
    joint_case = gongcheng(engine)
    joint = engine.handle(RequestExtension(joint_case, CLERK, 15, WHY))["id"]
    other_case = engine.handle(StartCase("parallel_approval", CLERK, {"department": "zhujian"})).case_id
    other = engine.handle(RequestExtension(other_case, CLERK, 5, WHY))["id"]
    queries = engine.queries

    def queue(actor, **kwargs):
        return [(r["id"], r["may_decide"]) for r in queries.extension_requests(actor, **kwargs)]
    assert queue(GOV) == queue(GOV, deciding=True) == [(joint, True)]
    assert queries.count_extension_requests(GOV) == queries.count_extension_requests(GOV, deciding=True) == 1
    assert reads(engine, GOV, joint_case) and not reads(engine, GOV, other_case)
    # The lead department's head is asked for the 第一款 request only, and no longer reads the 工改 case.
    assert queue(HEAD_ZJ) == queue(HEAD_ZJ, deciding=True) == [(other, True)]
    assert queries.count_extension_requests(HEAD_ZJ, deciding=True) == 1 and not reads(engine, HEAD_ZJ, joint_case)
    # A head who reads the 工改 case (their department's 受理) lists its request, but not as theirs to decide.
    assert queue(HEAD_FG) == [(joint, False)]
    assert queue(HEAD_FG, deciding=True) == [] and queries.count_extension_requests(HEAD_FG, deciding=True) == 0
    assert queue(GOV_WZ) == [] and queries.count_extension_requests(GOV_WZ, state="all") == 0
    assert [(r["id"], r["may_decide"]) for r in queries.extension_requests(CLERK)] == [(joint, False), (other, False)]


def test_a_decision_by_the_lead_departments_head_recorded_before_the_rule_still_replays(people):
    """Replay re-issues recorded decisions with ``on_record``: then the lead department's head approved."""
    engine = people
    case_id = gongcheng(engine)
    request = engine.handle(RequestExtension(case_id, CLERK, 15, WHY))
    engine.handle(DecideExtension(request["id"], HEAD_ZJ, True, "同意延长", on_record=True))
    assert clocks(engine, case_id)["legal"]["extended_days"] == 15
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def test_the_golden_recorded_before_the_rule_holds_the_lead_departments_approvals_and_replays(people):
    """Recorded by the old code: 住建's head approved the legal clock's 15 days and extended the committed one."""
    history = read_history(GOLDEN)
    roles = {u["username"]: u["roles"] for u in history.users}
    decided = [(e.event_type, e.actor, e.payload.get("clock")) for e in history.events
               if e.event_type in ("ExtensionApproved", "DeadlineExtended")]
    assert decided == [("ExtensionApproved", "head_zj", None), ("DeadlineExtended", "head_zj", "legal"),
                       ("DeadlineExtended", "head_zj", "committed")]
    assert roles["head_zj"] == ["department_head"]
    check = verify_history(history)
    assert (check.ok, check.reason) == (True, None)
    with Replayer(people) as replayer:
        result = replayer.replay_history(history)
    assert result.divergence is None and result.identical
