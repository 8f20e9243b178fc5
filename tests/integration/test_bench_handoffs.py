"""``tongban bench --only handoffs --quick`` runs and merges its section (no timing is asserted here)."""
from __future__ import annotations

import json

import pytest

from app import create_app


@pytest.mark.slow
def test_tongban_bench_only_handoffs_merges_into_an_existing_results_file(tmp_path):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"suite": "tongban bench", "inbox": {"kept": True},
                                  "targets": [{"target": "earlier", "result": "PASS"}]}))
    result = app.test_cli_runner().invoke(args=["bench", "--only", "handoffs", "--quick", "--output", str(output)])
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(output.read_text())
    assert data["inbox"] == {"kept": True} and data["handoffs"]["mode"] == "quick"
    assert [t["target"] for t in data["targets"]][0] == "earlier" and len(data["targets"]) == 4
    if data["handoffs"]["status"] == "ok":
        assert data["handoffs"]["exactly_once"]["ok"] and data["handoffs"]["handoffs"] == 100
        assert "handoffs/s" in result.output
    else:
        assert data["handoffs"]["status"] == "skipped", data["handoffs"]
