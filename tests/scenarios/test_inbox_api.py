"""The inbox over HTTP: filters, sorts with keyset cursors, tab counts, bulk claim, 转办, 退回, and bad input.

Runs on SQLite and PostgreSQL with the ``cast`` of ``conftest.py``; the definitions are uploaded by the designer.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from app.runtime import get_engine
from engine import Actor, StartCase
from engine.persistence.models import ApiToken
from tests.conftest import DATA

from .conftest import Caller
from .test_http_api import (
    ACCEPT, assert_error, claim, complete, get_case, inbox, only_task, shipped_files, upload,
)

HOSTILE = "<script>alert('x')</script>'; DROP TABLE tasks; --"


def return_paths() -> tuple[str, bytes]:
    """The test diagram with a sequence, a parallel split and join, and two lanes (stages)."""
    path = DATA / "processes" / "return_paths.bpmn"
    return path.name, path.read_bytes()


@pytest.fixture
def deployed(client: FlaskClient, cast: dict[str, Caller]) -> dict[str, Caller]:
    """The shipped parallel approval and the return-paths diagram, uploaded by the designer."""
    response = upload(client, cast["designer"], [*shipped_files(), return_paths()])
    assert response.status_code == 201, response.get_data(as_text=True)
    return cast


def start(client: FlaskClient, caller: Caller, *, process_key: str = "parallel_approval",
          applicant: str = "张三", title: str = "办件", **extra: Any) -> dict[str, Any]:
    """Start a case with this applicant; return the 201 body."""
    response = client.post("/api/v1/cases", headers=caller.headers, json={
        "process_key": process_key, "title": title, "data": {"applicant": applicant}, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def started_for_other_district(client: FlaskClient, *, applicant: str, owning: str,
                               receiving: str) -> dict[str, Any]:
    """Start a parallel approval owned by ``owning`` and received at ``receiving``, as the system does."""
    ref = get_engine(client.application).handle(StartCase(
        "parallel_approval", Actor.system(), {"applicant": applicant}, title="办件", owning_district=owning,
        receiving_district=receiving))
    return {"case_id": ref.case_id, "case_no": ref.case_no}


def ids(page: dict[str, Any]) -> list[int]:
    """The task ids of a page."""
    return [t["id"] for t in page["items"]]


def walk(client: FlaskClient, caller: Caller, **params: Any) -> list[int]:
    """Page through the inbox one task at a time with the cursors; return the ids in order."""
    seen, cursor = [], None
    while True:
        page = inbox(client, caller, limit=1, **params, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


# --- filters --------------------------------------------------------------------------------------------------

def test_the_inbox_filters_by_matter_district_stage_and_text(client, deployed):
    clerk = deployed["clerk"]
    zhang = start(client, clerk, applicant="重庆张三建设有限公司")
    # A case owned by 500101 and received here: the system starts it (a person must name a granted matter).
    li = started_for_other_district(client, applicant="李四", owning="500101", receiving="500103")
    other = start(client, clerk, process_key="return_paths", applicant="王五")
    case_of = {t["id"]: t["case_id"] for t in inbox(client, clerk)["items"]}
    assert len(case_of) == 3

    def cases(**params: Any) -> set[int]:
        return {t["case_id"] for t in inbox(client, clerk, **params)["items"]}

    assert cases(matter="return_paths") == {other["case_id"]}
    assert cases(process_key="parallel_approval") == {zhang["case_id"], li["case_id"]}
    assert cases(district="500101") == {li["case_id"]}
    assert cases(stage="收件阶段") == {other["case_id"]}
    assert cases(q="张三") == {zhang["case_id"]}
    assert cases(q=li["case_no"][-6:]) == {li["case_id"]}
    assert cases(q=zhang["case_no"].lower()) == {zhang["case_id"]}
    for wildcard in ("%", "_", "\\", "/"):
        assert cases(q=wildcard) == set(), wildcard
    row = [t for t in inbox(client, clerk, district="500101")["items"]][0]
    assert (row["applicant_name"], row["district"], row["case_no"]) == ("李四", "500101", li["case_no"])


def test_sql_and_html_in_the_text_filter_and_the_data_are_stored_and_returned_verbatim(client, deployed):
    clerk = deployed["clerk"]
    started = start(client, clerk, applicant=HOSTILE, title=HOSTILE)
    (row,) = inbox(client, clerk, q=HOSTILE)["items"]
    assert (row["applicant_name"], row["case_title"]) == (HOSTILE, HOSTILE)
    assert inbox(client, clerk, q="' OR '1'='1")["items"] == []
    response = complete(client, clerk, row["id"], {**ACCEPT, "opinion": HOSTILE})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert get_case(client, clerk, started["case_id"])["title"] == HOSTILE
    events = get_engine(client.application).queries.events(started["case_id"])
    assert [e.payload["data"]["opinion"] for e in events if e.event_type == "TaskCompleted"] == [HOSTILE]
    assert inbox(client, deployed["zhujian"])["items"], "the tasks table is still there"


def test_lights_and_due_before_compare_the_stored_due_instants_with_now(client, deployed, clock):
    clerk = deployed["clerk"]
    start(client, clerk, title="早")
    clock.advance(days=1)
    start(client, clerk, title="晚")
    early, late = inbox(client, clerk, sort="due")["items"]
    assert early["case_title"] == "早" and early["inbox_due_at"] < late["inbox_due_at"]
    assert {t["light"] for t in (early, late)} == {"green"}
    due = inbox(client, clerk, due_before=late["inbox_due_at"])["items"]
    assert [t["id"] for t in due] == [early["id"]]

    clock.set(_instant(early["inbox_due_at"]) + timedelta(minutes=1))
    colours = {t["case_title"]: t["light"] for t in inbox(client, clerk)["items"]}
    assert colours["早"] == "red" and colours["晚"] in ("yellow", "green")
    assert [t["case_title"] for t in inbox(client, clerk, light="red")["items"]] == ["早"]
    assert [t["case_title"] for t in inbox(client, clerk, light=colours["晚"])["items"]] == ["晚"]
    assert [t["case_title"] for t in inbox(client, clerk, sort="light", order="desc")["items"]] == ["晚", "早"]
    expected = {"red": 1, "yellow": int(colours["晚"] == "yellow")}
    counts = client.get("/api/v1/tasks/counts", headers=clerk.headers).get_json()
    assert {k: counts[k] for k in expected} == expected and counts["available"] == 2
    assert claim(client, clerk, late["id"]).status_code == 200
    counts = client.get("/api/v1/tasks/counts", headers=clerk.headers).get_json()
    assert {k: counts[k] for k in expected} == expected and (counts["mine"], counts["available"]) == (1, 1)
    clock.set(_instant(late["inbox_due_at"]))
    assert {t["light"] for t in inbox(client, clerk)["items"]} == {"red"}
    assert inbox(client, clerk, light="green")["items"] == []


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- sorting and cursors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sort", ["created", "due", "light"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_sort_pages_by_keyset_in_the_same_order_as_one_page(client, deployed, clock, sort, order):
    clerk = deployed["clerk"]
    for i in range(4):
        start(client, clerk, process_key="return_paths" if i % 2 else "parallel_approval", title=f"第{i}件")
        if i != 1:
            clock.advance(hours=3)
    full = ids(inbox(client, clerk, sort=sort, order=order))
    assert len(full) == 4
    assert walk(client, clerk, sort=sort, order=order) == full
    page = inbox(client, clerk, sort=sort, order=order, limit=3)
    assert ids(page) == full[:3]
    rest = inbox(client, clerk, sort=sort, order=order, limit=3, cursor=page["next_cursor"])
    assert ids(rest) == full[3:] and rest["next_cursor"] is None
    reverse = ids(inbox(client, clerk, sort=sort, order="desc" if order == "asc" else "asc"))
    assert reverse == full[::-1]


def test_due_order_puts_undated_tasks_last(client, deployed):
    clerk = deployed["clerk"]
    undated = start(client, clerk, process_key="return_paths")
    dated = start(client, clerk)
    order = [t["case_id"] for t in inbox(client, clerk, sort="due")["items"]]
    assert order == [dated["case_id"], undated["case_id"]]
    assert inbox(client, clerk, sort="due")["items"][1]["inbox_due_at"] is None


def test_a_cursor_from_another_sort_or_direction_is_refused(client, deployed):
    clerk = deployed["clerk"]
    for _ in range(2):
        start(client, clerk)
    cursor = inbox(client, clerk, sort="due", limit=1)["next_cursor"]
    for params in ({"sort": "created"}, {"sort": "light"}, {"sort": "due", "order": "desc"}):
        response = client.get("/api/v1/tasks", headers=clerk.headers, query_string={**params, "cursor": cursor})
        body = assert_error(response, 400, "CURSOR_SORT_MISMATCH")
        assert "排序" in body["message"]
    assert_error(client.get("/api/v1/tasks", headers=clerk.headers,
                            query_string={"cursor": "eyJzIjoiZHVlIn0", "sort": "due"}), 422, "INVALID_INPUT")


# --- scopes and counts ----------------------------------------------------------------------------------------

def test_scopes_and_their_counts_agree_including_the_tasks_i_completed(client, deployed):
    clerk = deployed["clerk"]
    first, second, third = (start(client, clerk) for _ in range(3))
    tasks = {t["case_id"]: t["id"] for t in inbox(client, clerk)["items"]}
    assert claim(client, clerk, tasks[second["case_id"]]).status_code == 200
    assert complete(client, clerk, tasks[third["case_id"]], ACCEPT).status_code == 200
    response = client.get("/api/v1/tasks/counts", headers=clerk.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"all": 2, "mine": 1, "available": 1, "completed": 1, "red": 0, "yellow": 0}
    for scope, expected in (("all", (first, second)), ("mine", (second,)), ("available", (first,)),
                            ("completed", (third,))):
        assert {t["case_id"] for t in inbox(client, clerk, scope=scope)["items"]} == {c["case_id"] for c in expected}
    (done,) = inbox(client, clerk, scope="completed")["items"]
    assert (done["state"], done["completed_by"], done["light"]) == ("completed", clerk.username, None)
    filtered = client.get("/api/v1/tasks/counts", headers=clerk.headers, query_string={"q": "没有这个人"})
    assert filtered.get_json() == {"all": 0, "mine": 0, "available": 0, "completed": 0, "red": 0, "yellow": 0}
    outsider = client.get("/api/v1/tasks/counts", headers=deployed["outsider"].headers).get_json()
    assert outsider["all"] == 0 and outsider["completed"] == 0


# --- commands -------------------------------------------------------------------------------------------------

def test_a_bulk_claim_reports_every_id(client, deployed):
    clerk, outsider = deployed["clerk"], deployed["outsider"]
    mine, taken = (start(client, clerk) for _ in range(2))
    tasks = {t["case_id"]: t["id"] for t in inbox(client, clerk)["items"]}
    foreign = start(client, outsider)
    foreign_task = only_task(client, outsider)["id"]
    assert claim(client, outsider, foreign_task).status_code == 200
    assert claim(client, clerk, tasks[taken["case_id"]]).status_code == 200
    response = client.post("/api/v1/tasks/claim", headers=clerk.headers,
                           json={"ids": [tasks[mine["case_id"]], tasks[taken["case_id"]], foreign_task, 987654]})
    assert response.status_code == 200, response.get_data(as_text=True)
    results = [(r["task_id"], r["result"], r["code"]) for r in response.get_json()["results"]]
    assert results == [(tasks[mine["case_id"]], "claimed", None), (tasks[taken["case_id"]], "conflict", "CONFLICT"),
                       (foreign_task, "not_found", "NOT_FOUND"), (987654, "not_found", "NOT_FOUND")]
    assert foreign["case_id"] not in {t["case_id"] for t in inbox(client, clerk)["items"]}
    too_many = client.post("/api/v1/tasks/claim", headers=clerk.headers, json={"ids": list(range(1, 102))})
    assert "ids" in assert_error(too_many, 422, "INVALID_INPUT")["details"]["fields"]["json"]
    assert_error(client.post("/api/v1/tasks/claim", headers=clerk.headers, json={"ids": ["1 OR 1=1"]}),
                 422, "INVALID_INPUT")


def test_delegating_and_returning_over_http(client, deployed):
    clerk, zhujian, zhujian_2 = deployed["clerk"], deployed["zhujian"], deployed["zhujian_2"]
    case = start(client, clerk, process_key="return_paths")
    apply_task = only_task(client, clerk, "apply")
    body = assert_error(client.post(f"/api/v1/tasks/{apply_task['id']}/return", headers=clerk.headers,
                                    json={"reason": "退回"}), 409, "NO_PREVIOUS_TASK")
    assert "上一步" in body["message"]
    assert complete(client, clerk, apply_task["id"], {}).status_code == 200
    review = only_task(client, zhujian, "review")
    assert claim(client, zhujian, review["id"]).status_code == 200
    for who in ("guihua", "outsider"):
        response = client.post(f"/api/v1/tasks/{review['id']}/delegate", headers=deployed[who].headers,
                               json={"to": zhujian_2.username, "reason": "转办"})
        assert_error(response, 404, "NOT_FOUND")
    assert_error(client.post(f"/api/v1/tasks/{review['id']}/delegate", headers=zhujian.headers,
                             json={"to": deployed["guihua"].username, "reason": "转办"}),
                 422, "DELEGATE_TARGET_NOT_CANDIDATE")
    assert_error(client.post(f"/api/v1/tasks/{review['id']}/delegate", headers=zhujian.headers, json={"to": "x"}),
                 422, "INVALID_INPUT")
    for blank in ("   ", "\n\t", "\u3000"):  # the audit log must say why: whitespace is no reason
        for action, body in (("delegate", {"to": zhujian_2.username, "reason": blank}), ("return", {"reason": blank})):
            refused = assert_error(client.post(f"/api/v1/tasks/{review['id']}/{action}", headers=zhujian.headers,
                                               json=body), 422, "INVALID_INPUT")
            assert refused["details"] == {"fields": {"reason": ["必填项"]}}
    assert only_task(client, zhujian, "review")["assignee"] == zhujian.username
    response = client.post(f"/api/v1/tasks/{review['id']}/delegate", headers=zhujian.headers,
                           json={"to": zhujian_2.username, "reason": "出差，请同事办理"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert only_task(client, zhujian_2, "review")["assignee"] == zhujian_2.username
    assert_error(client.post(f"/api/v1/tasks/{review['id']}/return", headers=zhujian.headers,
                             json={"reason": "退回"}), 409, "CONFLICT")
    response = client.post(f"/api/v1/tasks/{review['id']}/return", headers=zhujian_2.headers,
                           json={"reason": "申请材料缺页"})
    assert response.status_code == 200, response.get_data(as_text=True)
    reopened = only_task(client, clerk, "apply")
    assert response.get_json()["created_task_ids"] == [reopened["id"]]
    assert [(t["element_id"], t["state"]) for t in get_case(client, clerk, case["case_id"])["tasks"]] == [
        ("apply", "completed"), ("review", "cancelled"), ("apply", "open")]
    kinds = [e.event_type for e in get_engine(client.application).queries.events(case["case_id"])]
    assert kinds.count("TaskDelegated") == 1 and kinds.count("TaskReturned") == 1


# --- bad input ------------------------------------------------------------------------------------------------

def test_a_body_over_ten_megabytes_is_refused_before_it_is_read(client, deployed):
    clerk = deployed["clerk"]
    start(client, clerk)
    task = only_task(client, clerk)
    big = json.dumps({"data": {"opinion": "长" * (4 * 1024 * 1024)}})
    assert len(big.encode()) > 10 * 1024 * 1024
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=clerk.headers,
                           data=big, content_type="application/json")
    body = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert "10 MB" in body["message"] and body["details"]["max_bytes"] == 10 * 1024 * 1024
    response = client.post("/api/v1/cases", headers=clerk.headers, data=big, content_type="application/json")
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_an_expired_token_is_unauthenticated(client, deployed, clock):
    engine = get_engine(client.application)
    token = engine.identity.create_token(deployed["clerk"].username, label="短期")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks/counts", headers=headers).status_code == 200
    with engine.database.engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.label == "短期").values(expires_at=clock.now()))
    for method, path in (("GET", "/api/v1/tasks"), ("GET", "/api/v1/tasks/counts"), ("POST", "/api/v1/tasks/claim"),
                         ("POST", "/api/v1/tasks/1/delegate"), ("POST", "/api/v1/tasks/1/return")):
        assert_error(client.open(path, method=method, headers=headers, json={"ids": [1]}), 401, "UNAUTHENTICATED")
    forged = {"Authorization": f"Bearer {token[:-2]}xx"}
    assert_error(client.get("/api/v1/tasks/counts", headers=forged), 401, "UNAUTHENTICATED")


def test_a_task_of_another_district_is_not_found_for_every_command(client, deployed):
    start(client, deployed["outsider"])
    foreign = only_task(client, deployed["outsider"])["id"]
    clerk = deployed["clerk"]
    for path, payload in (("return", {"reason": "x"}), ("delegate", {"to": "window_yz", "reason": "x"}),
                          ("claim", None), ("complete", {"data": ACCEPT})):
        response = client.post(f"/api/v1/tasks/{foreign}/{path}", headers=clerk.headers, json=payload)
        assert_error(response, 404, "NOT_FOUND")
    assert_error(client.get(f"/api/v1/tasks/{foreign}", headers=clerk.headers), 404, "NOT_FOUND")
    assert only_task(client, deployed["outsider"])["state"] == "open"


def test_the_openapi_document_lists_the_inbox_endpoints(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, method in (("/api/v1/tasks", "get"), ("/api/v1/tasks/counts", "get"), ("/api/v1/tasks/claim", "post"),
                         ("/api/v1/tasks/{task_id}/delegate", "post"), ("/api/v1/tasks/{task_id}/return", "post")):
        assert method in spec["paths"].get(path, {}), (path, sorted(spec["paths"]))
    parameters = {p["name"] for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert {"scope", "matter", "district", "stage", "light", "due_before", "q", "sort", "order", "cursor"} <= parameters
    assert "409" in spec["paths"]["/api/v1/tasks/{task_id}/return"]["post"]["responses"]
