"""The keys an archive check names (a field, a form, a material) are echoed bounded and escaped.

A key comes from the package as much as a value does: a field of ``case.json`` or of the manifest's case, a form
the definition pins, a material's key in ``materials.json`` or in the recorded application. Each key below is a
megabyte and starts with a terminal escape (``ESC [2J``) and U+202E: the problem names it with a few dozen
characters, both written as escapes.
"""
from __future__ import annotations

import io
import json
import unicodedata
from dataclasses import replace
from typing import Any, Callable

from engine import verify_archive
from engine.archive_writer import PackageInput, write_package
from engine.definitions import definition_content_hash
from tests.unit.archive_fixture import BPMN, SUB, build, chained, entries, form_hash, package_input, rezip

HOSTILE = "\x1b[2J\u202e" + "k" * (1024 * 1024)
SHOWN = "\\u001b[2J\\u202ekkkk"
"""How the start of :data:`HOSTILE` reads in a problem."""
MOST = 1000
"""A report line of one problem stays below this many characters whatever the package holds."""


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


def edited_json(path: str, edit: Callable[[Any], None]) -> bytes:
    """The fixture package with the JSON entry ``path`` edited and the manifest's hashes fixed."""
    original = build()
    doc = json.loads(entries(original)[path])
    edit(doc)
    return rezip(original, change={path: json.dumps(doc, ensure_ascii=False).encode()}, fix_manifest=True)


def rebuilt(package: PackageInput, started: dict[str, Any] | None = None,
            application: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    """``package`` written with its events chained again: CaseStarted's payload updated with ``started``, the
    ApplicationReceived payload edited by ``application`` (as someone who rewrites a whole package would)."""
    specs = []
    for event in package.events:
        payload = json.loads(json.dumps(event.payload))
        if event.event_type == "CaseStarted":
            payload.update(started or {})
        if event.event_type == "ApplicationReceived" and application is not None:
            application(payload)
        specs.append((event.event_type, {"actor": event.actor, "element_id": event.element_id,
                                         "task_id": event.task_id}, payload))
    out = io.BytesIO()
    write_package(out, replace(package, events=chained(specs)))
    return out.getvalue()


def test_a_field_case_json_should_not_have_is_named_bounded(tmp_path):
    problem = check(tmp_path, edited_json("metadata/case.json", lambda case: case.update({HOSTILE: "x"})))
    assert problem.message.startswith(f"有办件记录之外的字段 {SHOWN}") and problem.message.endswith("…")


def test_a_field_the_manifest_s_case_should_not_have_is_named_bounded(tmp_path):
    original = build()
    manifest = json.loads(entries(original)["manifest.json"])
    manifest["case"][HOSTILE] = "x"
    problem = check(tmp_path, rezip(original, change={"manifest.json": json.dumps(manifest).encode()}))
    assert problem.message.startswith(f"清单的 case 中有多余的 {SHOWN}")


def test_a_pinned_form_the_package_lacks_is_named_bounded(tmp_path):
    package = package_input()
    refs = {"review": form_hash(), HOSTILE: "0" * 64}
    content_hash = definition_content_hash(BPMN, {"sub.bpmn": SUB}, refs)
    package = replace(package, definition={**package.definition, "form_refs": refs, "content_hash": content_hash})
    problem = check(tmp_path, rebuilt(package, started={"content_hash": content_hash}))
    assert problem.message.startswith(f"缺少流程引用的表单 {SHOWN}")


def test_a_material_the_application_did_not_record_is_named_bounded(tmp_path):
    def add(items: list[dict[str, Any]]) -> None:
        items.append({**items[-1], "key": HOSTILE})

    problem = check(tmp_path, edited_json("materials/materials.json", add))
    assert problem.message.startswith(f"材料 {SHOWN}") and problem.message.endswith("不在ApplicationReceived 事件记录的材料中")


def test_a_recorded_material_the_package_lacks_is_named_bounded(tmp_path):
    def record(payload: dict[str, Any]) -> None:
        payload["materials"].append({"key": HOSTILE, "sha256": None, "license_ref": "LIC-2",
                                     "original_verified": False})

    problem = check(tmp_path, rebuilt(package_input(), application=record))
    assert problem.message.startswith(f"缺少ApplicationReceived 事件记录的材料中的材料 {SHOWN}")
