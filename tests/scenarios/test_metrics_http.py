"""The metrics API over HTTP: every endpoint on the hand-built data set, access by district, bad periods."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from app.runtime import get_engine

from ..metrics_data import EXPECTED_BY_DISTRICT, EXPECTED_NOVEMBER, M2, NOW, insert_dataset

NOVEMBER = "period=month&date=2026-11-15"


@pytest.fixture
def tokens(app, clock, database_url, cast):
    clock.set(NOW)
    raw = create_engine(database_url)
    insert_dataset(raw)
    raw.dispose()
    identity = get_engine(app).identity
    found = {"clerk": cast["clerk"].headers}
    for username, district in (("supervisor", "500000"), ("supervisor_wz", "500101")):
        identity.create_user(username, display_name="电子监察", roles=("supervisor",), district=district,
                             department="jiancha")
        found[username] = {"Authorization": f"Bearer {identity.create_token(username)}"}
    return found


def test_the_summary_answers_every_figure_for_the_city(client, tokens):
    answer = client.get(f"/api/v1/metrics/summary?{NOVEMBER}", headers=tokens["supervisor"])
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["period"] == {"from": "2026-11-01", "to": "2026-11-30", "kind": "month", "label": "2026 年 11 月"}
    assert {k: body["summary"][k] for k in EXPECTED_NOVEMBER} == EXPECTED_NOVEMBER


def test_breakdowns_trend_and_overdue_over_http(client, tokens):
    city = tokens["supervisor"]
    rows = client.get(f"/api/v1/metrics/by-district?{NOVEMBER}", headers=city).json["rows"]
    assert [(r["key"], r["name"], r["received"]) for r in rows] == [("500103", "渝中区", 5), ("500101", "万州区", 4)]
    assert all(rows[i]["completed"] == EXPECTED_BY_DISTRICT[rows[i]["key"]]["completed"] for i in (0, 1))
    matters = client.get(f"/api/v1/metrics/by-matter?{NOVEMBER}&district=500101", headers=city).json["rows"]
    assert [(r["key"], r["received"], r["overdue"]) for r in matters] == [(M2, 3, 1), ("", 1, 0)]
    departments = client.get(f"/api/v1/metrics/by-department?{NOVEMBER}", headers=city).json["rows"]
    assert departments[0]["key"] == "zhujian" and departments[0]["name"] == "住房城乡建设委员会"
    trend = client.get("/api/v1/metrics/trend?from=2026-11-01&to=2026-11-30&interval=month", headers=city).json
    assert [(r["label"], r["received"], r["completed"]) for r in trend["rows"]] == [("2026-11", 9, 6)]
    red = client.get(f"/api/v1/metrics/overdue?{NOVEMBER}", headers=city).json
    assert [r["case_no"] for r in red["rows"]] == ["TBTEST000004"] and red["rows"][0]["overdue_workdays"] == 13
    yellow = client.get(f"/api/v1/metrics/overdue?{NOVEMBER}&light=yellow", headers=city).json
    assert [r["case_no"] for r in yellow["rows"]] == ["TBTEST000006"]


def test_a_district_supervisor_gets_their_district_and_nothing_else(client, tokens):
    mine = client.get(f"/api/v1/metrics/summary?{NOVEMBER}", headers=tokens["supervisor_wz"]).json
    assert mine["filters"]["district"] == "500101" and mine["summary"]["received"] == 4
    other = client.get(f"/api/v1/metrics/summary?{NOVEMBER}&district=500103", headers=tokens["supervisor_wz"])
    assert other.status_code == 403 and other.json["code"] == "METRICS_DISTRICT_FORBIDDEN"
    clerk = client.get(f"/api/v1/metrics/summary?{NOVEMBER}", headers=tokens["clerk"])
    assert clerk.status_code == 403 and clerk.json["code"] == "METRICS_FORBIDDEN"
    assert client.get(f"/api/v1/metrics/summary?{NOVEMBER}").status_code == 401
    # Who may ask is settled before the query is read: a clerk's malformed query is still a 403, not a 422.
    for path in ("summary?period=fortnight", "trend?interval=hourly", "overdue?light=purple", "by-matter?limit=x"):
        refused = client.get(f"/api/v1/metrics/{path}", headers=tokens["clerk"])
        assert (refused.status_code, refused.json["code"]) == (403, "METRICS_FORBIDDEN"), path
        assert client.get(f"/api/v1/metrics/{path}").status_code == 401


@pytest.mark.parametrize("query, code, field", [
    ("from=2026/11/01&to=2026-11-30", "METRICS_DATE_INVALID", "from"),
    ("from=2026-11-01&to=2026-11-31", "METRICS_DATE_INVALID", "to"),
    ("date=11/23", "METRICS_DATE_INVALID", "date"),
    ("from=2026-11-01", "METRICS_RANGE_INCOMPLETE", "to"),
    ("to=2026-11-01", "METRICS_RANGE_INCOMPLETE", "from"),
    ("period=fortnight", "METRICS_PERIOD_INVALID", "period"),
    ("interval=hourly", "METRICS_INTERVAL_INVALID", "interval"),
])
def test_a_bad_query_parameter_is_named_under_details_fields(client, tokens, query, code, field):
    answer = client.get(f"/api/v1/metrics/trend?{query}", headers=tokens["supervisor"])
    assert (answer.status_code, answer.json["code"]) == (422, code), answer.json
    assert answer.json["details"]["fields"] == {field: [answer.json["message"]]}


@pytest.mark.parametrize("query, code, words", [
    ("from=2026-11-30&to=2026-11-01", "METRICS_RANGE_REVERSED", "晚于结束日期"),
    ("from=2001-01-01&to=2026-11-30", "METRICS_RANGE_TOO_LONG", "超过十年"),
    ("from=1990-01-01&to=1990-02-01", "METRICS_RANGE_TOO_EARLY", "早于 2000-01-01"),
    ("from=2026/11/01&to=2026-11-30", "METRICS_DATE_INVALID", "不是有效日期"),
    ("from=2026-11-01", "METRICS_RANGE_INCOMPLETE", "同时给出"),
    ("period=fortnight", "METRICS_PERIOD_INVALID", "统计周期"),
    ("from=2022-01-01&to=2026-11-30&interval=day", "METRICS_TOO_MANY_BUCKETS", "最多 400"),
    ("district=123", "UNKNOWN_DISTRICT", "不存在"),
])
def test_bad_periods_and_filters_are_422_with_a_code_and_a_chinese_message(client, tokens, query, code, words):
    answer = client.get(f"/api/v1/metrics/trend?{query}", headers=tokens["supervisor"])
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] == code and words in answer.json["message"]
