"""Pausing, resuming and extending a case's clocks over HTTP, and the lights the inbox shows."""
from __future__ import annotations

from typing import Any

from app.runtime import get_engine
from engine import ensure_calendar_seeded

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
    assert_error(post(client, clerk, f"{base}/suspend", {"reason_kind": "correction", "reason": "再停"}), 409,
                 "CLOCK_ALREADY_PAUSED")
    assert {c["light"] for c in get_case(client, clerk, case_id)["clocks"]} == {"paused"}
    assert post(client, clerk, f"{base}/resume", {}).status_code == 200
    assert_error(post(client, clerk, f"{base}/resume", {}), 409, "CLOCK_NOT_PAUSED")
    assert_error(post(client, clerk, f"{base}/extend", {"days": 10, "reason": "复杂", "approved_by": "nobody"}),
                 403, "EXTENSION_NOT_APPROVED")
    assert_error(post(client, clerk, f"{base}/extend", {"days": 30, "reason": "复杂", "approved_by": "head_yz"}),
                 422, "INVALID_INPUT")
    before = {c["kind"]: c["due_date"] for c in get_case(client, clerk, case_id)["clocks"]}
    assert post(client, clerk, f"{base}/extend", {"days": 10, "reason": "复杂", "approved_by": "head_yz",
                                                  "told_to_applicant": True}).status_code == 200
    after = {c["kind"]: c["due_date"] for c in get_case(client, clerk, case_id)["clocks"]}
    assert after["legal"] > before["legal"] and after["committed"] == before["committed"]
    assert_error(post(client, deployed["outsider"], f"{base}/suspend", {"reason_kind": "correction",
                                                                        "reason": "越权"}), 404, "NOT_FOUND")
    assert_error(client.get("/api/v1/tasks?light=purple", headers=clerk.headers), 422, "INVALID_INPUT")
