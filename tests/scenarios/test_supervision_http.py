"""督办 over HTTP: the worker opens items when a deadline passes; supervisors list and close them."""
from __future__ import annotations

from datetime import datetime

from app.runtime import get_engine
from engine import CST, TimerWorker, ensure_calendar_seeded

from .conftest import Caller
from .test_http_api import assert_error, deployed, start_case  # noqa: F401 (fixture)


def supervisor(app, username: str, district: str) -> Caller:
    identity = get_engine(app).identity
    identity.create_user(username, display_name="督查", roles=("supervisor",), district=district)
    return Caller(username, {"Authorization": f"Bearer {identity.create_token(username)}"})


def test_supervisors_list_and_close_the_items_of_their_district(app, client, clock, deployed):
    ensure_calendar_seeded(get_engine(app))
    yz, wz = supervisor(app, "super_yz", "500103"), supervisor(app, "super_wz", "500101")
    case_id = start_case(client, deployed["clerk"])["case_id"]
    clock.set(clock.now().replace(year=2027, month=1, day=1))     # every deadline of a case started in 2026
    TimerWorker(get_engine(app)).sweep()

    listed = client.get("/api/v1/supervision", headers=yz.headers)
    assert listed.status_code == 200, listed.get_json()
    items = listed.get_json()
    assert {i["kind"] for i in items} == {"committed_overdue", "legal_warning", "legal_overdue"}
    assert {i["case_id"] for i in items} == {case_id}
    assert client.get("/api/v1/supervision", headers=wz.headers).get_json() == []
    assert_error(client.get("/api/v1/supervision", headers=deployed["clerk"].headers), 403, "FORBIDDEN")
    assert_error(client.get("/api/v1/supervision?kind=late", headers=yz.headers), 422, "INVALID_INPUT")

    item = next(i for i in items if i["kind"] == "committed_overdue")
    path = f"/api/v1/supervision/{item['id']}/close"
    assert_error(client.post(path, json={}, headers=yz.headers), 422, "INVALID_INPUT")
    assert_error(client.post(path, json={"opinion": "越权"}, headers=wz.headers), 404, "NOT_FOUND")
    closed = client.post(path, json={"opinion": "已约谈住建科，限三日办结"}, headers=yz.headers)
    assert closed.status_code == 200 and closed.get_json()["closed_by"] == "super_yz"
    assert_error(client.post(path, json={"opinion": "重复"}, headers=yz.headers), 409, "CONFLICT")
    open_now = client.get("/api/v1/supervision", headers=yz.headers).get_json()
    assert item["id"] not in {i["id"] for i in open_now}
    done = client.get("/api/v1/supervision?state=closed", headers=yz.headers).get_json()
    assert [i["opinion"] for i in done] == ["已约谈住建科，限三日办结"]
    assert datetime.fromisoformat(done[0]["closed_at"]).astimezone(CST).year == 2027
    assert closed.get_json()["closed_at"] == done[0]["closed_at"]        # the answer and a read agree (UTC)
