"""全程网办 in a real browser: the demo applicant 张三 logs in, applies online with uploads (an error first),
sees the query code once, gets a one-time 补正 notice and uploads the corrected file; screenshots at 1366x768.
"""
from __future__ import annotations

import re

from app.runtime import get_engine
from engine import Actor, SuspendClock

from .conftest import ARTIFACTS
from .test_review_flow import log_in

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%browser online\n"


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def upload(page, key: str, name: str, content: bytes = PDF) -> None:  # noqa: ANN001
    page.locator(f'input[name="material.{key}"]').set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": content})


def test_the_demo_applicant_applies_online_and_uploads_a_correction(server, page):  # noqa: ANN001
    log_in(page, server.url, "applicant_zs")
    assert page.url.endswith("/my/cases") and page.get_by_role("link", name="我的任务").count() == 0
    page.get_by_role("link", name="网上申报").first.click()
    page.get_by_role("link", name="建筑工程施工许可证核发").click()
    page.get_by_label("联系电话").fill("1380013")
    upload(page, "application_form", "申请表.pdf")
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_load_state()
    shot(page, "31-online-form-errors")
    alert = page.locator("#form-errors")
    alert.wait_for()
    assert "请选择办理地" in alert.inner_text()

    page.get_by_label("办理地（业务属地）").select_option("500103")
    page.get_by_label("联系电话").fill("13800138000")
    upload(page, "application_form", "申请表.pdf")
    page.locator('input[name="license.land_certificate"]').fill("LIC-500103-2026-0001")
    upload(page, "drawing_review", "审查合格书.pdf", PDF + b"d")
    page.locator('input[name="missing.bid_notice"]').check()
    upload(page, "funding_proof", "资金承诺书.pdf", PDF + b"f")
    page.get_by_role("button", name="提交申报").click()
    page.get_by_text("申报成功").wait_for()
    code = page.locator(".query-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{8}", code) and "已收件" in page.content()
    shot(page, "32-online-applied")

    case_id = int(page.url.rsplit("/", 1)[1])
    get_engine(server.app).handle(SuspendClock(case_id, Actor("window_yz", ("window_clerk",), "500103", "zwzx"),
                                               "correction", "一次性告知：施工图审查合格书缺盖章页"))
    page.reload()
    assert page.get_by_role("heading", name="网上补正").is_visible()
    upload(page, "drawing_review", "审查合格书-盖章.pdf", PDF + b"v2")
    page.get_by_label("补正说明（可选）").fill("已补盖章页")
    page.get_by_role("button", name="提交补正材料").click()
    page.get_by_text("补正材料已提交，等待窗口核对").wait_for()
    assert "审查合格书-盖章.pdf" in page.content() and ".query-code" not in page.content()
    shot(page, "33-online-supplied")
    page.goto(f"{server.url}/")
    assert page.url.endswith("/my/cases") and "建筑工程施工许可证核发" in page.content()
    assert page.goto(f"{server.url}/intake").status == 403
