"""就地批办 over HTTP: 黔江 receives 渝中's 食品经营许可 under a grant that includes the decision itself.

The owning district (渝中 500103) delegates 异地收件 and 审批决定 to 黔江 (500114). The case is received at the
黔江 window and decided by 黔江's 市场监管 head; 渝中 sees no task. The audit shows under whose authority
(GrantExercised ``decide`` naming the grant). Without the decide right the matter is handed over (异地代收代办)
and 渝中 decides; a matter whose catalog entry does not offer 就地批办 cannot be given the decision.
"""
from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine
from engine import CST, ManualClock, ensure_calendar_seeded
from tests.conftest import ROOT
from tests.goldens import record_golden
from tests.pages_helpers import PASSWORD, client_for

from .conftest import Caller
from .test_http_api import assert_error, claim, complete, inbox, upload

FOOD_CODE = "11500103MB1C47082L4000321001"        # 食品经营许可（告知承诺）: modes online, proxy, local
DRAIN_CODE = "11500103MB1D25937B4000118005"       # 城镇污水排入排水管网许可: no 就地批办
RECEIVE = {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "commitment",
           "received_materials": "申请书、营业执照、告知承诺书", "originals_checked": True}
STAFF = {   # username, roles, district, department
    "window_qj": (("window_clerk",), "500114", "zwzx"),
    "head_qj_sc": (("department_head",), "500114", "shichang"),
    "head_yz_sc": (("department_head",), "500103", "shichang"),
    "reviewer_qj_sc": (("reviewer",), "500114", "shichang"),
    "admin_city": (("admin",), "500000", "dsj"),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=CST))


@pytest.fixture
def people(app, client: FlaskClient, cast: dict[str, Caller]) -> dict[str, Caller]:
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    callers = dict(cast)
    for username, (roles, district, department) in STAFF.items():
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department=department, password=PASSWORD)
        callers[username] = Caller(username, {"Authorization": f"Bearer {engine.identity.create_token(username)}"})
    folder = ROOT / "processes" / "standard_permit"
    # The catalog's handoff entries name the 异地代收代办 collaboration, so it is deployed alongside.
    files = [("main.bpmn", folder / "main.bpmn"), ("matters.yaml", folder / "matters.yaml"),
             ("yidi_daiban/main.bpmn", ROOT / "processes" / "yidi_daiban" / "main.bpmn"),
             *[(p.name, p) for p in sorted((ROOT / "forms").glob("*.form"))]]
    response = upload(client, cast["designer"], [(name, p.read_bytes()) for name, p in files])
    assert response.status_code == 201, response.get_data(as_text=True)
    return callers


def grant(client: FlaskClient, admin: Caller, code: str, rights: list[str]) -> Any:
    return client.post("/api/v1/grants", headers=admin.headers, json={
        "matter_code": code, "owning_district": "500103", "receiving_district": "500114", "rights": rights,
        "basis": "渝府办发〔2022〕25号；渝中区就地批办授权书"})


def receive_at_qianjiang(client: FlaskClient, window: Caller, code: str) -> int:
    response = client.post("/api/v1/cases", headers=window.headers, json={
        "matter_code": code, "owning_district": "500103", "title": "食品经营许可申请",
        "data": {"department": "shichang", "substantive_check": False}})
    assert response.status_code == 201, response.get_data(as_text=True)
    case_id = response.get_json()["case_id"]
    for element, data in (("receive", RECEIVE), ("formal_review", {"intake_decision": "accept",
                                                                     "review_note": "材料齐全"}),
                          ("accept_on_spot", {"receipt_no": "黔江受〔2026〕0001 号"})):
        (task,) = [t for t in inbox(client, window)["items"] if t["case_id"] == case_id and t["element_id"] == element]
        assert claim(client, window, task["id"]).status_code == 200
        assert complete(client, window, task["id"], data).status_code == 200, element
    return case_id


def open_for(client: FlaskClient, caller: Caller, case_id: int) -> list[dict[str, Any]]:
    return [t for t in inbox(client, caller)["items"] if t["case_id"] == case_id]


def test_the_receiving_district_decides_under_a_decide_grant_and_the_audit_names_it(app, client, people):
    created = grant(client, people["admin_city"], FOOD_CODE, ["receive", "formal_review", "decide"])
    assert created.status_code == 201, created.get_json()
    case_id = receive_at_qianjiang(client, people["window_qj"], FOOD_CODE)

    (decide,) = open_for(client, people["head_qj_sc"], case_id)
    assert (decide["element_id"], decide["candidate_groups"]) == (
        "decide_commitment", ["department_head@500114/shichang"])
    assert open_for(client, people["head_yz_sc"], case_id) == []
    case = client.get(f"/api/v1/cases/{case_id}", headers=people["window_qj"].headers).get_json()
    assert (case["owning_district"], case["receiving_district"], case["deciding_district"], case["clock_district"]) == (
        "500103", "500114", "500114", "500114")
    exercised = [e.payload for e in get_engine(app).queries.events(case_id) if e.event_type == "GrantExercised"]
    assert exercised == [
        {"grant_id": created.get_json()["id"], "right": "receive", "owning_district": "500103",
         "receiving_district": "500114"},
        {"grant_id": created.get_json()["id"], "right": "decide", "owning_district": "500103",
         "receiving_district": "500114"}]
    head = people["head_qj_sc"]
    assert claim(client, head, decide["id"]).status_code == 200
    assert complete(client, head, decide["id"], {"decision": "grant",
                                                 "decision_opinion": "依承诺准予许可"}).status_code == 200
    # 制证 where the applicant stands (立等可取); 事中事后核查 stays with the owning district, because the
    # delegation covers the decision, not the supervision after it.
    (issue,) = open_for(client, people["reviewer_qj_sc"], case_id)
    assert (issue["element_id"], issue["candidate_groups"]) == ("issue_license", ["reviewer@500114/shichang"])
    assert claim(client, people["reviewer_qj_sc"], issue["id"]).status_code == 200
    assert complete(client, people["reviewer_qj_sc"], issue["id"], {
        "license_no": "JY15001140000001", "license_valid_until": "2031-03-01"}).status_code == 200
    (deliver,) = open_for(client, people["window_qj"], case_id)
    assert claim(client, people["window_qj"], deliver["id"]).status_code == 200
    assert complete(client, people["window_qj"], deliver["id"], {
        "delivery_method": "window", "delivery_note": "申请人在黔江窗口领取"}).status_code == 200
    case = client.get(f"/api/v1/cases/{case_id}", headers=people["admin_city"].headers).get_json()
    open_now = {t["element_id"]: t["candidate_groups"] for t in case["tasks"] if t["state"] == "open"}
    assert open_now == {"post_check": ["reviewer@500103/shichang"]}
    record_golden("jiudi_pibian_local_decision", app, case_id)


def test_without_the_decide_right_the_matter_is_handed_over_and_the_owner_decides(app, client, people):
    admin = people["admin_city"]
    assert grant(client, admin, FOOD_CODE, ["receive", "formal_review"]).status_code == 201
    window = people["window_qj"]
    # A case 黔江 hands over starts from 收件 only: the 移交 sends what intake records (applicant, materials).
    assert_error(client.post("/api/v1/cases", headers=window.headers, json={
        "matter_code": FOOD_CODE, "owning_district": "500103", "title": "食品经营许可申请",
        "data": {"department": "shichang", "substantive_check": False}}), 422, "HANDOFF_NEEDS_INTAKE")
    response = client.post("/api/v1/applications", headers=window.headers, content_type="multipart/form-data", data={
        "application": json.dumps({
            "matter_code": FOOD_CODE, "owning_district": "500103", "contact_phone": "023-79221234",
            "applicant": {"kind": "legal", "name": "重庆某餐饮管理有限公司", "id_number": "91500103MA5U1234XJ",
                          "legal_representative": "王五"},
            "materials": {"business_license": {"license_ref": "LIC-500103-2026-0002"}}}, ensure_ascii=False),
        **{f"material.{key}": (io.BytesIO(b"%PDF-1.7\n" + key.encode()), f"{key}.pdf")
           for key in ("application_form", "commitment_letter", "premises_layout", "safety_rules")}})
    assert response.status_code == 201, response.get_data(as_text=True)
    case = client.get(f"/api/v1/cases/{response.get_json()['case_id']}", headers=window.headers).get_json()
    # 异地代收代办: 黔江 runs the receiving process and hands over; no decision is taken in 黔江.
    assert (case["process_key"], case["deciding_district"], case["clock_district"]) == ("yidi_shoujian", None, "500103")
    rights = [e.payload["right"] for e in get_engine(app).queries.events(case["id"]) if e.event_type == "GrantExercised"]
    assert "decide" not in rights

    # A matter that does not offer 就地批办 cannot be given the decision at all.
    refused = assert_error(grant(client, admin, DRAIN_CODE, ["receive", "decide"]), 422, "GRANT_MODE_UNSUPPORTED")
    assert "就地批办" in refused["message"]


def test_the_deciding_district_acts_on_the_clocks_and_its_head_approves_extensions(app, client, people):
    """Under 就地批办 黔江 reviews and decides, so 黔江 asks for 补正 and its 负责人 approves an extension
    (行政许可法第四十二条); 渝中, which sees nothing of the case, cannot touch its clocks."""
    assert grant(client, people["admin_city"], FOOD_CODE, ["receive", "formal_review", "decide"]).status_code == 201
    window = people["window_qj"]
    case_id = receive_at_qianjiang(client, window, FOOD_CODE)
    base = f"/api/v1/cases/{case_id}/clocks"
    suspended = client.post(f"{base}/suspend", headers=window.headers, json={"reason_kind": "correction",
                                                                           "reason": "需补正营业执照副本"})
    assert suspended.status_code == 200, suspended.get_json()
    assert client.post(f"{base}/resume", headers=window.headers, json={}).status_code == 200
    assert_error(client.post(f"{base}/suspend", headers=people["head_yz_sc"].headers,
                             json={"reason_kind": "correction", "reason": "越权"}), 404, "NOT_FOUND")
    asked = client.post(f"{base}/extension-requests", headers=window.headers,
                        json={"days": 5, "reason": "需现场核查经营场所", "told_to_applicant": True})
    assert asked.status_code == 201, asked.get_json()
    approve = f"/api/v1/extension-requests/{asked.get_json()['id']}/approve"
    assert_error(client.post(approve, headers=people["head_yz_sc"].headers, json={}), 404, "NOT_FOUND")
    assert client.get("/api/v1/extension-requests", headers=people["head_yz_sc"].headers).get_json() == []
    assert [r["id"] for r in client.get("/api/v1/extension-requests", headers=people["head_qj_sc"].headers)
            .get_json()] == [asked.get_json()["id"]]
    page = client_for(app, "window_qj").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "待审批" in page and "需现场核查经营场所" in page      # the deciding window's case page lists it
    assert "批准" in client_for(app, "head_qj_sc").get(f"/cases/{case_id}").get_data(as_text=True)
    approved = client.post(approve, headers=people["head_qj_sc"].headers, json={"comment": "同意"})
    assert approved.status_code == 200, approved.get_json()
    legal = {c["kind"]: c for c in client.get(f"/api/v1/cases/{case_id}", headers=window.headers)
             .get_json()["clocks"]}["legal"]
    assert legal["extended_days"] == 5
    assert client_for(app, "head_yz_sc").get(f"/cases/{case_id}").status_code == 404
