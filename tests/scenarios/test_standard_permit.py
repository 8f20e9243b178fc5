"""The standard administrative-permit process (processes/standard_permit) over HTTP, on the manual clock.

Every path of 《行政许可法》's standard procedure, played by the people who work it in 渝中区 (500103): the
window clerk (收件, 形式审查, 受理, 补正, 容缺, 送达), two reviewers of the owning department (审查 with 实质核查,
制证, 事中事后核查) and its department head (决定, 撤销). Receipt is Monday 2026-03-02; no holiday falls
before 清明 (04-04..06), so the due dates below are counted by hand on the calendar.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine
from engine import CST, ManualClock, ensure_calendar_seeded
from engine.timers import TimerWorker
from tests.conftest import ROOT
from tests.goldens import record_golden

from .conftest import Caller
from .test_http_api import assert_error, claim, complete, get_case, inbox, upload

DATA = ROOT / "tests" / "data" / "processes"
RECEIVE = {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "standard",
           "received_materials": "申请书、营业执照、排水管网图纸、水质检测报告", "originals_checked": True}
ACCEPT = {"intake_decision": "accept", "review_note": "材料齐全，符合法定形式"}
RECEIPT = {"receipt_no": "渝中受〔2026〕0001 号"}
REVIEW = {"review_result": {"conclusion": "meets", "opinion": "符合法定条件", "site_checked": True}}
GRANT = {"decision": "grant", "decision_opinion": "准予许可"}
LICENSE = {"license_no": "渝中排水字〔2026〕第 001 号", "license_valid_until": "2031-03-01"}
DELIVERY = {"delivery_method": "window", "delivery_note": "申请人窗口领取"}
DRAINAGE = {"department": "zhujian", "substantive_check": True}
FOOD = {"department": "shichang", "substantive_check": False}

# username, display name, roles, department (all in 渝中区 500103)
STAFF = {
    "head_zj": ("head_zj", "渝中住建科长", ("department_head",), "zhujian"),
    "sc_1": ("reviewer_sc", "渝中市场监管审查", ("reviewer",), "shichang"),
    "head_sc": ("head_sc", "渝中市场监管科长", ("department_head",), "shichang"),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=CST))


@pytest.fixture
def people(app, client: FlaskClient, cast: dict[str, Caller]) -> dict[str, Caller]:
    """The cast plus the heads and the 市场监管 reviewer; the standard permit and its forms deployed."""
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    callers = dict(cast)
    for who, (username, name, roles, department) in STAFF.items():
        engine.identity.create_user(username, display_name=name, roles=roles, district="500103",
                                    department=department)
        token = engine.identity.create_token(username, label="scenario")
        callers[who] = Caller(username, {"Authorization": f"Bearer {token}"})
    folder = ROOT / "processes" / "standard_permit"
    files = [folder / "main.bpmn", folder / "matters.yaml", *sorted((ROOT / "forms").glob("*.form"))]
    # The catalog's 异地代收代办 entries name the collaboration's receiving process: it comes with the deploy.
    handoff = ROOT / "processes" / "yidi_daiban" / "main.bpmn"
    response = upload(client, cast["designer"], [(p.name, p.read_bytes()) for p in files]
                      + [("yidi_daiban.bpmn", handoff.read_bytes())])
    assert response.status_code == 201, response.get_data(as_text=True)
    return callers


# --- helpers -------------------------------------------------------------------------------------------------

def at(clock: ManualClock, month: int, day: int, hour: int = 10) -> None:
    clock.set(datetime(2026, month, day, hour, 0, tzinfo=CST))


def start(client: FlaskClient, caller: Caller, data: dict[str, Any], process_key: str = "standard_permit") -> int:
    response = client.post("/api/v1/cases", headers=caller.headers,
                           json={"process_key": process_key, "title": "排水许可申请", "data": data})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["case_id"]


def open_tasks(client: FlaskClient, caller: Caller, case_id: int) -> list[dict[str, Any]]:
    return [t for t in inbox(client, caller)["items"] if t["case_id"] == case_id]


def do(client: FlaskClient, caller: Caller, case_id: int, element: str, data: dict[str, Any]) -> dict[str, Any]:
    """Claim and complete the caller's first open task at ``element`` of the case; return the task."""
    tasks = [t for t in open_tasks(client, caller, case_id) if t["element_id"] == element]
    assert tasks, (element, [t["element_id"] for t in open_tasks(client, caller, case_id)])
    assert claim(client, caller, tasks[0]["id"]).status_code == 200
    response = complete(client, caller, tasks[0]["id"], data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return tasks[0]


def clocks(client: FlaskClient, caller: Caller, case_id: int) -> dict[str, dict[str, Any]]:
    return {c["kind"]: c for c in get_case(client, caller, case_id)["clocks"]}


def events(app, case_id: int, event_type: str) -> list[Any]:
    return [e for e in get_engine(app).queries.events(case_id) if e.event_type == event_type]


def path(app, case_id: int) -> list[str]:
    """The elements the case passed through: user tasks as completed, events and gateways as the engine ran them."""
    out: list[str] = []
    for event in get_engine(app).queries.events(case_id):
        if event.event_type == "TaskCompleted":
            out.append(event.element_id)
        elif event.event_type == "FlowAdvanced":       # a multi-instance task also finishes as a whole: skip it
            out += [e for e in event.payload["elements"] if e not in out and not e.startswith(
                ("gw_", "merge_", "split_", "join_"))]
    return out


def seen(client: FlaskClient, caller: Caller, case_id: int) -> list[str]:
    """The element ids of the tasks the caller completed in the case, in order."""
    done = inbox(client, caller, scope="completed")["items"]
    return [t["element_id"] for t in sorted(done, key=lambda t: t["id"]) if t["case_id"] == case_id]


def accept_on_spot(client: FlaskClient, people: dict[str, Caller], data: dict[str, Any],
                   receive: dict[str, Any] = RECEIVE) -> int:
    clerk = people["clerk"]
    case_id = start(client, clerk, data)
    do(client, clerk, case_id, "receive", receive)
    do(client, clerk, case_id, "formal_review", ACCEPT)
    do(client, clerk, case_id, "accept_on_spot", RECEIPT)
    return case_id


def local(instant: str) -> str:
    """An instant from the API (UTC) as China Standard Time text."""
    return datetime.fromisoformat(instant).astimezone(CST).isoformat()


def fire_timers(app) -> int:
    return TimerWorker(get_engine(app)).sweep().cases


# --- main path -------------------------------------------------------------------------------------------------

def test_accepted_on_the_spot_reviewed_by_two_granted_issued_and_delivered(app, client, people, clock):
    clerk, head = people["clerk"], people["head_zj"]
    reviewers = people["zhujian"], people["zhujian_2"]
    case_id = start(client, clerk, DRAINAGE)
    receive = open_tasks(client, clerk, case_id)
    assert [(t["element_id"], t["name"], t["candidate_groups"], t["form_key"]) for t in receive] == [
        ("receive", "收件", ["window_clerk@500103"], "permit_receive")]
    assert {c["kind"]: c["status"] for c in clocks(client, clerk, case_id).values()} == {
        "legal": "not_started", "committed": "not_started"}           # 法定时限自受理之日起算
    assert {c["rule"] for c in clocks(client, clerk, case_id).values()} == {
        "受理（当场受理、补正后受理、容缺受理）后起算"}                # the steps by name, not their element ids
    do(client, clerk, case_id, "receive", RECEIVE)
    review_task = do(client, clerk, case_id, "formal_review", ACCEPT)
    assert local(review_task["due_at"]) == "2026-03-10T00:00:00+08:00"        # 形式审查: 5 WD (第三十二条)
    do(client, clerk, case_id, "accept_on_spot", RECEIPT)
    legal, committed = clocks(client, clerk, case_id)["legal"], clocks(client, clerk, case_id)["committed"]
    assert (legal["t0"], legal["due_date"], legal["light"]) == ("2026-03-02", "2026-03-30", "green")   # 20 WD
    assert (committed["t0"], committed["due_date"]) == ("2026-03-02", "2026-03-16")                    # 10 WD
    started = events(app, case_id, "ClocksStarted")[-1].payload["clocks"]["legal"]
    assert (started["t0"], started["deemed"]) == ("2026-03-02", False)

    # 实质核查: two instances of 审查 for the owning department's reviewers, done by two different people.
    at(clock, 3, 4)
    pending = [t for t in open_tasks(client, reviewers[0], case_id) if t["element_id"] == "review"]
    assert len(pending) == 2 and pending[0]["candidate_groups"] == ["reviewer@500103/zhujian"]
    assert open_tasks(client, head, case_id) == [] and open_tasks(client, people["guihua"], case_id) == []
    for reviewer in reviewers:
        do(client, reviewer, case_id, "review", REVIEW)
    at(clock, 3, 10)
    decide = open_tasks(client, head, case_id)
    assert [(t["element_id"], t["candidate_groups"]) for t in decide] == [
        ("decide", ["department_head@500103/zhujian"])]
    assert open_tasks(client, reviewers[0], case_id) == []           # reviewers cannot decide
    do(client, head, case_id, "decide", GRANT)
    at(clock, 3, 11)
    do(client, reviewers[0], case_id, "issue_license", LICENSE)
    deliver = open_tasks(client, clerk, case_id)
    assert [t["element_id"] for t in deliver] == ["deliver"]
    assert local(deliver[0]["due_at"]) == "2026-03-26T00:00:00+08:00"         # 送达: 10 WD from 03-11 (第四十四条)
    assert local(deliver[0]["case_legal_due_at"]) == "2026-03-31T00:00:00+08:00"
    assert local(deliver[0]["case_committed_due_at"]) == "2026-03-17T00:00:00+08:00"
    at(clock, 3, 12)
    do(client, clerk, case_id, "deliver", DELIVERY)

    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed" and final["ended_at"].startswith("2026-03-12")
    assert {c["light"] for c in final["clocks"]} == {"closed"}
    assert path(app, case_id) == ["start", "receive", "formal_review", "accept_on_spot", "review", "review",
                                  "decide", "issue_license", "deliver", "end_granted"]
    assert seen(client, clerk, case_id) == ["receive", "formal_review", "accept_on_spot", "deliver"]
    assert seen(client, reviewers[0], case_id) == ["review", "issue_license"]
    assert seen(client, reviewers[1], case_id) == ["review"]
    assert seen(client, head, case_id) == ["decide"]
    completions = {e.element_id: e.payload["data"] for e in events(app, case_id, "TaskCompleted")}
    assert completions["decide"]["decision"] == "grant" and completions["issue_license"] == LICENSE
    record_golden("standard_permit_granted", app, case_id)


def test_without_substantive_verification_one_reviewer_reviews(app, client, people, clock):
    case_id = accept_on_spot(client, people, {**DRAINAGE, "substantive_check": False})
    assert [t["element_id"] for t in open_tasks(client, people["zhujian"], case_id)] == ["review"]


# --- 受理: 补正, deemed acceptance, 不予受理 -----------------------------------------------------------------------

def test_one_time_correction_notice_then_accepted_counts_from_acceptance(app, client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, DRAINAGE)
    do(client, clerk, case_id, "receive", RECEIVE)
    at(clock, 3, 3)
    do(client, clerk, case_id, "formal_review", {"intake_decision": "correction", "review_note": "材料不齐"})
    no_items = complete(client, clerk, open_tasks(client, clerk, case_id)[0]["id"],
                        {"correction_notice_no": "渝中补〔2026〕01 号", "missing_items": []})
    assert assert_error(no_items, 422, "FORM_INVALID")["details"]["fields"] == {"missing_items": ["必填项"]}
    do(client, clerk, case_id, "correction_notice", {"correction_notice_no": "渝中补〔2026〕01 号", "missing_items": [
        {"item_name": "排水水质、水量检测报告", "item_requirement": "须由具备资质的检测机构出具"},
        {"item_name": "预处理设施运行情况说明"}]})
    notice = events(app, case_id, "ClockPaused")
    assert [(n.element_id, n.payload["reason_kind"], sorted(n.payload["clocks"])) for n in notice] == [
        ("correction_notice", "correction", ["committed", "legal"])]
    assert clocks(client, clerk, case_id)["legal"]["status"] == "not_started"

    at(clock, 3, 9)                                                    # 补正 arrives after the 5-WD window
    do(client, clerk, case_id, "receive_correction", {"correction_complete": "complete", "correction_note": "已补齐"})
    do(client, clerk, case_id, "accept_corrected", RECEIPT)
    legal, committed = clocks(client, clerk, case_id)["legal"], clocks(client, clerk, case_id)["committed"]
    assert (legal["t0"], legal["due_date"]) == ("2026-03-09", "2026-04-07")       # 20 WD, 清明 04-06 skipped
    assert (committed["t0"], committed["due_date"]) == ("2026-03-09", "2026-03-23")
    assert events(app, case_id, "ClocksStarted")[-1].payload["clocks"]["legal"]["deemed"] is False
    assert [t["element_id"] for t in open_tasks(client, people["zhujian"], case_id)] == ["review", "review"]
    assert path(app, case_id) == ["start", "receive", "formal_review", "correction_notice", "receive_correction",
                                  "accept_corrected"]
    record_golden("standard_permit_correction_then_accepted", app, case_id)


def test_incomplete_correction_is_not_accepted_with_its_basis(app, client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, DRAINAGE)
    do(client, clerk, case_id, "receive", RECEIVE)
    do(client, clerk, case_id, "formal_review", {"intake_decision": "correction", "review_note": "材料不齐"})
    do(client, clerk, case_id, "correction_notice", {"correction_notice_no": "补 02", "missing_items": [
        {"item_name": "排水水质检测报告"}]})
    task = open_tasks(client, clerk, case_id)[0]
    refused = complete(client, clerk, task["id"], {"correction_complete": "incomplete", "correction_note": "未补齐"})
    assert assert_error(refused, 422, "FORM_INVALID")["details"]["fields"] == {"not_accepted_basis": ["必填项"]}
    do(client, clerk, case_id, "receive_correction", {
        "correction_complete": "incomplete", "correction_note": "未补齐",
        "not_accepted_basis": "《行政许可法》第三十二条第一款第四项、第五项：未按要求提交全部补正材料"})
    assert get_case(client, clerk, case_id)["status"] == "completed"
    assert path(app, case_id)[-1] == "end_not_accepted"


def test_no_notice_within_five_working_days_means_acceptance_on_the_receipt_date(app, client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, DRAINAGE)                          # received Mon 03-02
    do(client, clerk, case_id, "receive", RECEIVE)
    at(clock, 3, 10)                                                   # the 5-WD window ended with 03-09
    overdue = [t for t in open_tasks(client, clerk, case_id) if t["element_id"] == "formal_review"][0]
    assert overdue["light"] == "red" and local(overdue["due_at"]) == "2026-03-10T00:00:00+08:00"
    do(client, clerk, case_id, "formal_review", ACCEPT)
    do(client, clerk, case_id, "accept_on_spot", RECEIPT)
    legal = clocks(client, clerk, case_id)["legal"]
    assert (legal["t0"], legal["due_date"]) == ("2026-03-02", "2026-03-30")     # back-dated T0
    assert clocks(client, clerk, case_id)["committed"]["due_date"] == "2026-03-16"
    started = events(app, case_id, "ClocksStarted")[-1]
    assert started.element_id == "accept_on_spot"
    assert started.payload["clocks"]["legal"]["deemed"] is True
    assert "第三十二条" in started.payload["clocks"]["legal"]["explanation"]
    record_golden("standard_permit_deemed_acceptance", app, case_id)


def test_not_accepted_needs_its_legal_basis(app, client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, DRAINAGE)
    do(client, clerk, case_id, "receive", RECEIVE)
    task = open_tasks(client, clerk, case_id)[0]
    no_basis = complete(client, clerk, task["id"], {"intake_decision": "reject", "review_note": "不属于本机关职权"})
    body = assert_error(no_basis, 422, "FORM_INVALID")
    assert body["details"]["fields"] == {"not_accepted_basis": ["必填项"]}
    blank = complete(client, clerk, task["id"], {"intake_decision": "reject", "review_note": "x",
                                                 "not_accepted_basis": "  "})
    assert assert_error(blank, 422, "FORM_INVALID")["details"]["fields"] == {"not_accepted_basis": ["必填项"]}
    assert open_tasks(client, clerk, case_id)[0]["state"] == "open"
    do(client, clerk, case_id, "formal_review", {
        "intake_decision": "reject", "review_note": "申请事项依法不属于本机关职权范围",
        "not_accepted_basis": "《行政许可法》第三十二条第一款第二项；请向市级主管部门申请"})
    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed"
    assert {c["status"] for c in final["clocks"]} == {"not_started"}  # never accepted: no decision clock
    assert path(app, case_id) == ["start", "receive", "formal_review", "end_not_accepted"]


# --- 容缺受理 ---------------------------------------------------------------------------------------------------

TOLERANCE = {"intake_decision": "tolerance", "review_note": "主要材料齐全，预处理说明欠缺"}


def tolerance_case(client: FlaskClient, people: dict[str, Caller], days: int) -> int:
    clerk = people["clerk"]
    case_id = start(client, clerk, {**DRAINAGE, "substantive_check": False})
    do(client, clerk, case_id, "receive", RECEIVE)
    do(client, clerk, case_id, "formal_review", TOLERANCE)
    unsigned = complete(client, clerk, open_tasks(client, clerk, case_id)[0]["id"], {
        "tolerance_commitment_signed": False, "tolerance_items": [{"item_name": "预处理设施运行情况说明"}],
        "tolerance_days": days, "receipt_no": "容缺 01"})
    assert assert_error(unsigned, 422, "FORM_INVALID")["details"]["fields"] == {
        "tolerance_commitment_signed": ["必填项"]}
    do(client, clerk, case_id, "accept_tolerance", {
        "tolerance_commitment_signed": True, "tolerance_items": [{"item_name": "预处理设施运行情况说明"}],
        "tolerance_days": days, "receipt_no": "容缺 01"})
    return case_id


def test_tolerance_withholds_the_result_until_the_missing_materials_arrive(app, client, people, clock):
    clerk, reviewer, head = people["clerk"], people["zhujian"], people["head_zj"]
    case_id = tolerance_case(client, people, days=5)
    assert clocks(client, clerk, case_id)["legal"]["t0"] == "2026-03-02"        # 容缺受理 is acceptance
    assert [t["element_id"] for t in open_tasks(client, clerk, case_id)] == ["receive_tolerance"]
    at(clock, 3, 4)
    do(client, reviewer, case_id, "review", REVIEW)
    do(client, head, case_id, "decide", GRANT)
    assert open_tasks(client, reviewer, case_id) == []               # 制证 waits for the materials
    at(clock, 3, 9, 17)                                                # last day of the 5 WD (timer: 03-10 00:00)
    assert fire_timers(app) == 0
    do(client, clerk, case_id, "receive_tolerance", {"tolerance_supplied": True, "tolerance_note": "已补齐"})
    assert [t["element_id"] for t in open_tasks(client, reviewer, case_id)] == ["issue_license"]
    at(clock, 3, 10, 9)
    assert fire_timers(app) == 0                                       # the timer ended with the task
    do(client, reviewer, case_id, "issue_license", LICENSE)
    do(client, clerk, case_id, "deliver", DELIVERY)
    assert get_case(client, clerk, case_id)["status"] == "completed"
    assert path(app, case_id)[-1] == "end_granted"


def test_tolerance_deadline_passing_first_terminates_the_case(app, client, people, clock):
    clerk, reviewer = people["clerk"], people["zhujian"]
    case_id = tolerance_case(client, people, days=3)                  # 03-03..05: due 03-06 00:00
    at(clock, 3, 4)
    do(client, reviewer, case_id, "review", REVIEW)
    assert [t["element_id"] for t in open_tasks(client, people["head_zj"], case_id)] == ["decide"]
    at(clock, 3, 6, 9)
    assert fire_timers(app) == 1
    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed"
    assert {t["element_id"]: t["state"] for t in final["tasks"]}["decide"] == "cancelled"
    assert {t["element_id"]: t["state"] for t in final["tasks"]}["receive_tolerance"] == "cancelled"
    assert path(app, case_id)[-2:] == ["tolerance_expired", "end_tolerance_expired"]
    assert open_tasks(client, clerk, case_id) == [] and open_tasks(client, people["head_zj"], case_id) == []
    late = complete(client, people["head_zj"], [t for t in final["tasks"] if t["element_id"] == "decide"][0]["id"],
                    GRANT)
    assert late.status_code in (404, 409)
    record_golden("standard_permit_tolerance_expired", app, case_id)


def test_the_tolerance_deadline_is_told_on_the_case_api_case_page_and_task_page(app, client, people, clock):
    """F13: 容缺补齐期限届满 (5 WD from 03-02: due 03-10 00:00) is shown to staff until the material arrives."""
    clerk, reviewer = people["clerk"], people["zhujian"]
    case_id = tolerance_case(client, people, days=5)
    [timer] = get_case(client, clerk, case_id)["timers"]
    assert {**timer, "due_at": local(timer["due_at"])} == {
        "element_id": "tolerance_expired", "name": "容缺补齐期限届满", "attached_to": "receive_tolerance",
        "ends_case": True, "due_at": "2026-03-10T00:00:00+08:00"}
    shown = "容缺补齐期限届满：2026-03-09 24:00 前（逾期将终止办理）"
    assert shown in client.get(f"/cases/{case_id}", headers=clerk.headers).get_data(as_text=True)
    [waiting] = open_tasks(client, clerk, case_id)
    assert shown in client.get(f"/tasks/{waiting['id']}", headers=clerk.headers).get_data(as_text=True)
    [review] = open_tasks(client, reviewer, case_id)                   # not drawn on 审查: not told there
    assert "容缺补齐期限届满" not in client.get(f"/tasks/{review['id']}", headers=reviewer.headers).get_data(as_text=True)
    at(clock, 3, 9, 17)
    do(client, clerk, case_id, "receive_tolerance", {"tolerance_supplied": True, "tolerance_note": "已补齐"})
    assert get_case(client, clerk, case_id)["timers"] == []
    assert shown not in client.get(f"/cases/{case_id}", headers=clerk.headers).get_data(as_text=True)
    # A case accepted on the spot waits on no timer.
    other = accept_on_spot(client, people, DRAINAGE)
    assert get_case(client, clerk, other)["timers"] == []
    assert "逾期将终止办理" not in client.get(f"/cases/{other}", headers=clerk.headers).get_data(as_text=True)


# --- 决定: 不予许可 --------------------------------------------------------------------------------------------------

def test_refusal_needs_reasons_and_basis_and_is_delivered(app, client, people, clock):
    clerk, head = people["clerk"], people["head_zj"]
    case_id = accept_on_spot(client, people, {**DRAINAGE, "substantive_check": False})
    do(client, people["zhujian"], case_id, "review", {"review_result": {
        "conclusion": "fails", "opinion": "排水水质不符合纳管标准"}})
    task = open_tasks(client, head, case_id)[0]
    bare = complete(client, head, task["id"], {"decision": "refuse", "decision_opinion": "不予许可"})
    assert assert_error(bare, 422, "FORM_INVALID")["details"]["fields"] == {"decision_basis": ["必填项"]}
    do(client, head, case_id, "decide", {"decision": "refuse", "decision_opinion": "不予许可",
                                         "decision_basis": "《城镇排水与污水处理条例》第二十一条：排水水质不符合标准；"
                                                           "可依法申请行政复议或者提起行政诉讼"})
    assert open_tasks(client, people["zhujian"], case_id) == []       # no 制证
    do(client, clerk, case_id, "deliver_refusal", {"delivery_method": "mail"})
    assert get_case(client, clerk, case_id)["status"] == "completed"
    assert path(app, case_id)[-3:] == ["decide", "deliver_refusal", "end_refused"]
    record_golden("standard_permit_refused", app, case_id)


# --- 告知承诺 ---------------------------------------------------------------------------------------------------------

def test_commitment_decided_at_once_then_post_check_fails_and_the_permit_is_revoked(app, client, people, clock):
    clerk, reviewer, head = people["clerk"], people["sc_1"], people["head_sc"]
    case_id = accept_on_spot(client, people, FOOD, receive={**RECEIVE, "handling_mode": "commitment"})
    assert open_tasks(client, reviewer, case_id) == []               # no 审查 before the decision
    decide = open_tasks(client, head, case_id)
    assert [(t["element_id"], t["name"], t["candidate_groups"]) for t in decide] == [
        ("decide_commitment", "告知承诺审批决定", ["department_head@500103/shichang"])]
    do(client, head, case_id, "decide_commitment", {"decision": "grant", "decision_opinion": "依承诺准予许可"})
    do(client, reviewer, case_id, "issue_license", {**LICENSE, "license_no": "JY15001030012345"})
    do(client, clerk, case_id, "deliver", DELIVERY)
    check = open_tasks(client, reviewer, case_id)
    assert [(t["element_id"], local(t["due_at"])) for t in check] == [
        ("post_check", "2026-03-31T00:00:00+08:00")]                  # 核查: 20 WD from 03-02
    at(clock, 3, 20)
    do(client, reviewer, case_id, "post_check", {"check_result": "fail",
                                                 "check_findings": "现场无承诺的冷藏设施，承诺不实"})
    revoke = open_tasks(client, head, case_id)[0]
    missing = complete(client, head, revoke["id"], {"revocation_no": "渝中市监撤〔2026〕1 号"})
    assert assert_error(missing, 422, "FORM_INVALID")["details"]["fields"] == {"revocation_basis": ["必填项"]}
    do(client, head, case_id, "revoke", {"revocation_no": "渝中市监撤〔2026〕1 号",
                                         "revocation_basis": "《行政许可法》第六十九条第二款：以欺骗手段取得许可"})
    assert get_case(client, clerk, case_id)["status"] == "completed"
    assert path(app, case_id) == ["start", "receive", "formal_review", "accept_on_spot", "decide_commitment",
                                  "issue_license", "deliver", "post_check", "revoke", "end_revoked"]
    assert seen(client, head, case_id) == ["decide_commitment", "revoke"]
    record_golden("standard_permit_commitment_check_failed", app, case_id)


def test_commitment_post_check_passing_closes_the_case_granted(app, client, people, clock):
    clerk, reviewer, head = people["clerk"], people["sc_1"], people["head_sc"]
    case_id = accept_on_spot(client, people, FOOD, receive={**RECEIVE, "handling_mode": "commitment"})
    do(client, head, case_id, "decide_commitment", {"decision": "grant", "decision_opinion": "依承诺准予许可"})
    do(client, reviewer, case_id, "issue_license", {**LICENSE, "license_no": "JY15001030012346"})
    do(client, clerk, case_id, "deliver", DELIVERY)
    do(client, reviewer, case_id, "post_check", {"check_result": "pass", "check_findings": "承诺属实"})
    assert path(app, case_id)[-2:] == ["post_check", "end_granted_checked"]


# --- reuse through a call activity ------------------------------------------------------------------------------

def test_another_process_runs_the_standard_permit_through_a_call_activity(app, client, people, clock):
    clerk = people["clerk"]
    files = [("permit_caller.bpmn", (DATA / "permit_caller.bpmn").read_bytes()),
             ("main.bpmn", (ROOT / "processes" / "standard_permit" / "main.bpmn").read_bytes())]
    response = upload(client, people["designer"], files)
    assert response.status_code == 201, response.get_data(as_text=True)
    case_id = start(client, clerk, DRAINAGE, process_key="permit_caller")
    do(client, clerk, case_id, "receive", RECEIVE)
    do(client, clerk, case_id, "formal_review", {"intake_decision": "reject", "review_note": "不属于本机关职权",
                                                 "not_accepted_basis": "《行政许可法》第三十二条第一款第二项"})
    archive = open_tasks(client, clerk, case_id)
    assert [t["element_id"] for t in archive] == ["archive"]            # the caller continues after the permit
    do(client, clerk, case_id, "archive", DELIVERY)
    assert get_case(client, clerk, case_id)["status"] == "completed"
    assert "end_not_accepted" in path(app, case_id)


# --- separation of duties (职责分离) ---------------------------------------------------------------------------

def test_substantive_check_needs_two_different_reviewers_and_a_decider_who_did_not_review(app, client, people):
    """第三十四条: 实质核查 by two or more staff. One reviewer may take only one instance of the round, may not be
    handed the other by 转办, and a head who reviewed may not decide; each refusal is 409 SEPARATION_OF_DUTIES."""
    engine = get_engine(app)
    engine.identity.create_user("head_rev", display_name="渝中住建副科长", roles=("department_head", "reviewer"),
                                district="500103", department="zhujian")
    both = Caller("head_rev", {"Authorization": f"Bearer {engine.identity.create_token('head_rev', label='t')}"})
    first, second = people["zhujian"], people["zhujian_2"]
    case_id = accept_on_spot(client, people, DRAINAGE)
    one, two = [t for t in open_tasks(client, first, case_id) if t["element_id"] == "review"]

    assert claim(client, first, one["id"]).status_code == 200
    body = assert_error(claim(client, first, two["id"]), 409, "SEPARATION_OF_DUTIES")
    assert "reviewer_zj 已认领本轮另一份“审查”" in body["message"]
    assert body["details"]["conflicting_task_id"] == one["id"]
    assert_error(complete(client, first, two["id"], REVIEW), 409, "SEPARATION_OF_DUTIES")
    assert complete(client, first, one["id"], REVIEW).status_code == 200
    body = assert_error(complete(client, first, two["id"], REVIEW), 409, "SEPARATION_OF_DUTIES")
    assert "已办理" in body["message"]
    # 转办 cannot hand the second instance to the one who did the first either.
    assert claim(client, second, two["id"]).status_code == 200
    assert_error(client.post(f"/api/v1/tasks/{two['id']}/delegate", headers=second.headers,
                             json={"to": "reviewer_zj", "reason": "转办"}), 409, "SEPARATION_OF_DUTIES")
    assert client.post(f"/api/v1/tasks/{two['id']}/delegate", headers=second.headers,
                       json={"to": "head_rev", "reason": "转办"}).status_code == 200
    assert complete(client, both, two["id"], REVIEW).status_code == 200

    # 审查与决定分离: head_rev reviewed, so only another head decides.
    decide = [t for t in open_tasks(client, both, case_id) if t["element_id"] == "decide"]
    body = assert_error(claim(client, both, decide[0]["id"]), 409, "SEPARATION_OF_DUTIES")
    assert "“许可决定”须由其他工作人员办理：head_rev 已办理“审查”" in body["message"]
    assert claim(client, people["head_zj"], decide[0]["id"]).status_code == 200
    assert complete(client, people["head_zj"], decide[0]["id"], GRANT).status_code == 200
    # Refusals change nothing: only the successful claims are recorded (one per review instance, one decide).
    claims = [(e.element_id, e.actor) for e in events(app, case_id, "TaskClaimed")]
    assert claims[3:] == [("review", "reviewer_zj"), ("review", "reviewer_zj2"), ("decide", "head_zj")]


def test_returning_a_task_opened_by_tolerance_acceptance_sends_the_case_back_to_it(app, client, people, clock):
    """退回 from 审查 or 接收容缺材料 after 容缺受理: both branches of the split are withdrawn, 容缺受理 is open again."""
    clerk, reviewer = people["clerk"], people["zhujian"]
    for element, caller in (("review", reviewer), ("receive_tolerance", clerk)):
        case_id = tolerance_case(client, people, days=5)
        (task,) = [t for t in open_tasks(client, caller, case_id) if t["element_id"] == element]
        assert claim(client, caller, task["id"]).status_code == 200
        returned = client.post(f"/api/v1/tasks/{task['id']}/return", json={"reason": "容缺承诺书需重签"},
                               headers=caller.headers)
        assert returned.status_code == 200, returned.get_data(as_text=True)
        assert [t["element_id"] for t in open_tasks(client, clerk, case_id)] == ["accept_tolerance"]
        assert open_tasks(client, reviewer, case_id) == []
        assert fire_timers(app) == 0                       # the 容缺 deadline went with its branch
        do(client, clerk, case_id, "accept_tolerance", {
            "tolerance_commitment_signed": True, "tolerance_items": [{"item_name": "预处理设施运行情况说明"}],
            "tolerance_days": 5, "receipt_no": "容缺 02"})
        assert sorted(t["element_id"] for t in open_tasks(client, clerk, case_id)) == ["receive_tolerance"]
        assert [t["element_id"] for t in open_tasks(client, reviewer, case_id)] == ["review"]
