"""Every metric on a hand-built data set (tests/metrics_data.py), on SQLite and PostgreSQL, live and rolled up."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, func, select

from engine import Actor, Forbidden, InvalidInput, ManualClock, MetricsQueryInvalid
from engine.persistence.models import MetricDaily

from ..metrics_data import (
    EXPECTED_BY_DISTRICT, EXPECTED_BY_MATTER, EXPECTED_NOVEMBER, M1, M2, NOW, insert_dataset,
)

CITY = Actor("supervisor", ("supervisor",), "500000", "jiancha")
YUZHONG = Actor("supervisor_yz", ("supervisor",), "500103", "jiancha")
CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")
NOVEMBER = {"period": "month", "anchor": "2026-11-15"}


@pytest.fixture
def metrics_engine(engine, clock: ManualClock, database_url: str):
    clock.set(NOW)
    raw = create_engine(database_url)
    insert_dataset(raw)
    raw.dispose()
    return engine


def _summary(engine, actor=CITY, **filters):
    metrics = engine.metrics
    return metrics.summary(metrics.period(**NOVEMBER), metrics.filters(actor, **filters))


@pytest.mark.parametrize("rolled", [False, True], ids=["live", "rolled-up"])
def test_every_summary_figure_of_november_matches_the_hand_count(metrics_engine, rolled):
    if rolled:
        assert metrics_engine.roll_up_metrics() > 0
    summary = _summary(metrics_engine)
    assert {k: summary[k] for k in EXPECTED_NOVEMBER} == EXPECTED_NOVEMBER


def test_the_rollup_covers_every_finished_day_once_and_gives_the_same_answers(metrics_engine, database_url):
    live = _summary(metrics_engine)
    days = metrics_engine.roll_up_metrics()
    assert days == (date(2026, 12, 1) - date(2026, 10, 27)).days  # 28 Oct (first case) .. 1 Dec
    assert metrics_engine.roll_up_metrics() == 0
    raw = create_engine(database_url)
    with raw.connect() as conn:
        received = conn.execute(select(func.sum(MetricDaily.received))).scalar()
    raw.dispose()
    assert received == 11  # every row was received by 1 December
    assert _summary(metrics_engine) == live


def test_breakdown_by_district_and_matter_match_the_hand_count(metrics_engine):
    metrics = metrics_engine.metrics
    period, everything = metrics.period(**NOVEMBER), metrics.filters(CITY)
    by_district = {r["key"]: r for r in metrics.breakdown(period, everything, "district")}
    assert set(by_district) == {"500103", "500101"}
    assert by_district["500103"]["name"] == "渝中区"
    for key, expected in EXPECTED_BY_DISTRICT.items():
        assert {k: by_district[key][k] for k in expected} == expected, key
    by_matter = {r["key"]: r for r in metrics.breakdown(period, everything, "matter")}
    assert by_matter[M1]["name"] == "测试事项甲" and by_matter[""]["name"] == "未指定"
    for key, expected in EXPECTED_BY_MATTER.items():
        assert {k: by_matter[key][k] for k in expected} == expected, key
    by_department = {r["key"]: r for r in metrics.breakdown(period, everything, "department")}
    assert {k: (v["received"], v["completed"]) for k, v in by_department.items()} == {
        "zhujian": (5, 4), "shichang": (3, 1), "": (1, 1)}
    assert by_department["zhujian"]["name"] == "住房城乡建设委员会"


def test_filters_narrow_every_figure(metrics_engine):
    shichang = _summary(metrics_engine, district="500101", department="shichang", matter=M2)
    assert (shichang["received"], shichang["accepted"], shichang["completed"], shichang["in_progress"],
            shichang["overdue"]) == (3, 2, 1, 2, 1)
    assert (shichang["legal_cases"], shichang["legal_avg_days"], shichang["committed_avg_limit"]) == (1, 0.0, 0.0)
    assert shichang["committed_speedup"] is None  # a 0-day committed limit: nothing to speed up


def test_a_case_received_after_midnight_beijing_time_counts_in_december(metrics_engine):
    metrics = metrics_engine.metrics
    december = metrics.summary(metrics.period(period="month", anchor="2026-12-01"), metrics.filters(CITY))
    assert (december["received"], december["in_progress"], december["completed"]) == (1, 1, 0)
    day = metrics.summary(metrics.period(first="2026-11-30", last="2026-11-30"), metrics.filters(CITY))
    assert (day["received"], day["in_progress"]) == (1, 1)  # C12 at 23:30 on 30 November


def test_trend_by_week_adds_up_to_the_month(metrics_engine):
    metrics = metrics_engine.metrics
    rows = metrics.trend(metrics.period(**NOVEMBER), metrics.filters(CITY), "week")
    assert [r["label"] for r in rows][:2] == ["2026-W44", "2026-W45"]
    assert (rows[0]["from"], rows[0]["to"], rows[-1]["to"]) == ("2026-11-01", "2026-11-01", "2026-11-30")
    assert sum(r["received"] for r in rows) == 9 and sum(r["completed"] for r in rows) == 6
    week_46 = next(r for r in rows if r["label"] == "2026-W46")  # 9-15 November
    assert (week_46["received"], week_46["completed"], week_46["legal_avg_days"]) == (2, 1, 6.0)
    assert len(metrics.trend(metrics.period(**NOVEMBER), metrics.filters(CITY), "day")) == 30


def test_the_overdue_and_near_due_lists_name_the_cases(metrics_engine):
    metrics = metrics_engine.metrics
    period = metrics.period(**NOVEMBER)
    red = metrics.lights(period, metrics.filters(CITY), light="red")
    assert [r["title"] for r in red] == ["效能测试办件 C4"]
    assert red[0]["red_clocks"] == ["legal", "committed"] and red[0]["matter_name"] == "测试事项乙"
    # Committed due 15 November (a Sunday): Mon 16 .. Wed 2 December are 13 working days.
    assert red[0]["overdue_workdays"] == 13
    yellow = metrics.lights(period, metrics.filters(CITY), light="yellow")
    assert [r["title"] for r in yellow] == ["效能测试办件 C6"] and yellow[0]["overdue_workdays"] is None


def test_a_district_supervisor_sees_only_their_district(metrics_engine):
    mine = _summary(metrics_engine, actor=YUZHONG)
    assert mine["received"] == EXPECTED_BY_DISTRICT["500103"]["received"]
    with pytest.raises(Forbidden) as refused:
        _summary(metrics_engine, actor=YUZHONG, district="500101")
    assert refused.value.code == "METRICS_DISTRICT_FORBIDDEN"
    with pytest.raises(Forbidden) as clerk:
        _summary(metrics_engine, actor=CLERK)
    assert clerk.value.code == "METRICS_FORBIDDEN"


@pytest.mark.parametrize("request_, code", [
    ({"first": "2026-11-30", "last": "2026-11-01"}, "METRICS_RANGE_REVERSED"),
    ({"first": "1999-12-31", "last": "2000-01-31"}, "METRICS_RANGE_TOO_EARLY"),
    ({"first": "2010-01-01", "last": "2026-11-30"}, "METRICS_RANGE_TOO_LONG"),
    ({"first": "2026-11-01", "last": "2030-01-01"}, "METRICS_RANGE_TOO_LATE"),
    ({"first": "2026-13-01", "last": "2026-12-01"}, "METRICS_DATE_INVALID"),
    ({"first": "yesterday", "last": "2026-12-01"}, "METRICS_DATE_INVALID"),
    ({"first": "2026-11-01"}, "METRICS_RANGE_INCOMPLETE"),
    ({"period": "decade"}, "METRICS_PERIOD_INVALID"),
])
def test_absurd_periods_are_refused_with_a_code(metrics_engine, request_, code):
    with pytest.raises(MetricsQueryInvalid) as refused:
        metrics_engine.metrics.period(**request_)
    assert refused.value.code == code and refused.value.http_status == 422


def test_unknown_codes_in_filters_are_refused(metrics_engine):
    metrics = metrics_engine.metrics
    for filters, code in (({"district": "509999"}, "UNKNOWN_DISTRICT"), ({"department": "nope"}, "UNKNOWN_DEPARTMENT"),
                          ({"matter": "NOPE"}, "MATTER_NOT_FOUND")):
        with pytest.raises(InvalidInput) as refused:
            metrics.filters(CITY, **filters)
        assert refused.value.code == code


def test_breakdowns_and_trends_read_from_the_rollup_equal_the_live_ones(metrics_engine):
    metrics = metrics_engine.metrics
    period, everything = metrics.period(**NOVEMBER), metrics.filters(CITY)
    live = {by: metrics.breakdown(period, everything, by) for by in ("district", "department", "matter")}
    live_trend = metrics.trend(period, everything, "week")
    live_filtered = _summary(metrics_engine, district="500103")
    metrics_engine.roll_up_metrics()
    assert {by: metrics.breakdown(period, everything, by) for by in live} == live
    assert metrics.trend(period, everything, "week") == live_trend
    assert _summary(metrics_engine, district="500103") == live_filtered
    # A period that straddles the watermark (1 December) reads both the rollup and the live cases.
    straddle = metrics.summary(metrics.period(first="2026-11-30", last="2026-12-02"), everything)
    assert (straddle["received"], straddle["in_progress"]) == (2, 2)  # C12 (30 Nov) and C9 (1 Dec)
