"""Dates at the ends of the calendar given to the CLI: exit 2 with the engine's code, never a traceback.

A week or month of 9999 ends past the last date Python has, and rating statistics turn a date into the
instants of its Beijing day (year 1 starts before year 1 in UTC; the day after 9999-12-31 does not exist).
"""
from __future__ import annotations

from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from app import create_app
from app.runtime import get_engine

from .test_cli import failed


@pytest.fixture
def runner(database_url: str, clock) -> Iterator[FlaskCliRunner]:
    application: Flask = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    yield application.test_cli_runner()
    get_engine(application).close()


@pytest.mark.parametrize("args, code", [
    (("metrics", "summary", "--date", "9999-12-31"), "METRICS_RANGE_TOO_LATE"),
    (("metrics", "summary", "--date", "9999-12-31", "--period", "week"), "METRICS_RANGE_TOO_LATE"),
    (("metrics", "summary", "--date", "9999-12-25", "--period", "month"), "METRICS_RANGE_TOO_LATE"),
    (("metrics", "summary", "--date", "0001-01-01", "--period", "week"), "METRICS_RANGE_TOO_EARLY"),
    (("report", "run", "--kind", "weekly", "--period", "9999-W52"), "REPORT_PERIOD_NOT_OVER"),
    (("report", "run", "--kind", "monthly", "--period", "9999-12"), "REPORT_PERIOD_NOT_OVER"),
    (("report", "run", "--kind", "monthly", "--period", "0001-01"), "REPORT_PERIOD_INVALID"),
    (("ratings", "stats", "--from", "0001-01-01"), "INVALID_INPUT"),
    (("ratings", "stats", "--to", "9999-12-31"), "INVALID_INPUT"),
])
def test_a_date_at_the_end_of_the_calendar_exits_2_with_its_code(runner, args, code):
    said = failed(runner.invoke(args=list(args)))
    assert f"错误 [{code}]" in said, said
