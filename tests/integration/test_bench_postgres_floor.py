"""``tongban bench --only postgres-floor``: the engine's statements replayed raw must leave the engine's rows.

No timing is asserted. What is asserted is that the measurement measures the right thing: both replays write
exactly what the engine wrote (so the floor is the floor of *these* rows), and a replay that writes anything
else is reported as an error instead of a number.
"""
from __future__ import annotations

import json

import pytest

from app import create_app
from bench import postgres_floor
from bench.postgres_floor import Repeat


@pytest.fixture()
def pg_base_url(postgresql_url):
    """The test database's URL without the session schema (the benchmark makes its own schemas)."""
    return postgresql_url.split("?")[0]


@pytest.mark.slow
def test_postgres_floor_replays_the_engines_statements_and_merges_its_section(tmp_path, pg_base_url):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"suite": "tongban bench", "inbox": {"kept": True}}))
    result = app.test_cli_runner().invoke(args=["bench", "--only", "postgres-floor", "--quick", "--output",
                                                str(output), "--postgresql-url", pg_base_url])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(output.read_text())
    assert data["inbox"] == {"kept": True}
    floor = data["postgres_floor"]
    assert floor["status"] == "ok" and floor["mode"] == "quick" and floor["replays_match_engine"] is True
    assert set(floor["rows"]) == {"bare-spiff", "spiff-steps-only", "engine-postgresql", "replay-per-statement",
                                  "replay-one-round-trip"}
    # 10 measured cases after 3 warm-up cases, all completed; counts and the audit chain's digest are stored.
    cases, completed, tasks, candidates, events, *digests = floor["final_state"]
    assert cases == completed == 13 and tasks > cases and candidates > 0 and events > tasks
    assert [len(d) for d in digests] == [32, 32, 32]
    # Start + 4 completions per case, one transaction each; the statement count is what the engine sent.
    assert floor["transactions_per_case"] == 5 and 20 <= floor["statements_per_case"] <= 45
    assert floor["rolled_back_statements"] == 0   # every recorded command committed
    budget = floor["budget"]
    assert budget["ms_per_case"] == pytest.approx(floor["rows"]["bare-spiff"]["wall_ms"] / 0.6, rel=1e-2)
    assert budget["left_for_the_engine_ms"] == pytest.approx(budget["ms_per_case"] - budget["database_floor_ms"],
                                                             abs=0.02)
    assert isinstance(budget["spiff_steps_fit"], bool)
    ratios = floor["paired_ratios"]
    assert set(ratios) == {"engine", "if_the_engine_were_free", "our_engine_at_the_floor"}
    assert all(r["min"] <= r["median"] <= r["max"] for r in ratios.values())
    assert "our engine's own work on a write path at the floor" in result.output
    assert floor["rows"]["spiff-steps-only"]["wall_ms"] > 0 and floor["rows"]["bare-spiff"]["wall_ms"] > 0
    for row in ("engine-postgresql", "replay-per-statement", "replay-one-round-trip"):
        assert floor["rows"][row]["wall_ms"] > 0 and floor["rows"][row]["client_cpu_ms"] > 0
    assert "postgres-floor (quick)" in result.output and "budget at 0.6 x bare-spiff" in result.output


@pytest.mark.slow
def test_a_replay_that_writes_other_rows_is_an_error_not_a_number(pg_base_url, monkeypatch):
    real = postgres_floor.replay_one_round_trip
    calls = []

    def loses_the_last_transaction(conn, bodies):   # the warm-up replay goes through; the measured one does not
        calls.append(len(bodies))
        real(conn, bodies if len(calls) == 1 else bodies[:-1])

    monkeypatch.setattr(postgres_floor, "replay_one_round_trip", loses_the_last_transaction)
    with pytest.raises(RuntimeError, match="replay-one-round-trip left"):
        Repeat(pg_base_url, cases=2, warmup=1).run()


def test_libpq_url_keeps_the_schema_option_and_drops_the_driver():
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dtb_x"
    assert postgres_floor.libpq_url(url) == "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dtb_x"
