"""A clerk asks for more time on the case page; the department head approves it in the inbox (第四十二条)."""
from __future__ import annotations

import re

from app.runtime import get_engine
from engine import Actor, ClaimTask, CompleteTask

from ..helpers import ACCEPT, open_task
from .test_review_flow import fits, log_in, log_out, shot

CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
REASON = "需组织专家现场核查，材料较多"


def legal_due(engine, case_id: int) -> str:  # noqa: ANN001
    return next(c for c in engine.queries.case(CLERK, case_id)["clocks"] if c["kind"] == "legal")["due_date"]


def test_a_clerk_asks_for_an_extension_and_the_head_approves_it_in_the_inbox(server, page):
    base, case_id, engine = server.url, server.case_id, get_engine(server.app)
    # Accepted, so the reviews are open: the head (a 住建 reviewer too) may open the case page.
    accept = open_task(engine, CLERK, "accept")["id"]
    engine.handle(ClaimTask(accept, CLERK))
    engine.handle(CompleteTask(accept, CLERK, ACCEPT))
    before = legal_due(engine, case_id)
    case_no = engine.queries.case(CLERK, case_id)["case_no"]

    log_in(page, base, "window_yz")
    page.goto(f"{base}/cases/{case_id}")
    page.wait_for_load_state()
    form = page.locator("form.extension-form")
    assert not form.is_visible()                                # folded until asked for
    page.get_by_text("申请延长时限", exact=True).click()
    assert form.is_visible()
    form.get_by_label("时限", exact=True).select_option(label="法定时限")
    form.get_by_label("延长天数（工作日）").fill("5")
    form.get_by_role("textbox", name="延长理由").fill(REASON)
    form.get_by_label("已告知申请人延长理由").check()
    with page.expect_navigation():
        form.get_by_role("button", name="提交延期申请").click()
    page.wait_for_load_state()
    assert "已提交延期申请，等待科室负责人审批" in page.get_by_role("status").inner_text()
    row = page.locator("table.extension-requests tbody tr").filter(has_text=REASON)
    assert "待审批" in row.inner_text() and "渝中窗口" in row.inner_text()
    assert row.get_by_role("button", name="撤回").is_visible()
    assert fits(page)
    shot(page, "ext-01-case-requested", full_page=True)
    page.goto(f"{base}/")
    page.wait_for_load_state()
    assert page.get_by_text("待审批的延期申请").count() == 0      # a clerk has no such list
    log_out(page)

    log_in(page, base, "head_yz")
    page.wait_for_url(f"{base}/")
    queue = page.locator("section.extensions")
    assert "待审批的延期申请" in queue.get_by_role("heading").inner_text()
    pending = queue.get_by_role("row").filter(has_text=case_no)
    for text in ("法定时限", "5 个工作日", REASON, "渝中窗口"):
        assert text in pending.inner_text(), text
    assert fits(page)
    shot(page, "ext-02-inbox-queue")
    pending.get_by_label(re.compile("审批意见")).fill("同意延长")
    with page.expect_navigation():
        pending.get_by_role("button", name="批准").click()
    page.wait_for_load_state()
    assert f"已批准办件 {case_no} 的延期申请（5 个工作日）" in page.get_by_role("status").inner_text()
    assert queue.get_by_text("暂无待审批的延期申请").is_visible()
    after = legal_due(engine, case_id)
    assert after > before
    shot(page, "ext-03-inbox-approved")

    page.get_by_role("row").filter(has_text="住建部门审查").get_by_role("link", name=case_no).click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    page.wait_for_load_state()
    decided = page.locator("table.extension-requests tbody tr").filter(has_text=REASON)
    assert "已批准" in decided.inner_text() and "同意延长" in decided.inner_text() and "渝中住建科长" in decided.inner_text()
    legal = page.locator("section[aria-labelledby=clocks-title] table").first.get_by_role("row").filter(
        has_text="法定时限")
    assert after in legal.inner_text() and "已延长 5 个工作日" in legal.inner_text()
    assert before not in legal.inner_text()
    assert fits(page)
    shot(page, "ext-04-case-approved", full_page=True)
