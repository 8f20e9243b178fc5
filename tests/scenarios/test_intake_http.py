"""Intake over HTTP: a 渝中 clerk receives an application with uploads; the inbox shows 受理; clocks from the catalog."""
from __future__ import annotations

import io
import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from .conftest import Caller
from .test_http_api import assert_error, deployed, inbox  # noqa: F401 (fixture)

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%scenario\n"
APPLICATION = {
    "matter_code": CODE,
    "applicant": {"kind": "legal", "name": "重庆某建设有限公司", "id_number": "91500103MA5U1234XJ",
                  "legal_representative": "王五"},
    "agent": {"kind": "entrusted", "name": "李四", "id_type": "111", "id_number": "500101199003041125",
              "authorization": "WT-2026-001"},
    "contact_phone": "023-63891234",
    "form": {"project": "某小区 1 号楼"},
    "materials": {"land_certificate": {"license_ref": "LIC-500103-2026-0001"}, "bid_notice": {"missing": True},
                  "funding_proof": {"original_verified": True}},
}


def post_application(client: FlaskClient, caller: Caller, body: dict[str, Any] | None = None,
                     files: dict[str, bytes] | None = None) -> TestResponse:
    """POST an application as multipart: the JSON in ``application``, files as ``material.<key>``."""
    uploads = files if files is not None else {"application_form": PDF, "drawing_review": PDF + b"d",
                                               "funding_proof": PDF + b"f"}
    data: dict[str, Any] = {"application": json.dumps(body or APPLICATION, ensure_ascii=False)}
    data.update({f"material.{key}": (io.BytesIO(content), f"{key}.pdf") for key, content in uploads.items()})
    return client.post("/api/v1/applications", headers=caller.headers, data=data, content_type="multipart/form-data")


def test_a_clerk_receives_an_application_and_the_inbox_shows_the_acceptance_task_with_catalog_clocks(
        client, deployed, clock):
    clerk = deployed["clerk"]
    response = post_application(client, clerk)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert len(body["query_code"]) == 8 and body["tolerance"] is True and body["missing"] == ["bid_notice"]
    assert body["receipt_url"] == f"/cases/{body['case_id']}/receipt"
    (task,) = [t for t in inbox(client, clerk)["items"] if t["case_id"] == body["case_id"]]
    assert (task["element_id"], task["name"]) == ("accept", "受理")
    case = client.get(f"/api/v1/cases/{body['case_id']}", headers=clerk.headers).get_json()
    assert (case["matter_code"], case["matter_version"]) == (CODE, 1)
    budgets = {c["kind"]: c["budget"] for c in case["clocks"]}
    assert budgets == {"legal": "20 个工作日", "committed": "7 个工作日"}  # 渝中 override of the catalog's 10
    assert case["committed_due_at"].startswith("2026-12-02T16:00:00")  # 2026-12-03 00:00 +08:00, i.e. end of 12-02
    lookup = client.post("/api/v1/applications/lookup", json={"case_no": body["case_no"],
                                                              "query_code": body["query_code"].lower()})
    assert lookup.status_code == 200 and lookup.get_json()["missing"] == ["中标通知书"]
    wrong = {"case_no": body["case_no"], "query_code": "ZZZZZZZZ"}
    for _ in range(5):
        assert_error(client.post("/api/v1/applications/lookup", json=wrong), 404, "QUERY_CODE_MISMATCH")
    assert_error(client.post("/api/v1/applications/lookup", json=wrong), 429, "TOO_MANY_ATTEMPTS")
    right = {"case_no": body["case_no"], "query_code": body["query_code"]}
    assert client.post("/api/v1/applications/lookup", json=right).status_code == 429  # the pair waits it out
    clock.advance(minutes=16)
    assert client.post("/api/v1/applications/lookup", json=right).get_json()["case_no"] == body["case_no"]


def test_intake_refusals_over_http_are_chinese_with_stable_codes(client, deployed):
    clerk, outsider, reviewer = deployed["clerk"], deployed["outsider"], deployed["zhujian"]
    assert_error(post_application(client, outsider), 422, "MATTER_NOT_OFFERED")
    assert_error(post_application(client, reviewer), 403, "FORBIDDEN")
    missing = assert_error(post_application(client, clerk, files={"application_form": PDF}), 422,
                           "MATERIALS_MISSING")
    assert {m["key"] for m in missing["details"]["missing"]} == {"drawing_review", "funding_proof"}
    bad = assert_error(post_application(client, clerk, files={"application_form": b"GIF89a", "drawing_review": PDF,
                                                              "funding_proof": PDF}), 422,
                       "MATERIAL_TYPE_NOT_ALLOWED")
    assert list(bad["details"]["fields"]) == ["materials.application_form"]
    wrong = dict(APPLICATION, applicant={"kind": "person", "name": "张三", "id_type": "111",
                                         "id_number": "500103198506120318"})
    fields = assert_error(post_application(client, clerk, wrong), 422, "APPLICATION_INVALID")["details"]["fields"]
    assert fields == {"applicant.id_number": ["居民身份证号校验位不正确，请核对"]}
    shape = client.post("/api/v1/applications", headers=clerk.headers, content_type="multipart/form-data",
                        data={"application": json.dumps({"matter_code": CODE})})
    assert set(assert_error(shape, 422, "INVALID_INPUT")["details"]["fields"]) == {"applicant", "contact_phone"}
    assert_error(client.post("/api/v1/applications", headers=clerk.headers, content_type="multipart/form-data",
                             data={"application": "{not json"}), 422, "INVALID_INPUT")
    assert inbox(client, clerk)["items"] == []


def test_a_case_started_by_matter_code_over_the_api_runs_the_matters_process_with_its_limits(client, deployed):
    clerk, outsider = deployed["clerk"], deployed["outsider"]
    response = client.post("/api/v1/cases", headers=clerk.headers,
                           json={"matter_code": CODE, "title": "按事项收件", "data": {"applicant": "某公司"}})
    assert response.status_code == 201, response.get_json()
    case = client.get(f"/api/v1/cases/{response.get_json()['case_id']}", headers=clerk.headers).get_json()
    assert (case["process_key"], case["matter_code"]) == ("parallel_approval", CODE)
    assert {c["kind"]: c["budget"] for c in case["clocks"]}["committed"] == "7 个工作日"
    refused = client.post("/api/v1/cases", headers=outsider.headers, json={"matter_code": CODE})
    assert assert_error(refused, 422, "MATTER_NOT_OFFERED")["details"]["district"] == "500101"
    neither = assert_error(client.post("/api/v1/cases", headers=clerk.headers, json={"title": "x"}), 422,
                           "INVALID_INPUT")
    assert neither["details"]["fields"]["json"]["process_key"] == ["请指定流程（process_key）或事项（matter_code）"]


def test_another_district_receives_a_matter_only_under_a_grant_and_the_owner_decides(app, client, deployed):
    from app.runtime import get_engine
    from engine import CompleteTask
    wanzhou, yuzhong = deployed["outsider"], deployed["clerk"]            # 万州 window, 渝中 window
    body = {**APPLICATION, "owning_district": "500103"}
    refused = assert_error(post_application(client, wanzhou, body), 403, "GRANT_MISSING")
    assert refused["details"]["right"] == "receive"
    engine = get_engine(app)
    grant = engine.grants.add(matter_code=CODE, owning="500103", receiving="500101",
                              rights=["receive", "formal_review"], actor="admin")
    response = post_application(client, wanzhou, body)
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["case_id"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=wanzhou.headers).get_json()
    assert (case["owning_district"], case["receiving_district"]) == ("500103", "500101")
    exercised = [e.payload for e in engine.queries.events(case_id) if e.event_type == "GrantExercised"]
    assert exercised == [{"grant_id": grant.id, "right": "receive", "owning_district": "500103",
                          "receiving_district": "500101"}]
    # 受理 is the receiving window's; the review that follows belongs to the owning district.
    (accept,) = [t for t in inbox(client, wanzhou)["items"] if t["case_id"] == case_id]
    assert accept["element_id"] == "accept"
    assert [t for t in inbox(client, yuzhong)["items"] if t["case_id"] == case_id] == []
    engine.handle(CompleteTask(accept["id"], engine.identity.actor_for_token(
        wanzhou.headers["Authorization"].split()[1]), {"decision": "accept", "opinion": "材料齐全",
                                                      "materials_complete": True}))
    assert {t["element_id"] for t in inbox(client, deployed["zhujian"])["items"] if t["case_id"] == case_id} == {
        "review_zhujian"}
    assert [t for t in inbox(client, wanzhou)["items"] if t["case_id"] == case_id] == []
    engine.grants.revoke(grant.id, actor="admin", reason="试点结束")
    assert_error(post_application(client, wanzhou, body), 403, "GRANT_MISSING")


def test_a_caller_who_may_not_receive_is_refused_403_before_the_body_is_validated(client, deployed):
    reviewer, clerk = deployed["zhujian"], deployed["clerk"]
    for data in ({"application": "{}"}, {"application": "不是 JSON"}, {}):
        response = client.post("/api/v1/applications", headers=reviewer.headers, data=data,
                               content_type="multipart/form-data")
        assert assert_error(response, 403, "FORBIDDEN")["message"] == "只有窗口人员可以收件"
    assert_error(post_application(client, reviewer), 403, "FORBIDDEN")        # a valid body: the same refusal
    empty = client.post("/api/v1/applications", headers=clerk.headers, data={"application": "{}"},
                        content_type="multipart/form-data")
    assert "matter_code" in assert_error(empty, 422, "INVALID_INPUT")["details"]["fields"]   # a clerk is told why


def test_materials_up_to_their_own_limit_fit_in_one_request_and_larger_ones_name_the_material(app, client, deployed):
    """A multipart application may exceed the 10 MB body limit of other requests: each material may be up to
    TONGBAN_MAX_MATERIAL_BYTES (20 MB) and the request up to ten of them. QA found 12 MB refused with 413."""
    clerk = deployed["clerk"]
    twelve, over = PDF + b"0" * (12 * 1024 * 1024), PDF + b"0" * (21 * 1024 * 1024)

    def answer(files: dict[str, bytes]) -> TestResponse:
        # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
        values: dict[str, Any] = {"application": json.dumps(APPLICATION, ensure_ascii=False)}
        values.update({f"material.{key}": FileStorage(io.BytesIO(content), f"{key}.pdf", content_type="application/pdf")
                       for key, content in files.items()})
        boundary, body = encode_multipart(values)
        return client.post("/api/v1/applications", headers=clerk.headers, data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")

    received = answer({"application_form": twelve, "drawing_review": PDF + b"d", "funding_proof": PDF + b"f"})
    assert received.status_code == 201, received.get_data(as_text=True)[:300]
    refused = assert_error(answer({"application_form": PDF, "drawing_review": over, "funding_proof": PDF + b"f"}),
                           422, "MATERIAL_TOO_LARGE")
    assert list(refused["details"]["fields"]) == ["materials.drawing_review"]
    # A JSON body stays at 10 MB, and the 413 names the limit that applied to the request.
    big = client.post("/api/v1/cases", headers=clerk.headers, data=b"[" + b"0," * (6 * 1024 * 1024) + b"0]",
                      content_type="application/json")
    assert "10 MB" in assert_error(big, 413, "PAYLOAD_TOO_LARGE")["message"]
    app.config["TONGBAN_MAX_UPLOAD_BYTES"] = 5 * 1024 * 1024
    limited = assert_error(answer({"application_form": twelve}), 413, "PAYLOAD_TOO_LARGE")
    assert "5 MB" in limited["message"] and limited["details"]["max_bytes"] == 5 * 1024 * 1024
    # A small body with too many fields is refused by the form parser: the 413 names that limit, not 5 MB.
    boundary, body = encode_multipart({f"field_{n}": "x" for n in range(1001)})
    assert len(body) < 200 * 1024
    crowded = assert_error(client.post("/api/v1/applications", headers=clerk.headers, data=body,
                                       content_type=f"multipart/form-data; boundary={boundary}"),
                           413, "PAYLOAD_TOO_LARGE")
    assert crowded["message"] == "表单字段过多或过大：最多 1000 个字段（含文件），文件以外的每个字段不超过 500,000 字节"
    assert crowded["details"]["max_form_parts"] == 1000 and "max_bytes" not in crowded["details"]
