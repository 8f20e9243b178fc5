"""History files from outside fed to ``verify --file`` and ``replay --file``: refused cleanly, never vouched for.

An auditor receives these files by mail from a district, so every byte is untrusted. A file of the wrong shape
(a field of the wrong type, a lone surrogate, a duplicate key, too large) is refused at reading as
``错误 [HISTORY_FILE_…]：…`` (exit 2), never a Python traceback; ``verify --file`` checks what ``verify CASE``
checks (the event count) and holds the file against the database when that has the case (an unkeyed chain
can be re-hashed by whoever edits it); replay refuses a calendar its own load log does not account for and
says which calendar it counted with. The archive packages' side is in ``test_archive_input.py``.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.runtime import set_engine
from engine import (
    CST, CompleteTask, EngineConfig, ManualClock, Replayer, StartCase, SuspendClock, bootstrap,
)
from engine.audit import GENESIS, event_hash
from engine.calendar_store import ensure_calendar_seeded
from tests.conftest import ROOT
from tests.goldens import HISTORIES
from tests.helpers import ACCEPT, CLERK, deploy_shipped

GOLDEN = HISTORIES / "standard_permit_granted.json"
TONGBAN = Path(sys.executable).with_name("tongban")


# --- helpers -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A CLI runner on an engine whose database is never created: these files are checked without one."""
    folder = tmp_path_factory.mktemp("history-offline")
    engine = bootstrap(EngineConfig(database_url=f"sqlite:///{folder / 'never-created.sqlite'}",
                                    processes_dir=ROOT / "processes", forms_dir=ROOT / "forms",
                                    materials_dir=folder / "materials", archives_dir=folder / "archives"),
                       clock=ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=CST)))
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": f"sqlite:///{folder / 'unused.sqlite'}"})
    set_engine(app, engine)
    yield app.test_cli_runner()
    engine.close()


def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def rehashed(doc: dict[str, Any]) -> dict[str, Any]:
    """The history file's chain computed again after an edit (the chain is not keyed: anyone can)."""
    prev = GENESIS
    for event in doc["events"]:
        event["prev_hash"] = prev
        event["hash"] = prev = event_hash(
            prev, case_no=doc["case"]["case_no"], seq=event["seq"], event_type=event["event_type"],
            occurred_at=datetime.fromisoformat(event["occurred_at"]), actor=event["actor"],
            element_id=event["element_id"], task_id=event["task_id"], payload=event["payload"])
    doc["case"]["chain_head"] = prev
    return doc


def written(tmp_path: Path, content: dict[str, Any] | str, name: str = "from-district.json") -> Path:
    """Write a history file; ``str`` content is written as is (JSON escapes such as a lone ``\\ud800`` kept)."""
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, ensure_ascii=True),
                    encoding="utf-8")
    return path


def assert_refused(result: Any, code: str, exit_code: int = 2) -> None:
    """A clean refusal: the exit code, ``错误 [CODE]：`` and no Python exception behind it."""
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"traceback instead of a refusal: {result.exception!r}"
    assert result.exit_code == exit_code, result.output
    assert f"错误 [{code}]：" in result.output, result.output


# --- history files: wrong types, lone surrogates, duplicate keys, size ------------------------------------------

def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(doc: dict[str, Any]) -> dict[str, Any]:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc
    return edit


@pytest.mark.parametrize("edit", [
    # TypeError: unhashable type 'list' in history_file._check_definitions (outside the shape check's try).
    _set(("case", "definition_id"), [1]),
    _set(("case", "definition_id"), {"id": 1}),
    _set(("events", 0, "payload", "content_hash"), ["d0e6"]),
    _set(("seed", "definitions", 0, "content_hash"), ["d0e6"]),
    # TypeError in verify_history and in the replay walk: an event type that is a list.
    _set(("events", 0, "event_type"), ["CaseStarted"]),
    # replay: AttributeError 'int' object has no attribute 'encode' (verify said 完整).
    _set(("seed", "definitions", 0, "bpmn_xml"), 5),
    # replay: AttributeError 'list' object has no attribute 'startswith' / TypeError 'int' not subscriptable.
    _set(("case", "case_no"), ["TB20260302000001"]),
    _set(("case", "case_no"), 20260302000001),
], ids=["definition_id-list", "definition_id-object", "started-hash-list", "seeded-hash-list", "event-type-list",
        "bpmn-not-text", "case_no-list", "case_no-number"])
def test_a_history_file_with_a_field_of_the_wrong_type_is_refused_not_a_traceback(offline, tmp_path, edit):
    path = written(tmp_path, edit(golden()))
    for command in ("verify", "replay"):
        assert_refused(offline.invoke(args=[command, "--file", str(path)]), "HISTORY_FILE_INVALID")


@pytest.mark.parametrize("old, new", [
    ('"actor": "window_yz"', '"actor": "\\ud800"'),                        # verify and replay: UnicodeEncodeError
    ('"payload": {', '"payload": {"note": "\\udc00", '),                   # verify and replay: UnicodeEncodeError
    ('"title": "', '"title": "\\ud800'),                                   # verify 完整; replay names the exception
    ('"actor": "window_yz"', '"actor": "window\\u0000yz"'),                # no database stores a NUL
], ids=["actor", "payload", "case-title", "nul"])
def test_a_history_file_with_a_lone_surrogate_is_refused_at_reading(offline, tmp_path, old, new):
    text_ = GOLDEN.read_text(encoding="utf-8")
    assert old in text_
    path = written(tmp_path, text_.replace(old, new, 1))
    for command in ("verify", "replay"):
        assert_refused(offline.invoke(args=[command, "--file", str(path)]), "HISTORY_FILE_INVALID")


def test_a_refusal_names_the_field_of_the_wrong_type(offline, tmp_path):
    doc = golden()
    doc["case"]["case_no"] = 20260302000001
    doc["events"][2]["task_id"] = True
    result = offline.invoke(args=["verify", "--file", str(written(tmp_path, doc))])
    assert_refused(result, "HISTORY_FILE_INVALID")
    assert "case.case_no 应为文本，实际为 数字" in result.output
    doc["case"]["case_no"] = golden()["case"]["case_no"]
    result = offline.invoke(args=["verify", "--file", str(written(tmp_path, doc))])
    assert "第 3 个事件的 task_id 应为整数，实际为 true/false" in result.output


def test_a_history_file_with_a_duplicate_key_is_refused(offline, tmp_path):
    # json.loads keeps the last of two equal keys: tongban hashes and replays one payload while a person (or
    # another tool) reading the file may see the other. tongban never writes a duplicate key.
    text_ = GOLDEN.read_text(encoding="utf-8")
    path = written(tmp_path, text_.replace('"payload": {', '"payload": {"data": {"shown": "to people"}}, '
                                                          '"payload": {', 1))
    for command in ("verify", "replay"):
        result = offline.invoke(args=[command, "--file", str(path)])
        assert_refused(result, "HISTORY_FILE_INVALID")
        assert '对象中有重复的键 "payload"' in result.output


def test_an_oversized_history_file_is_refused_before_it_is_read_whole(tmp_path):
    # read_history reads the whole file and decodes it: 600 MB of zeros (a sparse file, no disk used) took
    # more than 900 MB and ended in MemoryError with a traceback (exit 1). The child is capped so the
    # machine stays usable whatever happens.
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.write(b'{"format": "tongban-case-history/4", "events": "')
        handle.truncate(600 * 1024 * 1024)

    def capped() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (900 * 1024 * 1024, 900 * 1024 * 1024))

    env = {**os.environ, "TONGBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}"}
    done = subprocess.run([str(TONGBAN), "verify", "--file", str(huge)], capture_output=True, text=True,
                          env=env, preexec_fn=capped, timeout=60, check=False)
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 2 and "错误 [HISTORY_FILE_" in done.stderr, done.stderr[-2000:]


# --- history files with a database: as strong as `verify CASE`, held against the database's chain -----------

@pytest.fixture
def accepted(engine) -> Any:
    """A parallel approval, accepted: a short chain with a clock started."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"}))
    (accept,) = [t for t in engine.queries.case(CLERK, ref.case_id)["tasks"] if t["element_id"] == "accept"]
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    return ref


def exported(runner, case_no: str, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "exported.json"
    result = runner.invoke(args=["history", "export", case_no, "-o", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))


def test_verify_file_checks_the_event_count_as_verify_case_does(engine, accepted, runner, database_url, tmp_path):
    doc = exported(runner, accepted.case_no, tmp_path)
    # From the database, a case row that counts more events than its chain has is a broken record ...
    eng = create_engine(database_url)
    with eng.begin() as conn:
        conn.execute(text("UPDATE cases SET event_seq = event_seq + 3 WHERE id = :c"), {"c": accepted.case_id})
    eng.dispose()
    from_db = runner.invoke(args=["verify", accepted.case_no])
    assert from_db.exit_code == 1 and "事件数与办件记录不符" in from_db.output, from_db.output
    # ... but the same case row in a history file verified 完整: verify --file never read event_seq.
    doc["case"]["event_seq"] += 3
    from_file = runner.invoke(args=["verify", "--file", str(written(tmp_path, doc))])
    assert from_file.exit_code == 1 and "事件数与办件记录不符" in from_file.output, from_file.output


def test_a_rehashed_forgery_of_a_case_in_the_database_is_not_called_complete(engine, accepted, runner, tmp_path):
    # A district edits the applicant in its export and computes the chain again. verify --file printed
    # 「完整（N 个事件）」 and exited 0 although the database it runs against holds the case with other hashes:
    # an unkeyed chain proves nothing about a file's origin, and the one anchor at hand was not consulted.
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["events"][0]["payload"]["data"]["applicant"] = "另一家公司"
    result = runner.invoke(args=["verify", "--file", str(written(tmp_path, rehashed(doc)))])
    assert result.exit_code == 1, result.output
    assert "完整" not in result.output


def test_a_history_file_whose_calendar_differs_from_its_own_load_log_is_refused(engine, accepted, runner, tmp_path):
    # seed.calendar_imports (format /4) records the content hash of every schedule loaded; seed.calendar is
    # taken as it stands. A holiday added to the file's calendar (one this case never reaches, so the replay
    # stays identical) no longer hashes to the load in force, yet replay --file said 重放一致 and nothing
    # about which schedule it counted with.
    doc = exported(runner, accepted.case_no, tmp_path)
    assert doc["format"] == "tongban-case-history/4" and doc["seed"]["calendar_imports"]
    template = next(row for row in doc["seed"]["calendar"] if row["year"] == 2026)
    doc["seed"]["calendar"].append({**template, "day": "2026-12-30", "kind": "holiday", "note": "区县自定假日"})
    result = runner.invoke(args=["replay", "--file", str(written(tmp_path, doc))])
    assert_refused(result, "HISTORY_FILE_INVALID")
    assert "节假日" in result.output


def test_a_file_of_the_case_as_the_database_holds_it_verifies_as_agreeing(engine, accepted, runner, tmp_path):
    exported(runner, accepted.case_no, tmp_path)
    result = runner.invoke(args=["verify", "--file", str(tmp_path / "exported.json")])
    assert result.exit_code == 0, result.output
    assert "：完整（9 个事件），与数据库中的办件记录一致" in result.output
    as_json = json.loads(runner.invoke(args=["verify", "--file", str(tmp_path / "exported.json"), "--json"]).output)
    assert (as_json["ok"], as_json["database"], as_json["database_events"]) == (True, "same", 9)


def test_a_file_exported_before_the_case_went_on_agrees_with_the_first_events(engine, accepted, runner, tmp_path):
    exported(runner, accepted.case_no, tmp_path)
    engine.handle(SuspendClock(accepted.case_id, CLERK, "correction", "申请人补正土地证明"))
    assert len(engine.queries.events(accepted.case_id)) > 9
    result = runner.invoke(args=["verify", "--file", str(tmp_path / "exported.json")])
    assert result.exit_code == 0, result.output
    assert "与数据库中该办件的前 9 个事件一致" in result.output


def test_a_rehashed_forgery_names_the_first_event_that_differs_from_the_database(engine, accepted, runner,
                                                                                 tmp_path):
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["events"][-1]["actor"] = "someone_else"
    result = runner.invoke(args=["verify", "--file", str(written(tmp_path, rehashed(doc)))])
    assert result.exit_code == 1, result.output
    assert f"文件与数据库中的办件记录不符：第 {len(doc['events'])} 个事件不同" in result.output
    doc = exported(runner, accepted.case_no, tmp_path)
    doc["events"].append({**doc["events"][-1], "seq": len(doc["events"]) + 1})
    doc["case"]["event_seq"] += 1
    longer = runner.invoke(args=["verify", "--file", str(written(tmp_path, rehashed(doc)))])
    assert longer.exit_code == 1 and "数据库中的办件只有 9 个事件，文件却有第 10 个" in longer.output, longer.output


def test_a_file_of_a_case_the_database_lacks_says_it_was_checked_on_its_own(offline, tmp_path):
    result = offline.invoke(args=["verify", "--file", str(GOLDEN)])
    assert result.exit_code == 0, result.output
    assert "：完整（33 个事件）" in result.output
    assert "文件只按自身校验" in result.output and "重新计算哈希" in result.output


def test_replay_from_a_file_says_which_calendar_it_counted_with(engine, accepted, runner, tmp_path):
    exported(runner, accepted.case_no, tmp_path)
    result = runner.invoke(args=["replay", "--file", str(tmp_path / "exported.json")])
    assert result.exit_code == 0, result.output
    verdict, calendar = result.output.splitlines()
    assert verdict == "重放一致（9 个事件）"
    assert calendar.startswith("节假日安排：按历史文件携带的 2026 年（内容哈希 ")
    assert calendar.endswith("与文件中的载入记录相符")


@pytest.mark.parametrize("edit", [
    lambda doc: doc["seed"]["calendar"].pop(),                                          # a day taken out
    lambda doc: doc["seed"].update(calendar=[]),                                         # the loaded year taken out
], ids=["day-removed", "year-removed"])
def test_a_calendar_edited_otherwise_is_refused_too(engine, accepted, runner, tmp_path, edit):
    doc = exported(runner, accepted.case_no, tmp_path)
    assert {row["year"] for row in doc["seed"]["calendar"]} == {2026}
    edit(doc)
    result = runner.invoke(args=["replay", "--file", str(written(tmp_path, doc))])
    assert_refused(result, "HISTORY_FILE_INVALID")
    assert "calendar 与 calendar_imports 不符" in result.output


def test_a_replay_fault_in_one_file_is_reported_and_the_other_files_still_replay(offline, monkeypatch):
    files = [str(HISTORIES / "yidi_shoujian_receiving_leg.json"), str(GOLDEN)]
    original = Replayer.replay_history

    def faulty(self, history):
        if len(history.events) == 46:
            raise ValueError("a fault of replay itself")
        return original(self, history)

    monkeypatch.setattr(Replayer, "replay_history", faulty)
    result = offline.invoke(args=["replay", "--file", files[0], "--file", files[1]])
    assert result.exit_code == 2, result.output
    assert (f"{files[0]}（办件 TB20261123000001）：错误 [REPLAY_FAILED]：重放时出现内部错误"
            "（ValueError: a fault of replay itself）") in result.stderr
    assert f"{files[1]}（办件 TB20260302000001）：重放一致（33 个事件）" in result.stdout
