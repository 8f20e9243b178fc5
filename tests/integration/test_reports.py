"""通报: daily scans of new lights, weekly and monthly metrics per district, each written exactly once."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from engine import CST, InvalidInput, NotFound, Period, TimerWorker, report_period
from engine.persistence.models import District, Report

from ..metrics_data import NOW, insert_dataset
from .test_metrics import CITY, YUZHONG


@pytest.fixture
def reporting(engine, clock, database_url):
    clock.set(NOW)
    raw = create_engine(database_url)
    insert_dataset(raw)
    raw.dispose()
    return engine


def districts(engine) -> int:
    with engine.database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(District))


def by_district(engine, kind, key):
    with engine.database.read_sessions() as session:
        return {r.district: r.body for r in session.scalars(select(Report).where(Report.kind == kind,
                                                                                 Report.period_key == key))}


def test_the_daily_scan_lists_the_lights_that_came_on_that_day(reporting):
    day = Period(date(2026, 11, 21), date(2026, 11, 21), "day")
    created, existing = reporting.reports.produce("daily", day, by="test")
    assert (created, existing) == (districts(reporting), 0)
    bodies = by_district(reporting, "daily", "2026-11-21")
    # C4's legal deadline was 20 November: it turned red at 00:00 on the 21st.
    assert bodies["500101"]["counts"] == {"new_red": 1, "new_yellow": 0}
    red = bodies["500101"]["new_red"][0]
    assert (red["title"], red["clock"], red["matter_name"]) == ("效能测试办件 C4", "legal", "测试事项乙")
    assert bodies["500103"]["counts"] == {"new_red": 0, "new_yellow": 0} and bodies["500103"]["new_red"] == []
    assert bodies["500000"]["counts"] == {"new_red": 1, "new_yellow": 0}
    assert bodies["500000"]["by_district"] == [{"district": "500101", "name": "万州区", "new_red": 1, "new_yellow": 0}]
    reporting.reports.produce("daily", Period(date(2026, 11, 15), date(2026, 11, 15), "day"), by="test")
    assert by_district(reporting, "daily", "2026-11-15")["500101"]["counts"] == {"new_red": 0, "new_yellow": 1}


def test_weekly_and_monthly_reports_carry_the_periods_metrics(reporting):
    november = report_period("monthly", "2026-11", date(2026, 12, 2))
    reporting.reports.produce("monthly", november, by="test")
    bodies = by_district(reporting, "monthly", "2026-11")
    assert (bodies["500103"]["summary"]["received"], bodies["500103"]["summary"]["completed"]) == (5, 4)
    assert [r["title"] for r in bodies["500101"]["overdue"]] == ["效能测试办件 C4"]
    city = bodies["500000"]
    assert city["summary"]["received"] == 9 and {r["key"] for r in city["by_district"]} == {"500101", "500103"}
    assert bodies["500114"]["summary"]["received"] == 0  # 黔江: a report saying nothing happened
    week = report_period("weekly", "2026-W47", date(2026, 12, 2))
    assert (week.first, week.last) == (date(2026, 11, 16), date(2026, 11, 22))
    reporting.reports.produce("weekly", week, by="test")
    assert by_district(reporting, "weekly", "2026-W47")["500000"]["summary"]["received"] == 3  # C6, C11, C8


def test_each_report_is_written_once_however_often_it_is_produced(reporting, database_url):
    day = Period(date(2026, 11, 21), date(2026, 11, 21), "day")
    n = districts(reporting)
    assert reporting.reports.produce("daily", day, by="a") == (n, 0)
    assert reporting.reports.produce("daily", day, by="b") == (0, n)
    raw = create_engine(database_url)
    with pytest.raises(IntegrityError), raw.begin() as conn:
        conn.execute(insert(Report).values(kind="daily", district="500103", period_key="2026-11-21",
                                           period_start=day.first, period_end=day.last, body={},
                                           created_at=NOW, created_by="sneaky"))
    raw.dispose()


def test_the_worker_produces_what_is_due_and_catches_up_missed_days(reporting, clock):
    n = districts(reporting)
    worker = TimerWorker(reporting, worker_id="w1")
    result = worker.periodic()
    assert result.rolled_up_days > 0 and result.reports == 3 * n  # 1 December, week 48, November
    assert TimerWorker(reporting, worker_id="w2").periodic().reports == 0
    clock.set(datetime(2026, 12, 5, 8, 0, tzinfo=CST))
    assert worker.periodic().reports == 3 * n  # the days 2, 3 and 4 December
    keys = {r["period_key"] for r in reporting.reports.list(CITY, kind="daily", limit=500)}
    assert keys == {"2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"}


def test_district_supervisors_read_only_their_districts_reports(reporting):
    reporting.reports.produce("daily", Period(date(2026, 11, 21), date(2026, 11, 21), "day"), by="test")
    mine = reporting.reports.list(YUZHONG)
    assert {r["district"] for r in mine} == {"500103"} and mine[0]["kind_name"] == "日扫描"
    assert len(reporting.reports.list(CITY)) == districts(reporting)
    other = next(r for r in reporting.reports.list(CITY) if r["district"] == "500101")
    with pytest.raises(NotFound):
        reporting.reports.get(YUZHONG, other["id"])
    assert reporting.reports.get(CITY, other["id"])["body"]["counts"]["new_red"] == 1


@pytest.mark.parametrize("kind, text, code", [
    ("daily", "2026-12-02", "REPORT_PERIOD_NOT_OVER"), ("monthly", "2026-12", "REPORT_PERIOD_NOT_OVER"),
    ("weekly", "2026-W99", "REPORT_PERIOD_INVALID"), ("monthly", "十一月", "REPORT_PERIOD_INVALID"),
    ("hourly", None, "REPORT_KIND_INVALID"), ("daily", "1999-01-01", "REPORT_PERIOD_INVALID"),
])
def test_report_periods_are_checked(kind, text, code):
    with pytest.raises(InvalidInput) as refused:
        report_period(kind, text, date(2026, 12, 2))
    assert refused.value.code == code


def test_two_workers_at_once_write_each_rollup_day_and_each_report_once(reporting):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        days = list(pool.map(lambda _: reporting.roll_up_metrics(), range(2)))
    assert sorted(days) == [0, 35]
    day = Period(date(2026, 11, 21), date(2026, 11, 21), "day")
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda by: reporting.reports.produce("daily", day, by=by)[0], ("a", "b")))
    assert sum(made) == districts(reporting)
    with reporting.database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == districts(reporting)
