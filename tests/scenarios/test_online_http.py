"""全程网办 over HTTP on the manual clock: an applicant applies online, corrects online, and sees the result.

The 渝中 window opens the account after checking 张三's ID card; 张三 applies for 城镇污水排入排水管网许可 from home;
the 渝中 window does 网上预审 (收件, 形式审查) and issues a one-time 补正 notice; 张三 uploads the corrected
drawing online; the window checks it and accepts; two 住建 reviewers (实质核查 from the catalog), the head
decides, 制证, 电子送达; 张三 sees 已办结. Receipt is Monday 2026-03-02 (no holiday until 清明).
"""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.runtime import get_engine
from engine import Replayer, TimerWorker, list_archives, verify_archive
from tests.goldens import record_golden

from .conftest import Caller
from .test_http_api import assert_error
from .test_standard_permit import (  # noqa: F401 (fixtures)
    ACCEPT, GRANT, LICENSE, RECEIPT, RECEIVE, REVIEW, at, clock, do, events, open_tasks, path, people,
)

DRAINAGE = "11500103MB1D25937B4000118005"     # 城镇污水排入排水管网许可: modes online, proxy
PDF = b"%PDF-1.7\n%online\n"
ZHANG = {"username": "zhangsan", "name": "张三", "id_type": "111", "id_number": "500103199001011232",
         "password": "zhangsan-2026"}
APPLICATION = {"matter_code": DRAINAGE, "district": "500103", "contact_phone": "13800138000",
               "form": {"subject": "某餐饮店排水接入"},
               "materials": {"business_license": {"license_ref": "LIC-91500103MA5U1234XJ"}}}
FILES = {"application_form": PDF, "drainage_plan": PDF + b"plan-v1", "water_quality_report": PDF + b"water"}


def open_account(client: FlaskClient, clerk: Caller, app: Any, account: dict[str, str] = ZHANG) -> Caller:
    """The window clerk opens the account (实名核验 at the counter); the applicant gets a token."""
    response = client.post("/api/v1/applicants", headers=clerk.headers, json=account)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["id_number"] == account["id_number"][:4] + "*" * 10 + account["id_number"][-4:]
    token = get_engine(app).identity.create_token(account["username"], label="scenario")
    return Caller(account["username"], {"Authorization": f"Bearer {token}"})


def apply_online(client: FlaskClient, caller: Caller, body: dict[str, Any] | None = None,
                 files: dict[str, bytes] | None = None) -> TestResponse:
    """POST an online application: the JSON in ``application``, files as ``material.<key>``."""
    data: dict[str, Any] = {"application": json.dumps(body or APPLICATION, ensure_ascii=False)}
    data.update({f"material.{k}": (io.BytesIO(v), f"{k}.pdf") for k, v in (files or FILES).items()})
    return client.post("/api/v1/online/applications", headers=caller.headers, data=data,
                       content_type="multipart/form-data")


def supplement(client: FlaskClient, caller: Caller, case_id: int, files: dict[str, bytes],
               note: str = "") -> TestResponse:
    """POST a 补正 upload for one of the caller's cases."""
    data: dict[str, Any] = {"supplement": json.dumps({"note": note}, ensure_ascii=False)}
    data.update({f"material.{k}": (io.BytesIO(v), f"{k}.pdf") for k, v in files.items()})
    return client.post(f"/api/v1/my/cases/{case_id}/supplements", headers=caller.headers, data=data,
                       content_type="multipart/form-data")


def my_case(client: FlaskClient, caller: Caller, case_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/my/cases/{case_id}", headers=caller.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_an_applicant_applies_online_corrects_online_and_sees_the_permit_delivered(app, client, people, clock):
    clerk, zhujian, zhujian_2, head = people["clerk"], people["zhujian"], people["zhujian_2"], people["head_zj"]
    zhang = open_account(client, clerk, app)
    at(clock, 3, 2, 20)                                         # Monday evening, from home
    response = apply_online(client, zhang)
    assert response.status_code == 201, response.get_data(as_text=True)
    applied = response.get_json()
    case_id, case_no = applied["case_id"], applied["case_no"]
    assert len(applied["query_code"]) == 8 and applied["receipt_url"] == f"/my/cases/{case_id}"
    # The case is the applicant's, online, in 渝中; 网上预审 waits in the 渝中 window's inbox.
    staff_view = client.get(f"/api/v1/cases/{case_id}", headers=clerk.headers).get_json()
    assert (staff_view["owning_district"], staff_view["receiving_district"]) == ("500103", "500103")
    assert [t["element_id"] for t in open_tasks(client, clerk, case_id)] == ["receive"]
    assert open_tasks(client, people["outsider"], case_id) == []
    (received,) = events(app, case_id, "ApplicationReceived")
    assert received.actor == "zhangsan" and received.payload["channel"] == "online"
    assert not any(m["original_verified"] for m in received.payload["materials"])
    started = events(app, case_id, "CaseStarted")[0].payload["data"]
    assert (started["department"], started["substantive_check"], started["applicant"]) == ("zhujian", True, "张三")
    mine = client.get("/api/v1/my/cases", headers=zhang.headers).get_json()["items"]
    assert [(c["case_no"], c["status_label"]) for c in mine] == [(case_no, "办理中")]
    assert my_case(client, zhang, case_id)["stage_label"] == "已收件"
    assert_error(supplement(client, zhang, case_id, {"drainage_plan": PDF}), 409, "NO_OPEN_CORRECTION")

    at(clock, 3, 3)                                             # Tuesday: 网上预审 finds the drawing wanting
    do(client, clerk, case_id, "receive", RECEIVE)
    do(client, clerk, case_id, "formal_review", {"intake_decision": "correction", "review_note": "图纸缺检测井"})
    notice = {"correction_notice_no": "渝中补〔2026〕0007 号", "missing_items": [
        {"item_name": "排水管网图纸", "item_requirement": "标注专用检测井和排放口位置、口径"},
        {"item_name": "排水水质检测报告", "item_requirement": "须为近三个月内的报告"}]}
    do(client, clerk, case_id, "correction_notice", notice)
    seen = my_case(client, zhang, case_id)
    assert (seen["stage"], seen["can_supplement"]) == ("correction", True)
    assert [i["name"] for i in seen["notice"]["items"]] == ["排水管网图纸", "排水水质检测报告"]
    assert "在本页上传补正材料" in seen["hint"]

    at(clock, 3, 5)                                             # Thursday: the corrected files, online
    response = supplement(client, zhang, case_id, {"drainage_plan": PDF + b"plan-v2",
                                                   "water_quality_report": PDF + b"water-2026-02"}, "已按告知补正")
    assert response.status_code == 201, response.get_data(as_text=True)
    (supplied,) = events(app, case_id, "SupplementReceived")
    assert supplied.actor == "zhangsan" and {m["key"] for m in supplied.payload["materials"]} == {
        "drainage_plan", "water_quality_report"}
    assert {m["key"]: m["filename"] for m in my_case(client, zhang, case_id)["materials_received"]}[
        "drainage_plan"] == "drainage_plan.pdf"
    received_at = response.get_json()["received_at"]             # ISO 8601 in UTC, as every read gives times
    seen = my_case(client, zhang, case_id)
    assert seen["supplements"][-1]["at"] == received_at and received_at.endswith("+00:00")
    assert all(datetime.fromisoformat(m["received_at"]).utcoffset() == timedelta(0)
               for m in seen["materials_received"])
    do(client, clerk, case_id, "receive_correction", {"correction_complete": "complete",
                                                      "correction_note": "网上补正材料齐全"})
    do(client, clerk, case_id, "accept_corrected", RECEIPT)
    assert my_case(client, zhang, case_id)["stage_label"] == "已受理"
    committed = {d["kind"]: d for d in my_case(client, zhang, case_id)["deadlines"]}["committed"]
    assert (committed["budget"], committed["started"], committed["due_date"]) == ("10 个工作日", True, "2026-03-19")

    at(clock, 3, 9)                                             # 审查 by two (实质核查), 决定, 制证, 电子送达
    do(client, zhujian, case_id, "review", REVIEW)
    do(client, zhujian_2, case_id, "review", REVIEW)
    do(client, head, case_id, "decide", GRANT)
    do(client, zhujian, case_id, "issue_license", LICENSE)
    do(client, clerk, case_id, "deliver", {"delivery_method": "electronic", "delivery_note": "电子证照推送至申请人"})
    done = my_case(client, zhang, case_id)
    assert (done["status"], done["stage_label"], done["can_supplement"]) == ("completed", "已办结", False)
    [listed] = client.get("/api/v1/my/cases", headers=zhang.headers).get_json()["items"]
    assert done["result"] and listed["status_label"] == "已办结" and listed["committed_due_at"] is None
    # The due date went with the clocks at 办结; what the case used against its limit stands in for it.
    assert (listed["committed_used_days"], listed["committed_limit_days"], listed["committed_late"]) == (2, 10, False)
    page = client.get("/my/cases", headers=zhang.headers).get_data(as_text=True)
    assert "已办结，用时 2 个工作日（承诺 10 个）" in page and "受理后起算" not in page
    receipt = client.get(f"/cases/{case_id}/receipt", headers=clerk.headers).get_data(as_text=True)
    assert "网上申报（申请人本人提交）" in receipt and "（已按补正要求更换）" in receipt
    assert path(app, case_id)[:7] == ["start", "receive", "formal_review", "correction_notice", "receive_correction",
                                      "accept_corrected", "review"]
    with Replayer(get_engine(app)) as replayer:             # the online 补正 is an input replay re-records
        result = replayer.replay_case(case_no)
    assert result.identical, result.divergence
    record_golden("online_application_corrected_online", app, case_id)
    engine = get_engine(app)                                  # 办结即归档: the package holds the supplied files
    assert TimerWorker(engine).build_archives() == (1, 0)
    (info,) = list_archives(engine)
    check = verify_archive(engine.config.archives_dir / info.path)
    assert check.ok, check.problem


def test_staff_and_applicants_stay_on_their_own_side(app, client, people):
    clerk = people["clerk"]
    zhang = open_account(client, clerk, app)
    for method, url in (("get", "/api/v1/tasks"), ("get", "/api/v1/tasks/counts"), ("get", "/api/v1/cases/1"),
                        ("post", "/api/v1/cases"), ("post", "/api/v1/applications"), ("get", "/api/v1/matters"),
                        ("get", "/api/v1/supervision"), ("get", "/api/v1/metrics/summary"),
                        ("post", "/api/v1/tasks/1/claim"), ("get", "/api/v1/grants"), ("get", "/api/v1/applicants")):
        assert_error(getattr(client, method)(url, headers=zhang.headers), 403, "STAFF_ONLY")
    for url in ("/api/v1/my/cases", "/api/v1/online/matters"):
        assert_error(client.get(url, headers=clerk.headers), 403, "APPLICANT_ONLY")
    assert_error(client.post("/api/v1/applicants", headers=people["zhujian"].headers, json=ZHANG), 403, "FORBIDDEN")
    online = client.get("/api/v1/online/matters", headers=zhang.headers).get_json()["items"]
    assert DRAINAGE in {m["code"] for m in online} and all("online" in m["modes"] for m in online)


def test_an_online_application_answers_the_tasks_it_created_as_the_counter_does(app, client, people):
    clerk = people["clerk"]
    zhang = open_account(client, clerk, app)
    response = apply_online(client, zhang)
    assert response.status_code == 201, response.get_data(as_text=True)
    applied = response.get_json()
    (receive,) = open_tasks(client, clerk, applied["case_id"])       # 收件 (网上预审) in the 渝中 window's inbox
    assert receive["element_id"] == "receive" and applied["created_task_ids"] == [receive["id"]]


def test_online_matters_give_times_in_iso_8601_as_the_catalog_does(app, client, people):
    zhang = open_account(client, people["clerk"], app)
    (online,) = [m for m in client.get("/api/v1/online/matters", headers=zhang.headers).get_json()["items"]
                 if m["code"] == DRAINAGE]
    staff = client.get(f"/api/v1/matters/{DRAINAGE}", headers=people["clerk"].headers).get_json()
    assert online["deployed_at"] == staff["deployed_at"]
    assert datetime.fromisoformat(online["deployed_at"]).utcoffset() == timedelta(0)


def test_online_refusals_over_http_are_chinese_with_stable_codes_and_write_nothing(app, client, people):
    clerk = people["clerk"]
    zhang = open_account(client, clerk, app)
    li = open_account(client, clerk, app, {"username": "lisi", "name": "李四", "id_type": "111",
                                           "id_number": "500101198808084523"})
    forged = {**APPLICATION, "applicant": {"kind": "person", "name": "李四", "id_type": "111",
                                           "id_number": "500101198808084523"}}
    assert_error(apply_online(client, zhang, forged), 403, "IDENTITY_MISMATCH")
    claimed = {**APPLICATION, "materials": {**APPLICATION["materials"],
                                            "water_quality_report": {"original_verified": True}}}
    assert_error(apply_online(client, zhang, claimed), 422, "ORIGINAL_NOT_ONLINE")
    assert_error(apply_online(client, zhang, {**APPLICATION, "district": "500101"}), 422, "MATTER_NOT_OFFERED")
    assert_error(apply_online(client, zhang, files={**FILES, "drainage_plan": b"GIF89a"}), 422,
                 "MATERIAL_TYPE_NOT_ALLOWED")
    assert_error(apply_online(client, clerk), 403, "APPLICANT_ONLY")
    assert client.get("/api/v1/my/cases", headers=zhang.headers).get_json()["items"] == []
    case_id = apply_online(client, zhang).get_json()["case_id"]
    assert_error(client.get(f"/api/v1/my/cases/{case_id}", headers=li.headers), 404, "NOT_FOUND")
    assert_error(supplement(client, li, case_id, {"drainage_plan": PDF}), 404, "NOT_FOUND")
    assert_error(client.post("/api/v1/applicants", headers=clerk.headers, json={**ZHANG, "username": "zs2"}), 409,
                 "APPLICANT_EXISTS")


def test_an_application_still_owing_tolerance_materials_cannot_be_accepted_on_the_spot(app, client, people, clock):
    """Choosing 当场受理 for an application received with 容缺 materials leads to 容缺受理 (signed commitment)."""
    clerk = people["clerk"]
    zhang = open_account(client, clerk, app)
    at(clock, 3, 2, 20)
    owing = {**APPLICATION, "materials": {**APPLICATION["materials"], "pretreatment_proof": {"missing": True}}}
    response = apply_online(client, zhang, owing)
    assert response.status_code == 201, response.get_data(as_text=True)
    case_id = response.get_json()["case_id"]
    assert response.get_json()["missing"] == ["pretreatment_proof"]
    # The case names the matter received (its catalog name), not the process that runs it.
    assert client.get(f"/api/v1/cases/{case_id}", headers=clerk.headers).get_json()["matter_name"] == \
        "城镇污水排入排水管网许可"
    page = client.get(f"/cases/{case_id}", headers=clerk.headers).get_data(as_text=True)
    assert "<dt>事项</dt><dd>城镇污水排入排水管网许可</dd>" in page
    at(clock, 3, 3)
    do(client, clerk, case_id, "receive", RECEIVE)
    do(client, clerk, case_id, "formal_review", ACCEPT)
    assert [t["element_id"] for t in open_tasks(client, clerk, case_id)] == ["accept_tolerance"]
    do(client, clerk, case_id, "accept_tolerance", {
        "tolerance_commitment_signed": True, "tolerance_items": [{"item_name": "预处理设施的运行情况说明"}],
        "tolerance_days": 5, "receipt_no": "容缺 02"})
    assert "receive_tolerance" in [t["element_id"] for t in open_tasks(client, clerk, case_id)]
    # 办件查询 and 我的办件 tell the last day (5 WD from 03-03: due 03-11 00:00), and nothing personal.
    told = "请于 2026-03-10（含当日）前补齐容缺材料，逾期将终止办理"
    pair = {"case_no": response.get_json()["case_no"], "query_code": response.get_json()["query_code"]}
    public = client.post("/api/v1/public/lookup", json=pair).get_json()
    assert public["tolerance_deadline"] == {"due_date": "2026-03-10", "text": told}
    assert "张三" not in json.dumps(public, ensure_ascii=False) and "13800138000" not in json.dumps(public)
    assert my_case(client, zhang, case_id)["tolerance_deadline"]["text"] == told
    suspended = client.post(f"/api/v1/cases/{case_id}/clocks/suspend", headers=clerk.headers,
                            json={"reason_kind": "tolerance", "reason": "等待补交预处理设施运行情况说明"})
    assert suspended.status_code == 200, suspended.get_data(as_text=True)
    [listed] = client.get("/api/v1/my/cases", headers=zhang.headers).get_json()["items"]
    assert (listed["committed_due_at"], listed["committed_paused"]) == (None, True)
    assert "暂停计时中" in client.get("/my/cases", headers=zhang.headers).get_data(as_text=True)
    # Without 容缺 materials the same choice accepts on the spot (the first test's case shows the same path).
    other = apply_online(client, zhang, APPLICATION, {**FILES, "pretreatment_proof": PDF + b"pre"})
    assert other.status_code == 201, other.get_data(as_text=True)
    other_id = other.get_json()["case_id"]
    do(client, clerk, other_id, "receive", RECEIVE)
    do(client, clerk, other_id, "formal_review", ACCEPT)
    assert [t["element_id"] for t in open_tasks(client, clerk, other_id)] == ["accept_on_spot"]
