"""The benchmark command itself keeps working (a smoke run; no timing is asserted here)."""
from __future__ import annotations

import json

import pytest

from app import create_app


@pytest.mark.slow
def test_tongban_bench_quick_prints_the_table_and_writes_results(tmp_path):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    result = app.test_cli_runner().invoke(args=["bench", "--quick", "--output", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "approval / bare-spiff" in result.output and "engine-postgresql" in result.output
    data = json.loads(output.read_text())
    assert {"machine", "targets", "deadlines"} <= set(data)
    assert "deadline cost per case" in result.output
    assert set(data["deadlines"]["median_ms_per_case"]) == {"deadlines / engine-sqlite", "deadlines / no-clocks-sqlite"}
