"""``replay --file`` prints the differing events bounded and escaped: the history file is anyone's to write.

``json.dumps`` escapes C0 controls but leaves C1 controls (U+0080–U+009F) and the direction controls (U+202A–U+202E,
U+2066–U+2069) as they are, and it prints a megabyte value whole. The divergence lines show each value cut after a
few dozen characters and every control, format or separator character as a JSON escape.
"""
from __future__ import annotations

import json
import unicodedata

from tests.integration.test_golden_histories import divergent_twin, offline, rehash, runner  # noqa: F401 - fixtures

HOSTILE = {"big": "x" * (1024 * 1024), "clear": "\x1b[2J\u202e" * 1000, "c1": "\u0085\u009b\u2066\u2069\u2028",
           "many": list(range(100000))}


def test_a_divergent_event_with_hostile_values_is_printed_bounded_and_escaped(runner, tmp_path):  # noqa: F811
    doc, seq = divergent_twin()
    flow = doc["events"][seq]
    assert (flow["seq"], flow["event_type"]) == (seq + 1, "FlowAdvanced")
    flow["payload"].update(HOSTILE)
    rehash(doc)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"重放在第 {seq + 1} 个事件处出现差异（记录与重放的内容不同）\n")
    recorded = result.output.split("  记录：")[1].split("\n")[0]
    assert len(result.output) < 6000 and len(recorded) <= 2001
    raw = [c for c in result.output if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw
    assert '"c1": "\\u0085\\u009b\\u2066\\u2069\\u2028"' in recorded
    assert '"clear": "\\u001b[2J\\u202e\\u001b[2J\\u202e' in recorded and '"big": "xxxxxxxx' in recorded
    assert '"elements": ["gw_decision", "join_review", "merge_grant"]' in recorded
    assert "…（另有 99970 项）" in recorded
