"""``POST /api/v1/messages/envelopes``: an envelope from outside is queued, refused as forged, or refused unreceivable."""
from __future__ import annotations

from app.runtime import get_engine
from engine.messages import sign
from tests.message_helpers import cases, deploy, messages, start_ping

from .test_handoff_http import people
from .test_http_api import assert_error


def envelope(app, name: str, correlation_key: str | None, key: str) -> dict:
    body = {"idempotency_key": key, "name": name, "correlation_key": correlation_key, "payload": {"answer": "是"},
            "sender": None}
    return {**body, "signature": sign(get_engine(app).services.messages.secret, body)}


def test_admins_queue_genuine_envelopes_and_anything_else_is_refused_without_a_trace_in_the_queue(app, client):
    engine = get_engine(app)
    deploy(engine)
    start_ping(engine)
    [ping] = cases(engine, "ping")
    who = people(app)
    before = len(messages(engine))

    accepted = client.post("/api/v1/messages/envelopes", json=envelope(app, "pong", ping.case_no, "外部/1"),
                           headers=who["admin"].headers)
    assert accepted.status_code == 201, accepted.get_json()
    assert (accepted.get_json()["name"], accepted.get_json()["state"]) == ("pong", "pending")

    nobody = assert_error(client.post("/api/v1/messages/envelopes", json=envelope(app, "nobody", None, "外部/2"),
                                      headers=who["admin"].headers), 422, "MESSAGE_NO_RECEIVER")
    assert nobody["message"] == "没有流程以消息“nobody”启动，该消息无人接收"
    assert nobody["details"] == {"name": "nobody", "correlation_key": None}
    assert_error(client.post("/api/v1/messages/envelopes", json=envelope(app, "ping", ping.case_no, "外部/3"),
                             headers=who["admin"].headers), 422, "MESSAGE_NO_RECEIVER")
    forged = {**envelope(app, "pong", ping.case_no, "外部/4"), "payload": {"answer": "改过"}}
    assert_error(client.post("/api/v1/messages/envelopes", json=forged, headers=who["admin"].headers),
                 409, "MESSAGE_REJECTED")
    assert_error(client.post("/api/v1/messages/envelopes", json=envelope(app, "pong", ping.case_no, "外部/5"),
                             headers=who["window_qj"].headers), 403, "FORBIDDEN")
    assert len(messages(engine)) == before + 1
    assert [r["reason"] for r in engine.messages.rejections()] == ["forged"]
