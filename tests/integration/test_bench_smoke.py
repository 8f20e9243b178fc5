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
    assert {"machine", "targets", "deadlines", "inbox"} <= set(data)
    assert "deadline cost per case" in result.output
    assert set(data["deadlines"]["median_ms_per_case"]) == {"deadlines / engine-sqlite", "deadlines / no-clocks-sqlite"}
    assert "inbox at scale" in result.output
    assert data["inbox"]["status"] in ("ok", "skipped"), data["inbox"]


@pytest.mark.slow
def test_tongban_bench_only_inbox_merges_into_an_existing_results_file(tmp_path):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"suite": "tongban bench", "growth": {"kept": True},
                                  "targets": [{"target": "earlier", "result": "PASS"}]}))
    result = app.test_cli_runner().invoke(args=["bench", "--only", "inbox", "--quick", "--output", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(output.read_text())
    assert data["growth"] == {"kept": True}
    assert [t["target"] for t in data["targets"]][0] == "earlier" and len(data["targets"]) == 4
    assert data["inbox"]["mode"] == "quick"


@pytest.mark.slow
def test_tongban_bench_only_dashboard_quick_measures_the_summary_and_merges_it(tmp_path):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"suite": "tongban bench", "inbox": {"kept": True}, "targets": []}))
    result = app.test_cli_runner().invoke(args=["bench", "--only", "dashboard", "--quick", "--output", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(output.read_text())
    assert data["inbox"] == {"kept": True} and data["dashboard"]["mode"] == "quick"
    assert [t["target"] for t in data["targets"]] == ["dashboard city summary, one year, median (ms)"]
    if data["dashboard"]["status"] == "ok":  # skipped without PostgreSQL (a failure under CI=true)
        assert data["dashboard"]["cases_loaded"] == 20_000 and data["dashboard"]["figures"]["received"] == 20_000
        assert data["dashboard"]["summary_ms"]["samples"] == 5 and "dashboard at scale" in result.output


@pytest.mark.slow
def test_tongban_bench_only_audit_quick_replays_verifies_and_merges_its_targets(tmp_path):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"suite": "tongban bench", "inbox": {"kept": True}, "targets": []}))
    result = app.test_cli_runner().invoke(args=["bench", "--only", "audit", "--quick", "--output", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(output.read_text())
    assert data["inbox"] == {"kept": True} and data["audit"]["mode"] == "quick"
    assert [t["target"] for t in data["targets"]] == ["replay of a 1,000-event case, median (s)",
                                                      "verify --all on PostgreSQL, median (cases/s)"]
    if data["audit"]["status"] == "ok":  # skipped without PostgreSQL (a failure under CI=true)
        assert data["audit"]["replay"]["events"] == 303 and data["audit"]["verify_all"]["cases"] == 2_000
        assert data["audit"]["verify_all"]["events"] == 20_000 and data["audit"]["verify_all"]["profile"]["functions"]
        assert "audit: verify --all over 2,000 cases" in result.output and "cProfile" in result.output


def test_tongban_bench_only_approval_runs_the_four_rows_side_by_side_and_merges_them(tmp_path):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    earlier = {"target": "inbox first page, db p95", "result": "PASS"}
    output.write_text(json.dumps({"suite": "tongban bench", "growth": {"kept": True},
                                  "approval": {"approval / old-row": {}}, "targets": [earlier]}))
    result = app.test_cli_runner().invoke(args=["bench", "--only", "approval", "--quick", "--output", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(output.read_text())
    assert data["growth"] == {"kept": True} and data["targets"][0] == earlier
    assert set(data["approval"]) <= {"approval / bare-spiff", "approval / engine-sqlite",
                                     "approval / engine-postgresql", "approval / engine-http-sqlite"}
    assert data["approval"]["approval / engine-sqlite"]["status"] == "ok"
    assert data["approval"]["approval / engine-sqlite"]["sql_per_completion"]["max"] <= 10
    assert "approval / engine-sqlite" in data["ratios"] and data["approval_only"]["mode"] == "quick"
    labels = [t["target"] for t in data["targets"]]
    assert "engine-sqlite / bare-spiff cases/s" in labels and not any("growth" in label for label in labels)
    assert "ratio engine-sqlite / bare-spiff" in result.output and "load average at start" in result.output
    # Where a case's time goes: this process's CPU for every row; the server's CPU only for PostgreSQL's.
    assert "where a case's time goes" in result.output
    sqlite_split = data["approval"]["approval / engine-sqlite"]["time_split"]
    assert sqlite_split["process_cpu_ms_per_case"] > 0 and sqlite_split["postgresql_server_cpu_ms_per_case"] is None
    assert sqlite_split["wall_ms_per_case"] >= sqlite_split["timed_ms_per_case"] > 0
    pg = data["approval"].get("approval / engine-postgresql", {})
    if pg.get("status") == "ok":
        assert pg["time_split"]["postgresql_server_cpu_ms_per_case"] > 0
        assert "PostgreSQL server CPU" in result.output
