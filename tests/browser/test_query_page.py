"""An applicant uses 办件查询 in a real browser, without logging in: a wrong code, a case waiting for 补正 with
its one-time notice, then a closed case rated 非常不满意 (a comment is asked for first); on a desktop and a phone.
"""
from __future__ import annotations

import re

from app.runtime import get_engine
from engine import Actor
from tests.rating_helpers import closed_case, food_application, food_correction

from .conftest import ARTIFACTS


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def look_up(page, case_no: str, code: str) -> None:  # noqa: ANN001
    page.get_by_label("办件编号").fill(case_no)
    page.get_by_label("查询码").fill(code)
    with page.expect_response(lambda r: r.url.endswith("/query") and r.request.method == "POST"):
        page.get_by_role("button", name="查询").click()


def test_an_applicant_looks_up_a_case_sees_the_notice_and_rates_a_closed_case(server, page, browser):
    engine = get_engine(server.app)
    waiting = food_application(engine)
    food_correction(engine, waiting)
    closed = closed_case(engine)

    page.goto(f"{server.url}/query")
    assert page.get_by_role("heading", name="办件查询").is_visible()
    assert page.get_by_role("button", name="退出登录").count() == 0          # no login needed, none shown
    look_up(page, waiting.case_no, "WRONG123")
    assert page.get_by_role("alert").inner_text() == "办件编号或查询码不正确"
    assert page.url.endswith("/query")                                       # htmx swapped the result in place

    look_up(page, waiting.case_no, waiting.query_code.lower())
    result = page.locator("#result")
    result.get_by_text("待补正", exact=True).wait_for()
    text = result.inner_text()
    assert "食品经营许可（告知承诺）" in text and "一次性告知：需要补正的全部内容" in text
    assert "经营场所平面布局图：标明操作间面积" in text and "健康证明" in text and "渝中补〔2026〕07 号" in text
    assert "受理之日起 5 个工作日（尚未起算）" in text
    assert "重庆某餐饮管理有限公司" not in page.content() and "13800138000" not in page.content()
    shot(page, "21-query-correction")

    look_up(page, closed.case_no, closed.query_code)
    result.get_by_text("已办结", exact=True).wait_for()
    assert "办理结果" in result.inner_text() and page.get_by_role("button", name="提交评价").is_visible()
    page.get_by_text("非常不满意", exact=True).click()
    page.get_by_role("button", name="提交评价").click()
    result.get_by_text("差评请写明不满意的原因，便于责任部门整改").wait_for()
    assert page.get_by_role("radio", name="非常不满意").is_checked()                   # the choice survives the error
    shot(page, "22-query-rating-error")
    page.get_by_label("文字评价").fill("补正要求前后说了三次")
    page.get_by_role("button", name="提交评价").click()
    result.get_by_text("感谢您的评价").wait_for()
    text = result.inner_text()
    assert "非常不满意（PC端" in text and "已转交责任部门整改（整改中），整改期限 2026-12-14 24:00" in text
    assert page.get_by_role("button", name="提交评价").count() == 0
    shot(page, "23-query-rated")
    (rating,) = engine.ratings.list(Actor("auditor", ("auditor",)))
    assert (rating["case_no"], rating["channel"], rating["status"]) == (closed.case_no, "1", "rectifying")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
    try:
        small = phone.new_page()
        small.goto(f"{server.url}/query")
        look_up(small, waiting.case_no, waiting.query_code)
        small.locator("#result").get_by_text("待补正", exact=True).wait_for()
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width                                          # nothing wider than the phone
        shot(small, "24-query-phone")
    finally:
        phone.close()


def test_the_department_rectifies_a_bad_rating_from_its_inbox_and_the_supervisor_revisits(server, page):
    from engine import APPLICANT, RateCase

    from .test_review_flow import log_in, log_out
    engine = get_engine(server.app)
    closed = closed_case(engine)
    engine.handle(RateCase(closed.case_id, APPLICANT, 4, "1", "窗口让我补了两次材料"))
    log_in(page, server.url, "head_yz")                      # 渝中住建科长: 住建 reviewed last
    page.get_by_role("link", name=re.compile("可认领")).click()
    row = page.get_by_role("row").filter(has_text="差评整改")
    assert "2026-12-14" in row.inner_text(), row.inner_text()
    row.get_by_role("link", name="差评整改").click()
    assert "窗口让我补了两次材料" in page.inner_text("body")   # the complaint is in the case title
    page.get_by_role("button", name="认领任务").click()
    page.get_by_label("已整改").check()
    page.get_by_role("button", name="提交办理").click()
    assert page.locator("#f-measures-err").inner_text() == "必填项"
    shot(page, "25-rectify-form-error")
    page.get_by_label("整改措施").fill("核实后约谈窗口人员，材料清单一次性告知并公示")
    page.get_by_role("button", name="提交办理").click()
    page.wait_for_url(f"{server.url}/")
    assert "已办理：差评整改" in page.get_by_role("status").inner_text()
    log_out(page)
    log_in(page, server.url, "supervisor")                   # 市级电子监察 may revisit every district's 差评
    page.get_by_role("link", name=re.compile("可认领")).click()
    page.get_by_role("link", name="回访").click()
    page.get_by_role("button", name="认领任务").click()
    page.get_by_label("满意", exact=True).check()
    page.get_by_label("回访记录").fill("电话回访，申请人对整改表示满意")
    page.get_by_role("button", name="提交办理").click()
    page.wait_for_url(f"{server.url}/")
    (rating,) = engine.ratings.list(Actor("auditor", ("auditor",)))
    assert rating["status"] == "rectified"
    shot(page, "26-revisit-done")
