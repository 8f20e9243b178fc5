"""ID numbers over HTTP are masked for all but window clerks and auditors; functional zones are districts."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.runtime import get_engine

from .conftest import Caller
from .test_http_api import ACCEPT, complete, deployed, get_case, inbox, only_task  # noqa: F401 - fixture

APPLICANT_ID = "500103198506120317"
AGENT_ID = "50010519950918441X"
TITLE = f"张三（{APPLICANT_ID}）住宅施工许可"


def caller(app: Flask, username: str, roles: tuple[str, ...], district: str | None,
           department: str | None) -> Caller:
    """Create a user with one token and return them as a caller."""
    identity = get_engine(app).identity
    identity.create_user(username, display_name=username, roles=roles, district=district,
                         department=department)
    token = identity.create_token(username, label="masking")
    return Caller(username, {"Authorization": f"Bearer {token}"})


def start(client: FlaskClient, who: Caller, **extra: Any) -> dict[str, Any]:
    """Start a parallel approval whose title and business key carry ID numbers."""
    response = client.post("/api/v1/cases", headers=who.headers, json={
        "process_key": "parallel_approval", "title": TITLE, "business_key": AGENT_ID, **extra})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_reviewers_and_supervisors_see_masked_numbers_where_clerks_and_auditors_see_them_whole(
        app, client, deployed):  # noqa: F811 - the imported fixture
    clerk, reviewer = deployed["clerk"], deployed["zhujian"]
    started = start(client, clerk)
    case_id = started["case_id"]

    assert get_case(client, clerk, case_id)["title"] == TITLE
    accept = only_task(client, clerk, "accept")
    assert accept["case_title"] == TITLE
    assert complete(client, clerk, accept["id"], ACCEPT).status_code == 200

    review = only_task(client, reviewer, "review_zhujian")
    assert review["case_title"] == "张三（5001**********0317）住宅施工许可"
    detail = client.get(f"/api/v1/tasks/{review['id']}", headers=reviewer.headers)
    assert detail.get_json()["case_title"] == review["case_title"]
    seen = get_case(client, reviewer, case_id)
    assert (seen["title"], seen["business_key"]) == ("张三（5001**********0317）住宅施工许可", "5001**********441X")
    assert {task["case_title"] for task in seen["tasks"]} == {"张三（5001**********0317）住宅施工许可"}
    for response in (detail, client.get(f"/api/v1/cases/{case_id}", headers=reviewer.headers),
                     client.get("/api/v1/tasks", headers=reviewer.headers)):
        body = response.get_data(as_text=True)
        assert APPLICANT_ID not in body and AGENT_ID not in body

    auditor = caller(app, "auditor_city", ("auditor",), "500000", "shenji")
    supervisor = caller(app, "supervisor_city", ("supervisor",), "500000", "jiancha")
    assert get_case(client, auditor, case_id)["business_key"] == AGENT_ID
    assert get_case(client, supervisor, case_id)["business_key"] == "5001**********441X"


def test_a_case_can_be_received_and_owned_by_a_functional_zone(app, client, deployed):  # noqa: F811
    window = caller(app, "window_lj", ("window_clerk",), "CQ-LJXQ", "zwzx")
    started = start(client, window, owning_district="CQ-LJXQ")
    case = get_case(client, window, started["case_id"])
    assert (case["owning_district"], case["receiving_district"]) == ("CQ-LJXQ", "CQ-LJXQ")
    (task,) = inbox(client, window)["items"]
    assert task["candidate_groups"] == ["window_clerk@CQ-LJXQ"]
    assert task["case_title"] == TITLE  # a window clerk sees the number in full
    assert inbox(client, deployed["clerk"])["items"] == []  # 渝中区's window does not
