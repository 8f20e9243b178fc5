"""A handoff seen in a real browser: both districts see the linked cases; an admin retries a poison message."""
from __future__ import annotations

import re
from datetime import timedelta

from app.runtime import get_engine
from engine import MessageWorker

from ..handoff_helpers import receive, setup, verify_at_qianjiang
from ..message_helpers import cases, complete, deploy, messages, start_ping
from .test_review_flow import fits, log_in, log_out, shot


def test_both_districts_see_the_partner_case_and_an_admin_handles_a_poison_message(server, page):
    engine = get_engine(server.app)
    setup(engine)
    mine = receive(engine).case.case_id
    verify_at_qianjiang(engine, mine)
    MessageWorker(engine).sweep()
    [theirs] = cases(engine, "yidi_banli")
    base = server.url

    log_in(page, base, "window_qj")
    page.goto(f"{base}/cases/{mine}")
    partners = page.get_by_role("region", name="关联办件（异地代收代办）")
    assert theirs.case_no in partners.inner_text() and "到件受理" in partners.inner_text() and fits(page)
    shot(page, "20-qianjiang-case-with-partner", full_page=True)
    partners.get_by_role("link", name=theirs.case_no).click()
    page.wait_for_url(f"{base}/cases/{theirs.id}")
    assert "收件地办件" in page.get_by_role("region", name="关联办件（异地代收代办）").inner_text()
    log_out(page)

    deploy(engine)
    ping = start_ping(engine)
    MessageWorker(engine).sweep()
    [pong] = cases(engine, "pong")
    complete(engine, pong.id, "answer_task", {"answer": "x"})
    complete(engine, ping, "hold", {})
    for _ in range(engine.services.messages.max_attempts):
        MessageWorker(engine).sweep()
        server.clock.advance(timedelta(hours=2))
    poison = [m for m in messages(engine) if m.state == "poison"][0]

    log_in(page, base, "admin")
    page.get_by_role("link", name="消息管理").click()
    page.wait_for_url(re.compile(r"/admin/messages"))
    row = page.get_by_role("row").filter(has_text=f"#{poison.id}")
    assert "投递失败（待处理）" in row.inner_text() and fits(page)
    shot(page, "21-admin-messages-poison", full_page=True)
    row.get_by_placeholder("处理理由（必填）").fill("修正回复后重新投递")
    row.get_by_role("button", name="重试").click()
    assert f"消息 #{poison.id} 已重新排队投递" in page.get_by_role("status").inner_text()
    shot(page, "22-admin-messages-retried")
