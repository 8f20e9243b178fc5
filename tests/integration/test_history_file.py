"""History files on both databases: export, replay and verify offline; message-started cases (issue 6).

Both legs of an 异地代收代办 replay identically from the database and from their exported files: the owning
district's case starts from the handoff message (its payload and the sender's facts come with the history),
and the receiving case's handoff manifest is built from its seeded materials and catches the result back.
"""
from __future__ import annotations

import json

import pytest

from engine import Replayer, dumps_history, load_case_history, loads_history, read_history, verify_history
from tests.handoff_helpers import complete_handoff


@pytest.fixture
def handoff(engine) -> tuple[int, int]:
    """A completed 异地代收代办: (the 黔江 receiving case, the 渝中 owning case)."""
    return complete_handoff(engine)


def test_both_legs_of_a_handoff_replay_identically_from_the_database_and_from_their_files(engine, handoff):
    with Replayer(engine) as replayer:
        for case_id in handoff:
            from_db = replayer.replay_case(case_id)
            assert from_db.divergence is None and from_db.events > 20
            history = loads_history(dumps_history(load_case_history(engine.database, case_id)))
            from_file = replayer.replay_history(history)
            assert (from_file.divergence, from_file.events) == (None, from_db.events)
            assert verify_history(history).ok


def test_the_owning_leg_history_carries_the_handoff_and_the_receiving_leg_its_materials(engine, handoff):
    mine, theirs = (load_case_history(engine.database, case_id) for case_id in handoff)
    [started_by] = theirs.messages
    assert started_by["name"] == "yidi_handoff" and started_by["sender"]["case_no"] == mine.case_no
    assert {m["key"] for m in started_by["payload"]["manifest"]} >= {"application_form", "water_quality_report"}
    [result] = mine.messages
    assert result["name"] == "yidi_result" and result["correlation_key"] == mine.case_no
    assert {m["material_key"] for m in mine.materials} >= {"application_form", "business_license"}
    assert all(u["password_hash"] is None and u["id_number"] is None for u in mine.users + theirs.users)


def test_an_edited_message_in_a_history_file_diverges_at_its_receipt(engine, handoff):
    doc = json.loads(dumps_history(load_case_history(engine.database, handoff[1])))
    doc["seed"]["messages"][0]["payload"]["handoff"]["sent_on"] = "2026-11-24"
    history = loads_history(json.dumps(doc, ensure_ascii=False))
    assert verify_history(history).ok               # the log keeps only the message's sha256
    with Replayer(engine) as replayer:
        found = replayer.replay_history(history).divergence
    assert (found.seq, found.reason, found.expected["event_type"]) == (3, "mismatch", "MessageReceived")
    assert found.expected["payload"]["payload_sha256"] != found.got["payload"]["payload_sha256"]


def test_a_catch_whose_message_is_missing_from_the_file_is_refused(engine, handoff):
    doc = json.loads(dumps_history(load_case_history(engine.database, handoff[0])))
    doc["seed"]["messages"] = []
    with Replayer(engine) as replayer:
        found = replayer.replay_history(loads_history(json.dumps(doc, ensure_ascii=False))).divergence
    assert (found.reason, found.expected["event_type"]) == ("refused", "MessageReceived")
    assert "历史中没有消息" in found.message


def test_the_cli_exports_a_history_that_replays_and_verifies_from_the_file(engine, handoff, runner, tmp_path):
    mine, theirs = handoff
    case_no = load_case_history(engine.database, theirs).case_no
    path = tmp_path / "owning.json"
    exported = runner.invoke(args=["history", "export", case_no, "-o", str(path)])
    assert exported.exit_code == 0, exported.output
    assert exported.output == f"已导出办件 {case_no} 的历史（23 个事件）到 {path}\n"
    assert read_history(path).case_no == case_no
    again = tmp_path / "again.json"
    assert runner.invoke(args=["history", "export", str(theirs), "--output", str(again)]).exit_code == 0
    assert again.read_bytes() == path.read_bytes()                  # stable: byte-identical exports
    replayed = runner.invoke(args=["replay", "--file", str(path)])
    assert (replayed.exit_code, replayed.output.splitlines()[0]) == (0, "重放一致（23 个事件）")
    assert replayed.output.splitlines()[1].startswith("节假日安排：")
    verified = runner.invoke(args=["verify", "--file", str(path)])
    assert verified.exit_code == 0 and f"办件 {case_no}）：完整（23 个事件）" in verified.output
    as_json = json.loads(runner.invoke(args=["verify", "--file", str(path), "--json"]).output)
    assert (as_json["case_no"], as_json["ok"], as_json["checked"], as_json["broken_seq"]) == (case_no, True, 23, None)
    shown = runner.invoke(args=["history", case_no])                 # the old form still shows the history
    assert shown.exit_code == 0 and "记录完整" in shown.output
    unwritable = runner.invoke(args=["history", "export", case_no, "-o", str(tmp_path / "no-such-dir" / "x.json")])
    assert unwritable.exit_code == 2 and "错误 [HISTORY_FILE_UNWRITABLE]：" in unwritable.output


def test_exporting_a_case_that_does_not_exist_is_refused(runner, tmp_path):
    result = runner.invoke(args=["history", "export", "TB00000000000000", "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "错误 [" in result.output and "不存在" in result.output
    assert not (tmp_path / "x.json").exists()
    no_output = runner.invoke(args=["history", "export", "1"])
    assert no_output.exit_code == 2
