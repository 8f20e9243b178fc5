"""An undeliverable message (its receiving case has ended) on /admin/messages and in ``tongban messages``."""
from __future__ import annotations

import re

from app.runtime import get_engine
from engine import MessageWorker
from tests.integration.test_cli import failed, ok
from tests.integration.test_message_ended_receiver import pong_answers_an_ended_ping
from tests.integration.test_message_pages import app, signed_in  # noqa: F401 - the fixture
from tests.message_helpers import cases, messages
from tests.pages_helpers import csrf_of


def undeliverable(engine) -> int:
    pong_answers_an_ended_ping(engine)
    assert MessageWorker(engine).sweep().other == {"undeliverable": 1}
    return messages(engine)[1].id


def test_admins_find_it_among_the_messages_to_handle_with_discard_only(app):  # noqa: F811
    engine = get_engine(app)
    message_id = undeliverable(engine)
    ping_no = cases(engine, "ping")[0].case_no
    client = signed_in(app, "admin")
    page = client.get("/admin/messages").get_data(as_text=True)
    assert "待处理（1）" in page and "无法投递（接收方办件已结束或不存在）" in page
    assert f"接收方办件 {ping_no} 已结束，消息无法投递" in page
    row = re.search(rf"<tr>\s*<td>#{message_id}</td>.*?</tr>", page, re.S).group(0)
    assert f"/admin/messages/{message_id}/discard" in row and f"/admin/messages/{message_id}/retry" not in row
    token = csrf_of(client, "/admin/messages")
    refused = client.post(f"/admin/messages/{message_id}/retry", data={"csrf_token": token, "reason": "再试"},
                          follow_redirects=True).get_data(as_text=True)
    assert "不能重试" in refused and messages(engine)[1].state == "undeliverable"
    done = client.post(f"/admin/messages/{message_id}/discard", data={"csrf_token": token, "reason": "接收方已办结"},
                       follow_redirects=True).get_data(as_text=True)
    assert f"消息 #{message_id} 已丢弃" in done and messages(engine)[1].state == "discarded"


def test_the_cli_lists_it_by_state_and_discards_it(app):  # noqa: F811
    engine = get_engine(app)
    message_id = undeliverable(engine)
    runner = app.test_cli_runner()
    out = ok(runner.invoke(args=["messages", "list", "--state", "undeliverable"]))
    assert f"#{message_id} [无法投递（接收方办件已结束或不存在）] pong" in out and "已结束，消息无法投递" in out
    assert "无法投递（接收方办件已结束或不存在） 1" in out
    assert "不能重试" in failed(runner.invoke(args=["messages", "retry", str(message_id), "--reason", "再试"]))
    assert "已丢弃" in ok(runner.invoke(args=["messages", "discard", str(message_id), "--reason", "接收方已办结"]))
