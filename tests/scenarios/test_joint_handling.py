"""多地联办 over HTTP: 户口迁移（市内一站式）. The applicant goes to one window; each district works its own step.

渝中 (500103) receives and is the 迁入地 (owning district): its 公安 reviews and settles. 黔江 (500114) is the
迁出地: its 公安 confirms 迁出 in its own inbox. Nobody sees another district's step, and the 迁出地 sees the case
once it has a task in it.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine
from engine import CST, ManualClock, ensure_calendar_seeded
from tests.conftest import ROOT
from tests.goldens import record_golden

from .conftest import Caller
from .test_http_api import assert_error, claim, complete, inbox, upload

CODE = "11500000MB1538920T4000107001"
RECEIVE = {"applicant_name": "张三", "move_reason": "marriage", "from_district": "500114",
           "from_address": "重庆市黔江区城西街道某路 1 号", "to_address": "重庆市渝中区解放碑街道民族路 8 号",
           "originals_checked": "yes"}
STAFF = {   # username, roles, district, department
    "window_yz": (("window_clerk",), "500103", "zwzx"),
    "police_yz": (("reviewer",), "500103", "gongan"),
    "police_qj": (("reviewer",), "500114", "gongan"),
    "police_wz": (("reviewer",), "500101", "gongan"),
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 30, tzinfo=CST))


@pytest.fixture
def people(app, client: FlaskClient, cast: dict[str, Caller]) -> dict[str, Caller]:
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    callers = {}
    for username, (roles, district, department) in STAFF.items():
        if username != "window_yz":
            engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                        department=department)
        callers[username] = Caller(username, {"Authorization": f"Bearer {engine.identity.create_token(username)}"})
    folder = ROOT / "processes" / "hukou_qianyi"
    files = [folder / "main.bpmn", folder / "matters.yaml", *sorted((ROOT / "forms").glob("*.form"))]
    response = upload(client, cast["designer"], [(p.name, p.read_bytes()) for p in files])
    assert response.status_code == 201, response.get_data(as_text=True)
    return callers


def mine(client: FlaskClient, caller: Caller, case_id: int) -> list[dict[str, Any]]:
    return [t for t in inbox(client, caller)["items"] if t["case_id"] == case_id]


def do(client: FlaskClient, caller: Caller, case_id: int, element: str, data: dict[str, Any]) -> dict[str, Any]:
    (task,) = [t for t in mine(client, caller, case_id) if t["element_id"] == element]
    assert claim(client, caller, task["id"]).status_code == 200
    response = complete(client, caller, task["id"], data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return task


def apply(client: FlaskClient, window: Caller) -> int:
    response = client.post("/api/v1/cases", headers=window.headers, json={
        "matter_code": CODE, "title": "户口迁移（黔江→渝中）", "data": {}})
    assert response.status_code == 201, response.get_data(as_text=True)
    case_id = response.get_json()["case_id"]
    do(client, window, case_id, "receive", RECEIVE)
    return case_id


def test_each_district_works_its_own_step_and_the_applicant_comes_once(app, client, people):
    window, police_yz, police_qj = people["window_yz"], people["police_yz"], people["police_qj"]
    case_id = apply(client, window)
    assert [t["element_id"] for t in mine(client, police_yz, case_id)] == ["review_in"]
    assert mine(client, police_qj, case_id) == []
    assert_error(client.get(f"/api/v1/cases/{case_id}", headers=police_qj.headers), 404, "NOT_FOUND")
    do(client, police_yz, case_id, "review_in", {"review_decision": "approve", "review_opinion": "符合投靠落户条件"})

    # The 迁出 confirmation is 黔江's, in 黔江's inbox; 渝中 and a third district see nothing of it.
    (confirm,) = mine(client, police_qj, case_id)
    assert (confirm["element_id"], confirm["candidate_groups"]) == ("confirm_out", ["reviewer@500114/gongan"])
    assert mine(client, police_yz, case_id) == [] and mine(client, people["police_wz"], case_id) == []
    seen_by_qj = client.get(f"/api/v1/cases/{case_id}", headers=police_qj.headers)
    assert seen_by_qj.status_code == 200 and seen_by_qj.get_json()["owning_district"] == "500103"
    assert_error(complete(client, police_qj, confirm["id"], {"out_confirmation": "confirmed"}), 422, "FORM_INVALID")
    do(client, police_qj, case_id, "confirm_out", {"out_confirmation": "confirmed", "out_record_no": "QC-500114-0001"})

    do(client, police_yz, case_id, "settle", {"new_household_no": "500103-2026-000123"})
    do(client, window, case_id, "deliver", {"delivery_method": "window", "delivery_note": "申请人窗口领取新户口簿"})
    case = client.get(f"/api/v1/cases/{case_id}", headers=window.headers).get_json()
    assert case["status"] == "completed"
    done_by = {t["element_id"]: t["completed_by"] for t in case["tasks"]}
    assert done_by == {"receive": "window_yz", "review_in": "police_yz", "confirm_out": "police_qj",
                       "settle": "police_yz", "deliver": "window_yz"}
    districts = {t["element_id"]: t["candidate_groups"][0].split("@")[1].split("/")[0] for t in case["tasks"]}
    assert set(districts.values()) == {"500103", "500114"}
    record_golden("duodi_lianban_joint_handling", app, case_id)


def test_an_objection_at_the_district_of_origin_ends_with_a_refusal_notice(app, client, people):
    window, police_yz, police_qj = people["window_yz"], people["police_yz"], people["police_qj"]
    case_id = apply(client, window)
    do(client, police_yz, case_id, "review_in", {"review_decision": "approve", "review_opinion": "符合条件"})
    do(client, police_qj, case_id, "confirm_out", {"out_confirmation": "objection",
                                                   "objection_reason": "申请人户籍涉及未结案件，暂不能迁出"})
    assert mine(client, police_yz, case_id) == []
    do(client, window, case_id, "notify_refusal", {"notice_no": "渝中公户告〔2026〕1 号", "notice_method": "window"})
    case = client.get(f"/api/v1/cases/{case_id}", headers=window.headers).get_json()
    assert case["status"] == "completed"
    assert [t["element_id"] for t in case["tasks"]] == ["receive", "review_in", "confirm_out", "notify_refusal"]
