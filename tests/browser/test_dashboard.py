"""The supervisor's dashboard in a real browser: charts draw, tables fill, htmx filters, drill-down, CSV."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import create_engine

from app.runtime import get_engine
from engine import CST, Period

from ..metrics_data import insert_dataset
from .test_review_flow import fits, log_in, shot

NOVEMBER = "period=month&date=2026-11-15"


def test_the_supervisor_reads_the_dashboard_drills_down_and_downloads_a_csv(server, page, tmp_path):
    raw = create_engine(server.app.config["TONGBAN_DATABASE_URL"])
    insert_dataset(raw)
    raw.dispose()
    # The demo case was received on 23 November; by 10 December its 承诺 deadline (10 working days) has passed.
    server.clock.set(datetime(2026, 12, 10, 10, 0, tzinfo=CST))
    log_in(page, server.url, "supervisor")
    page.get_by_role("link", name="效能监察").click()
    page.goto(f"{server.url}/dashboard?{NOVEMBER}")
    for chart in ("chart-trend", "chart-districts", "chart-matters"):
        page.wait_for_selector(f"#{chart} canvas", timeout=15000)
    assert page.locator('[data-key="received"]').inner_text() == "10"  # 9 built rows + the demo case
    overdue = page.locator("#table-overdue")
    assert "解放碑某商业综合体施工许可" in overdue.inner_text() and "TBTEST000004" in overdue.inner_text()
    assert "渝中区" in page.locator("#table-districts").inner_text()
    assert fits(page)
    shot(page, "20-dashboard-city")
    shot(page, "21-dashboard-city-full", full_page=True)

    page.evaluate("window.samePage = true")
    page.get_by_label("业务属地").select_option(label="万州区")
    page.wait_for_function("document.querySelector('[data-key=\"received\"]').textContent === '4'")
    assert "district=500101" in page.url and page.evaluate("window.samePage === true")  # htmx swapped the body
    page.wait_for_selector("#chart-trend canvas", timeout=15000)
    shot(page, "22-dashboard-wanzhou")
    page.get_by_label("业务属地").select_option(label="全市")
    page.wait_for_function("document.querySelector('[data-key=\"received\"]').textContent === '10'")

    with page.expect_download() as download:
        page.locator("#table-overdue").locator("xpath=..").get_by_role("link", name="导出 CSV").click()
    saved = tmp_path / "overdue.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.startswith("办件编号,标题") and "解放碑某商业综合体施工许可" in text and "TBTEST000004" in text

    page.locator("#table-overdue").get_by_role("row").filter(has_text="解放碑").get_by_role("link").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert "解放碑某商业综合体施工许可" in page.inner_text("body")
    shot(page, "23-drilldown-case")

    page.goto(f"{server.url}/dashboard?period=range&from=2026-12-01&to=2026-11-01")
    alert = page.get_by_role("alert")
    assert "开始日期 2026-12-01 晚于结束日期 2026-11-01" in alert.inner_text()
    shot(page, "24-dashboard-bad-range")

    get_engine(server.app).reports.produce("monthly", Period(datetime(2026, 11, 1).date(),
                                                             datetime(2026, 11, 30).date(), "month"), by="test")
    page.get_by_role("link", name="通报").first.click()
    # htmx (a deferred script) binds the filter's change trigger at DOMContentLoaded: a change made before
    # that is lost, so wait for the report list to finish loading before choosing a district
    page.wait_for_url(re.compile(r"/reports$"))
    page.get_by_label("区县").select_option(label="渝中区")
    page.wait_for_url(re.compile(r"district=500103"))
    page.get_by_role("link", name="2026-11").click()
    assert "渝中区月通报" in page.inner_text("h1") and "解放碑某商业综合体施工许可" in page.inner_text("body")
    shot(page, "25-report-monthly", full_page=True)
