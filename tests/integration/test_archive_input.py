"""Archive packages from outside fed to ``tongban archive verify``: every bad package is a problem, never a traceback.

An auditor receives these packages by mail, so every byte is untrusted, and neither the manifest nor the event
chain is keyed: whoever edits an event can hash it again, so the checks after the chain meet whatever JSON the
editor chose. ``verify_archive`` never raises: a lone surrogate in an event, an event of the wrong shape, a zip
member name that is not the UTF-8 it claims and a duplicate key in a JSON entry are each reported as a problem
(exit 1, ``ARCHIVE_INVALID``) naming the entry.
"""
from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli_archive import verify_command as archive_verify
from engine.archive_format import parse_utc_instant
from engine.audit import GENESIS, event_hash
from tests.conftest import DATA

PACKAGE = DATA / "archives" / "fixture-clocked-v1.zip"


# --- helpers ----------------------------------------------------------------------------------------------------------

ROOT_NAME = "TB20261123000042"


def entries() -> dict[str, bytes]:
    with zipfile.ZipFile(PACKAGE) as package:
        return {name.split("/", 1)[1]: package.read(name) for name in package.namelist()}


def events_of(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files["records/events.jsonl"].decode().splitlines()]


def put_events(files: dict[str, bytes], records: list[dict[str, Any]], *, chain: bool = True) -> None:
    """Write the events back (ASCII escapes kept), the chain computed again when ``chain``, head in the manifest."""
    prev = GENESIS
    for record in records if chain else ():
        record["prev_hash"] = prev
        record["hash"] = prev = event_hash(
            prev, case_no=record["case_no"], seq=record["seq"], event_type=record["type"],
            occurred_at=parse_utc_instant(record["at"]), actor=record["actor"], element_id=record["element_id"],
            task_id=record["task_id"], payload=record["payload"])
    files["records/events.jsonl"] = b"".join(
        json.dumps(r, ensure_ascii=True, sort_keys=True, separators=(",", ":")).encode() + b"\n" for r in records)
    if chain:
        manifest = json.loads(files["manifest.json"])
        manifest["chain"]["head"] = prev
        files["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode()
        head = json.loads(files["metadata/chain_head.json"])
        head["head"] = prev
        files["metadata/chain_head.json"] = json.dumps(head, ensure_ascii=False).encode()


def packed(tmp_path: Path, files: dict[str, bytes], name: str = "package.zip") -> Path:
    """Zip the entries under the case folder, each file's sha256 and size in the manifest made to match."""
    manifest = json.loads(files["manifest.json"])
    for entry in manifest["files"]:
        data = files[entry["path"]]
        entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode()
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for entry, data in files.items():
            package.writestr(f"{ROOT_NAME}/{entry}", data)
    return path


def archive_problem(path: Path) -> dict[str, Any]:
    """``tongban archive verify --json``: exit 1 with a problem, never a traceback."""
    result = CliRunner().invoke(archive_verify, [str(path), "--json"])
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, f"traceback instead of a problem: {result.exception!r}"
    assert result.exit_code == 1, result.output
    problem = json.loads(result.output)["problem"]
    assert problem["code"] == "ARCHIVE_INVALID" and problem["message"], problem
    return problem


def test_an_archive_event_with_a_lone_surrogate_is_a_problem_not_a_traceback(tmp_path):
    # One escaped character edited in records/events.jsonl: event_hash encodes the text as UTF-8, and the
    # UnicodeEncodeError escaped verify_archive, which "never raises for a bad package".
    files = entries()
    records = events_of(files)
    records[3]["actor"] = "\ud800"
    put_events(files, records, chain=False)
    assert archive_problem(packed(tmp_path, files))["entry"] == "records/events.jsonl"


@pytest.mark.parametrize("edit", [
    lambda records: records[4].__setitem__("task_id", [6]),                         # TypeError: unhashable 'list'
    lambda records: [r["payload"].__setitem__("materials", 5)                        # TypeError: not iterable
                     for r in records if r["type"] == "ApplicationReceived"],
    lambda records: [r["payload"].__setitem__("materials", [5])                      # AttributeError: .get
                     for r in records if r["type"] == "ApplicationReceived"],
], ids=["task_id-list", "materials-number", "material-number"])
def test_a_rehashed_archive_event_of_the_wrong_shape_is_a_problem_not_a_traceback(tmp_path, edit):
    # The manifest and the chain are not keyed: whoever edits an event can hash it again, so the checks after
    # the chain meet whatever JSON the editor chose.
    files = entries()
    records = events_of(files)
    edit(records)
    put_events(files, records)
    archive_problem(packed(tmp_path, files))


def test_an_archive_member_name_that_is_not_utf8_is_a_problem_not_a_traceback(tmp_path):
    # A member flagged UTF-8 (general purpose bit 11) whose name is not: zipfile.ZipFile raises
    # UnicodeDecodeError while reading the central directory, which verify_archive did not catch.
    path = packed(tmp_path, entries())
    data = bytearray(path.read_bytes())
    good, bad = f"{ROOT_NAME}/README.txt".encode(), f"{ROOT_NAME}/README.tx".encode() + b"\xff"
    data = bytearray(bytes(data).replace(good, bad))
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        struct.pack_into("<H", data, at + 8, struct.unpack_from("<H", data, at + 8)[0] | 0x800)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    assert archive_problem(path)["entry"] == "(zip)"


def test_an_archive_manifest_with_a_duplicate_key_is_a_problem(tmp_path):
    # json.loads keeps the last key: a manifest that says format_version 99 first and 1 last verified 完整.
    files = entries()
    manifest = files["manifest.json"].decode().lstrip()
    path = tmp_path / "package.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for entry, data in files.items():
            if entry == "manifest.json":
                data = ('{"format_version": 99, ' + manifest[1:]).encode()
            package.writestr(f"{ROOT_NAME}/{entry}", data)
    archive_problem(path)



def test_an_archive_event_line_with_a_duplicate_key_is_a_problem(tmp_path):
    # The hash covers the last of two equal keys; a person reading the line may see the first.
    files = entries()
    lines = files["records/events.jsonl"].split(b"\n")
    lines[2] = b'{"actor": "someone_else", ' + lines[2][1:]
    files["records/events.jsonl"] = b"\n".join(lines)
    problem = archive_problem(packed(tmp_path, files))
    assert problem["entry"] == "records/events.jsonl" and "重复的键" in problem["message"], problem


def test_a_document_of_an_unforeseen_shape_is_a_problem_naming_it(tmp_path):
    # Hashed again in the manifest, a definition.json that is a list reaches checks that read it as an object.
    files = entries()
    files["definition/definition.json"] = b"[]"
    problem = archive_problem(packed(tmp_path, files))
    assert problem["entry"] == "definition/definition.json", problem
