"""好差评 and 办件查询 over HTTP on the manual clock: an applicant follows and rates a case with the query code;
a 差评 goes to the department's inbox with its deadline, then to 回访; an upheld appeal leaves the statistics.
"""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine
from engine import ensure_calendar_seeded
from tests.conftest import ROOT

from .conftest import Caller
from .test_http_api import ACCEPT, APPROVE, assert_error, complete, deployed, inbox, upload  # noqa: F401 (fixture)
from .test_intake_http import post_application

# username, display name, roles, district, department
STAFF = {
    "head": ("head_zj", "渝中住建科长", ("department_head", "reviewer"), "500103", "zhujian"),
    "supervisor": ("supervisor_yz", "渝中电子监察", ("supervisor",), "500103", "jiancha"),
    "city": ("supervisor", "市级电子监察", ("supervisor",), "500000", "jiancha"),
}
RECTIFIED = {"action": "rectify", "measures": "约谈窗口人员，公示一次性告知清单"}


@pytest.fixture
def people(app, client: FlaskClient, deployed: dict[str, Caller]) -> dict[str, Caller]:
    """The cast with a 住建 head and two supervisors; the calendar loaded, the 差评整改 process deployed."""
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    bpmn = ROOT / "processes" / "chaping_zhenggai" / "main.bpmn"
    assert upload(client, deployed["designer"], [(bpmn.name, bpmn.read_bytes())]).status_code == 201
    callers = dict(deployed)
    for who, (username, name, roles, district, department) in STAFF.items():
        engine.identity.create_user(username, display_name=name, roles=roles, district=district,
                                    department=department)
        callers[who] = Caller(username, {"Authorization": f"Bearer {engine.identity.create_token(username)}"})
    return callers


def task(client: FlaskClient, caller: Caller, case_id: int, element_id: str) -> dict[str, Any]:
    """The caller's one open inbox task at ``element_id`` of a case."""
    found = [t for t in inbox(client, caller)["items"] if t["case_id"] == case_id and t["element_id"] == element_id]
    assert len(found) == 1, found
    return found[0]


def do(client: FlaskClient, caller: Caller, case_id: int, element_id: str, data: dict[str, Any]) -> None:
    response = complete(client, caller, task(client, caller, case_id, element_id)["id"], data)
    assert response.status_code == 200, response.get_data(as_text=True)


def received_and_closed(client: FlaskClient, people: dict[str, Caller]) -> dict[str, Any]:
    """Receive an application at the 渝中 window and work it to its end (住建 reviews last)."""
    body = post_application(client, people["clerk"]).get_json()
    do(client, people["clerk"], body["case_id"], "accept", ACCEPT)
    for who, element in (("guihua", "review_guihua"), ("xiaofang", "review_xiaofang"), ("zhujian", "review_zhujian")):
        do(client, people[who], body["case_id"], element, APPROVE)
    return body


def public(client: FlaskClient, path: str, **body: Any) -> Any:
    return client.post(f"/api/v1/public/{path}", json=body)


def test_an_applicant_follows_and_rates_a_case_and_the_bad_rating_is_rectified_and_revisited(client, people):
    body = post_application(client, people["clerk"]).get_json()
    pair = {"case_no": body["case_no"], "query_code": body["query_code"]}
    view = public(client, "lookup", **pair).get_json()
    assert (view["stage_label"], view["next_step"], view["missing"], view["can_rate"]) == (
        "已收件", "受理", ["中标通知书"], False)
    assert view["deadlines"][0] == {"kind": "committed", "label": "承诺办结期限", "budget": "7 个工作日", "started": True,
                                    "paused": False, "due_date": "2026-12-02", "left": 7, "provisional": False,
                                    "rule": None,
                                    "extended_days": 0, "extension_reason": None, "unit": "workday",
                                    "unit_zh": "个工作日", "light": "green", "overdue": False}
    assert "重庆某建设有限公司" not in str(view) and "李四" not in str(view)
    assert_error(public(client, "ratings", **pair, score=1, channel="1"), 409, "CASE_NOT_CLOSED")
    received_and_closed_rest(client, people, body["case_id"])
    view = public(client, "lookup", **pair).get_json()
    assert (view["stage_label"], view["result"], view["can_rate"]) == ("已办结", "办结", True)

    bad = assert_error(public(client, "ratings", **pair, score=9, channel="9"), 422, "RATING_INVALID")
    assert set(bad["details"]["fields"]) == {"score", "channel"}
    no_reason = assert_error(public(client, "ratings", **pair, score=5, channel="2"), 422, "RATING_INVALID")
    assert list(no_reason["details"]["fields"]) == ["comment"]
    assert_error(public(client, "ratings", **pair, score="五", channel="2"), 422, "INVALID_INPUT")
    rated = public(client, "ratings", **pair, score=5, channel="2", comment="补正要求前后说了三次")
    assert rated.status_code == 201, rated.get_data(as_text=True)
    rating = rated.get_json()["rating"]
    assert (rating["level"], rating["channel_name"], rating["status_label"], rating["rectification_due_at"]) == (
        "非常不满意", "移动服务端", "差评整改中", "2026-12-14T16:00:00+00:00")      # 15 WD: Monday 12-14, 24:00
    assert_error(public(client, "ratings", **pair, score=1, channel="1"), 409, "ALREADY_RATED")

    (rectify,) = [t for t in inbox(client, people["head"])["items"] if t["element_id"] == "rectify"]
    assert (rectify["name"], rectify["inbox_due_at"]) == ("差评整改", "2026-12-14T16:00:00+00:00")
    assert [t for t in inbox(client, people["guihua"])["items"] if t["element_id"] == "rectify"] == []
    do(client, people["head"], rectify["case_id"], "rectify", RECTIFIED)
    revisit = task(client, people["supervisor"], rectify["case_id"], "revisit")
    assert revisit["inbox_due_at"] == "2026-11-30T16:00:00+00:00"                   # 回访 within 5 WD
    do(client, people["supervisor"], rectify["case_id"], "revisit", {"revisit_result": "satisfied",
                                                                   "revisit_note": "电话回访，满意"})
    (listed,) = client.get("/api/v1/ratings", headers=people["supervisor"].headers).get_json()
    shown = client.get(f"/api/v1/ratings/{listed['id']}", headers=people["head"].headers).get_json()
    assert (shown["status"], shown["rectification"]["stage"], shown["department"]) == ("rectified", "已办结",
                                                                                       "zhujian")
    assert [t["element_id"] for t in shown["rectification"]["tasks"]] == ["rectify", "revisit"]
    assert public(client, "lookup", **pair).get_json()["rating"]["status_label"] == "已整改并回访"


def received_and_closed_rest(client: FlaskClient, people: dict[str, Caller], case_id: int) -> None:
    do(client, people["clerk"], case_id, "accept", ACCEPT)
    for who, element in (("guihua", "review_guihua"), ("xiaofang", "review_xiaofang"), ("zhujian", "review_zhujian")):
        do(client, people[who], case_id, element, APPROVE)


def test_an_upheld_appeal_removes_the_rating_from_the_statistics(client, people):
    kept, appealed = received_and_closed(client, people), received_and_closed(client, people)
    for body, score, comment in ((kept, 2, ""), (appealed, 4, "与我的办件无关")):
        response = public(client, "ratings", case_no=body["case_no"], query_code=body["query_code"], score=score,
                          channel="1", comment=comment)
        assert response.status_code == 201, response.get_data(as_text=True)
    city = people["city"].headers
    before = client.get("/api/v1/ratings/stats", headers=city).get_json()
    assert (before["total"], before["bad"], before["removed"]) == (2, 1, 0)
    rating_id = client.get("/api/v1/ratings?bad_only=true", headers=city).get_json()[0]["id"]
    assert_error(client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=people["supervisor"].headers,
                             json={"decision": "upheld", "opinion": "x"}), 409, "RECTIFICATION_STEP_CLOSED")
    assert_error(client.post(f"/api/v1/ratings/{rating_id}/appeal", headers=people["guihua"].headers,
                             json={"reason": "不是我们"}), 404, "NOT_FOUND")
    appeal = client.post(f"/api/v1/ratings/{rating_id}/appeal", headers=people["head"].headers,
                         json={"reason": "申请人评价的是另一部门的办件"})
    assert appeal.status_code == 200 and appeal.get_json()["rectification"]["stage"] == "申诉复核中"
    assert_error(client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=people["head"].headers,
                             json={"decision": "upheld", "opinion": "x"}), 403, "FORBIDDEN")
    assert_error(client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=city,
                             json={"decision": "maybe", "opinion": "x"}), 422, "INVALID_INPUT")
    decided = client.post(f"/api/v1/ratings/{rating_id}/appeal/decision", headers=city,
                          json={"decision": "upheld", "opinion": "核实属误评"}).get_json()
    assert (decided["status"], decided["removed"]["by"]) == ("removed", "supervisor")
    assert decided["removed"]["reason"] == "申诉理由：申请人评价的是另一部门的办件；复核意见：核实属误评"
    after = client.get("/api/v1/ratings/stats", headers=city).get_json()
    assert (after["total"], after["good"], after["bad"], after["removed"], after["good_rate"]) == (1, 1, 0, 1, 1.0)
    assert client.get("/api/v1/ratings/stats?district=500103&from=2026-11-01&to=2026-11-30",
                      headers=city).get_json()["total"] == 1
    assert_error(client.get("/api/v1/ratings/stats?from=2026-12-31&to=2026-01-01", headers=city), 400,
                 "DATE_RANGE_INVALID")
    assert_error(client.get("/api/v1/ratings/stats?from=2026-13-01", headers=city), 422, "INVALID_INPUT")
    assert_error(client.get("/api/v1/ratings/stats?district=500101", headers=people["supervisor"].headers), 403,
                 "FORBIDDEN")


def test_a_window_enters_a_rating_and_guessed_query_codes_are_throttled(client, people):
    body = received_and_closed(client, people)
    assert_error(client.post("/api/v1/ratings", headers=people["zhujian"].headers,
                             json={"case_no": body["case_no"], "score": 1, "channel": "4"}), 403, "FORBIDDEN")
    hidden = assert_error(client.post("/api/v1/ratings", headers=people["outsider"].headers,
                                      json={"case_no": body["case_no"], "score": 1, "channel": "4"}), 404, "NOT_FOUND")
    missing = assert_error(client.post("/api/v1/ratings", headers=people["outsider"].headers,
                                       json={"case_no": "TB20991231000001", "score": 1, "channel": "4"}), 404, "NOT_FOUND")
    # another district's case answers as one that does not exist: no database id, nothing to tell them apart
    assert (hidden["message"], hidden["details"]) == (missing["message"], {"case_no": body["case_no"]})
    assert missing["details"] == {"case_no": "TB20991231000001"}
    entered = client.post("/api/v1/ratings", headers=people["clerk"].headers,
                          json={"case_no": body["case_no"], "score": 3, "channel": "6", "comment": "电话回访"})
    assert entered.status_code == 201
    assert (entered.get_json()["source"], entered.get_json()["channel_name"]) == ("window", "电话")
    guess = {"case_no": body["case_no"], "query_code": "ABCDEFGH"}
    unknown = public(client, "lookup", case_no="TB20991231000001", query_code=body["query_code"]).get_json()
    for _ in range(4):
        assert public(client, "lookup", **guess).get_json() == unknown        # the same answer either way
    throttled = public(client, "lookup", **guess)
    assert throttled.status_code == 404
    throttled = public(client, "ratings", **guess, score=1, channel="1")
    assert_error(throttled, 429, "TOO_MANY_ATTEMPTS")
    assert throttled.headers["Retry-After"] == "900" and throttled.get_json()["details"]["retry_after"] == 900
