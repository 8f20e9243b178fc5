"""``tongban metrics`` and ``tongban report`` through the CLI runner, and the backfill in ``tongban migrate``."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select, update

from app import create_app
from app.runtime import get_engine
from engine.case_metrics import FACTS_VERSION
from engine.persistence.models import Case

from ..metrics_data import EXPECTED_NOVEMBER, NOW, insert_dataset


@pytest.fixture
def app(database_url, clock):
    clock.set(NOW)
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    raw = create_engine(database_url)
    insert_dataset(raw)
    raw.dispose()
    yield application
    get_engine(application).close()


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_metrics_summary_prints_the_figures_as_a_table_or_json(app):
    table = run(app, "metrics", "summary", "--period", "month", "--date", "2026-11-15")
    assert table.exit_code == 0, table.output
    assert "统计区间：2026 年 11 月（2026-11-01 至 2026-11-30）" in table.output
    assert "较法定时限提速率" in table.output and "76.0%" in table.output
    data = json.loads(run(app, "metrics", "summary", "--from", "2026-11-01", "--to", "2026-11-30", "--json").output)
    assert {k: data["summary"][k] for k in EXPECTED_NOVEMBER} == EXPECTED_NOVEMBER
    mine = json.loads(run(app, "metrics", "summary", "--date", "2026-11-15", "--district", "500101", "--json").output)
    assert mine["summary"]["received"] == 4


@pytest.mark.parametrize("args, code", [
    (("--from", "2026-11-30", "--to", "2026-11-01"), "METRICS_RANGE_REVERSED"),
    (("--from", "1999-01-01", "--to", "1999-02-01"), "METRICS_RANGE_TOO_EARLY"),
    (("--from", "next week", "--to", "2026-11-01"), "METRICS_DATE_INVALID"),
    (("--district", "999999"), "UNKNOWN_DISTRICT"),
])
def test_metrics_summary_refuses_a_bad_period_with_exit_code_2(app, args, code):
    result = run(app, "metrics", "summary", *args)
    assert result.exit_code == 2 and f"错误 [{code}]" in result.output


def test_metrics_rollup_writes_the_finished_days_once(app):
    first = run(app, "metrics", "rollup")
    assert first.exit_code == 0 and first.output.strip() == "已汇总 35 天"  # 28 October .. 1 December
    assert run(app, "metrics", "rollup").output.strip() == "日汇总已是最新"
    assert run(app, "metrics", "rollup", "--rebuild").output.strip() == "已汇总 35 天"


def test_report_run_and_list(app):
    created = run(app, "report", "run", "--kind", "daily", "--period", "2026-11-21")
    assert created.exit_code == 0 and created.output.strip() == "日扫描 2026-11-21：新生成 42 份，已存在 0 份"
    again = run(app, "report", "run", "--kind", "daily", "--period", "2026-11-21")
    assert again.output.strip() == "日扫描 2026-11-21：新生成 0 份，已存在 42 份"
    monthly = run(app, "report", "run", "--kind", "monthly")  # the last finished month: November
    assert monthly.exit_code == 0 and "月通报 2026-11：新生成 42 份" in monthly.output
    listed = run(app, "report", "list", "--kind", "daily", "--district", "500101")
    assert listed.exit_code == 0 and "日扫描  2026-11-21" in listed.output and "500101" in listed.output
    rows = json.loads(run(app, "report", "list", "--json", "--limit", "1000").output)
    assert len(rows) == 84 and {r["kind"] for r in rows} == {"daily", "monthly"}
    refused = run(app, "report", "run", "--kind", "monthly", "--period", "2026-12")
    assert refused.exit_code == 2 and "REPORT_PERIOD_NOT_OVER" in refused.output and "尚未结束" in refused.output
    bad = run(app, "report", "run", "--kind", "weekly", "--period", "2026-W60")
    assert bad.exit_code == 2 and "REPORT_PERIOD_INVALID" in bad.output


def test_worker_once_rolls_up_and_writes_the_due_reports(app):
    result = run(app, "worker", "--once")
    assert result.exit_code == 0, result.output
    assert "日汇总 35 天，新生成通报 126 份" in result.output  # 1 December, week 48, November x 42 districts


def test_migrate_backfills_cases_that_predate_the_facts(app, database_url):
    raw = create_engine(database_url)
    with raw.begin() as conn:
        conn.execute(update(Case).where(Case.case_no == "TBTEST000001").values(facts_version=None))
    result = run(app, "migrate")
    assert result.exit_code == 0 and "已为 1 个早先的办件补算效能统计字段" in result.output
    with raw.connect() as conn:
        assert conn.execute(select(Case.facts_version).where(Case.case_no == "TBTEST000001")).scalar() == FACTS_VERSION
    raw.dispose()
    assert "补算" not in run(app, "migrate").output
