"""A whole parallel approval over HTTP, and every way the API says no, on SQLite and PostgreSQL.

Users and tokens come from ``conftest.py`` (the ``cast``); definitions are deployed through the API as the
designer, exactly as an operator would upload them.
"""
from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.bpmn_factory import diagram
from tests.conftest import ROOT

from app.runtime import get_engine

from .conftest import Caller

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ACCEPT = {"decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": True}
APPROVE = {"approved": "approve", "opinion": "同意"}
REVIEWS = (("zhujian", "review_zhujian"), ("guihua", "review_guihua"), ("xiaofang", "review_xiaofang"))
XXE = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_x" '
       b'targetNamespace="http://tongban.test"><bpmn:process id="xxe" isExecutable="true">'
       b'<bpmn:startEvent id="start" name="&xxe;"/></bpmn:process></bpmn:definitions>\n')
OS_SYSTEM = diagram(process_id="os_system", condition="__import__('os').system('id') == 0")


# --- helpers -------------------------------------------------------------------------------------------------

def assert_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Assert a JSON error of ``status`` with ``code`` and a Chinese message; return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code, body
    assert CHINESE.search(body["message"]), body
    return body


def upload(client: FlaskClient, caller: Caller, files: list[tuple[str, bytes]]) -> TestResponse:
    """POST files to /api/v1/definitions as multipart field ``files``."""
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/api/v1/definitions", headers=caller.headers, data=data,
                       content_type="multipart/form-data")


def shipped_files() -> list[tuple[str, bytes]]:
    """The shipped parallel approval diagram, its matter catalog and every shipped form."""
    folder = ROOT / "processes" / "parallel_approval"
    paths = [folder / "main.bpmn", folder / "matters.yaml", *sorted((ROOT / "forms").glob("*.form"))]
    return [(p.name, p.read_bytes()) for p in paths]


def start_case(client: FlaskClient, caller: Caller, title: str = "某项目施工许可") -> dict[str, Any]:
    """Start a parallel approval and return the 201 body."""
    response = client.post("/api/v1/cases", headers=caller.headers, json={
        "process_key": "parallel_approval", "title": title, "data": {"applicant": "重庆某建设有限公司"}})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def inbox(client: FlaskClient, caller: Caller, **params: Any) -> dict[str, Any]:
    """GET the caller's inbox page."""
    response = client.get("/api/v1/tasks", headers=caller.headers, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def only_task(client: FlaskClient, caller: Caller, element_id: str | None = None) -> dict[str, Any]:
    """Return the caller's one open task (at ``element_id`` if given), asserting there is exactly one."""
    items = inbox(client, caller)["items"]
    assert len(items) == 1, items
    if element_id is not None:
        assert items[0]["element_id"] == element_id, items
    return items[0]


def claim(client: FlaskClient, caller: Caller, task_id: int) -> TestResponse:
    """POST a claim."""
    return client.post(f"/api/v1/tasks/{task_id}/claim", headers=caller.headers)


def complete(client: FlaskClient, caller: Caller, task_id: int, data: dict[str, Any]) -> TestResponse:
    """POST a completion with form ``data``."""
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=caller.headers, json={"data": data})


def get_case(client: FlaskClient, caller: Caller, case_id: int) -> dict[str, Any]:
    """GET a case the caller may see."""
    response = client.get(f"/api/v1/cases/{case_id}", headers=caller.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def deployed(client: FlaskClient, cast: dict[str, Caller]) -> dict[str, Caller]:
    """The shipped definitions deployed through the API by the designer; returns the cast."""
    response = upload(client, cast["designer"], shipped_files())
    assert response.status_code == 201, response.get_data(as_text=True)
    return cast


@pytest.fixture
def case(client: FlaskClient, deployed: dict[str, Caller]) -> dict[str, Any]:
    """A started case, with the clerk's 受理 task under ``accept_task``."""
    started = start_case(client, deployed["clerk"])
    return {**started, "accept_task": only_task(client, deployed["clerk"], "accept")}


@pytest.fixture
def in_review(client: FlaskClient, deployed: dict[str, Caller], case: dict[str, Any]) -> dict[str, Any]:
    """The case after the clerk accepted it: three review tasks are open."""
    response = complete(client, deployed["clerk"], case["accept_task"]["id"], ACCEPT)
    assert response.status_code == 200, response.get_data(as_text=True)
    return case


# --- the happy path ------------------------------------------------------------------------------------------

def test_a_parallel_approval_runs_from_start_to_end_over_http(client, cast):
    deploy = upload(client, cast["designer"], shipped_files())
    assert deploy.status_code == 201, deploy.get_data(as_text=True)
    lines = {(d["kind"], d["key"]): d for d in deploy.get_json()}
    assert lines[("process", "parallel_approval")]["version"] == 1
    assert lines[("process", "parallel_approval")]["status"] == "created"
    assert {key for kind, key in lines if kind == "form"} >= {"accept_application", "review_opinion"}

    started = start_case(client, cast["clerk"], "某项目施工许可")
    assert started["case_no"].startswith("TB20261123")
    assert started["status"] == "running"
    assert len(started["created_task_ids"]) == 1

    clerk = cast["clerk"]
    accept = only_task(client, clerk, "accept")
    assert accept["name"] == "受理"
    assert accept["case_no"] == started["case_no"]
    assert accept["case_title"] == "某项目施工许可"
    assert accept["candidate_groups"] == ["window_clerk@500103"]
    assert accept["form_key"] == "accept_application"
    assert accept["id"] in started["created_task_ids"]
    for who, _element in REVIEWS:
        assert inbox(client, cast[who])["items"] == [], f"{who} sees the 受理 task"

    claimed = claim(client, clerk, accept["id"])
    assert claimed.status_code == 200, claimed.get_data(as_text=True)
    assert inbox(client, clerk, scope="mine")["items"][0]["assignee"] == clerk.username
    accepted = complete(client, clerk, accept["id"], ACCEPT)
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert len(accepted.get_json()["created_task_ids"]) == 3
    assert inbox(client, clerk)["items"] == []

    for who, element in REVIEWS:
        task = only_task(client, cast[who], element)
        assert task["candidate_groups"] == [f"reviewer@500103/{who}"]
        last = complete(client, cast[who], task["id"], APPROVE)
        assert last.status_code == 200, last.get_data(as_text=True)
    assert last.get_json()["status"] == "completed"

    detail = get_case(client, clerk, started["case_id"])
    assert detail["status"] == "completed"
    assert detail["case_no"] == started["case_no"]
    assert detail["ended_at"] is not None
    assert {t["element_id"]: t["state"] for t in detail["tasks"]} == {
        "accept": "completed", "review_zhujian": "completed", "review_guihua": "completed",
        "review_xiaofang": "completed"}
    assert {t["element_id"]: t["completed_by"] for t in detail["tasks"]}["review_guihua"] == "reviewer_gh"
    done = inbox(client, cast["zhujian"], scope="completed")["items"]
    assert [t["element_id"] for t in done] == ["review_zhujian"]


def test_deployed_definitions_are_listed_to_any_user(client, deployed):
    response = client.get("/api/v1/definitions", headers=deployed["clerk"].headers)
    assert response.status_code == 200
    (row,) = response.get_json()
    assert (row["process_key"], row["version"], row["deployed_by"]) == ("parallel_approval", 1, "designer")


def test_deploying_the_same_files_again_keeps_their_version(client, deployed):
    again = upload(client, deployed["designer"], shipped_files())
    assert again.status_code == 200           # nothing created: not 201
    assert {(d["key"], d["version"], d["status"]) for d in again.get_json() if d["kind"] == "process"} == {
        ("parallel_approval", 1, "unchanged")}


# --- authentication and visibility ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer tb_not-a-real-token"}, {"Authorization": "Bearer "},
    {"Authorization": "Basic d2luZG93X3l6OnRvbmdiYW4tZGVtbw=="},
], ids=["no-token", "bad-token", "empty-token", "basic-auth"])
def test_a_request_without_a_valid_token_is_unauthenticated(client, cast, headers):
    for method, path in (("GET", "/api/v1/tasks"), ("GET", "/api/v1/cases/1"), ("POST", "/api/v1/cases"),
                         ("POST", "/api/v1/tasks/1/claim"), ("POST", "/api/v1/tasks/1/complete"),
                         ("POST", "/api/v1/tasks/1/unclaim"), ("GET", "/api/v1/tasks/1"),
                         ("GET", "/api/v1/definitions"), ("POST", "/api/v1/definitions")):
        # The body would fail validation on some of these routes: authentication must be checked first.
        response = client.open(path, method=method, headers=headers, json={"process_key": "parallel_approval"})
        assert_error(response, 401, "UNAUTHENTICATED")


def test_a_clerk_of_another_district_gets_not_found_rather_than_forbidden(client, deployed, case):
    outsider, task_id = deployed["outsider"], case["accept_task"]["id"]
    before = get_case(client, deployed["clerk"], case["case_id"])
    assert inbox(client, outsider) == {"items": [], "next_cursor": None}
    for scope in ("mine", "available", "completed"):
        assert inbox(client, outsider, scope=scope)["items"] == []
    assert_error(client.get(f"/api/v1/tasks/{task_id}", headers=outsider.headers), 404, "NOT_FOUND")
    assert_error(claim(client, outsider, task_id), 404, "NOT_FOUND")
    assert_error(complete(client, outsider, task_id, ACCEPT), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/v1/cases/{case['case_id']}", headers=outsider.headers), 404, "NOT_FOUND")
    after = get_case(client, deployed["clerk"], case["case_id"])
    assert (after["version"], after["tasks"]) == (before["version"], before["tasks"])


def test_an_unknown_task_and_an_unknown_case_are_not_found(client, deployed):
    clerk = deployed["clerk"]
    assert_error(client.get("/api/v1/tasks/999999", headers=clerk.headers), 404, "NOT_FOUND")
    assert_error(claim(client, clerk, 999999), 404, "NOT_FOUND")
    assert_error(complete(client, clerk, 999999, ACCEPT), 404, "NOT_FOUND")
    assert_error(client.get("/api/v1/cases/999999", headers=clerk.headers), 404, "NOT_FOUND")


def test_each_reviewer_sees_only_their_own_departments_task(client, deployed, in_review):
    for who, element in REVIEWS:
        task = only_task(client, deployed[who], element)
        assert task["case_id"] == in_review["case_id"]
    others = {element for _who, element in REVIEWS} - {"review_zhujian"}
    for element_id in others:
        (task,) = [t for t in get_case(client, deployed["clerk"], in_review["case_id"])["tasks"]
                   if t["element_id"] == element_id]
        assert_error(client.get(f"/api/v1/tasks/{task['id']}", headers=deployed["zhujian"].headers),
                     404, "NOT_FOUND")
        assert_error(complete(client, deployed["zhujian"], task["id"], APPROVE), 404, "NOT_FOUND")


# --- refusals that change nothing ----------------------------------------------------------------------------

def test_wrong_typed_form_data_lists_every_bad_field_and_leaves_the_case_unchanged(client, deployed, case):
    clerk, task_id = deployed["clerk"], case["accept_task"]["id"]
    before = get_case(client, clerk, case["case_id"])
    response = complete(client, clerk, task_id, {"decision": "maybe", "materials_complete": "yes", "opinion": 42})
    body = assert_error(response, 422, "FORM_INVALID")
    fields = body["details"]["fields"]
    assert set(fields) == {"decision", "materials_complete", "opinion"}, fields
    assert all(messages for messages in fields.values())
    after = get_case(client, clerk, case["case_id"])
    assert after["version"] == before["version"]
    assert after["event_count"] == before["event_count"]
    assert after["tasks"] == before["tasks"]
    assert only_task(client, clerk, "accept")["state"] == "open"


def test_missing_required_form_fields_are_named(client, deployed, case):
    body = assert_error(complete(client, deployed["clerk"], case["accept_task"]["id"], {}), 422, "FORM_INVALID")
    assert {"decision", "opinion"} <= set(body["details"]["fields"])


def test_completing_a_completed_task_is_a_conflict(client, deployed, in_review):
    clerk, task_id = deployed["clerk"], in_review["accept_task"]["id"]
    before = get_case(client, clerk, in_review["case_id"])
    body = assert_error(complete(client, clerk, task_id, ACCEPT), 409, "CONFLICT")
    assert "已办结" in body["message"]
    assert_error(claim(client, clerk, task_id), 409, "CONFLICT")
    assert get_case(client, clerk, in_review["case_id"])["version"] == before["version"]


def test_a_task_claimed_by_one_reviewer_cannot_be_claimed_by_another(client, deployed, in_review):
    first, second = deployed["zhujian"], deployed["zhujian_2"]
    task = only_task(client, first, "review_zhujian")
    assert only_task(client, second, "review_zhujian")["id"] == task["id"]
    assert claim(client, first, task["id"]).status_code == 200
    before = get_case(client, deployed["clerk"], in_review["case_id"])["version"]
    body = assert_error(claim(client, second, task["id"]), 409, "CONFLICT")
    assert first.username in body["message"]
    assert_error(complete(client, second, task["id"], APPROVE), 409, "CONFLICT")
    assert_error(client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=second.headers), 409, "CONFLICT")
    assert inbox(client, second, scope="available")["items"] == []
    assert get_case(client, deployed["clerk"], in_review["case_id"])["version"] == before
    assert_error(claim(client, first, task["id"]), 409, "CONFLICT")  # already yours


def test_unclaiming_gives_the_task_back_to_the_department(client, deployed, in_review):
    first, second = deployed["zhujian"], deployed["zhujian_2"]
    task = only_task(client, first, "review_zhujian")
    assert claim(client, first, task["id"]).status_code == 200
    response = client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=first.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert claim(client, second, task["id"]).status_code == 200
    assert complete(client, second, task["id"], APPROVE).status_code == 200


# --- deployment ------------------------------------------------------------------------------------------------

def test_only_a_designer_may_deploy(client, cast):
    for who in ("clerk", "zhujian"):
        assert_error(upload(client, cast[who], shipped_files()), 403, "DEPLOY_FORBIDDEN")
    assert client.get("/api/v1/definitions", headers=cast["clerk"].headers).get_json() == []


@pytest.mark.parametrize(("content", "finding"), [(XXE, "BPMN_DTD_FORBIDDEN"), (OS_SYSTEM, "EXPRESSION_REJECTED")],
                         ids=["xxe-doctype", "os-system-condition"])
def test_a_hostile_diagram_is_rejected_with_findings(client, cast, content, finding):
    body = assert_error(upload(client, cast["designer"], [("evil.bpmn", content)]), 422, "DEFINITION_REJECTED")
    findings = body["details"]["findings"]
    assert finding in [f["code"] for f in findings], findings
    assert all(CHINESE.search(f["message"]) for f in findings)
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []


def test_a_hostile_diagram_among_good_files_deploys_nothing(client, cast):
    response = upload(client, cast["designer"], [*shipped_files(), ("evil.bpmn", OS_SYSTEM)])
    assert_error(response, 422, "DEFINITION_REJECTED")
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []


def test_deploying_nothing_or_the_wrong_kind_of_file_is_invalid_input(client, cast):
    designer = cast["designer"]
    assert_error(client.post("/api/v1/definitions", headers=designer.headers, data={},
                             content_type="multipart/form-data"), 422, "INVALID_INPUT")
    assert_error(upload(client, designer, [("notes.txt", b"hello")]), 422, "INVALID_INPUT")


# --- request validation, routing, OpenAPI ----------------------------------------------------------------------

def test_a_request_failing_validation_names_the_bad_fields(client, deployed):
    clerk = deployed["clerk"]
    body = assert_error(client.post("/api/v1/cases", headers=clerk.headers, json={"title": "无事项"}),
                        422, "INVALID_INPUT")
    assert "process_key" in body["details"]["fields"]["json"], body
    body = assert_error(client.post("/api/v1/cases", headers=clerk.headers,
                                    json={"process_key": "parallel_approval", "data": [1, 2]}),
                        422, "INVALID_INPUT")
    assert "data" in body["details"]["fields"]["json"], body
    body = assert_error(client.get("/api/v1/tasks", headers=clerk.headers, query_string={"limit": 0}),
                        422, "INVALID_INPUT")
    assert "limit" in body["details"]["fields"]["query"], body
    body = assert_error(client.get("/api/v1/tasks", headers=clerk.headers, query_string={"scope": "everything"}),
                        422, "INVALID_INPUT")
    assert "scope" in body["details"]["fields"]["query"], body


def test_starting_an_undeployed_process_is_not_found(client, deployed):
    response = client.post("/api/v1/cases", headers=deployed["clerk"].headers, json={"process_key": "no_such"})
    assert_error(response, 404, "NOT_FOUND")


def test_a_bad_pagination_cursor_is_invalid_input(client, deployed):
    response = client.get("/api/v1/tasks", headers=deployed["clerk"].headers, query_string={"cursor": "garbage"})
    assert_error(response, 422, "INVALID_INPUT")


def test_an_unknown_route_or_method_is_a_json_error(client, cast):
    assert_error(client.get("/api/v1/nothing-here", headers=cast["clerk"].headers), 404, "NOT_FOUND")
    assert_error(client.get("/no/such/page"), 404, "NOT_FOUND")
    assert_error(client.delete("/api/v1/cases", headers=cast["clerk"].headers), 405, "METHOD_NOT_ALLOWED")


def test_a_body_that_is_not_json_is_a_json_error(client, deployed):
    response = client.post("/api/v1/cases", headers={**deployed["clerk"].headers, "Content-Type": "application/json"},
                           data=b"{not json")
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] in ("BAD_REQUEST", "INVALID_INPUT") and CHINESE.search(body["message"])


def test_the_openapi_document_describes_our_paths(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["info"]["title"] == "tongban 通办 API"
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/claim",
                 "/api/v1/tasks/{task_id}/complete", "/api/v1/cases", "/api/v1/cases/{case_id}",
                 "/api/v1/definitions"):
        assert path in spec["paths"], sorted(spec["paths"])
    assert "bearer" in spec["components"]["securitySchemes"]


def test_health_reports_the_database_and_warns_when_the_calendar_runs_out(app, client):
    from engine import ensure_calendar_seeded, import_calendar_year, parse_schedule
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    body = client.get("/api/health").get_json()            # 2026-11-23 + 60 days reaches unpublished 2027
    assert body["status"] == "warning" and body["database"] is True
    assert body["calendar"]["missing_years"] == [2027] and "tongban calendar import" in body["calendar"]["warning"]
    import_calendar_year(engine, parse_schedule((ROOT / "tests/data/calendar/2027.yaml").read_text(), "yaml"), actor="admin")
    assert client.get("/api/health").get_json() == {
        "status": "ok", "database": True,
        "calendar": {"ok": True, "horizon": "2027-01-22", "missing_years": [], "warning": None}}


# --- pagination -------------------------------------------------------------------------------------------------

def test_the_inbox_pages_by_keyset_without_duplicates(client, deployed, clock):
    clerk = deployed["clerk"]
    start_case(client, clerk, "第一件")
    clock.advance(minutes=5)
    start_case(client, clerk, "第二件")
    start_case(client, clerk, "第三件")  # same instant as the second: the id breaks the tie

    first = inbox(client, clerk, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = inbox(client, clerk, limit=2, cursor=first["next_cursor"])
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    titles = [t["case_title"] for t in first["items"] + second["items"]]
    assert titles == ["第一件", "第二件", "第三件"]
    ids = [t["id"] for t in first["items"] + second["items"]]
    assert len(set(ids)) == 3

    walked, cursor = [], None
    while True:
        page = inbox(client, clerk, limit=1, **({"cursor": cursor} if cursor else {}))
        walked += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == ids
    exact = inbox(client, clerk, limit=3)
    assert [t["id"] for t in exact["items"]] == ids and exact["next_cursor"] is None


def test_the_next_cursor_can_be_put_into_a_url_verbatim(client, deployed):
    clerk = deployed["clerk"]
    for title in ("第一件", "第二件"):
        start_case(client, clerk, title)
    first = inbox(client, clerk, limit=1)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", first["next_cursor"])
    response = client.get(f"/api/v1/tasks?limit=1&cursor={first['next_cursor']}", headers=clerk.headers)
    assert response.status_code == 200, response.get_json()
    assert [t["case_title"] for t in response.get_json()["items"]] == ["第二件"]
