"""A clerk and a reviewer work a case through the pages in a real browser; another district sees nothing."""
from __future__ import annotations

import re

from app.demo import DEMO_PASSWORD

from .conftest import ARTIFACTS


def shot(page, name: str, full_page: bool = False) -> None:  # noqa: ANN001
    """Save a 1366x768 screenshot of what a person sees now (or of the whole page, scrolled)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def log_in(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:  # noqa: ANN001
    """Log in with the keyboard alone: the user name field has focus, Tab to the password, Enter."""
    page.goto(f"{base}/login")
    # autofocus lands once the document is ready; wait for it (a loaded machine is slower) rather than poll once
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'", timeout=10000)
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def log_out(page) -> None:  # noqa: ANN001
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/login$"))


def fits(page) -> bool:  # noqa: ANN001
    """Tell whether the page fits the 1366-pixel width without horizontal scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_case_goes_from_the_window_to_the_reviewer_and_stays_hidden_from_other_districts(server, page):
    base = server.url
    log_in(page, base, "window_yz", "wrong-password")
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误"
    shot(page, "01-login-error")

    log_in(page, base, "window_yz")
    page.get_by_role("link", name=re.compile("可认领")).click()
    page.wait_for_url(re.compile(r"tab=available"))  # loaded: htmx has bound the filters' change trigger
    row = page.get_by_role("row").filter(has_text="受理")
    assert "正常" in row.inner_text() and "渝中区" in row.inner_text()
    assert fits(page)
    shot(page, "02-inbox-available")
    page.evaluate("window.samePage = true")
    page.get_by_label("时限状态").select_option(label="超期")
    page.get_by_text("没有符合筛选条件的任务").wait_for()
    assert "light=red" in page.url and page.evaluate("window.samePage === true")  # htmx swapped just the rows
    page.get_by_label("时限状态").select_option(label="全部")
    page.get_by_role("row").filter(has_text="受理").wait_for()

    row.get_by_role("link", name="受理").click()
    assert "中标通知书" in page.inner_text("body")
    page.wait_for_selector("#diagram .djs-element.tb-current", timeout=15000)
    shot(page, "03-task-before-claim")
    shot(page, "03-task-before-claim-full", full_page=True)
    page.get_by_role("button", name="认领任务").click()
    task_url = page.url

    page.get_by_label("受理决定").select_option(label="受理")
    page.get_by_role("button", name="提交办理").click()
    assert page.locator("#f-opinion-err").inner_text() == "必填项"
    assert page.get_by_label("受理意见").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("受理决定").input_value() == "accept"
    assert fits(page)
    shot(page, "04-task-validation-error")

    page.get_by_label("受理意见").fill("材料齐全，符合法定形式，予以受理")
    page.get_by_label("材料齐全").check()
    page.get_by_role("button", name="提交办理").click()
    page.wait_for_url(f"{base}/")
    assert "已办理：受理" in page.get_by_role("status").inner_text()
    shot(page, "05-inbox-after-complete")
    log_out(page)

    log_in(page, base, "reviewer_yz")
    page.get_by_role("link", name=re.compile("可认领")).click()
    assert page.get_by_role("link", name="住建部门审查").count() == 1
    shot(page, "06-reviewer-inbox")
    page.get_by_role("link", name=re.compile(r"^TB")).first.click()
    page.wait_for_selector("#diagram .djs-element.tb-current", timeout=15000)
    assert "办理记录" in page.inner_text("body") and fits(page)
    svg = page.locator("#diagram svg").first
    svg.focus()
    before = page.evaluate("document.querySelector('#diagram .viewport').getAttribute('transform')")
    page.keyboard.press("Control+ArrowLeft")
    page.wait_for_function("t => document.querySelector('#diagram .viewport').getAttribute('transform') !== t",
                           arg=before)
    shot(page, "07-case-page")
    shot(page, "07-case-page-full", full_page=True)
    log_out(page)

    log_in(page, base, "window_qj")
    page.get_by_role("link", name=re.compile("可认领")).click()
    assert page.get_by_role("link", name="住建部门审查").count() == 0
    assert "暂无任务" in page.inner_text("body")
    response = page.goto(task_url)
    assert response.status == 404 and "页面不存在" in page.inner_text("body")
    response = page.goto(f"{base}/cases/{server.case_id}")
    assert response.status == 404
    shot(page, "08-other-district-404")


def test_the_inbox_and_task_page_work_with_the_keyboard_alone(server, page):
    log_in(page, server.url, "window_yz")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "受理":
            break
    else:
        raise AssertionError("the task link is not reachable with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.get_by_role("button", name="认领任务").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.focus("#f-decision")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-materials_complete"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-opinion"
    shot(page, "09-keyboard-focus")
