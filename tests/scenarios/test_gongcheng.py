"""工改 (processes/gongcheng) over HTTP on the manual clock, as the departments of 渝中区.

The four stages each open with the lead department's 受理 and close with its 阶段办结; inside, the
departments approve in parallel (multi-instance over the stage's department list), joined ALL or ANY as
the project category configures (processes/gongcheng/targets.yaml). 联合审图 and 联合验收 collect every
opinion and send the case back to the applicant on any rejection; 设计方案会审 passes on 2 of 3.

T0 is Monday 2026-03-02 (stage 1 受理). 2026 facts used: 04-04..06 清明, 05-01..05 劳动节, 05-09 (Saturday)
is a 调休 working day.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine
from engine import CST, ManualClock, ensure_calendar_seeded
from engine.org_file import parse_org_file
from tests.conftest import ROOT
from tests.goldens import record_golden

from .conftest import Caller
from .test_http_api import assert_error, complete, get_case, inbox, upload

# who: (username, roles, department) in 渝中区 (500103), besides the conftest cast
DEPARTMENTS = {
    "fagai": ("reviewer_fg", ("reviewer",), "fagai"),
    "shengtai": ("reviewer_st", ("reviewer",), "shengtai"),
    "renfang": ("reviewer_rf", ("reviewer",), "renfang"),
    "head": ("head_zj", ("department_head",), "zhujian"),
    "gov": ("gov_yz", ("government_head",), None),        # 渝中区 本级人民政府负责人 (第四十二条第二款)
}
ACCEPT = {"materials_complete": True, "accept_note": "材料齐全，予以受理"}
PASS = {"stage_passed": "pass", "stage_conclusion": "各部门意见均同意，本阶段办结", "approval_doc_no": "渝中工改〔2026〕1号"}
CORRECTED = {"correction_note": "已按一次性告知意见修改", "resubmitted": True}


def opinion(element: str, verdict: str) -> dict[str, Any]:
    """Form data of a department opinion at a multi-instance element (each has its own output key)."""
    key = {"s1_review": "s1_approved", "s2_review": "s2_approved", "s3_review": "s3_approved",
           "s2_design": "design_approved", "s3_drawing": "drawing_approved", "s4_joint": "acceptance_approved"}
    return {key[element]: verdict, "opinion": "同意" if verdict == "approve" else "不符合规范，需修改"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def people(app: Any, client: FlaskClient, cast: dict[str, Caller]) -> dict[str, Caller]:
    """The cast plus 发改, 生态环境, 人防 (a department added to 渝中区), a 住建 head and the district's government head."""
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    engine.org.load(parse_org_file("departments:\n  - {district: '500103', code: renfang, name: 人民防空办公室}\n",
                                   "yaml"))
    people = dict(cast)
    for who, (username, roles, department) in DEPARTMENTS.items():
        engine.identity.create_user(username, display_name=username, roles=roles, district="500103",
                                    department=department)
        token = engine.identity.create_token(username, label="scenario")
        people[who] = Caller(username, {"Authorization": f"Bearer {token}"})
    folder = ROOT / "processes" / "gongcheng"
    files: list[Path] = [folder / "main.bpmn", folder / "matters.yaml", *sorted((ROOT / "forms").glob("*.form"))]
    response = upload(client, people["designer"], [(p.name, p.read_bytes()) for p in files])
    assert response.status_code == 201, response.get_data(as_text=True)
    return people


class Story:
    """One 工改 case driven over HTTP; remembers which element each department worked."""

    def __init__(self, client: FlaskClient, people: dict[str, Caller], clock: ManualClock, category: str):
        self.client, self.people, self.clock = client, people, clock
        response = client.post("/api/v1/cases", headers=people["clerk"].headers, json={
            "process_key": "gongcheng", "title": "渝中区某项目工程建设审批",
            "data": {"project_name": "渝中区某综合楼", "project_category": category}})
        assert response.status_code == 201, response.get_data(as_text=True)
        self.case_id = response.get_json()["case_id"]
        self.worked: dict[str, list[str]] = {}

    def open_tasks(self, who: str) -> list[dict[str, Any]]:
        """The open tasks of this case in ``who``'s inbox."""
        return [t for t in inbox(self.client, self.people[who])["items"]
                if t["case_id"] == self.case_id and t["state"] == "open"]

    def task(self, who: str, element: str) -> dict[str, Any]:
        """``who``'s one open task at ``element``."""
        found = [t for t in self.open_tasks(who) if t["element_id"] == element]
        assert len(found) == 1, (who, element, self.open_tasks(who))
        return found[0]

    def do(self, who: str, element: str, data: dict[str, Any]) -> dict[str, Any]:
        """Complete ``who``'s task at ``element``; return the task as it was in the inbox."""
        task = self.task(who, element)
        response = complete(self.client, self.people[who], task["id"], data)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.worked.setdefault(who, []).append(element)
        return task

    def review(self, element: str, verdicts: dict[str, str]) -> None:
        """Each department in ``verdicts`` gives its opinion at the multi-instance ``element``, in order."""
        for who, verdict in verdicts.items():
            self.do(who, element, opinion(element, verdict))

    def case(self) -> dict[str, Any]:
        """The case as the clerk sees it."""
        return get_case(self.client, self.people["clerk"], self.case_id)

    def clocks(self) -> dict[str, dict[str, Any]]:
        """The case's clocks by kind."""
        return {c["kind"]: c for c in self.case()["clocks"]}

    def states(self, element: str) -> list[str]:
        """The state of every task the case had at ``element``, oldest first."""
        return [t["state"] for t in self.case()["tasks"] if t["element_id"] == element]

    def by_department(self, element: str) -> list[tuple[str, str]]:
        """(department, state) of every task the case had at ``element``, oldest first."""
        return [(t["candidate_groups"][0].rsplit("/", 1)[-1], t["state"]) for t in self.case()["tasks"]
                if t["element_id"] == element]

    def advanced(self, engine: Any) -> list[str]:
        """Every non-user element the case passed (gateways, scripts, events, subprocesses), from its audit log."""
        return [e for row in engine.queries.events(self.case_id) if row.event_type == "FlowAdvanced"
                for e in row.payload["elements"]]

    def at(self, month: int, day: int, hour: int = 9) -> None:
        """Move the manual clock."""
        self.clock.set(datetime(2026, month, day, hour, 0, tzinfo=CST))

    def stage_3_and_4(self) -> None:
        """Run stages 3 and 4 with every department agreeing."""
        self.do("zhujian", "s3_accept", ACCEPT)
        self.review("s3_drawing", {"zhujian": "approve", "xiaofang": "approve", "renfang": "approve"})
        self.review("s3_review", {"zhujian": "approve"})
        self.do("zhujian", "s3_conclude", PASS)
        self.do("zhujian", "s4_accept", ACCEPT)
        self.review("s4_joint", {"guihua": "approve", "xiaofang": "approve", "renfang": "approve"})
        self.do("zhujian", "s4_conclude", PASS)


def due_day(task: dict[str, Any]) -> str:
    """The last working day of a task's budget (its due instant is midnight after it, CST)."""
    due = datetime.fromisoformat(task["due_at"]).astimezone(CST)
    return (due.date().fromordinal(due.date().toordinal() - 1)).isoformat()


def test_a_social_investment_project_runs_all_four_stages_with_every_department(app, client, people, clock):
    story = Story(client, people, clock, "social")
    assert story.clocks()["committed"]["status"] == "not_started"
    assert [t["element_id"] for t in story.open_tasks("fagai")] == ["s1_accept"]
    assert story.open_tasks("zhujian") == [] and story.open_tasks("guihua") == []

    accept = story.do("fagai", "s1_accept", ACCEPT)                   # 一家牵头: 发改 opens stage 1
    assert due_day(accept) == "2026-03-03"                            # 受理 within 1 working day
    clocks = story.clocks()
    assert (clocks["legal"]["budget"], clocks["legal"]["due_date"]) == ("45 个工作日", "2026-05-08")
    assert (clocks["committed"]["budget"], clocks["committed"]["due_date"]) == ("50 个工作日", "2026-05-14")

    story.at(3, 4)
    assert due_day(story.task("guihua", "s1_review")) == "2026-03-09"  # created 03-02, 5 working days
    story.review("s1_review", {"guihua": "approve", "fagai": "approve"})   # ALL: waits for both
    story.do("fagai", "s1_conclude", PASS)

    story.at(3, 9)
    story.do("guihua", "s2_accept", ACCEPT)                           # 规划 leads stage 2
    design = story.task("xiaofang", "s2_design")
    assert due_day(design) == "2026-03-16"
    story.review("s2_design", {"guihua": "approve", "zhujian": "approve"})   # 2 of 3: done without 消防
    assert story.by_department("s2_design") == [
        ("guihua", "completed"), ("zhujian", "completed"), ("xiaofang", "cancelled")]
    assert story.open_tasks("xiaofang") == []
    story.review("s2_review", {"shengtai": "approve", "guihua": "approve"})
    story.do("guihua", "s2_conclude", PASS)

    story.at(3, 16)
    story.do("zhujian", "s3_accept", ACCEPT)                          # 住建 leads stage 3
    assert due_day(story.task("renfang", "s3_drawing")) == "2026-03-26"     # 联合审图: 8 working days
    story.review("s3_drawing", {"zhujian": "approve", "xiaofang": "approve", "renfang": "approve"})
    assert [t["element_id"] for t in story.open_tasks("guihua")] == []     # not a party to 施工许可
    story.review("s3_review", {"zhujian": "approve"})
    story.do("zhujian", "s3_conclude", PASS)

    story.at(4, 20)
    story.do("zhujian", "s4_accept", ACCEPT)
    assert due_day(story.task("guihua", "s4_joint")) == "2026-05-07"     # 10 working days around 劳动节
    story.review("s4_joint", {"guihua": "approve", "xiaofang": "approve", "renfang": "approve"})
    story.do("zhujian", "s4_conclude", PASS)

    final = story.case()
    assert final["status"] == "completed"
    assert {c["light"] for c in final["clocks"]} == {"closed"}
    path = [t["element_id"] for t in final["tasks"] if t["state"] == "completed"]
    assert path == ["s1_accept", "s1_review", "s1_review", "s1_conclude",
                    "s2_accept", "s2_design", "s2_design", "s2_review", "s2_review", "s2_conclude",
                    "s3_accept", "s3_drawing", "s3_drawing", "s3_drawing", "s3_review", "s3_conclude",
                    "s4_accept", "s4_joint", "s4_joint", "s4_joint", "s4_conclude"]
    assert story.worked == {
        "fagai": ["s1_accept", "s1_review", "s1_conclude"],
        "guihua": ["s1_review", "s2_accept", "s2_design", "s2_review", "s2_conclude", "s4_joint"],
        "zhujian": ["s2_design", "s3_accept", "s3_drawing", "s3_review", "s3_conclude", "s4_accept",
                    "s4_conclude"],
        "shengtai": ["s2_review"],
        "xiaofang": ["s3_drawing", "s4_joint"],
        "renfang": ["s3_drawing", "s4_joint"],
    }
    passed = story.advanced(get_engine(app))
    assert [e for e in passed if e in ("init", "stage1", "plan_gw", "stage2", "stage3_in", "stage3", "stage4",
                                       "end_done")] == ["init", "stage1", "plan_gw", "stage2", "stage3_in", "stage3",
                                                        "stage4", "end_done"]
    assert not [e for e in passed if e.endswith("_refused") or e.endswith("_archive")]
    assert {t["completed_by"] for t in final["tasks"] if t["element_id"] == "s3_drawing"} == {
        "reviewer_zj", "reviewer_xf", "reviewer_rf"}


def test_a_rejected_joint_drawing_review_goes_back_to_the_applicant_and_passes_on_re_review(app, client, people,
                                                                                           clock):
    story = Story(client, people, clock, "with_plan")                 # 带方案出让: no stage 2
    story.do("fagai", "s1_accept", ACCEPT)
    assert story.clocks()["committed"]["budget"] == "20 个工作日"
    story.review("s1_review", {"fagai": "approve", "guihua": "approve"})
    story.do("fagai", "s1_conclude", PASS)
    assert story.open_tasks("guihua") == []                           # 设计方案审查 skipped
    story.do("zhujian", "s3_accept", ACCEPT)

    story.at(3, 5)
    story.review("s3_drawing", {"xiaofang": "reject"})                # one rejection ...
    assert story.open_tasks("clerk") == []                            # ... every opinion is still collected
    story.review("s3_drawing", {"zhujian": "approve", "renfang": "approve"})
    assert story.states("s3_drawing") == ["completed"] * 3
    correction = story.task("clerk", "s3_drawing_correct")           # back to the applicant (window)

    base = f"/api/v1/cases/{story.case_id}/clocks"
    headers = people["clerk"].headers
    assert client.post(f"{base}/suspend", json={"reason_kind": "correction", "reason": "一次性告知：施工图消防设计需修改"},
                       headers=headers).status_code == 200
    story.at(3, 10)
    assert client.post(f"{base}/resume", json={}, headers=headers).status_code == 200
    assert story.clocks()["legal"]["due_date"] == "2026-05-12"       # 05-08 + 3 paused (05-09 works)
    story.do("clerk", "s3_drawing_correct", CORRECTED)
    assert correction["form_key"] == "gc_correction"

    story.review("s3_drawing", {"xiaofang": "approve", "zhujian": "approve", "renfang": "approve"})
    assert story.states("s3_drawing") == ["completed"] * 6
    story.review("s3_review", {"zhujian": "approve", "guihua": "approve"})  # 规划许可 merged into stage 3
    story.do("zhujian", "s3_conclude", PASS)
    story.do("zhujian", "s4_accept", ACCEPT)
    story.review("s4_joint", {"guihua": "approve", "xiaofang": "approve", "renfang": "approve"})
    story.do("zhujian", "s4_conclude", PASS)
    final = story.case()
    assert final["status"] == "completed"
    assert not [t for t in final["tasks"] if t["element_id"].startswith("s2_")]
    passed = story.advanced(get_engine(app))
    assert "stage2" not in passed and passed.count("s3_drawing_archive") == 1 and "end_done" in passed
    record_golden("gongcheng_drawing_review_rejected_and_corrected", app, story.case_id)


def test_an_any_join_stage_closes_on_the_first_approval_and_withdraws_the_others(client, people, clock):
    story = Story(client, people, clock, "industrial")                # 一般工业: stage 1 joins ANY
    story.do("fagai", "s1_accept", ACCEPT)
    assert story.clocks()["committed"]["budget"] == "15 个工作日"
    story.review("s1_review", {"guihua": "approve"})
    assert story.by_department("s1_review") == [("fagai", "cancelled"), ("guihua", "completed")]
    assert [t["element_id"] for t in story.open_tasks("fagai")] == ["s1_conclude"]
    story.do("fagai", "s1_conclude", PASS)
    assert [t["element_id"] for t in story.open_tasks("guihua")] == ["s2_accept"]


def test_the_joint_procedure_extends_once_by_at_most_fifteen_working_days(client, people, clock):
    story = Story(client, people, clock, "government")
    story.do("fagai", "s1_accept", ACCEPT)
    assert story.clocks()["committed"]["budget"] == "80 个工作日"
    base = f"/api/v1/cases/{story.case_id}/clocks/extend"
    body = {"clock": "legal", "reason": "联合审图意见分歧，需专家论证", "told_to_applicant": True}
    head, gov, clerk = people["head"].headers, people["gov"].headers, people["clerk"].headers
    # The government head has no work on the case: it is unknown to them until someone asks them to decide.
    assert_error(client.post(base, json={**body, "days": 15}, headers=gov), 404, "NOT_FOUND")
    assert_error(client.post(base, json={**body, "days": 15, "approved_by": "gov_yz"}, headers=clerk),
                 403, "EXTENSION_NOT_APPROVED")                         # a clerk cannot speak for the head
    ask = f"/api/v1/cases/{story.case_id}/clocks/extension-requests"
    assert_error(client.post(ask, json={**body, "days": 16}, headers=clerk), 422, "INVALID_INPUT")
    asked = client.post(ask, json={**body, "days": 15}, headers=clerk)
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["approver_role"] == "government_head"
    approve = f"/api/v1/extension-requests/{asked.get_json()['id']}/approve"
    # 第四十二条第二款: 本级人民政府负责人 approves, not the lead department's (住建's) head.
    assert_error(client.post(approve, json={}, headers=head), 403, "EXTENSION_APPROVER_REQUIRED")
    assert client.post(approve, json={}, headers=gov).status_code == 200
    assert story.clocks()["legal"]["due_date"] == "2026-05-28"        # 05-08 + 15 working days (05-09 works)
    twice = assert_error(client.post(base, json={**body, "days": 1}, headers=gov), 409, "EXTENSION_LIMIT_EXCEEDED")
    assert twice["details"]["clock"] == "legal" and twice["details"]["extended_at"]


def test_design_review_needs_two_of_three_approvals_and_goes_back_when_it_has_fewer(client, people, clock):
    story = Story(client, people, clock, "small_social")
    story.do("fagai", "s1_accept", ACCEPT)
    story.review("s1_review", {"fagai": "approve", "guihua": "approve"})
    story.do("fagai", "s1_conclude", PASS)
    story.do("guihua", "s2_accept", ACCEPT)
    story.review("s2_design", {"guihua": "reject", "zhujian": "approve"})
    assert story.open_tasks("clerk") == []                            # 1 of 2 so far: 消防 still to vote
    story.review("s2_design", {"xiaofang": "reject"})                 # 1 of 3: the scheme fails
    story.do("clerk", "s2_design_correct", CORRECTED)
    story.review("s2_design", {"xiaofang": "approve", "guihua": "approve"})   # 2 of 3 in round 2
    assert story.by_department("s2_design") == [
        ("guihua", "completed"), ("zhujian", "completed"), ("xiaofang", "completed"),     # round 1: 1 of 3
        ("guihua", "completed"), ("zhujian", "cancelled"), ("xiaofang", "completed")]     # round 2: 2 of 3
    assert story.open_tasks("zhujian") == []
    assert sorted(t["element_id"] for t in story.open_tasks("guihua")) == ["s2_review"]


def test_a_lead_that_refuses_a_stage_ends_the_case_there(app, client, people, clock):
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)
    story.review("s1_review", {"fagai": "approve", "guihua": "reject"})
    story.do("fagai", "s1_conclude", {**PASS, "stage_passed": "fail", "stage_conclusion": "用地预审未通过，不予许可"})
    final = story.case()
    assert final["status"] == "completed"
    assert {c["light"] for c in final["clocks"]} == {"closed"}
    assert story.open_tasks("guihua") == [] and not [t for t in final["tasks"] if t["element_id"] == "s2_accept"]
    passed = story.advanced(get_engine(app))
    assert "stage1_refused" in passed and "end_done" not in passed and "plan_gw" not in passed


def test_the_legal_clock_counts_45_working_days_per_stage_and_rests_between_stages(app, client, people, clock):
    """第四十二条's 联合办理 limit binds each stage's joint handling, not the applicant's time between stages:
    the legal clock ends its period at 阶段办结 and starts afresh at the next 受理; the committed clock (the
    project target) runs on."""
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)                               # stage 1 accepted Monday 03-02
    assert story.clocks()["legal"]["due_date"] == "2026-05-08"
    story.at(3, 4)
    story.review("s1_review", {"guihua": "approve", "fagai": "approve"})
    story.do("fagai", "s1_conclude", PASS)                               # stage 1 ends Wednesday 03-04
    legal, committed = story.clocks()["legal"], story.clocks()["committed"]
    assert (legal["status"], legal["due_date"], legal["periods"]) == ("between_periods", None, 1)
    assert (committed["light"], committed["due_date"]) == ("green", "2026-05-14")
    case = story.case()
    assert case["legal_due_at"] is None and case["committed_due_at"] is not None
    stopped = [e for e in get_engine(app).queries.events(story.case_id) if e.event_type == "ClocksStopped"]
    assert [(e.element_id, e.payload["clocks"]) for e in stopped] == [
        ("s1_conclude", {"legal": {"t0": "2026-03-02", "period": 1}})]

    # The applicant prepares stage 2 for two weeks; that time is theirs, not the agencies'.
    story.at(3, 18)
    story.do("guihua", "s2_accept", ACCEPT)                              # stage 2 accepted Wednesday 03-18
    legal = story.clocks()["legal"]
    assert (legal["light"], legal["t0"], legal["periods"]) == ("green", "2026-03-18", 2)
    calendar = get_engine(app).calendar.get()
    expected = calendar.workdays_after(datetime(2026, 3, 18).date(), 45).date
    assert legal["due_date"] == expected.isoformat() == "2026-05-25"     # 45 WD: 清明 and 劳动节 off, 05-09 works
    assert story.clocks()["committed"]["due_date"] == "2026-05-14"      # the project target did not move


def test_the_step_after_a_joint_review_returns_to_the_whole_review(client, people, clock):
    """退回 from 结论 after the stage-1 会签 runs the 会签 again for both departments, from the data it started with.

    (QA: it once reopened 受理, silently dropping both opinions, and was then refused as a return across a join.)
    The first round's opinions stay in the history, and each department may review again: it is a new round.
    """
    story = Story(client, people, clock, "social")
    story.do("fagai", "s1_accept", ACCEPT)
    story.review("s1_review", {"guihua": "approve", "fagai": "reject"})
    conclude = story.task("fagai", "s1_conclude")
    response = client.post(f"/api/v1/tasks/{conclude['id']}/return", headers=people["fagai"].headers,
                           json={"reason": "立项意见需重新研究"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert story.by_department("s1_review") == [
        ("fagai", "completed"), ("guihua", "completed"), ("fagai", "open"), ("guihua", "open")]
    assert story.by_department("s1_conclude") == [("fagai", "cancelled")]
    history = client.get(f"/api/v1/cases/{story.case_id}/history", headers=people["clerk"].headers).get_json()
    assert [e["event_type"] for e in history["events"]].count("TaskReturned") == 1
    story.review("s1_review", {"guihua": "approve", "fagai": "approve"})
    story.do("fagai", "s1_conclude", PASS)
    assert [t["element_id"] for t in story.open_tasks("guihua")] == ["s2_accept"]
