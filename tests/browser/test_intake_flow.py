"""A window clerk receives an application in a real browser: search, checklist with uploads, errors, receipt."""
from __future__ import annotations

import re

from .test_review_flow import log_in, shot

PDF = b"%PDF-1.7\n%browser intake\n"


def test_a_clerk_receives_an_application_with_the_keyboard_and_prints_the_receipt(server, page, tmp_path):
    base = server.url
    log_in(page, base, "window_yz")
    page.get_by_role("link", name="收件").click()
    page.wait_for_url(re.compile(r"/intake$"))  # the search box's htmx trigger is bound once the page has loaded
    page.get_by_label("事项名称或实施编码").fill("施工许可")
    result = page.get_by_role("link", name=re.compile("建筑工程施工许可证核发"))
    result.wait_for()
    assert "/intake/matters" not in page.url  # htmx swapped the results in place
    result.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "渝中区政务服务中心 3 号窗口" in page.inner_text("body")

    page.get_by_label("姓名或名称").fill("张三")
    page.get_by_label("证件类型（自然人）").select_option("111")
    page.get_by_label("证件号码或统一社会信用代码").fill("500103198506120318")  # wrong check character
    page.get_by_label("联系电话").fill("13800138000")
    files = {}
    for key in ("application_form", "drawing_review", "funding_proof"):
        files[key] = tmp_path / f"{key}.pdf"
        files[key].write_bytes(PDF + key.encode())
        page.set_input_files(f'input[name="material.{key}"]', str(files[key]))
    page.locator('input[name="license.land_certificate"]').fill("LIC-500103-2026-0001")
    page.locator('input[name="missing.bid_notice"]').check()
    page.locator('input[name="verified.funding_proof"]').check()
    with page.expect_navigation():
        page.get_by_role("button", name="收件并打印回执").click()
    assert "申请人证件号码：居民身份证号校验位不正确，请核对" in page.get_by_role("alert").inner_text()
    shot(page, "11-intake-errors", full_page=True)

    page.get_by_label("证件号码或统一社会信用代码").fill("500103198506120317")
    for key, path in files.items():  # a browser never re-sends files after an error page
        page.set_input_files(f'input[name="material.{key}"]', str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="收件并打印回执").click()
    assert re.search(r"/cases/\d+/receipt$", page.url)
    body = page.inner_text("body")
    assert "收件回执" in body and "5001**********0317" in body and "容缺" in body
    assert re.search(r"查询码\s*[A-Z2-9]{8}", body)
    shot(page, "12-receipt", full_page=True)
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="打印回执").is_visible()
    page.emulate_media(media="screen")
    page.reload()
    assert "查询码" not in page.locator(".facts").first.inner_text()
