"""``tongban ratings`` through Flask's CLI runner on both databases: enter, list, show, stats, appeal, decide."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from app import create_app
from app.runtime import get_engine
from engine import APPLICANT, Actor, RateCase, ensure_calendar_seeded
from tests.helpers import deploy_shipped
from tests.rating_helpers import closed_case, receive

from .test_cli import failed, ok

USERS = (("window_yz", ("window_clerk",), "500103", "zwzx"), ("head_zj", ("department_head",), "500103", "zhujian"),
         ("supervisor", ("supervisor",), "500000", "jiancha"))


@pytest.fixture
def app(database_url: str, clock, tmp_path: Path) -> Iterator[Flask]:
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials")})
    engine = get_engine(application)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    for username, roles, district, department in USERS:
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department=department)
    yield application
    engine.close()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def test_a_window_enters_a_rating_and_lists_and_counts_it(app, runner):
    case = closed_case(get_engine(app))
    out = ok(runner.invoke(args=["ratings", "add", case.case_no, "--score", "2", "--channel", "4",
                                 "--as", "window_yz"]))
    assert f"{case.case_no} 满意（政务大厅平板电脑）500103/zhujian 已评价" in out
    assert "满意（政务大厅平板电脑）" in ok(runner.invoke(args=["ratings", "list"]))
    stats = ok(runner.invoke(args=["ratings", "stats"]))
    assert "2 满意\t1" in stats and "合计 1，好评 1，差评 0，好评率 100.0%" in stats
    assert json.loads(ok(runner.invoke(args=["ratings", "stats", "--json", "--district", "500103"])))["good"] == 1
    refused = failed(runner.invoke(args=["ratings", "add", case.case_no, "--score", "1", "--channel", "4",
                                         "--as", "window_yz"]))
    assert "ALREADY_RATED" in refused and "只能评价一次" in refused


def test_bad_input_to_the_ratings_commands_exits_2_with_a_chinese_message(app, runner):
    running = receive(get_engine(app))
    assert "CASE_NOT_CLOSED" in failed(runner.invoke(args=["ratings", "add", running.case_no, "--score", "1",
                                                           "--channel", "4", "--as", "window_yz"]))
    closed = closed_case(get_engine(app))
    no_reason = failed(runner.invoke(args=["ratings", "add", closed.case_no, "--score", "5", "--channel", "6",
                                           "--as", "window_yz"]))
    assert "RATING_INVALID" in no_reason and "comment" in no_reason
    assert failed(runner.invoke(args=["ratings", "add", closed.case_no, "--score", "7", "--channel", "6",
                                      "--as", "window_yz"])) != ""
    assert "不存在" in failed(runner.invoke(args=["ratings", "add", closed.case_no, "--score", "1", "--channel", "6",
                                                 "--as", "nobody"]))
    assert "DATE_RANGE_INVALID" in failed(runner.invoke(args=["ratings", "stats", "--from", "2026-12-01",
                                                              "--to", "2026-11-01"]))
    assert "YYYY-MM-DD" in failed(runner.invoke(args=["ratings", "stats", "--from", "12/01"]))
    assert "NOT_FOUND" in failed(runner.invoke(args=["ratings", "show", "99"]))


def test_a_department_appeals_from_the_command_line_and_a_supervisor_upholds_it(app, runner):
    engine = get_engine(app)
    case = closed_case(engine)
    engine.handle(RateCase(case.case_id, APPLICANT, 4, "1", "与本办件无关"))
    rating_id = engine.ratings.list(Actor("auditor", ("auditor",)))[0]["id"]
    assert "RECTIFICATION_STEP_CLOSED" in failed(runner.invoke(args=[
        "ratings", "decide", str(rating_id), "--as", "supervisor", "--upheld", "--opinion", "早了"]))
    assert "差评整改中" in ok(runner.invoke(args=["ratings", "appeal", str(rating_id), "--as", "head_zj",
                                                 "--reason", "评价针对其他部门"]))
    out = ok(runner.invoke(args=["ratings", "decide", str(rating_id), "--as", "supervisor", "--upheld",
                                 "--opinion", "核实属误评"]))
    assert "申诉成立，已撤销" in out and "复核意见：核实属误评" in out
    shown = json.loads(ok(runner.invoke(args=["ratings", "show", str(rating_id)])))
    assert shown["status"] == "removed" and shown["rectification"]["status"] == "completed"
    assert "申诉撤销 1（不计入）" in ok(runner.invoke(args=["ratings", "stats"]))
    assert ok(runner.invoke(args=["ratings", "list", "--status", "rectifying"])).strip() == "没有评价"
