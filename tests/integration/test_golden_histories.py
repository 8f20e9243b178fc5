"""Golden case histories (issue 7): every file in tests/data/histories replays identically and verifies.

The goldens were recorded by the scenario tests (``tests/goldens.py``). Replay reads nothing but the file:
the engine below sits on a database that is never created. A tampered twin (a payload byte changed, chain
left alone) is caught by verify; a divergent twin (a recorded input changed, chain re-hashed so that verify
passes) is caught by replay at the first effect that differs.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from app import create_app
from app.runtime import set_engine
from engine import (
    CST, EngineConfig, HistoryFileError, ManualClock, Replayer, bootstrap, loads_history, read_history, verify_history,
)
from engine.audit import GENESIS, event_hash
from tests.conftest import ROOT
from tests.goldens import HISTORIES

GOLDENS = sorted(HISTORIES.glob("*.json"))
TWIN_SOURCE = HISTORIES / "standard_permit_granted.json"


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An engine whose own database does not exist: replay from a file must not need one."""
    folder = tmp_path_factory.mktemp("offline")
    engine = bootstrap(EngineConfig(database_url=f"sqlite:///{folder / 'never-created.sqlite'}",
                                    processes_dir=ROOT / "processes", forms_dir=ROOT / "forms",
                                    materials_dir=folder / "materials", archives_dir=folder / "archives"),
                       clock=ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=CST)))
    yield engine
    engine.close()
    assert not (folder / "never-created.sqlite").exists() or (folder / "never-created.sqlite").stat().st_size == 0


@pytest.fixture(scope="module")
def replayer(offline: Any) -> Iterator[Replayer]:
    with Replayer(offline) as found:
        yield found


@pytest.fixture(scope="module")
def runner(offline: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("offline-app")
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{folder / 'unused.sqlite'}"})
    set_engine(app, offline)
    return app.test_cli_runner()


def test_there_are_goldens_for_the_scenarios_of_every_issue():
    names = {path.stem for path in GOLDENS}
    assert len(names) >= 10
    assert {"standard_permit_granted", "yidi_shoujian_receiving_leg", "yidi_banli_owning_leg",
            "qiye_kaiban_bundle", "gongcheng_drawing_review_rejected_and_corrected"} <= names


@pytest.mark.parametrize("golden", GOLDENS, ids=[path.stem for path in GOLDENS])
def test_a_golden_replays_identically_from_its_file_and_its_chain_verifies(golden: Path, replayer: Replayer):
    history = read_history(golden)
    check = verify_history(history)
    assert (check.ok, check.checked, check.reason) == (True, len(history.events), None)
    result = replayer.replay_history(history)
    assert result.divergence is None, f"{golden.name}: {result.divergence}"
    assert (result.identical, result.events, result.case_no) == (True, len(history.events), history.case_no)


# --- twins ------------------------------------------------------------------------------------------------------

def golden_doc() -> dict[str, Any]:
    return json.loads(TWIN_SOURCE.read_text(encoding="utf-8"))


def completed(doc: dict[str, Any], element: str) -> dict[str, Any]:
    return next(e for e in doc["events"] if e["event_type"] == "TaskCompleted" and e["element_id"] == element)


def rehash(doc: dict[str, Any]) -> None:
    """Recompute every link, as someone who edits the log and knows the hash function would."""
    prev = GENESIS
    for e in doc["events"]:
        e["prev_hash"] = prev
        e["hash"] = prev = event_hash(
            prev, case_no=doc["case"]["case_no"], seq=e["seq"], event_type=e["event_type"],
            occurred_at=datetime.fromisoformat(e["occurred_at"]), actor=e["actor"], element_id=e["element_id"],
            task_id=e["task_id"], payload=e["payload"])
    doc["case"]["chain_head"] = prev


def tampered_twin() -> tuple[dict[str, Any], int]:
    """One byte of the 决定 opinion changed, the chain left as recorded."""
    doc = golden_doc()
    event = completed(doc, "decide")
    opinion = event["payload"]["data"]["decision_opinion"]
    event["payload"]["data"]["decision_opinion"] = opinion[:-1] + "X"
    return doc, event["seq"]


def divergent_twin() -> tuple[dict[str, Any], int]:
    """The decision turned into a refusal (with its basis), the chain re-hashed so that verify passes."""
    doc = golden_doc()
    event = completed(doc, "decide")
    event["payload"]["data"].update(decision="refuse", decision_basis="《城镇排水与污水处理条例》第二十一条")
    rehash(doc)
    return doc, event["seq"]


def test_the_tampered_twin_is_caught_by_verify_at_the_edited_event(runner, tmp_path):
    doc, seq = tampered_twin()
    check = verify_history(loads_history(json.dumps(doc, ensure_ascii=False)))
    assert (check.ok, check.broken_seq) == (False, seq)
    assert check.reason == "事件内容与其哈希不符（内容被修改）"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["verify", "--file", str(path)])
    assert result.exit_code == 1
    assert f"链条断裂于第 {seq} 个事件：事件内容与其哈希不符" in result.output


def test_the_divergent_twin_verifies_but_replay_names_the_first_effect_that_differs(runner, replayer, tmp_path):
    doc, seq = divergent_twin()
    history = loads_history(json.dumps(doc, ensure_ascii=False))
    assert verify_history(history).ok                                 # the chain was re-hashed: intact
    found = replayer.replay_history(history).divergence
    # The edited 决定 replays as edited (its TaskCompleted matches the edited record); the decision gateway then
    # takes the refusal branch, so the flow that follows it is the first effect that differs.
    assert doc["events"][seq]["event_type"] == "FlowAdvanced"
    assert (found.seq, found.reason) == (seq + 1, "mismatch") == (25, "mismatch")
    assert found.expected["payload"] == {"elements": ["gw_decision", "join_review", "merge_grant"]}
    assert found.got["payload"] == {"elements": ["gw_decision"]}
    path = tmp_path / "divergent.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 1
    expected, got = result.output.split("记录：")[1].split("重放：")
    assert result.output.startswith(f"重放在第 {seq + 1} 个事件处出现差异（记录与重放的内容不同）\n")
    assert '"elements": ["gw_decision", "join_review", "merge_grant"]' in expected
    assert '"elements": ["gw_decision"]' in got
    assert runner.invoke(args=["verify", "--file", str(path)]).exit_code == 0


def test_the_cli_replays_several_golden_files_and_names_each(runner):
    files = [str(HISTORIES / "yidi_shoujian_receiving_leg.json"), str(HISTORIES / "yidi_banli_owning_leg.json")]
    result = runner.invoke(args=["replay", "--file", files[0], "--file", files[1]])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()      # per file: the verdict, then the calendar it counted with
    assert len(lines) == 4 and all("重放一致（" in line for line in lines[::2])
    assert all(line.startswith(f"{file}（办件 ") and "：节假日安排：" in line for file, line in zip(files, lines[1::2]))
    assert lines[0].startswith(f"{files[0]}（办件 TB20261123000001）：")
    one = runner.invoke(args=["replay", "--file", files[1]])
    assert (one.exit_code, one.output.splitlines()[0]) == (0, "重放一致（23 个事件）")


# --- bad files --------------------------------------------------------------------------------------------------

def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def with_seq(doc: dict[str, Any], index: int, seq: Any) -> dict[str, Any]:
    doc["events"][index - 1]["seq"] = seq
    return doc


def without_definitions(doc: dict[str, Any]) -> dict[str, Any]:
    doc["seed"]["definitions"] = []
    return doc


@pytest.mark.parametrize("make, code, words", [
    (lambda: {**golden_doc(), "format": "tongban-case-history/99"}, "HISTORY_FORMAT_UNKNOWN", "无法识别"),
    (lambda: TWIN_SOURCE.read_text(encoding="utf-8")[:5000], "HISTORY_FILE_INVALID", "可能被截断"),
    (lambda: without_definitions(golden_doc()), "HISTORY_DEFINITION_MISSING", "缺少办件所用的流程定义"),
    (lambda: {k: v for k, v in golden_doc().items() if k != "seed"}, "HISTORY_FILE_INVALID", "不完整"),
    # QA: replay --file said 重放一致（0 个事件） for a file whose events were emptied.
    (lambda: {**golden_doc(), "events": []}, "HISTORY_FILE_INVALID", "events 应为非空的事件列表"),
    (lambda: {**golden_doc(), "events": {}}, "HISTORY_FILE_INVALID", "events 应为非空的事件列表"),
    # QA: a seq of 10**30 was taken, and verify named 第 1000…0 个事件.
    (lambda: with_seq(golden_doc(), 4, 10**30), "HISTORY_FILE_INVALID", "第 4 个事件的 seq 应为 1 至 2147483647 的整数"),
    (lambda: with_seq(golden_doc(), 2, True), "HISTORY_FILE_INVALID", "第 2 个事件的 seq 应为 1 至 2147483647 的整数"),
], ids=["unknown-format-version", "truncated", "definition-missing", "seed-missing", "events-empty", "events-not-a-list",
        "seq-huge", "seq-bool"])
def test_a_bad_history_file_is_refused_with_its_code(runner, tmp_path, make, code, words):
    path = write(tmp_path, make())
    with pytest.raises(HistoryFileError) as refused:
        read_history(path)
    assert refused.value.code == code and words in refused.value.message
    for args in (["replay", "--file", str(path)], ["verify", "--file", str(path)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)
        assert f"错误 [{code}]：" in result.output


def test_an_unreadable_file_and_a_mixed_command_line_are_bad_input(runner, tmp_path):
    missing = runner.invoke(args=["replay", "--file", str(tmp_path / "nowhere.json")])
    assert missing.exit_code == 2 and "错误 [HISTORY_FILE_UNREADABLE]：" in missing.output
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "错误 [HISTORY_FILE_UNREADABLE]：" in runner.invoke(args=["verify", "--file", str(binary)]).output
    both = runner.invoke(args=["replay", "TB1", "--file", str(TWIN_SOURCE)])
    assert both.exit_code == 2 and "错误 [INVALID_INPUT]" in both.output
    assert runner.invoke(args=["verify", "--all", "--file", str(TWIN_SOURCE)]).exit_code == 2
