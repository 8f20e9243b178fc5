"""An auditor opens a real case's history: the path is coloured with the loop counted, an event shows its state."""
from __future__ import annotations

import re
from datetime import timedelta

from engine import Actor, ClaimTask, CompleteTask, ResumeClock, ReturnTask, SuspendClock

from ..helpers import ACCEPT, APPROVE
from .conftest import ARTIFACTS
from .test_review_flow import log_in

CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
ZHUJIAN = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
GUIHUA = Actor("reviewer_yz_gh", ("reviewer",), "500103", "guihua")


def open_task(engine, actor: Actor, element_id: str) -> int:  # noqa: ANN001
    (task,) = [t for t in engine.queries.tasks(actor, limit=200).items if t["element_id"] == element_id]
    return task["id"]


def work_the_case(server) -> None:  # noqa: ANN001
    """受理, 退回 from 住建审查 with a 补正 pause, 受理 again, then two of the three reviews."""
    engine, clock = server.app.extensions["tongban"], server.clock
    clock.advance(hours=1)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept"), CLERK, ACCEPT))
    clock.advance(timedelta(days=1))
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(review, ZHUJIAN))
    engine.handle(ReturnTask(review, ZHUJIAN, "缺少中标通知书，退回受理补正"))
    engine.handle(SuspendClock(server.case_id, CLERK, "correction", "申请人补正中标通知书"))
    clock.advance(timedelta(days=2))
    engine.handle(ResumeClock(server.case_id, CLERK))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept"), CLERK, ACCEPT))
    clock.advance(hours=3)
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua")):
        engine.handle(CompleteTask(open_task(engine, actor, element), actor, APPROVE))


def test_an_auditor_sees_the_path_with_its_loop_and_steps_to_an_event(server, page):
    work_the_case(server)
    engine = server.app.extensions["tongban"]
    returned = [e.seq for e in engine.queries.events(server.case_id) if e.event_type == "TaskReturned"][0]
    log_in(page, server.url, "auditor")
    page.goto(f"{server.url}/cases/{server.case_id}")
    page.get_by_role("link", name="办理历史").click()
    page.wait_for_url(re.compile(r"/history$"))
    assert "记录完整" in page.get_by_role("status").first.inner_text()

    page.wait_for_selector("#diagram .djs-element.tb-path", timeout=15000)
    badges = page.locator("#diagram .tb-count")
    badges.first.wait_for()
    counts = sorted(badges.all_inner_texts())
    assert "×2" in counts                                   # 受理 entered twice (the 退回 loop)
    assert page.locator('#diagram [data-element-id="accept"].tb-path').count() == 1
    assert page.locator('#diagram [data-element-id="end_rejected"].tb-path').count() == 0
    accept_box = page.locator('#diagram [data-element-id="accept"]').bounding_box()
    accept_badge = page.locator('.djs-overlay-container [data-container-id="accept"] .tb-count')
    assert accept_badge.inner_text() == "×2" and accept_box is not None
    page.screenshot(path=str(ARTIFACTS / "history-01-path.png"), full_page=False)

    row = page.locator(f"#event-{returned}")
    assert "退回" in row.inner_text() and "住建部门审查" in row.inner_text()
    row.get_by_role("link", name=str(returned)).click()
    page.locator(f'#state .state[data-seq="{returned}"]').wait_for()
    state = page.locator("#state").inner_text()
    assert f"第 {returned} 条：退回（住建部门审查）" in state
    assert "已撤销" in state and "待认领" in state           # the reviews withdrawn, 受理 open again
    assert page.locator(f"#event-{returned}.selected").count() == 1
    page.wait_for_selector('#diagram [data-element-id="review_zhujian"].tb-selected')
    page.locator("#state").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "history-02-state.png"), full_page=False)
    page.screenshot(path=str(ARTIFACTS / "history-03-full.png"), full_page=True)

    paused = page.locator("table.events tr").filter(has_text="暂停计时").first
    assert "已暂停" in paused.inner_text()
