"""``tongban calendar`` through Flask's CLI runner, on both databases, with the engine clock at 2026-11-23."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from click.testing import Result
from flask.testing import FlaskCliRunner

from app import create_app
from engine import ManualClock
from tests.conftest import DATA

FIXTURE_2027 = DATA / "calendar" / "2027.yaml"


def ok(result: Result) -> str:
    """Assert the command succeeded and return its stdout."""
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def failed(result: Result, code: int = 2) -> str:
    """Assert the command failed with ``code`` and return its stderr (Click < 8.2 mixes it into output)."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    try:
        return result.stderr
    except ValueError:
        return result.output


@pytest.fixture
def app(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Flask]:
    """The app on a migrated database of each kind, its engine reading the test clock."""
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    application.instance_path = str(tmp_path / "instance")
    yield application
    if application.extensions.get("tongban") is not None:
        application.extensions["tongban"].close()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """The CLI runner, with the calendar already seeded from chinesecalendar."""
    cli = app.test_cli_runner()
    ok(cli.invoke(args=["calendar", "seed"]))
    return cli


def due(runner: FlaskCliRunner, *args: str) -> list[str]:
    return ok(runner.invoke(args=["calendar", "due", *args])).splitlines()


def test_seed_reports_the_years_loaded_and_then_that_nothing_was_missing(app):
    cli = app.test_cli_runner()
    first = ok(cli.invoke(args=["calendar", "seed"]))
    assert "载入 23 个年份：2004–2026" in first
    again = ok(cli.invoke(args=["calendar", "seed"]))
    assert "没有需要载入的年份" in again and "已载入年份：2004–2026" in again


def test_due_prints_the_rule_the_status_and_the_date_alone_on_the_last_line(runner):
    lines = due(runner, "--from", "2026-02-12", "--days", "5")
    assert lines[-1] == "2026-02-26"
    assert lines[0].startswith("规则：自 2026-02-12 起（不含当日）计 5 个工作日") and "2026-02-14" in lines[0]
    assert lines[1] == "状态：确定（confirmed）"


def test_due_in_natural_days_moves_off_a_holiday(runner):
    lines = due(runner, "--from", "2026-09-20", "--days", "5", "--unit", "day")
    assert lines[-1] == "2026-09-28" and "顺延" in lines[0]


def test_due_into_an_unloaded_year_is_provisional_and_strict_refuses(runner):
    lines = due(runner, "--from", "2026-12-20", "--days", "20")
    assert lines[-1] == "2027-01-15" and "provisional" in lines[1] and "2027" in lines[1]
    err = failed(runner.invoke(args=["calendar", "due", "--from", "2026-12-20", "--days", "20", "--strict"]))
    assert err.startswith("错误 [CALENDAR_UNKNOWN]：2027 年节假日安排尚未载入")


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-02-30", "--days", "5"], "日期 “2026-02-30” 无效"),
    (["--from", "2026/02/12", "--days", "5"], "日期 “2026/02/12” 无效"),
    (["--from", "1900-01-01", "--days", "5"], "超出可计算范围"),
])
def test_due_with_bad_input_exits_2_with_a_chinese_message(runner, args, message):
    err = failed(runner.invoke(args=["calendar", "due", *args]))
    assert err.startswith("错误 [CALENDAR_INVALID]：") and message in err


def test_show_lists_the_holidays_makeup_days_and_working_day_count(runner):
    out = ok(runner.invoke(args=["calendar", "show", "2026"]))
    assert "来源：chinesecalendar 1.11" in out
    assert "调休上班  2026-02-14（星期六） 春节" in out
    assert "放假      2026-02-15 至 2026-02-23（9 天） 春节，其中 2026-02-20、2026-02-23 为调休" in out
    assert out.strip().splitlines()[-1] == "全年工作日：248 天"
    assert out.index("2026-02-14") < out.index("2026-02-15") < out.index("2026-02-28")


def test_show_of_a_year_not_loaded_exits_2(runner):
    assert failed(runner.invoke(args=["calendar", "show", "2027"])).startswith("错误 [CALENDAR_UNKNOWN]：")


def test_import_creates_then_finds_unchanged_then_refuses_then_replaces(runner, tmp_path):
    assert "2027 年节假日安排已新增" in ok(runner.invoke(args=["calendar", "import", str(FIXTURE_2027)]))
    assert "未变化" in ok(runner.invoke(args=["calendar", "import", str(FIXTURE_2027.with_suffix(".csv"))]))
    assert due(runner, "--from", "2026-12-20", "--days", "20")[-1] == "2027-01-18"
    revised = tmp_path / "2027-revised.yaml"
    revised.write_text(FIXTURE_2027.read_text(encoding="utf-8").replace(
        "{date: 2027-06-09, name: 端午}", "{from: 2027-06-09, to: 2027-06-11, name: 端午}"), encoding="utf-8")
    err = failed(runner.invoke(args=["calendar", "import", str(revised)]))
    assert err.startswith("错误 [CALENDAR_YEAR_EXISTS]：2027 年已载入不同的节假日安排") and "--replace" in err
    assert "全年工作日：249 天" in ok(runner.invoke(args=["calendar", "show", "2027"]))
    replaced = ok(runner.invoke(args=["calendar", "import", str(revised), "--replace", "--actor", "admin"]))
    assert "已替换" in replaced
    shown = ok(runner.invoke(args=["calendar", "show", "2027"]))
    assert "全年工作日：247 天" in shown and "admin 于" in shown


def test_import_of_a_bad_file_lists_every_problem_and_loads_nothing(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nsource: 测试\nholidays:\n  - {date: 2027-02-30}\n  - {date: 2026-12-31}\n"
                   "workdays:\n  - {date: 2027-01-04}\n", encoding="utf-8")
    err = failed(runner.invoke(args=["calendar", "import", str(bad)]))
    assert err.startswith("错误 [CALENDAR_INVALID]：节假日安排有 3 处错误")
    assert "第 4 行" in err and "第 5 行" in err and "第 7 行" in err
    assert failed(runner.invoke(args=["calendar", "show", "2027"])).startswith("错误 [CALENDAR_UNKNOWN]")


def test_import_of_an_unknown_file_type_exits_2(runner, tmp_path):
    other = tmp_path / "2027.xlsx"
    other.write_bytes(b"PK")
    assert "扩展名应为" in failed(runner.invoke(args=["calendar", "import", str(other)]))


def test_check_warns_with_exit_1_until_the_next_year_is_loaded(runner):
    err = failed(runner.invoke(args=["calendar", "check"]), code=1)
    assert "警告" in err and "2027 年尚未载入" in err and "2026-11-23" in err
    assert ok(runner.invoke(args=["calendar", "check", "--days", "30"])).startswith("OK")
    ok(runner.invoke(args=["calendar", "import", str(FIXTURE_2027)]))
    assert ok(runner.invoke(args=["calendar", "check", "--days", "60"])).startswith("OK")


def test_the_worker_warns_at_start_up_when_the_calendar_runs_out(runner):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "警告：节假日安排未覆盖" in result.stderr and "2027 年尚未载入" in result.stderr
    assert "已处理 0 个办件的到期定时器" in result.stdout
    ok(runner.invoke(args=["calendar", "import", str(FIXTURE_2027)]))
    assert "警告" not in runner.invoke(args=["worker", "--once"]).stderr


@pytest.mark.parametrize("days", ["-1", "-3", "3651", "99999"])
def test_a_period_out_of_range_is_refused_as_bad_input_with_the_usage(runner, days):
    """As ``calendar check --days`` and every other number option: INVALID_INPUT and the usage hint."""
    result = runner.invoke(args=["calendar", "due", "--from", "2026-12-20", "--days", days])
    assert result.exit_code == 2
    assert result.output.startswith("错误 [INVALID_INPUT]：--days 应为 0 到 3650 之间的期限长度")
    assert "（用法见 " in result.output
