"""Intake of a 一件事 bundle over HTTP: 企业开办 received at the 渝中 window and applied for online.

The application's ``form`` is the bundle's 一表申报 form (``qiye_kaiban_apply``); the shared materials it collects
once (``materials.id_card`` ...) come from the materials checklist, and intake's own bookkeeping (applicant,
matter, 承办部门, 容缺) sits beside the form in the start data without being checked against it. The case
starts with the 营业执照 in 市场监管's inbox, then the four departments in parallel, as a bundle started directly.
"""
from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.runtime import get_engine
from engine import Replayer

from .conftest import Caller
from .test_bundles import APPLICATION as BUNDLE_FORM, PARALLEL, clock, done, people, progress, task_detail  # noqa: F401
from .test_http_api import assert_error, get_case, inbox, only_task
from .test_online_http import apply_online, my_case, open_account

KAIBAN = "11500000MB1D25937B4000101001"
PDF = b"%PDF-1.7\n%kaiban\n"
FILES = {"id_card": PDF + b"id", "premises": PDF + b"premises", "articles": PDF + b"articles"}
FORM = {key: value for key, value in BUNDLE_FORM.items() if key != "materials"}
"""Every field of the 一表申报 form the applicant fills in (the materials come from the checklist)."""
COUNTER = {
    "matter_code": KAIBAN,
    "applicant": {"kind": "legal", "name": "重庆某建设有限公司", "id_number": "91500103MA5U1234XJ",
                  "legal_representative": "王五"},
    "contact_phone": "13800138000",
    "form": {**FORM, "company_type": "branch", "company_name": "重庆某建设有限公司渝中分公司"},
    "materials": {"id_card": {"original_verified": True}},
}
ONLINE = {"matter_code": KAIBAN, "district": "500103", "contact_phone": "13800138000",
          "form": {key: value for key, value in FORM.items() if key != "contact_phone"}}


def receive(client: FlaskClient, clerk: Caller, body: dict[str, Any] | None = None,
            files: dict[str, bytes] | None = None) -> TestResponse:
    """POST a counter application: the JSON in ``application``, files as ``material.<key>``."""
    data: dict[str, Any] = {"application": json.dumps(body or COUNTER, ensure_ascii=False)}
    data.update({f"material.{k}": (io.BytesIO(v), f"{k}.pdf") for k, v in (files or FILES).items()})
    return client.post("/api/v1/applications", headers=clerk.headers, data=data, content_type="multipart/form-data")


def started_data(app: Any, case_id: int) -> dict[str, Any]:
    return get_engine(app).queries.events(case_id)[0].payload["data"]


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def runs_as_a_bundle(client: FlaskClient, people: dict[str, Caller], case_id: int, company: str) -> None:
    """营业执照 first (its form filled from the application), then the four departments in parallel."""
    shichang = people["shichang"]
    assert progress(client, shichang, case_id) == {"营业执照": "running", "公章刻制备案": "waiting", "发票申领": "waiting",
                                                "社保登记": "waiting", "公积金登记": "waiting"}
    license_task = only_task(client, shichang, "license_review")
    assert license_task["case_id"] == case_id
    assert license_task["candidate_groups"] == ["reviewer@500103/shichang"]
    bundle = task_detail(client, shichang, license_task["id"])["bundle"]
    assert bundle["values"]["company_name"] == company
    assert bundle["values"]["materials.id_card"] == sha(FILES["id_card"])
    assert [(m["key"], m["status"]) for m in bundle["materials"]] == [
        ("id_card", "已收取"), ("premises", "已收取"), ("articles", "已收取")]
    done(client, shichang, license_task["id"], {"license_outcome": "registered", "credit_code": "91500103MA5U8XYW1K",
                                                "opinion": "准予设立登记"})
    for who, (element, _data) in PARALLEL.items():
        task = only_task(client, people[who], element)
        assert task["case_id"] == case_id and task["candidate_groups"] == [f"reviewer@500103/{who}"]
    seal = task_detail(client, people["gongan"], only_task(client, people["gongan"])["id"])["bundle"]
    assert seal["values"]["legal_rep_id"] == sha(FILES["id_card"]) and seal["values"]["company_name"] == company


def test_a_window_receives_a_qiye_kaiban_bundle_and_its_case_starts_with_the_licence(app, client, people, clock):
    clerk = people["clerk"]
    response = receive(client, clerk)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    case_id = body["case_id"]
    assert (body["tolerance"], body["missing"]) == (False, [])
    case = get_case(client, clerk, case_id)
    assert (case["matter_code"], case["bundle"]["name"]) == (KAIBAN, "企业开办“一件事”")
    assert {c["kind"]: c["budget"] for c in case["clocks"]} == {"legal": "3 个工作日", "committed": "3 个工作日"}
    data = started_data(app, case_id)
    # The 一表申报 form as mapped from the application, with intake's bookkeeping beside it.
    assert data["materials"] == {key: sha(content) for key, content in FILES.items()}
    assert (data["applicant"], data["applicant_kind"], data["matter_code"]) == ("重庆某建设有限公司", "legal", KAIBAN)
    assert (data["department"], data["tolerance"], data["company_type"]) == ("shichang", False, "branch")
    assert inbox(client, clerk)["items"] == []
    runs_as_a_bundle(client, people, case_id, "重庆某建设有限公司渝中分公司")
    with Replayer(get_engine(app)) as replayer:          # replay starts it from the recorded data again
        result = replayer.replay_case(case["case_no"])
    assert result.identical, result.divergence


def test_bundle_intake_refusals_name_the_applicants_fields_not_intakes_bookkeeping(app, client, people):
    clerk = people["clerk"]
    form = {key: value for key, value in COUNTER["form"].items() if key != "company_name"}
    refused = assert_error(receive(client, clerk, {**COUNTER, "form": {**form, "subject": "摘要"}}), 422,
                           "APPLICATION_INVALID")
    assert refused["details"]["fields"] == {"form.company_name": ["必填项"], "form.subject": ["未知字段"]}
    # A material the departments share cannot be 容缺; a landline cannot fill the form's mobile number.
    refused = assert_error(receive(client, clerk, {**COUNTER, "contact_phone": "023-63891234",
                                                   "form": {k: v for k, v in FORM.items() if k != "contact_phone"}},
                                   files={"id_card": FILES["id_card"], "articles": FILES["articles"]}), 422,
                           "MATERIALS_MISSING")
    assert set(refused["details"]["fields"]) == {"materials.premises", "contact_phone"}
    assert get_engine(app).queries.matters(q=KAIBAN)[0]["department"] == "shichang"
    assert inbox(client, people["shichang"])["items"] == []          # nothing was started


def test_an_applicant_applies_online_for_qiye_kaiban_and_the_case_starts_in_the_chosen_district(
        app, client, people, clock):
    zhang = open_account(client, people["clerk"], app)
    response = apply_online(client, zhang, ONLINE, FILES)
    assert response.status_code == 201, response.get_data(as_text=True)
    applied = response.get_json()
    case_id = applied["case_id"]
    data = started_data(app, case_id)
    assert data["contact_phone"] == "13800138000"            # the form's phone, taken from the application
    assert (data["applicant"], data["applicant_kind"], data["department"]) == ("张三", "person", "shichang")
    assert data["materials"] == {key: sha(content) for key, content in FILES.items()}
    license_task = only_task(client, people["shichang"], "license_review")
    assert applied["created_task_ids"] == [license_task["id"]]
    assert my_case(client, zhang, case_id)["status"] == "running"
    runs_as_a_bundle(client, people, case_id, FORM["company_name"])
    # The catalog's 承办部门 is not the applicant's to set, on a bundle as on any matter.
    refused = assert_error(apply_online(client, zhang, {**ONLINE, "form": {**ONLINE["form"], "department": "gongan"}},
                                        FILES), 422, "APPLICATION_INVALID")
    assert "form.department" in refused["details"]["fields"]
