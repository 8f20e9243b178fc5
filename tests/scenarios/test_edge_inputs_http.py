"""Input at the edges over HTTP: refused with a code and a Chinese message (422, 400, 403), never a 500.

* a metrics period or dashboard date whose week or month ends past 9999-12-31: 422 ``METRICS_RANGE_TOO_LATE``;
* an edited inbox cursor with a naive time or one that overflows converting to UTC: 422 ``INVALID_INPUT``;
* ``due_before`` outside years 2000–2100: 422 ``INVALID_INPUT`` under ``details.fields.query.due_before``;
* a JSON body the API cannot take sent to an endpoint that reads none (claim, unclaim): 400 ``BAD_REQUEST``,
  and nothing changes;
* staff calling an applicant endpoint: 403 ``APPLICANT_ONLY`` whatever the body, before any field is read.
"""
from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.runtime import get_engine
from tests.pages_helpers import PASSWORD, login

from .conftest import Caller
from .test_http_api import assert_error, case, deployed  # noqa: F401 (fixtures)

APPLICANT = {"username": "zhangsan", "name": "张三", "id_type": "111", "id_number": "500103199001011232",
             "password": "zhangsan-2026"}
METRICS = ("summary", "by-district", "by-department", "by-matter", "trend", "overdue")


def _cursor(sort: str, keys: list[Any]) -> str:
    raw = json.dumps({"s": sort, "o": "asc", "k": keys}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def people(app: Flask, client: FlaskClient, deployed: dict[str, Caller]) -> dict[str, Caller]:  # noqa: F811
    """The cast plus a supervisor and an admin (with passwords, for the pages) and an applicant account."""
    identity = get_engine(app).identity
    callers = dict(deployed)
    for username, roles in (("supervisor", ("supervisor",)), ("admin", ("admin",))):
        identity.create_user(username, display_name=username, roles=roles, district="500000", department="jiancha",
                             password=PASSWORD)
        callers[username] = Caller(username, {"Authorization": f"Bearer {identity.create_token(username)}"})
    opened = client.post("/api/v1/applicants", headers=deployed["clerk"].headers, json=APPLICANT)
    assert opened.status_code == 201, opened.get_data(as_text=True)
    callers["applicant"] = Caller("zhangsan", {"Authorization": f"Bearer {identity.create_token('zhangsan')}"})
    return callers


def browser(app: Flask, username: str) -> FlaskClient:
    logged_in = app.test_client()
    assert login(logged_in, username).status_code == 302
    return logged_in


# --- 1. a metrics period in year 9999 -------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["date=9999-12-31", "date=9999-12-31&period=week", "date=9999-12-25&period=month",
                                   "date=9999-12-27&period=week", "date=9999-12-31&period=day"])
def test_a_metrics_period_ending_past_the_calendar_is_too_late_on_every_endpoint_and_page(app, client, people,
                                                                                         query):
    for endpoint in METRICS:
        response = client.get(f"/api/v1/metrics/{endpoint}?{query}", headers=people["supervisor"].headers)
        assert_error(response, 422, "METRICS_RANGE_TOO_LATE")
    pages = browser(app, "supervisor")
    for path in ("/dashboard", "/dashboard/overdue"):
        page = pages.get(f"{path}?{query}")
        assert page.status_code == 422, (path, page.get_data(as_text=True)[:300])
        assert "晚于" in page.get_data(as_text=True)


@pytest.mark.parametrize("query, field", [("from=0001-01-01", "from"), ("to=9999-12-31", "to"),
                                          ("from=9999-12-30&to=9999-12-31", "from")])
def test_rating_statistics_for_dates_at_the_ends_of_the_calendar_are_invalid_input(client, people, query, field):
    body = assert_error(client.get(f"/api/v1/ratings/stats?{query}", headers=people["admin"].headers),
                        422, "INVALID_INPUT")
    assert body["details"]["fields"]["query"][field] == ["日期应在 2000-01-01 至 2100-12-31 之间"]
    within = client.get("/api/v1/ratings/stats?from=2000-01-01&to=2009-12-31", headers=people["admin"].headers)
    assert within.status_code == 200 and within.get_json()["total"] == 0


# --- 2. an edited inbox cursor with a naive or extreme time ----------------------------------------------------

@pytest.mark.parametrize("keys", [[{"t": "2026-12-18T16:00:00"}, 6], [{"t": "0001-01-01T00:00:00+08:00"}, 6],
                                  [{"t": "9999-12-31T23:59:59-12:00"}, 6], [1, 6]],
                         ids=["naive", "year-1", "year-10000-in-utc", "number-for-a-time"])
def test_an_edited_inbox_cursor_with_a_time_no_column_takes_is_invalid(app, client, people, case, keys):  # noqa: F811
    cursor = _cursor("due", keys)
    for scope in ("all", "mine", "available"):
        response = client.get(f"/api/v1/tasks?sort=due&scope={scope}&cursor={cursor}",
                              headers=people["clerk"].headers)
        assert assert_error(response, 422, "INVALID_INPUT")["message"] == "分页游标无效"
    page = browser(app, "supervisor").get(f"/?sort=due&cursor={cursor}")
    assert page.status_code == 200 and "分页游标无效" in page.get_data(as_text=True)


# --- 3. due_before at the ends of the calendar ----------------------------------------------------------------

@pytest.mark.parametrize("value", ["0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-12:00",
                                   "1999-12-31T23:59:59%2B00:00", "2101-01-01T08:00:00%2B08:00"])
def test_due_before_outside_the_years_of_any_deadline_is_invalid_input(client, people, value):
    for path in ("/api/v1/tasks", "/api/v1/tasks/counts"):
        body = assert_error(client.get(f"{path}?due_before={value}", headers=people["clerk"].headers),
                            422, "INVALID_INPUT")
        assert body["details"]["fields"]["query"]["due_before"] == ["时间应在 2000 年至 2100 年之间（UTC）"]


def test_due_before_within_the_years_still_filters(client, people, case):  # noqa: F811
    clerk = people["clerk"].headers
    later = client.get("/api/v1/tasks?due_before=2100-12-31T23:59:59%2B00:00&sort=due", headers=clerk)
    assert later.status_code == 200 and [t["id"] for t in later.get_json()["items"]] == [case["accept_task"]["id"]]
    earlier = client.get("/api/v1/tasks/counts?due_before=2000-01-01T08:00:00%2B08:00", headers=clerk)
    assert earlier.status_code == 200 and earlier.get_json()["all"] == 0


# --- 4. a JSON body that cannot be taken, on an endpoint that reads none -----------------------------------------

BAD_BODIES = [(b"{bad", "syntax"), ('{"reason":"\u202e\\u0000'.encode(), "syntax"),
              ('{"reason":"\u202e"}'.encode(), "bidi"), (b'{"reason":"a\\u0000"}', "nul"),
              (b"\xff\xfe not json", "encoding"), (b"[" * 70 + b"]" * 70, "depth"), (b"[" * 70, "syntax")]


@pytest.mark.parametrize("raw, reason", BAD_BODIES, ids=[r for _, r in BAD_BODIES])
def test_an_endpoint_reading_no_body_refuses_json_it_cannot_take_and_changes_nothing(client, people, case, raw,
                                                                                     reason):  # noqa: F811
    clerk, task_id = people["clerk"], case["accept_task"]["id"]
    refused = client.post(f"/api/v1/tasks/{task_id}/claim", headers=clerk.headers, data=raw,
                          content_type="application/json")
    assert assert_error(refused, 400, "BAD_REQUEST")["details"]["reason"] == reason
    assert client.get(f"/api/v1/tasks/{task_id}", headers=clerk.headers).get_json()["assignee"] is None
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=clerk.headers).status_code == 200
    refused = client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=clerk.headers, data=raw,
                          content_type="application/json")
    assert assert_error(refused, 400, "BAD_REQUEST")["details"]["reason"] == reason
    assert client.get(f"/api/v1/tasks/{task_id}", headers=clerk.headers).get_json()["assignee"] == clerk.username


def test_an_endpoint_reading_no_body_still_takes_an_empty_or_valid_json_body(client, people, case):  # noqa: F811
    clerk, task_id = people["clerk"], case["accept_task"]["id"]
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=clerk.headers, json={}).status_code == 200
    assert client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=clerk.headers, data=b"",
                       content_type="application/json").status_code == 200


# --- 5. staff on the applicant endpoints ----------------------------------------------------------------------

def test_staff_calling_an_applicant_endpoint_get_applicant_only_whatever_the_body(client, people):
    clerk, admin = people["clerk"].headers, people["admin"].headers
    calls = [
        (clerk, "/api/v1/online/applications", {"data": {"x": "1"}, "content_type": "multipart/form-data"}),
        (clerk, "/api/v1/online/applications", {"data": {"application": "{bad"},
                                                "content_type": "multipart/form-data"}),
        (clerk, "/api/v1/my/cases/3/supplements", {"data": {"supplement": "{bad", "material.x": (io.BytesIO(b"x"),
                                                                                                "x.pdf")},
                                                   "content_type": "multipart/form-data"}),
        (admin, "/api/v1/my/cases/3/rating", {"json": {"score": 9}}),
        (clerk, "/api/v1/my/cases/3/rating", {"json": {}}),
        (clerk, "/api/v1/my/cases/3/rating", {}),
    ]
    for headers, path, body in calls:
        assert_error(client.post(path, headers=headers, **body), 403, "APPLICANT_ONLY")
    for path in ("/api/v1/my/cases", "/api/v1/my/cases/3", "/api/v1/online/matters"):
        assert_error(client.get(path, headers=admin), 403, "APPLICANT_ONLY")
    assert client.post("/api/v1/my/cases/3/rating", json={"score": 9}).status_code == 401
    # An applicant's request is still read as before: the fields are checked.
    mine = client.post("/api/v1/my/cases/3/rating", headers=people["applicant"].headers, json={})
    assert_error(mine, 422, "INVALID_INPUT")
    applied = client.post("/api/v1/online/applications", headers=people["applicant"].headers, data={"x": "1"},
                          content_type="multipart/form-data")
    assert assert_error(applied, 422, "INVALID_INPUT")["message"] == "缺少 application 字段（JSON）"
