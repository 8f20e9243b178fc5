"""Pages: /admin/messages (admins only, retry and discard with a reason) and the partner case on the case page."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app import create_app
from app.runtime import get_engine
from engine import MessageWorker

from ..handoff_helpers import receive, setup, verify_at_qianjiang
from ..message_helpers import cases, complete, deploy, messages, start_ping
from ..pages_helpers import PASSWORD, csrf_of, login


@pytest.fixture
def app(database_url, clock, tmp_path):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials")})
    engine = get_engine(application)
    for username, roles, district, department in (("admin", ("admin",), "500000", "dsj"),
                                                  ("window_qj", ("window_clerk",), "500114", "zwzx"),
                                                  ("window_yz", ("window_clerk",), "500103", "zwzx")):
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department=department, password=PASSWORD)
    yield application
    engine.close()


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def poison(engine, clock) -> int:
    deploy(engine)
    ping = start_ping(engine)
    MessageWorker(engine).sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "x"})
    complete(engine, ping, "hold", {})
    for _ in range(engine.services.messages.max_attempts):
        MessageWorker(engine).sweep()
        clock.advance(timedelta(hours=2))
    return messages(engine)[1].id


def test_admins_see_set_aside_messages_and_retry_or_discard_them_with_a_reason(app, clock):
    engine = get_engine(app)
    message_id = poison(engine, clock)
    assert signed_in(app, "window_yz").get("/admin/messages").status_code == 404
    client = signed_in(app, "admin")
    page = client.get("/admin/messages").get_data(as_text=True)
    assert "消息管理" in page and f"#{message_id}" in page and "投递失败（待处理）" in page and "待处理（1）" in page
    token = csrf_of(client, "/admin/messages")
    refused = client.post(f"/admin/messages/{message_id}/retry", data={"csrf_token": token, "reason": ""},
                          follow_redirects=True).get_data(as_text=True)
    assert "请写明处理理由" in refused
    done = client.post(f"/admin/messages/{message_id}/retry", data={"csrf_token": token, "reason": "已修复"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"消息 #{message_id} 已重新排队投递" in done and messages(engine)[1].state == "pending"
    assert client.post(f"/admin/messages/{message_id}/discard", data={"reason": "x"}).status_code == 400  # no CSRF
    again = client.post(f"/admin/messages/{message_id}/discard", data={"csrf_token": token, "reason": "作废"},
                        follow_redirects=True).get_data(as_text=True)
    assert "不能丢弃" in again
    assert "已投递" in client.get("/admin/messages?tab=delivered").get_data(as_text=True)


def test_the_case_page_shows_the_partner_case_to_both_districts(app):
    engine = get_engine(app)
    setup(engine)
    mine = receive(engine).case.case_id
    verify_at_qianjiang(engine, mine)
    MessageWorker(engine).sweep()
    [theirs] = [c for c in cases(engine, "yidi_banli")]
    page = signed_in(app, "window_qj").get(f"/cases/{mine}").get_data(as_text=True)
    assert "关联办件（异地代收代办）" in page and theirs.case_no in page and "业务属地办件" in page
    assert "到件受理" in page and "发送消息" in page
    other = signed_in(app, "window_yz").get(f"/cases/{theirs.id}").get_data(as_text=True)
    assert "收件地办件" in other and "收到消息" in other
