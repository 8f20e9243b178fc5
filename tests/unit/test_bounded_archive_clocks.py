"""The clock kinds and event types an archive check names, and a bad material key, are echoed bounded and escaped.

A clock's kind is a key of ``case.json``'s ``clocks`` or of a ``ClocksStarted`` event's ``clocks``, an event's
type a field of ``events.jsonl``: both come from the package, as does a material's key in ``materials.json``.
Each value below is a megabyte and starts with a terminal escape (``ESC [2J``) and U+202E: the problem names it
with a few dozen characters, both written as escapes.
"""
from __future__ import annotations

import io
import json
import unicodedata
from dataclasses import replace
from typing import Any, Callable

import pytest

from engine import verify_archive
from engine.archive_clocks import _named
from engine.archive_problems import CASE_MISMATCH
from engine.archive_writer import write_package
from tests.unit.archive_fixture import build, build_clocked, chained, clocked_input, entries, rezip

HOSTILE = "\x1b[2J\u202e" + "k" * (1024 * 1024)
SHOWN = "\\u001b[2J\\u202ekkkk"
"""How the start of :data:`HOSTILE` reads in a problem."""
MOST = 1000
"""A report line of one problem stays below this many characters whatever the package holds."""
CASE = "metadata/case.json"


def check(tmp_path, data: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(data)
    result = verify_archive(path)
    assert not result.ok
    line = result.problem.describe()
    assert len(line) < MOST, line[:MOST]
    raw = [c for c in line if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw
    assert len(json.dumps(result.to_dict()["problem"], ensure_ascii=False)) < MOST
    return result.problem


def edited_case(change: Callable[[dict[str, Any]], None]) -> bytes:
    """The clocked package with its case.json changed, the manifest's hashes fixed to match."""
    package = build_clocked()
    files = entries(package)
    case = json.loads(files[CASE])
    change(case)
    return rezip(package, change={CASE: json.dumps(case, ensure_ascii=False).encode()}, fix_manifest=True,
                 case_no=json.loads(files["manifest.json"])["package"])


def legal_entry(case: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(case["clocks"]["legal"]))


@pytest.mark.parametrize("entry,message", [
    (legal_entry, "… 的计时时段数与审计事件不符（每次起算有一个 ClocksStarted 事件）"),
    (lambda case: "x", "… 应为对象"),
    (lambda case: {"periods": "x"}, "….periods 应为列表"),
], ids=["a period no event started", "not an object", "periods not a list"])
def test_a_clock_kind_case_json_invented_is_named_bounded(tmp_path, entry, message):
    problem = check(tmp_path, edited_case(lambda case: case["clocks"].update({HOSTILE: entry(case)})))
    assert (problem.entry, problem.code) == (CASE, CASE_MISMATCH)
    assert problem.message.startswith(f"clocks.{SHOWN}") and problem.message.endswith(message)


def test_the_reason_a_clock_record_is_invalid_is_shown_bounded(tmp_path):
    def invalid(case: dict[str, Any]) -> None:
        case["clocks"]["legal"]["clock"]["budget"] = {"amount": 20, "unit": HOSTILE}

    problem = check(tmp_path, edited_case(invalid))
    assert problem.message.startswith("clocks.legal.clock 不是有效的计时记录：")
    # The reason quotes the unit as Python writes it: the escape as \x1b, U+202E as \u202e.
    assert "时限单位 '\\x1b[2J\\u202ekkk" in problem.message and problem.message.endswith("…")


def test_a_clock_kind_an_event_started_is_named_bounded_where_case_json_lacks_it(tmp_path):
    base = clocked_input()
    specs = []
    for event in base.events:
        payload = json.loads(json.dumps(event.payload))
        if event.event_type == "ClocksStarted" and "legal" in payload["clocks"]:
            payload["clocks"][HOSTILE] = dict(payload["clocks"]["legal"])
        specs.append((event.event_type, {"actor": event.actor, "element_id": event.element_id,
                                         "task_id": event.task_id}, payload))
    out = io.BytesIO()
    write_package(out, replace(base, events=chained(specs)))
    problem = check(tmp_path, out.getvalue())
    assert problem.message.startswith(f"clocks 缺少 {SHOWN}")
    assert problem.message.endswith("…（第 4 个事件（ClocksStarted）起算了该时限）")


def test_an_event_is_named_with_its_type_bounded():
    event = chained([("CaseStarted", {}, {}), (HOSTILE, {}, {})])[1]
    assert _named(event) == f"第 2 个事件（{SHOWN}{'k' * 31}…）"   # the first 40 characters


@pytest.mark.parametrize("key", [[HOSTILE], {"k": HOSTILE}], ids=["list", "object"])
def test_a_material_key_that_is_not_text_is_named_bounded(tmp_path, key):
    original = build()
    items = json.loads(entries(original)["materials/materials.json"])
    items.append({**items[-1], "key": key})
    problem = check(tmp_path, rezip(original, change={"materials/materials.json": json.dumps(items).encode()},
                                    fix_manifest=True))
    assert problem.entry == "materials/materials.json"
    assert problem.message == f"材料清单第 {len(items)} 项的 key 应为文本"
    assert problem.expected == "文本" and SHOWN in problem.got and problem.got.endswith("…")
