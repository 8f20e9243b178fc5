"""History files against the database: the case row's fields too; positions people read; values echoed bounded.

The hash chain covers the events (and, through them, the 办件编号) and ``verify --file`` checks the file's
``event_seq`` and ``chain_head`` against its own chain; every other field of the file's ``case`` row (the
districts, the status, the start and end, the process and its version) is covered by no hash. When the
connected database holds the case, those fields are held against its row: a file whose events match but whose
case fields were edited is not called intact. Messages name positions 1-based (``第 1 个事件`` is the first)
and echo a value from the file at most :data:`engine.history_input.SHOWN_CHARS` characters long, control
characters escaped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import SuspendClock
from tests.goldens import HISTORIES
from tests.helpers import CLERK
from tests.integration.test_history_file_input import (  # noqa: F401 (fixtures)
    accepted, exported, golden, offline, rehashed,
)

GOLDEN = HISTORIES / "standard_permit_granted.json"



def written(tmp_path: Path, content: dict[str, Any] | str, name: str = "edited.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=True),
                    encoding="utf-8")
    return path


def verify(runner, path: Path) -> tuple[Any, dict[str, Any]]:
    """``verify --file`` for people and with ``--json``."""
    return (runner.invoke(args=["verify", "--file", str(path)]),
            json.loads(runner.invoke(args=["verify", "--file", str(path), "--json"]).output))


# --- 1. the case row's fields against the database ---------------------------------------------------------------

def _definition(doc: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in doc["seed"]["definitions"] if d["id"] == doc["case"]["definition_id"])


@pytest.mark.parametrize("field, label, edit, shown_file, shown_db", [
    ("owning_district", "业务属地", lambda doc: doc["case"].update(owning_district="500155"), '"500155"', '"500103"'),
    ("receiving_district", "收件地", lambda doc: doc["case"].update(receiving_district="500101"), '"500101"',
     '"500103"'),
    ("status", "状态", lambda doc: doc["case"].update(status="completed"), '"completed"', '"running"'),
    ("started_at", "启动时间", lambda doc: doc["case"].update(started_at="2026-11-20T01:00:00+00:00"),
     "2026-11-20T01:00:00+00:00", "2026-11-23T01:00:00+00:00"),
    ("ended_at", "办结时间", lambda doc: doc["case"].update(ended_at="2026-11-24T01:00:00+00:00"),
     "2026-11-24T01:00:00+00:00", "（无）"),
    ("process_key", "流程", lambda doc: doc["case"].update(process_key="standard_permit"), '"standard_permit"',
     '"parallel_approval"'),
    ("definition_version", "流程定义版本", lambda doc: _definition(doc).update(version=7), "7", "1"),
    ("title", "标题", lambda doc: doc["case"].update(title="另一个办件"), '"另一个办件"', None),
], ids=["owning_district", "receiving_district", "status", "started_at", "ended_at", "process_key",
        "definition_version", "title"])
def test_a_file_whose_events_match_but_whose_case_field_was_edited_is_not_intact(
        engine, accepted, runner, tmp_path, field, label, edit, shown_file, shown_db):
    # Only the events (seq, hash) and the chain head were compared with the database: the file below, edited in
    # a field no hash covers, verified 「完整（9 个事件），与数据库中的办件记录一致」 and exited 0.
    doc = exported(runner, accepted.case_no, tmp_path)
    before = doc["case"][field] if field in doc["case"] else None
    edit(doc)
    result, as_json = verify(runner, written(tmp_path, doc))
    assert result.exit_code == 1, result.output
    assert "完整" not in result.output and "文件与数据库中的办件记录不符" in result.output
    if shown_db is None:
        shown_db = "（无）" if before is None else json.dumps(before, ensure_ascii=False)
    expected = f"{label}（{field}）：文件为 {shown_file}，数据库为 {shown_db}"
    assert expected in result.output, result.output
    assert (as_json["ok"], as_json["database"], as_json["broken_seq"]) == (False, "differs", None)
    [problem] = as_json["fields"]
    assert (problem["field"], problem["message"]) == (field, expected)


def test_every_differing_field_is_named_and_long_values_are_bounded(engine, accepted, runner, tmp_path):
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["case"].update(owning_district="500155", status="completed", title="很长的标题" * 10_000 + "\x1b[2J")
    result, as_json = verify(runner, written(tmp_path, doc))
    assert result.exit_code == 1
    assert [p["field"] for p in as_json["fields"]] == ["title", "status", "owning_district"]
    title = as_json["fields"][0]
    assert title["file"] == "很长的标题" * 8 + "…" and len(result.output) < 1000, result.output
    assert "\x1b" not in result.output


def test_a_control_character_in_a_compared_field_is_escaped(engine, accepted, runner, tmp_path):
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["case"]["business_key"] = "BK\x1b[31m\u202e1"
    result, _ = verify(runner, written(tmp_path, doc))
    assert result.exit_code == 1
    assert '业务编号（business_key）：文件为 "BK\\u001b[31m\\u202e1"，数据库为 （无）' in result.output, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output


def test_the_fields_the_chain_covers_are_caught_by_the_chain_check(engine, accepted, runner, tmp_path):
    # case_no is hashed into every event; event_seq and chain_head are checked against the file's own chain.
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["case"]["case_no"] = "TB20261123000009"
    result, as_json = verify(runner, written(tmp_path, doc))
    assert result.exit_code == 1 and "链条断裂于第 1 个事件" in result.output, result.output
    assert as_json["database"] == "not_checked"
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["case"]["chain_head"] = "0" * 64
    result, as_json = verify(runner, written(tmp_path, doc))
    assert result.exit_code == 1 and as_json["database"] == "not_checked", result.output


def test_a_file_exported_before_the_case_went_on_is_held_against_the_fields_set_at_start(
        engine, accepted, runner, tmp_path):
    doc = exported(runner, accepted.case_no, tmp_path)
    engine.handle(SuspendClock(accepted.case_id, CLERK, "correction", "申请人补正土地证明"))
    # The clocks and deadlines moved since the export: an earlier file legitimately differs there ...
    result, as_json = verify(runner, tmp_path / "exported.json")
    assert result.exit_code == 0 and as_json["database"] == "earlier", result.output
    # ... but not in a field set when the case started.
    doc["case"]["owning_district"] = "500155"
    result, as_json = verify(runner, written(tmp_path, doc))
    assert result.exit_code == 1, result.output
    assert '业务属地（owning_district）：文件为 "500155"，数据库为 "500103"' in result.output
    assert as_json["database"] == "differs"


def test_an_unedited_file_lists_no_differing_fields(engine, accepted, runner, tmp_path):
    exported(runner, accepted.case_no, tmp_path)
    result, as_json = verify(runner, tmp_path / "exported.json")
    assert result.exit_code == 0 and (as_json["database"], as_json["fields"]) == ("same", []), result.output


# --- 2. positions people read are 1-based; the one program-facing position is documented -----------------------

def refusal(runner, path: Path) -> tuple[str, dict[str, Any]]:
    """The refusal's message for people (stderr) and its JSON (``--json``)."""
    said = runner.invoke(args=["verify", "--file", str(path)])
    assert said.exception is None or isinstance(said.exception, SystemExit), repr(said.exception)
    assert said.exit_code == 2, said.output[:2000]
    as_json = json.loads(runner.invoke(args=["verify", "--file", str(path), "--json"]).output)
    return said.output, as_json


def test_unstorable_text_is_placed_by_its_1_based_event(offline, tmp_path):
    # It said 「在 events.3.actor 处含有空字符」: the fourth event, counted from 0, where every other message
    # (「第 3 个事件的 task_id 应为整数」) counts from 1.
    doc = golden()
    doc["events"][3]["actor"] = "window\x00yz"
    message, _ = refusal(offline, written(tmp_path, doc))
    assert "在第 4 个事件的 actor 处含有空字符（U+0000）" in message, message
    doc = golden()
    doc["events"][3]["payload"]["items"] = [{"name": "ok"}, {"name": "\ud800"}]
    message, _ = refusal(offline, written(tmp_path, doc))
    assert "在第 4 个事件的 payload.items 第 2 项的 name 处含有无效的 Unicode 字符" in message, message


def test_a_seeded_row_is_placed_by_its_1_based_row(offline, tmp_path):
    # It said 「users.display_name 应为文本」: which of the seeded users went unsaid. An item is 第 N 项, not
    # 第 N 行, which messages keep for a line of the file.
    doc = golden()
    doc["seed"]["users"][1]["display_name"] = 5
    message, _ = refusal(offline, written(tmp_path, doc))
    assert "seed.users 第 2 项的 display_name 应为文本，实际为 数字" in message, message


def test_the_line_of_broken_json_is_1_based_for_people_and_programs(offline, tmp_path):
    text = GOLDEN.read_text(encoding="utf-8")
    lines = text.splitlines()
    lines[2] = lines[2].replace('"', "", 1)             # the file's third line
    message, as_json = refusal(offline, written(tmp_path, "\n".join(lines)))
    assert "不是有效的 JSON（第 3 行第 " in message, message
    assert as_json["details"]["line"] == 3


# --- 3. values echoed from the file are bounded and their control characters escaped ----------------------------

def test_an_unknown_format_is_echoed_bounded(offline, tmp_path):
    # The whole value went into the message (and into details.format): 10 MB to the terminal.
    doc = golden()
    doc["format"] = "x" * 10_000_000
    message, as_json = refusal(offline, written(tmp_path, doc))
    assert "错误 [HISTORY_FORMAT_UNKNOWN]：" in message and len(message) < 1000, len(message)
    assert f'的格式 "{"x" * 40}…" 无法识别' in message
    assert as_json["details"]["format"] == "x" * 40 + "…"


@pytest.mark.parametrize("value, shown", [
    ("tongban-case-history/9\x1b[2J\u202e", '"tongban-case-history/9\\u001b[2J\\u202e"'),
    ("line\nbreak\r\x7f\x85", '"line\\u000abreak\\u000d\\u007f\\u0085"'),
    ({"version": 4}, '{"version":4}'),
    (None, "（无）"),
], ids=["escape", "newline-del-c1", "object", "missing"])
def test_an_unknown_format_is_echoed_without_control_characters(offline, tmp_path, value, shown):
    doc = golden()
    if value is None:
        del doc["format"]
    else:
        doc["format"] = value
    message, _ = refusal(offline, written(tmp_path, doc))
    assert f"的格式 {shown} 无法识别" in message, message
    assert not any(c in message for c in "\x1b\u202e\r\x7f\x85")


@pytest.mark.parametrize("edit, expected", [
    (lambda doc: doc["case"].update({"\x1b" + "k" * 100_000: 1}), 'case 含未知字段 "\\u001b' + "k" * 39 + '…"'),
    (lambda doc: doc["seed"]["materials"].append({"y" * 100_000: 1}), 'seed.materials 第 1 项含多余字段 "' + "y" * 40
     + '…"'),
    (lambda doc: doc["seed"]["calendar_withheld"].insert(0, {"year": "z" * 100_000, "loaded_at": None}),
     'seed.calendar_withheld 第 1 项的年份 "' + "z" * 40 + '…" 不是整数'),
    (lambda doc: doc["case"].update(started_at="2026-03-02T01:30:00"),
     'case.started_at 的时间 "2026-03-02T01:30:00" 缺少时区'),
], ids=["unknown-case-field", "extra-material-field", "withheld-year", "instant"])
def test_values_in_shape_problems_are_echoed_bounded(offline, tmp_path, edit, expected):
    doc = golden()
    edit(doc)
    message, _ = refusal(offline, written(tmp_path, doc))
    assert expected in message and len(message) < 1000, message[:2000]
    assert "\x1b" not in message


def test_a_duplicate_key_is_echoed_bounded(offline, tmp_path):
    key = "\x07" + "d" * 100_000
    text = GOLDEN.read_text(encoding="utf-8").replace('"payload": {', f'"payload": {{"{key}": 1, "{key}": 2, ', 1)
    message, _ = refusal(offline, written(tmp_path, text.replace("\x07", "\\u0007")))
    assert '对象中有重复的键 "\\u0007' + "d" * 39 + '…"' in message and len(message) < 1000, message[:2000]


def test_a_case_number_no_tongban_database_could_hold_is_refused_at_reading(offline, tmp_path):
    # The 办件编号 is shown in every verdict (「历史文件 …（办件 TB…）：」) and every replay prefix; the column
    # holds 40 characters and tongban writes no control character into it.
    for case_no, said in (("TB" + "9" * 100_000, "case.case_no 超过 40 个字符"),
                          ("TB2026\x1b[2J", "case.case_no 含有控制字符")):
        doc = golden()
        doc["case"]["case_no"] = case_no
        message, _ = refusal(offline, written(tmp_path, rehashed(doc)))
        assert "错误 [HISTORY_FILE_INVALID]：" in message and said in message, message[:2000]
        assert len(message) < 1000 and "\x1b" not in message
