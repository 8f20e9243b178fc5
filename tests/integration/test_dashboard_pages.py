"""The 效能监察 and 通报 pages: figures, htmx body, CSV of every table, drill-down, access, bad periods."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import create_engine

from app import create_app
from app.runtime import get_engine
from engine import Period

from ..metrics_data import NOW, insert_dataset
from ..pages_helpers import PASSWORD, client_for

NOVEMBER = "period=month&date=2026-11-15"
USERS = {"supervisor": ("500000", ("supervisor",)), "supervisor_wz": ("500101", ("supervisor",)),
         "window_yz": ("500103", ("window_clerk",))}


@pytest.fixture
def app(database_url, clock):
    clock.set(NOW)
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    engine = get_engine(application)
    for username, (district, roles) in USERS.items():
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department="jiancha" if "supervisor" in roles else "zwzx", password=PASSWORD)
    raw = create_engine(database_url)
    application.config["IDS"] = insert_dataset(raw)
    raw.dispose()
    yield application
    engine.close()


def rows_of(response):
    assert response.mimetype == "text/csv" and response.headers["Content-Disposition"].startswith("attachment")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_city_dashboard_shows_the_figures_charts_data_and_tables(app):
    page = client_for(app, "supervisor").get(f"/dashboard?{NOVEMBER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<span class="kpi-value" data-key="received">9</span>' in html
    assert '<span class="kpi-value" data-key="legal_speedup">76.0%</span>' in html
    assert '<span class="kpi-value" data-key="one_visit_rate">66.7%</span>' in html
    assert 'id="dashboard-data"' in html and "/vendor/echarts/echarts.min.js" in html
    assert f'href="/cases/{app.config["IDS"]["C4"]}"' in html  # drill-down from the overdue list
    for table in ("table-summary", "table-overdue", "table-near-due", "table-districts", "table-matters",
                  "table-departments", "table-trend"):
        assert f'id="{table}"' in html, table
    assert "效能监察" in html and "通报" in html


def test_every_table_downloads_as_csv_with_the_same_figures(app):
    client = client_for(app, "supervisor")
    summary = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=summary"))
    assert summary[0] == ["指标", "数值", "原始值"] and ["收件量", "9", "9"] in summary
    assert ["较法定时限提速率", "76.0%", "0.76"] in summary
    districts = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=by_district"))
    assert districts[0][:4] == ["代码", "名称", "收件量", "受理量"]
    assert [r[:5] for r in districts[1:]] == [["500103", "渝中区", "5", "4", "4"], ["500101", "万州区", "4", "3", "2"]]
    matters = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=by_matter"))
    assert {r[1] for r in matters[1:]} == {"测试事项甲", "测试事项乙", "未指定"}
    departments = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=by_department"))
    assert departments[1][:3] == ["zhujian", "住房城乡建设委员会", "5"]
    trend = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=trend"))
    assert len(trend) == 31 and trend[1][:4] == ["2026-11-01", "2026-11-01", "2026-11-01", "0"]
    overdue = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=overdue"))
    assert overdue[1][0] == "TBTEST000004" and overdue[1][-2:] == ["法定、承诺", "13"]
    near = rows_of(client.get(f"/dashboard?{NOVEMBER}&format=csv&table=near_due"))
    assert [r[0] for r in near[1:]] == ["TBTEST000006"]
    unknown = client.get(f"/dashboard?{NOVEMBER}&format=csv&table=secrets")
    assert unknown.status_code == 422 and "没有名为 secrets 的表格" in unknown.get_data(as_text=True)


def test_the_htmx_filter_bar_swaps_only_the_body(app):
    body = client_for(app, "supervisor").get(f"/dashboard?{NOVEMBER}&district=500101",
                                             headers={"HX-Request": "true"})
    html = body.get_data(as_text=True)
    assert body.status_code == 200 and "<html" not in html
    assert '<span class="kpi-value" data-key="received">4</span>' in html and "万州区" in html


def test_a_district_supervisor_sees_their_district_and_others_are_refused(app):
    html = client_for(app, "supervisor_wz").get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)
    assert '<span class="kpi-value" data-key="received">4</span>' in html  # 万州 500101 only
    assert '<select id="f-district" disabled>' in html
    clerk = client_for(app, "window_yz").get("/dashboard")
    assert clerk.status_code == 403 and "效能统计只对电子监察" in clerk.get_data(as_text=True)
    assert "效能监察</a>" not in client_for(app, "window_yz").get("/").get_data(as_text=True)


@pytest.mark.parametrize("query, words", [
    ("period=range&from=2026-11-30&to=2026-11-01", "晚于结束日期"),
    ("period=range&from=1990-01-01&to=1990-02-01", "早于 2000-01-01"),
    ("period=range&from=2000-01-01&to=2026-11-30", "超过十年"),
    ("period=month&date=2026-02-30", "不是有效日期"),
])
def test_a_bad_period_shows_its_message_on_the_page(app, query, words):
    client = client_for(app, "supervisor")
    page = client.get(f"/dashboard?{query}")
    assert page.status_code == 422 and words in page.get_data(as_text=True)
    assert 'role="alert"' in page.get_data(as_text=True)
    swapped = client.get(f"/dashboard?{query}", headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and words in swapped.get_data(as_text=True)
    assert client.get(f"/dashboard/overdue?{query}").status_code == 422


@pytest.mark.parametrize("query, status, code", [
    ("from=2026-01-01", 422, "METRICS_RANGE_INCOMPLETE"),
    ("period=range&to=2026-11-30", 422, "METRICS_RANGE_INCOMPLETE"),
    ("district=500101&department=zz", 422, "UNKNOWN_DEPARTMENT"),
    ("matter=NO_SUCH_MATTER", 422, "MATTER_NOT_FOUND"),
    ("district=500103", 403, "METRICS_DISTRICT_FORBIDDEN"),
])
def test_the_page_shows_what_the_metrics_api_refuses_above_an_empty_body(app, query, status, code):
    client = client_for(app, "supervisor_wz")
    refused = client.get(f"/api/v1/metrics/summary?{query}")
    assert (refused.status_code, refused.get_json()["code"]) == (status, code)
    message = refused.get_json()["message"]
    for path in ("/dashboard", "/dashboard/overdue"):
        page = client.get(f"{path}?{query}")
        html = page.get_data(as_text=True)
        assert page.status_code == status, (path, html)
        assert f'<p class="error-box" role="alert">{message}</p>' in html
        assert "kpi-value" not in html and 'id="table-lights"' not in html  # no other district's figures
    swapped = client.get(f"/dashboard?{query}", headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and message in swapped.get_data(as_text=True)
    assert "kpi-value" not in swapped.get_data(as_text=True)
    assert client.get(f"/dashboard?{query}&format=csv&table=summary").mimetype == "text/html"


def test_the_department_filter_narrows_the_figures_as_the_api_does(app):
    client = client_for(app, "supervisor")
    html = client.get(f"/dashboard?{NOVEMBER}&department=zhujian").get_data(as_text=True)
    api = client.get(f"/api/v1/metrics/summary?{NOVEMBER}&department=zhujian").get_json()["summary"]
    assert api["received"] == 5
    assert '<span class="kpi-value" data-key="received">5</span>' in html and "住房城乡建设委员会" in html
    summary = rows_of(client.get(f"/dashboard?{NOVEMBER}&department=zhujian&format=csv&table=summary"))
    assert ["收件量", "5", "5"] in summary


def test_from_and_to_without_a_period_ask_for_a_custom_range_as_in_the_api(app):
    html = client_for(app, "supervisor").get("/dashboard?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert '<span class="kpi-value" data-key="received">9</span>' in html and "2026-11-01 至 2026-11-30" in html


def test_the_full_overdue_list_and_its_csv(app):
    client = client_for(app, "supervisor")
    html = client.get(f"/dashboard/overdue?{NOVEMBER}").get_data(as_text=True)
    assert "TBTEST000004" in html and f'/cases/{app.config["IDS"]["C4"]}' in html
    yellow = rows_of(client.get(f"/dashboard/overdue?{NOVEMBER}&light=yellow&format=csv"))
    assert [r[0] for r in yellow[1:]] == ["TBTEST000006"]
    blue = client.get(f"/dashboard/overdue?{NOVEMBER}&light=blue")
    assert blue.status_code == 422 and "灯色“blue”无效" in blue.get_data(as_text=True)
    assert "TBTEST000004" not in blue.get_data(as_text=True)              # not the red list instead


def test_reports_are_listed_shown_and_downloaded_by_district(app):
    engine = get_engine(app)
    engine.reports.produce("daily", Period(date(2026, 11, 21), date(2026, 11, 21), "day"), by="test")
    engine.reports.produce("monthly", Period(date(2026, 11, 1), date(2026, 11, 30), "month"), by="test")
    client = client_for(app, "supervisor_wz")
    listing = client.get("/reports").get_data(as_text=True)
    assert listing.count("万州区") >= 2 and "渝中区" not in listing.split("<table")[1]
    mine = [r for r in engine.reports.list(engine.identity.actor_for_username("supervisor_wz"))]
    daily = next(r for r in mine if r["kind"] == "daily")
    monthly = next(r for r in mine if r["kind"] == "monthly")
    daily_page = client.get(f"/reports/{daily['id']}").get_data(as_text=True)
    assert "TBTEST000004" in daily_page and "测试事项乙</td><td>法定</td>" in daily_page     # 时限: the qualifier
    lines = rows_of(client.get(f"/reports/{daily['id']}.csv"))
    assert lines[1][:2] == ["红灯", "TBTEST000004"] and lines[1][4] == "法定"
    monthly_csv = rows_of(client.get(f"/reports/{monthly['id']}.csv"))
    assert monthly_csv[0] == ["万州区月通报", "2026 年 11 月"] and ["收件量", "4", "4"] in monthly_csv
    city_daily = next(r for r in engine.reports.list(engine.identity.actor_for_username("supervisor"))
                      if r["district"] == "500103")
    assert client.get(f"/reports/{city_daily['id']}").status_code == 404
    # Filters are checked as on the dashboard: another district or an unknown kind is said, not replaced.
    other = client.get("/reports?district=500103")
    assert other.status_code == 403 and "您只能查看本区县" in other.get_data(as_text=True)
    assert "TBTEST" not in other.get_data(as_text=True).split("<table")[1] and "万州区" not in \
        other.get_data(as_text=True).split("<table")[1]
    wrong = client.get("/reports?kind=foo")
    assert wrong.status_code == 422 and "通报类型“foo”无效" in wrong.get_data(as_text=True)
    assert client.get("/reports?kind=foo", headers={"HX-Request": "true"}).status_code == 200
    assert client.get("/reports?kind=monthly").get_data(as_text=True).count("月通报") >= 1
