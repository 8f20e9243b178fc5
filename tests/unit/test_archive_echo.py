"""What an archive check echoes from the package is bounded and escaped: a package is a file anyone may edit.

Each value below is a megabyte, or carries a terminal escape (``ESC [2J`` clears the screen) and U+202E (turns the
rest of the line right to left). The report names the problem with at most a few dozen characters of the value,
each control character written as an escape, so nothing from the file reaches the auditor's terminal raw.
"""
from __future__ import annotations

import json
import unicodedata

import pytest

from engine import verify_archive
from engine.archive_format import parse_event_line
from tests.unit.archive_fixture import CASE_NO, build, entries, rezip

HOSTILE = ["x" * (1024 * 1024), "\x1b[2J\u202e" * 1000 + "2026", "\u0085\u2066\x7f清屏"]
MOST = 1000
"""A report line of one problem stays below this many characters whatever the package holds."""


def check(tmp_path, data: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(data)
    return verify_archive(path)


def said(result) -> str:
    assert not result.ok
    return result.problem.describe()


def assert_bounded(text: str) -> None:
    assert len(text) < MOST, text[:MOST]
    raw = [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not raw, raw


@pytest.mark.parametrize("value", HOSTILE, ids=["megabyte", "escapes", "c1-and-isolates"])
def test_a_bad_event_time_is_echoed_bounded(tmp_path, value):
    original = build()
    lines = entries(original)["records/events.jsonl"].splitlines(keepends=True)
    record = json.loads(lines[0])
    with pytest.raises(ValueError) as refused:
        parse_event_line(json.dumps({**record, "at": value}).encode())
    assert str(refused.value).startswith("时间格式不正确：")
    assert_bounded(str(refused.value))
    lines[0] = (json.dumps({**record, "at": value}, ensure_ascii=False) + "\n").encode()
    result = check(tmp_path, rezip(original, change={"records/events.jsonl": b"".join(lines)}, fix_manifest=True))
    assert result.problem.entry == "records/events.jsonl" and "第 1 行：时间格式不正确：" in result.problem.message
    assert_bounded(said(result))


@pytest.mark.parametrize("value", HOSTILE, ids=["megabyte", "escapes", "c1-and-isolates"])
def test_a_bad_hash_in_the_manifest_is_echoed_bounded(tmp_path, value):
    original = build()
    manifest = json.loads(entries(original)["manifest.json"])
    manifest["files"][0]["sha256"] = value
    result = check(tmp_path, rezip(original, change={"manifest.json": json.dumps(manifest).encode()}))
    assert "SHA-256 与清单不符" in result.problem.message
    assert_bounded(said(result))
    assert_bounded(json.dumps(result.to_dict()["problem"], ensure_ascii=False))


@pytest.mark.parametrize("value", HOSTILE, ids=["megabyte", "escapes", "c1-and-isolates"])
def test_an_unsafe_path_in_the_manifest_is_echoed_bounded(tmp_path, value):
    original = build()
    manifest = json.loads(entries(original)["manifest.json"])
    manifest["files"].append({"path": "../" + value, "sha256": "0" * 64, "size": 1})
    result = check(tmp_path, rezip(original, change={"manifest.json": json.dumps(manifest).encode()}))
    assert "重复或不安全的路径" in result.problem.message
    assert_bounded(said(result))


def test_a_file_name_in_the_zip_is_echoed_bounded(tmp_path):
    name = "\x1b[2J\u202e" + "y" * 60000
    result = check(tmp_path, rezip(build(), add={name: b"x"}))
    assert result.problem.message == "包中有清单未列出的文件" and result.problem.entry.startswith("\\u001b[2J\\u202ey")
    assert_bounded(said(result))
    two = check(tmp_path, rezip(build(), case_no="\u202e" + "z" * 60000))
    assert "只含一个" in two.problem.message or "包名" in two.problem.message
    assert_bounded(said(two))


def test_a_format_version_of_thousands_of_digits_is_echoed_bounded(tmp_path):
    original = build()
    manifest = entries(original)["manifest.json"].replace(b'"format_version": 4', b'"format_version": ' + b"9" * 4000)
    result = check(tmp_path, rezip(original, change={"manifest.json": manifest}))
    assert "比本程序能校验的版本新" in result.problem.message
    assert_bounded(said(result))
    assert CASE_NO == result.case_no
