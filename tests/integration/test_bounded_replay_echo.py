"""A divergence's message quotes the record bounded and escaped: a history file is anyone's to write.

The message names an unsupported event's type, the error a refused command gave (which may quote a payload
value), or what a payload lacked; the API, the history page and ``replay --file`` print it. Each value below
is a megabyte and carries a terminal escape (``ESC [2J`` clears the screen) and U+202E (turns the rest of the
line right to left): the message stays one short line with both written as escapes.
"""
from __future__ import annotations

import copy
import json
import unicodedata
from typing import Any, Callable

from engine import Replayer, loads_history
from engine import replay_walk
from tests.integration.test_golden_histories import golden_doc, offline, rehash, replayer, runner  # noqa: F401

HOSTILE = "\x1b[2J\u202e" + "x" * (1024 * 1024)
SHOWN = "\\u001b[2J\\u202exxxx"
"""How the start of :data:`HOSTILE` reads in a message."""
MOST = 1000
"""A divergence's message stays below this many characters whatever the record holds."""


def crafted(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The golden 食品经营许可 history with ``edit`` applied and the chain re-hashed, so that verify passes."""
    doc = golden_doc()
    edit(doc)
    rehash(doc)
    return doc


def replayed(replayer: Replayer, doc: dict[str, Any]) -> Any:  # noqa: F811
    found = replayer.replay_history(loads_history(json.dumps(doc, ensure_ascii=False))).divergence
    assert found is not None
    assert_bounded(found.message)
    return found


def assert_bounded(text: str) -> None:
    assert len(text) < MOST, text[:MOST]
    raw = [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw


def event(doc: dict[str, Any], seq: int) -> dict[str, Any]:
    found = doc["events"][seq - 1]
    assert found["seq"] == seq
    return found


def test_an_unsupported_event_type_is_quoted_bounded(replayer, runner, tmp_path):  # noqa: F811
    doc = crafted(lambda d: event(d, 4).update(event_type=HOSTILE))
    found = replayed(replayer, doc)
    assert (found.seq, found.reason) == (4, "unsupported")
    assert found.message.startswith(f"第 4 个事件 {SHOWN}") and found.message.endswith("… 没有可重放的命令，重放不支持")
    path = tmp_path / "unsupported.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 1 and result.output.startswith(f"重放无法进行：第 4 个事件 {SHOWN}")
    assert_bounded(result.output)


def test_a_refused_command_s_error_quoting_a_payload_value_is_bounded(replayer, runner, tmp_path):  # noqa: F811
    # 督办办结 of an item the replay never raised: the engine's refusal names the recorded item id.
    doc = crafted(lambda d: event(d, 4).update(event_type="SupervisionClosed",
                                               payload={"item_id": HOSTILE, "opinion": "已办结"}))
    found = replayed(replayer, doc)
    assert (found.seq, found.reason) == (4, "refused")
    assert found.message.startswith(f"重放命令被拒绝：[NOT_FOUND] 记录中的督办事项 {SHOWN}")
    assert found.expected["payload"]["item_id"] == HOSTILE    # the divergence keeps the event as recorded
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 1 and "重放命令被拒绝：[NOT_FOUND] 记录中的督办事项 \\u001b[2J" in result.output
    assert len(result.output) < 6000


def test_what_a_payload_could_not_give_is_quoted_bounded(replayer, monkeypatch):  # noqa: F811
    # The engine's commands check their inputs; an error a payload may still raise while a command reads it
    # (KeyError, TypeError, ValueError) can carry the value it choked on, as this lookup by a recorded key does.
    def choke(run, recorded, rest):
        return {}[recorded.payload["reason"]]

    monkeypatch.setitem(replay_walk._COMMANDS, "TaskClaimed", choke)
    doc = crafted(lambda d: event(d, 4).update(payload={"reason": HOSTILE}))
    found = replayed(replayer, doc)
    assert (found.seq, found.reason) == (4, "refused")
    assert found.message.startswith("记录的输入无法重放：KeyError('\\x1b[2J\\u202exxxx")


def test_an_event_after_the_rating_is_quoted_bounded(replayer):  # noqa: F811
    def stray(doc: dict[str, Any]) -> None:
        last = doc["events"][-1]
        rated = {**copy.deepcopy(last), "seq": last["seq"] + 1, "event_type": "CaseRated", "payload": {"score": 5}}
        after = {**copy.deepcopy(last), "seq": last["seq"] + 2, "event_type": HOSTILE, "payload": {}}
        doc["events"] += [rated, after]

    doc = crafted(stray)
    found = replayed(replayer, doc)
    assert (found.seq, found.reason) == (len(doc["events"]), "unsupported")
    assert found.message.startswith(f"第 {found.seq} 个事件 {SHOWN}")
