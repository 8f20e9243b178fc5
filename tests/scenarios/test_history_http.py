"""The history API over HTTP: a returned and re-reviewed case, paged timeline, state, masking, 401/403/404."""
from __future__ import annotations

from datetime import timedelta

import pytest

from .test_http_api import ACCEPT, assert_error, complete, deployed, only_task  # noqa: F401 - fixture
from .test_masking_http import caller

ID_NUMBER = "500103198506120317"


@pytest.fixture
def returned_case(app, client, deployed, clock):  # noqa: F811 - the imported fixture
    """受理, 退回 from 住建审查 with a 补正 pause, 受理 again: the case is back in review."""
    clerk, zhujian = deployed["clerk"], deployed["zhujian"]
    started = client.post("/api/v1/cases", headers=clerk.headers, json={
        "process_key": "parallel_approval", "title": "某项目施工许可",
        "data": {"applicant": "张三", "applicant_id_number": ID_NUMBER}}).get_json()
    case_id = started["case_id"]
    assert complete(client, clerk, only_task(client, clerk, "accept")["id"], ACCEPT).status_code == 200
    clock.advance(timedelta(days=1))
    review = only_task(client, zhujian, "review_zhujian")
    assert client.post(f"/api/v1/tasks/{review['id']}/return", headers=zhujian.headers,
                       json={"reason": "缺少土地证明"}).status_code == 200
    assert client.post(f"/api/v1/cases/{case_id}/clocks/suspend", headers=clerk.headers,
                       json={"reason_kind": "correction", "reason": "补正土地证明"}).status_code == 200
    clock.advance(timedelta(days=1))
    assert client.post(f"/api/v1/cases/{case_id}/clocks/resume", headers=clerk.headers, json={}).status_code == 200
    assert complete(client, clerk, only_task(client, clerk, "accept")["id"], ACCEPT).status_code == 200
    return case_id


def test_an_auditor_pages_through_the_history_and_steps_to_an_event(app, client, returned_case):
    auditor = caller(app, "auditor_city", ("auditor",), "500000", "shenji")
    first = client.get(f"/api/v1/cases/{returned_case}/history?limit=5", headers=auditor.headers)
    assert first.status_code == 200
    body = first.get_json()
    assert body["integrity"] == {"ok": True, "checked": body["case"]["event_count"], "broken_seq": None,
                                 "reason": None, "state_checked": True, "state_differs": False}
    counts = {step["element_id"]: step["count"] for step in body["path"]}
    assert counts["accept"] == 2 and counts["review_zhujian"] == 2 and counts["start"] == 1
    assert [e["seq"] for e in body["events"]] == [1, 2, 3, 4, 5] and body["next_after"] == 5
    assert body["events"][0]["data"]["applicant_id_number"] == ID_NUMBER
    events, after = list(body["events"]), body["next_after"]
    while after is not None:
        page = client.get(f"/api/v1/cases/{returned_case}/history?after={after}&limit=5",
                          headers=auditor.headers).get_json()
        events += page["events"]
        after = page["next_after"]
    assert [e["seq"] for e in events] == list(range(1, body["case"]["event_count"] + 1))
    paused = next(e for e in events if e["event_type"] == "ClockPaused")
    assert {c["state"] for c in paused["clocks"]} == {"paused"}
    assert paused["actor"]["username"] == "window_yz" and paused["actor"]["district"] == "500103"

    returned = next(e for e in events if e["event_type"] == "TaskReturned")
    state = client.get(f"/api/v1/cases/{returned_case}/history/{returned['seq']}/state", headers=auditor.headers)
    assert state.status_code == 200
    tasks = [(t["element_id"], t["state"]) for t in state.get_json()["tasks"]]
    assert tasks[-1] == ("accept", "open") and ("review_zhujian", "cancelled") in tasks


def test_supervisors_see_masked_id_numbers_in_the_history(app, client, returned_case):
    supervisor = caller(app, "super_city", ("supervisor",), "500000", "jiancha")
    body = client.get(f"/api/v1/cases/{returned_case}/history?limit=500", headers=supervisor.headers)
    assert body.status_code == 200 and ID_NUMBER not in body.get_data(as_text=True)
    assert body.get_json()["events"][0]["data"]["applicant_id_number"] == "5001**********0317"
    state = client.get(f"/api/v1/cases/{returned_case}/history/1/state", headers=supervisor.headers)
    assert state.get_json()["data"]["applicant_id_number"] == "5001**********0317"


def test_refusals_have_their_status_and_code(app, client, deployed, returned_case):  # noqa: F811
    auditor = caller(app, "auditor_city", ("auditor",), "500000", "shenji")
    assert_error(client.get(f"/api/v1/cases/{returned_case}/history"), 401, "UNAUTHENTICATED")
    assert_error(client.get(f"/api/v1/cases/{returned_case}/history", headers=deployed["designer"].headers),
                 403, "HISTORY_FORBIDDEN")
    assert_error(client.get(f"/api/v1/cases/{returned_case}/history", headers=deployed["outsider"].headers),
                 404, "CASE_NOT_FOUND")
    assert_error(client.get("/api/v1/cases/424242/history", headers=auditor.headers), 404, "CASE_NOT_FOUND")
    assert_error(client.get("/api/v1/cases/424242/history/1/state", headers=auditor.headers), 404, "CASE_NOT_FOUND")
    missing = assert_error(client.get(f"/api/v1/cases/{returned_case}/history/999/state", headers=auditor.headers),
                           404, "EVENT_NOT_FOUND")
    assert missing["details"]["seq"] == 999 and "没有第 999 条" in missing["message"]
    assert_error(client.get(f"/api/v1/cases/{returned_case}/history/0/state", headers=auditor.headers),
                 404, "EVENT_NOT_FOUND")
    bad = assert_error(client.get(f"/api/v1/cases/{returned_case}/history?limit=0", headers=auditor.headers),
                       422, "INVALID_INPUT")
    assert "limit" in bad["details"]["fields"]["query"]
    assert_error(client.get(f"/api/v1/cases/{returned_case}/history?after=-1", headers=auditor.headers),
                 422, "INVALID_INPUT")
    # Staff who worked the case read its history too.
    assert client.get(f"/api/v1/cases/{returned_case}/history", headers=deployed["zhujian"].headers).status_code == 200


def test_the_openapi_document_describes_the_history(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/cases/{case_id}/history" in spec["paths"]
    assert "/api/v1/cases/{case_id}/history/{seq}/state" in spec["paths"]
