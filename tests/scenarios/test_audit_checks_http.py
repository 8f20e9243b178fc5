"""Replay and verify over HTTP (auditors only): verdicts, a tampered twin, definition-store refusals, OpenAPI."""
from __future__ import annotations

import pytest

from app.runtime import get_engine
from tests.integration.test_calendar_replaced_replay import forget_replaced_rows, replaced_while_running
from tests.integration.test_replay import tamper
from tests.integration.test_replay_inputs import edit_store

from .test_history_http import returned_case  # noqa: F401 - fixture
from .test_http_api import assert_error, deployed  # noqa: F401 - fixture
from .test_masking_http import caller


@pytest.fixture
def auditor(app):
    return caller(app, "auditor_city", ("auditor",), "500000", "shenji")


def test_an_auditor_replays_and_verifies_an_intact_case(client, auditor, returned_case):  # noqa: F811
    count = client.get(f"/api/v1/cases/{returned_case}/history?limit=1", headers=auditor.headers
                       ).get_json()["case"]["event_count"]
    replayed = client.post(f"/api/v1/cases/{returned_case}/replay", headers=auditor.headers)
    assert replayed.status_code == 200, replayed.get_json()
    assert replayed.get_json() == {"case_id": returned_case, "case_no": replayed.get_json()["case_no"],
                                   "identical": True, "events": count, "divergence": None}
    verified = client.get(f"/api/v1/cases/{returned_case}/verify", headers=auditor.headers)
    assert verified.status_code == 200
    assert {k: v for k, v in verified.get_json().items() if k != "case_no"} == {
        "case_id": returned_case, "ok": True, "checked": count, "broken_seq": None, "reason": None,
        "state_checked": True, "state_differs": False}


def test_a_snapshot_edited_in_the_database_is_reported_with_the_event_that_recorded_its_digest(
        client, auditor, returned_case, database_url):  # noqa: F811
    events = client.get(f"/api/v1/cases/{returned_case}/history?limit=500", headers=auditor.headers
                        ).get_json()["events"]
    stamped = [e["seq"] for e in events if e["state_sha256"]]
    assert stamped and all("state_sha256" not in e["details"] for e in events)
    tamper(database_url, "UPDATE cases SET workflow_state = workflow_state || ' ' WHERE id = :c",
           {"c": returned_case})
    verified = client.get(f"/api/v1/cases/{returned_case}/verify", headers=auditor.headers).get_json()
    assert (verified["ok"], verified["state_differs"], verified["broken_seq"]) == (False, True, stamped[-1])
    assert verified["reason"].startswith(f"办件的流程状态快照与第 {stamped[-1]} 个事件记下的摘要不符")


def test_a_tampered_completion_shows_as_a_divergence_and_a_broken_link(client, auditor, returned_case,  # noqa: F811
                                                                      database_url):
    events = client.get(f"/api/v1/cases/{returned_case}/history?limit=500", headers=auditor.headers
                        ).get_json()["events"]
    accepted = next(e for e in events if e["event_type"] == "TaskCompleted")
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = :s",
           {"p": '{"data": {"decision": "reject", "opinion": "不予受理", "materials_complete": false}}',
            "c": returned_case, "s": accepted["seq"]})
    body = client.post(f"/api/v1/cases/{returned_case}/replay", headers=auditor.headers).get_json()
    assert body["identical"] is False
    divergence = body["divergence"]
    assert divergence["seq"] == accepted["seq"] + 1 and divergence["reason"] == "mismatch"
    assert divergence["expected"]["seq"] == accepted["seq"] + 1 and divergence["got"] != divergence["expected"]
    assert divergence["message"] == "记录与重放的内容不同"
    verified = client.get(f"/api/v1/cases/{returned_case}/verify", headers=auditor.headers).get_json()
    assert (verified["ok"], verified["broken_seq"]) == (False, accepted["seq"])
    assert "内容被修改" in verified["reason"]


def test_other_roles_get_403_and_unknown_cases_404(app, client, deployed, auditor, returned_case):  # noqa: F811
    url = f"/api/v1/cases/{returned_case}"
    assert_error(client.post(f"{url}/replay"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"{url}/verify"), 401, "UNAUTHENTICATED")
    supervisor = caller(app, "super_city", ("supervisor",), "500000", "jiancha")
    for who in (deployed["designer"], deployed["clerk"], supervisor):
        assert_error(client.post(f"{url}/replay", headers=who.headers), 403, "AUDIT_FORBIDDEN")
        assert_error(client.get(f"{url}/verify", headers=who.headers), 403, "AUDIT_FORBIDDEN")
    assert_error(client.post("/api/v1/cases/424242/replay", headers=auditor.headers), 404, "NOT_FOUND")
    assert_error(client.get("/api/v1/cases/424242/verify", headers=auditor.headers), 404, "NOT_FOUND")


def test_a_deleted_or_edited_pinned_definition_is_refused_with_409(client, auditor, returned_case,  # noqa: F811
                                                                   database_url):
    url = f"/api/v1/cases/{returned_case}/replay"
    edit_store(database_url, "UPDATE process_definitions SET bpmn_xml = bpmn_xml || ' ' "
               "WHERE process_key = 'parallel_approval'", {})
    changed = client.post(url, headers=auditor.headers)
    assert_error(changed, 409, "DEFINITION_CHANGED")
    assert "parallel_approval 第 1 版已被改动" in changed.get_json()["message"]
    edit_store(database_url, "DELETE FROM process_definitions WHERE process_key = 'parallel_approval'", {})
    missing = client.post(url, headers=auditor.headers)
    assert_error(missing, 409, "DEFINITION_MISSING")
    assert missing.get_json()["details"]["process_key"] == "parallel_approval"
    assert client.get(f"/api/v1/cases/{returned_case}/verify", headers=auditor.headers).get_json()["ok"] is True


def test_the_openapi_document_describes_both_checks(client):
    spec = client.get("/api/openapi.json").get_json()
    replay = spec["paths"]["/api/v1/cases/{case_id}/replay"]["post"]
    verify = spec["paths"]["/api/v1/cases/{case_id}/verify"]["get"]
    assert {"200", "403", "404", "409"} <= set(replay["responses"]) and {"200", "403", "404"} <= set(verify["responses"])
    assert "divergence" in spec["components"]["schemas"]["ReplayReport"]["properties"]
    assert "broken_seq" in spec["components"]["schemas"]["Verification"]["properties"]


def test_a_replay_that_needs_a_calendar_schedule_replaced_before_it_was_kept_is_a_409(app, client, auditor, clock):
    engine = get_engine(app)
    case_id = replaced_while_running(engine, clock)
    assert client.post(f"/api/v1/cases/{case_id}/replay", headers=auditor.headers).get_json()["identical"] is True
    forget_replaced_rows(engine)
    body = assert_error(client.post(f"/api/v1/cases/{case_id}/replay", headers=auditor.headers), 409,
                        "HISTORY_CALENDAR_REPLACED")
    assert body["message"].startswith("2026 年的节假日安排已于 2026-11-23 10:00 被替换，替换前的内容未被保存")
