"""Archive packages without a database: deterministic, and every kind of tampering is named precisely."""
from __future__ import annotations

import json

import pytest

from engine import verify_archive
from engine.archive_writer import ArchiveBuildFailed, MaterialFile, write_package
from tests.unit.archive_fixture import PDF, build, entries, flip, package_input, rezip, sha

FILE = f"materials/files/{sha(PDF)}.pdf"


def check(tmp_path, data: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(data)
    return verify_archive(path)


def test_a_package_is_the_same_bytes_every_time_and_verifies(tmp_path):
    first = build()
    assert build() == first
    result = check(tmp_path, first)
    assert result.ok, result.problem
    assert (result.case_no, result.events, result.entries) == ("TB20261123000042", 6, 13)
    assert result.chain_head == package_input().events[-1].hash and result.sha256 == sha(first)
    assert set(entries(first)) == {
        "README.txt", "manifest.json", "metadata/case.json", "metadata/catalog.json", "metadata/application.json",
        "metadata/chain_head.json", "definition/definition.json", "definition/bpmn/p/main.bpmn",
        "definition/bpmn/resources/sub.bpmn", "definition/forms/review.form", "records/events.jsonl",
        "records/form_data.json", "materials/materials.json", FILE}


def test_the_manifest_lists_every_file_with_its_sha256_and_the_case_facts():
    files = entries(build())
    manifest = json.loads(files["manifest.json"])
    assert {e["path"]: e["sha256"] for e in manifest["files"]} == {
        path: sha(data) for path, data in files.items() if path != "manifest.json"}
    assert manifest["format"] == "tongban-archive" and manifest["format_version"] == 4
    case = manifest["case"]
    assert (case["case_no"], case["matter_code"], case["basic_code"], case["owning_district"],
            case["receiving_district"]) == ("TB20261123000042", "11500103MB1D25937B4000117001", "000117001000",
                                            "500103", "500105")
    assert case["started_at"] == "2026-11-23T09:01:00+08:00" and case["ended_at"] == "2026-11-23T09:06:00+08:00"
    materials = json.loads(files["materials/materials.json"])
    assert [(m["key"], m["sha256"], m["size"], m["original_verified_by"]) for m in materials] == [
        ("application_form", sha(PDF), len(PDF), "window_yz"), ("licence", None, None, None)]
    assert "归档信息包 TB20261123000042" in files["README.txt"].decode()


@pytest.mark.parametrize("path", sorted(set(entries(build())) - {"manifest.json"}))
def test_a_changed_byte_in_any_file_names_that_file_and_both_hashes(tmp_path, path):
    original = build()
    data = bytearray(entries(original)[path])
    data[len(data) // 2] ^= 0x01
    result = check(tmp_path, rezip(original, change={path: bytes(data)}))
    assert not result.ok
    manifest = {e["path"]: e for e in json.loads(entries(original)["manifest.json"])["files"]}
    assert (result.problem.entry, result.problem.expected, result.problem.got) == (
        path, manifest[path]["sha256"], sha(bytes(data)))
    assert "SHA-256 与清单不符" in result.problem.message


EDITS = [  # (file, old, new, where it is reported, what is said) with the manifest updated to match the edit
    ("records/events.jsonl", "同意".encode(), "驳回".encode(), "records/events.jsonl", "第 5 个事件：内容与其哈希不符"),
    ("definition/bpmn/p/main.bpmn", "示例".encode(), "样例".encode(), "definition/definition.json",
     "流程定义被改动"),
    ("definition/bpmn/resources/sub.bpmn", b'id="sub"', b'id="sux"', "definition/definition.json", "流程定义被改动"),
    ("definition/forms/review.form", "意见".encode(), "意思".encode(), "definition/forms/review.form",
     "表单 review 的内容哈希"),
    ("definition/definition.json", b'"version": 3', b'"version": 4', "definition/definition.json",
     "version 与 CaseStarted"),
    ("metadata/catalog.json", "示例事项".encode(), "示范事项".encode(), "metadata/catalog.json", "内容哈希与 MatterReceived"),
    ("records/form_data.json", "同意".encode(), "驳回".encode(), "records/form_data.json", "第 5 个事件提交的表单数据"),
    ("materials/materials.json", b'"LIC-1"', b'"LIC-2"', "materials/materials.json", "licence 的 license_ref"),
    ("materials/materials.json", b'"window_yz"', b'"window_xx"', "materials/materials.json", "original_verified_by"),
    (FILE, b"%archive fixture", b"%archive fixturE", FILE, "文件与材料清单登记的 SHA-256"),
    ("metadata/chain_head.json", b'"event_count": 6', b'"event_count": 5', "metadata/chain_head.json",
     "event_count 与审计事件不符"),
    ("metadata/case.json", b'"500105"', b'"500106"', "metadata/case.json", "receiving_district 与清单不符"),
    ("README.txt", "收件地：500105".encode(), "收件地：500106".encode(), "README.txt", "说明被改动"),
]


@pytest.mark.parametrize("path,old,new,entry,message", EDITS, ids=[f"{n}-{e[0]}" for n, e in enumerate(EDITS)])
def test_an_edit_with_a_matching_manifest_is_caught_against_the_event_chain(tmp_path, path, old, new, entry,
                                                                             message):
    original = build()
    changed = flip(entries(original)[path], old, new)
    result = check(tmp_path, rezip(original, change={path: changed}, fix_manifest=True))
    assert not result.ok and result.problem.entry == entry, result.problem
    assert message in result.problem.message, result.problem


def test_application_data_is_protected_by_the_manifest_alone(tmp_path):
    # Personal data stays out of the append-only log, so nothing in the chain vouches for it: only the manifest.
    original = build()
    changed = flip(entries(original)["metadata/application.json"], b"13800138000", b"13800138001")
    assert not check(tmp_path, rezip(original, change={"metadata/application.json": changed})).ok
    assert check(tmp_path, rezip(original, change={"metadata/application.json": changed}, fix_manifest=True)).ok


def test_a_deleted_event_and_a_cut_tail_are_named(tmp_path):
    original = build()
    lines = entries(original)["records/events.jsonl"].splitlines(keepends=True)
    gap = check(tmp_path, rezip(original, change={"records/events.jsonl": b"".join(lines[:2] + lines[3:])},
                                fix_manifest=True))
    assert (gap.problem.entry, gap.problem.expected, gap.problem.got) == ("records/events.jsonl", "3", "4")
    assert "事件序号不连续" in gap.problem.message
    cut = check(tmp_path, rezip(original, change={"records/events.jsonl": b"".join(lines[:-1])}, fix_manifest=True))
    assert (cut.problem.entry, cut.problem.expected, cut.problem.got) == ("manifest.json", "5", "6")
    assert "事件数" in cut.problem.message


@pytest.mark.parametrize("old,new,message", [
    (b'"ended_at": "2026-11-23T09:06', b'"ended_at": "2026-11-23T09:07', "case.ended_at 与审计事件不符"),
    (b'"format_version": 4', b'"format_version": 5', "比本程序能校验的版本新"),
    (b'"case_no": "TB20261123000042"', b'"case_no": "TB20261123000043"', "case.case_no 与审计事件不符"),
    (b'{', b'[', "不是有效的 JSON"),
])
def test_a_changed_manifest_is_named(tmp_path, old, new, message):
    original = build()
    changed = flip(entries(original)["manifest.json"], old, new)
    result = check(tmp_path, rezip(original, change={"manifest.json": changed}))
    assert result.problem.entry == "manifest.json" and message in result.problem.message, result.problem


def test_a_changed_hash_in_the_manifest_is_reported_at_its_file(tmp_path):
    original = build()
    real = sha(entries(original)["records/form_data.json"])
    fake = ("0" if real[0] != "0" else "1") + real[1:]
    result = check(tmp_path, rezip(original, change={"manifest.json": flip(entries(original)["manifest.json"],
                                                                           real.encode(), fake.encode())}))
    assert (result.problem.entry, result.problem.expected, result.problem.got) == (
        "records/form_data.json", fake, real)


def test_a_missing_file_and_an_extra_file_are_named(tmp_path):
    original = build()
    missing = check(tmp_path, rezip(original, change={"metadata/catalog.json": None}))
    assert (missing.problem.entry, missing.problem.message) == ("metadata/catalog.json", "清单列出的文件在包中缺失")
    extra = check(tmp_path, rezip(original, add={"notes/extra.txt": b"hello"}))
    assert (extra.problem.entry, extra.problem.message) == ("notes/extra.txt", "包中有清单未列出的文件")
    unsafe = check(tmp_path, rezip(original, add={"../evil.txt": b"x"}))
    assert "不安全" in unsafe.problem.message


def test_a_flipped_byte_in_the_zip_file_itself_is_a_crc_failure_of_its_entry(tmp_path):
    original = bytearray(build())
    at = original.index(b"%archive fixture")   # material files are stored uncompressed
    original[at + 3] ^= 0x20
    result = check(tmp_path, bytes(original))
    assert (result.problem.entry, result.ok) == (FILE, False) and "压缩数据校验失败" in result.problem.message


def test_something_that_is_not_a_zip_is_refused_with_a_reason(tmp_path):
    result = check(tmp_path, b"%PDF-1.7 not a zip")
    assert (result.ok, result.problem.entry) == (False, "(zip)") and "不是有效的 zip" in result.problem.message


def test_a_material_missing_from_the_store_fails_the_build(tmp_path):
    package = package_input()
    lost = [MaterialFile(**{**m.__dict__, "open": None}) for m in package.materials]
    with (tmp_path / "x.zip").open("wb") as out, pytest.raises(ArchiveBuildFailed, match="不在材料库中"):
        write_package(out, package.__class__(**{**package.__dict__, "materials": lost}))
