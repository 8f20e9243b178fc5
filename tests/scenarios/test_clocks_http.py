"""Pausing, resuming and extending a case's clocks over HTTP, and the lights the inbox shows."""
from __future__ import annotations

from typing import Any

from app.runtime import get_engine
from engine import ensure_calendar_seeded

from .conftest import Caller
from .test_http_api import assert_error, deployed, get_case, inbox, start_case  # noqa: F401 (fixture)


def post(client: Any, caller: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers=caller.headers)


def test_clock_commands_over_http_change_the_due_dates_and_refuse_illegal_moves(app, client, deployed):
    ensure_calendar_seeded(get_engine(app))
    identity = get_engine(app).identity
    identity.create_user("head_yz", display_name="科长", roles=("department_head",), district="500103",
                         department="zhujian")
    clerk = deployed["clerk"]
    case_id = start_case(client, clerk)["case_id"]
    clocks = {c["kind"]: c for c in get_case(client, clerk, case_id)["clocks"]}
    assert clocks["legal"]["status"] == "confirmed" and clocks["legal"]["light"] == "green"
    assert inbox(client, clerk)["items"][0]["light"] == "green"

    base = f"/api/v1/cases/{case_id}/clocks"
    ok = post(client, clerk, f"{base}/suspend", {"reason_kind": "special_procedure", "reason": "组织专家评审",
                                                   "procedure": "专家评审", "expected_days": 5})
    assert ok.status_code == 200, ok.get_json()
    again = assert_error(post(client, clerk, f"{base}/suspend", {"reason_kind": "correction", "reason": "再停"}),
                         409, "CLOCK_ALREADY_PAUSED")
    assert again["details"]["clock"] == "legal" and again["details"]["paused_at"]       # QA: no details
    assert {c["light"] for c in get_case(client, clerk, case_id)["clocks"]} == {"paused"}
    assert post(client, clerk, f"{base}/resume", {}).status_code == 200
    assert_error(post(client, clerk, f"{base}/resume", {}), 409, "CLOCK_NOT_PAUSED")
    assert_error(post(client, clerk, f"{base}/extend", {"days": 10, "reason": "复杂", "approved_by": "nobody"}),
                 403, "EXTENSION_NOT_APPROVED")
    assert_error(post(client, clerk, f"{base}/extend", {"days": 10, "reason": "复杂", "approved_by": "head_yz"}),
                 403, "EXTENSION_NOT_APPROVED")                 # the head approves in the system, not the clerk
    assert_error(post(client, clerk, f"{base}/extend", {"days": 10, "reason": "复杂", "approved_by": "head_yz",
                                                        "on_record": True}), 422, "INVALID_INPUT")   # replay's only
    assert_error(post(client, clerk, f"{base}/extension-requests", {"days": 30, "reason": "复杂"}),
                 422, "INVALID_INPUT")
    before = {c["kind"]: c["due_date"] for c in get_case(client, clerk, case_id)["clocks"]}
    asked = post(client, clerk, f"{base}/extension-requests", {"days": 10, "reason": "复杂", "told_to_applicant": True})
    assert asked.status_code == 201, asked.get_json()
    head = Caller("head_yz", {"Authorization": f"Bearer {identity.create_token('head_yz', label='t')}"})
    approved = post(client, head, f"/api/v1/extension-requests/{asked.get_json()['id']}/approve", {})
    assert approved.status_code == 200, approved.get_json()
    after = {c["kind"]: c["due_date"] for c in get_case(client, clerk, case_id)["clocks"]}
    assert after["legal"] > before["legal"] and after["committed"] == before["committed"]
    assert_error(post(client, deployed["outsider"], f"{base}/suspend", {"reason_kind": "correction",
                                                                        "reason": "越权"}), 404, "NOT_FOUND")
    assert_error(client.get("/api/v1/tasks?light=purple", headers=clerk.headers), 422, "INVALID_INPUT")
    for path in ("suspend", "resume"):
        empty = assert_error(post(client, clerk, f"{base}/{path}", {"reason_kind": "correction", "reason": "x",
                                                                    "clocks": []} if path == "suspend" else
                                  {"clocks": []}), 422, "INVALID_INPUT")
        assert empty["details"]["fields"]["json"]["clocks"] == ["至少选择一个时限（legal 或 committed）"]


def test_extension_requests_over_http_wait_for_the_head_and_refuse_everyone_else(app, client, deployed):
    ensure_calendar_seeded(get_engine(app))
    identity = get_engine(app).identity
    identity.create_user("head_yz", display_name="科长", roles=("department_head",), district="500103")
    head = Caller("head_yz", {"Authorization": f"Bearer {identity.create_token('head_yz', label='t')}"})
    clerk, outsider = deployed["clerk"], deployed["outsider"]
    case_id = start_case(client, clerk)["case_id"]
    asked = post(client, clerk, f"/api/v1/cases/{case_id}/clocks/extension-requests",
                 {"days": 5, "reason": "需现场勘验"})
    assert asked.status_code == 201
    request = asked.get_json()
    assert (request["state"], request["state_label"], request["clock"]) == ("open", "待审批", "legal")
    assert_error(post(client, clerk, f"/api/v1/cases/{case_id}/clocks/extension-requests",
                      {"days": 5, "reason": "再次"}), 409, "EXTENSION_REQUEST_OPEN")

    queue = client.get("/api/v1/extension-requests", headers=head.headers)
    assert [r["id"] for r in queue.get_json()] == [request["id"]] and queue.headers["X-Total-Count"] == "1"
    assert queue.get_json()[0]["requested_by_name"] != clerk.username            # people read names
    later = client.get("/api/v1/extension-requests?offset=1", headers=head.headers)
    assert later.get_json() == [] and later.headers["X-Total-Count"] == "1"
    assert client.get("/api/v1/extension-requests", headers=outsider.headers).get_json() == []
    assert client.get(f"/api/v1/extension-requests?case_id={case_id}&state=all",
                      headers=clerk.headers).get_json()[0]["requested_by"] == clerk.username
    assert_error(client.get("/api/v1/extension-requests?state=maybe", headers=head.headers), 422, "INVALID_INPUT")

    decide = f"/api/v1/extension-requests/{request['id']}"
    # The role is checked before the body is read: a clerk's malformed body is still a 403.
    assert_error(post(client, clerk, f"{decide}/approve", {"comment": 5}), 403, "EXTENSION_APPROVER_REQUIRED")
    assert_error(post(client, outsider, f"{decide}/withdraw", {}), 404, "NOT_FOUND")
    assert_error(post(client, head, f"{decide}/reject", {}), 422, "INVALID_INPUT")
    assert_error(post(client, head, "/api/v1/extension-requests/99999/approve", {}), 404, "NOT_FOUND")
    rejected = post(client, head, f"{decide}/reject", {"comment": "勘验可在期限内完成，不予延长"})
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    assert_error(post(client, clerk, f"{decide}/withdraw", {}), 409, "EXTENSION_REQUEST_CLOSED")
    kinds = [e["event_type"] for e in client.get(f"/api/v1/cases/{case_id}/history",
                                                 headers=clerk.headers).get_json()["events"]]
    assert "ExtensionRequested" in kinds and "ExtensionRejected" in kinds and "DeadlineExtended" not in kinds


def test_only_district_staff_who_may_read_the_case_act_on_its_clocks(app, client, deployed):
    """Staff of the owning district whose work never touches the case cannot pause, resume or extend it: the
    case is as unknown to them (404) as its page is, and a refused command writes nothing."""
    ensure_calendar_seeded(get_engine(app))
    identity = get_engine(app).identity
    for username, roles, department in (("reviewer_sw", ("reviewer",), "shuiwu"),
                                        ("head_sw", ("department_head",), "shuiwu")):
        identity.create_user(username, display_name=username, roles=roles, district="500103",
                             department=department)
    stranger, head = (Caller(name, {"Authorization": f"Bearer {identity.create_token(name, label='t')}"})
                      for name in ("reviewer_sw", "head_sw"))
    clerk = deployed["clerk"]
    case_id = start_case(client, clerk)["case_id"]
    base = f"/api/v1/cases/{case_id}/clocks"
    assert_error(client.get(f"/api/v1/cases/{case_id}", headers=stranger.headers), 404, "NOT_FOUND")
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=clerk.headers).get_json()["events"]

    assert_error(post(client, stranger, f"{base}/suspend", {"reason_kind": "correction", "reason": "越权"}),
                 404, "NOT_FOUND")
    assert post(client, clerk, f"{base}/suspend", {"reason_kind": "correction", "reason": "补正材料"}).status_code == 200
    assert_error(post(client, stranger, f"{base}/resume", {}), 404, "NOT_FOUND")
    assert {c["light"] for c in get_case(client, clerk, case_id)["clocks"]} == {"paused"}   # still paused
    assert post(client, clerk, f"{base}/resume", {}).status_code == 200
    # A head of the district extends directly only a case they may read; with no request on it they may not.
    assert_error(client.get(f"/api/v1/cases/{case_id}", headers=head.headers), 404, "NOT_FOUND")
    assert_error(post(client, head, f"{base}/extend", {"days": 5, "reason": "复杂"}), 404, "NOT_FOUND")
    after = client.get(f"/api/v1/cases/{case_id}/history", headers=clerk.headers).get_json()["events"]
    assert [e["event_type"] for e in after[len(history):]] == ["ClockPaused", "ClockResumed"]
    # Once staff ask for an extension the head is asked to decide, reads the case, and may extend directly.
    asked = post(client, clerk, f"{base}/extension-requests", {"days": 5, "reason": "需现场勘验"})
    assert asked.status_code == 201
    assert client.get(f"/api/v1/cases/{case_id}", headers=head.headers).status_code == 200


def test_a_clock_named_twice_is_paused_and_resumed_once_and_named_once(app, client, deployed):
    """QA: resume {"clocks": ["legal", "legal"]} answered 法定时限、法定时限正在计时，无需恢复."""
    ensure_calendar_seeded(get_engine(app))
    clerk = deployed["clerk"]
    case_id = start_case(client, clerk)["case_id"]
    base = f"/api/v1/cases/{case_id}/clocks"
    refused = assert_error(post(client, clerk, f"{base}/resume", {"clocks": ["legal", "legal"]}), 409,
                           "CLOCK_NOT_PAUSED")
    assert refused["message"] == "法定时限正在计时，无需恢复" and refused["details"]["clocks"] == ["legal"]
    paused = post(client, clerk, f"{base}/suspend", {"reason_kind": "correction", "reason": "补正",
                                                    "clocks": ["legal", "committed", "legal"]})
    assert paused.status_code == 200, paused.get_json()
    (event,) = [e for e in get_engine(app).queries.events(case_id) if e.event_type == "ClockPaused"]
    assert event.payload["clocks"] == ["legal", "committed"]
    assert post(client, clerk, f"{base}/resume", {"clocks": ["committed", "committed"]}).status_code == 200
