"""Archive format versions: a new package is version 4, whose ``ClocksStarted`` may name the clocks a 受理
resumed; every package written before still verifies with the README of its own version; and a version newer
than the verifier reads is refused as such (``ARCHIVE_VERSION_TOO_NEW``), before anything else is compared,
even the layout of the zip, which a newer format may change."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Callable

import pytest

from engine import verify_archive
from engine.archive_problems import INVALID, VERSION_TOO_NEW
from tests.unit.archive_fixture import CASE_NO, as_version, build_clocked, build_resumed, entries, rezip

README_CHANGED = ("README.txt", "说明与清单不符（说明被改动）")


def check(tmp_path, package: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    return verify_archive(path)


def test_a_new_package_is_version_4_and_its_readme_says_what_resumed_is_and_why_an_older_tongban_refuses_it(
        tmp_path):
    package = build_resumed()
    result = check(tmp_path, package)
    assert result.ok, result.problem
    files = entries(package)
    assert json.loads(files["manifest.json"])["format_version"] == 4
    started = [json.loads(line) for line in files["records/events.jsonl"].splitlines()][9]
    assert (started["type"], started["payload"]["resumed"]) == (
        "ClocksStarted", {"legal": "correction", "committed": "correction"})
    readme = files["README.txt"].decode()
    assert "格式：tongban-archive 第 4 版" in readme and "时限的天数记入其起算的 ClocksStarted 事件" in readme
    assert "其 ClocksStarted 事件记有 resumed" in readme
    assert "只认识第 1 至 3 版格式的 tongban" in readme and "“不支持的格式版本”拒绝本包" in readme


@pytest.mark.parametrize("build", [build_clocked, build_resumed], ids=["clocked", "resumed"])
def test_a_package_written_in_version_3_keeps_its_readme_and_verifies(tmp_path, build):
    # A version 3 package may hold ``resumed`` too: it was recorded before the format said so.
    old = as_version(build(), 3)
    result = check(tmp_path, old)
    assert result.ok, result.problem
    readme = entries(old)["README.txt"].decode()
    assert "格式：tongban-archive 第 3 版" in readme and "两个声明的时限互换无法发现" in readme
    assert "resumed" not in readme
    refused = check(tmp_path, as_version(build(), 3, readme_version=4))
    assert (refused.problem.entry, refused.problem.message) == README_CHANGED


def test_a_version_4_package_with_the_readme_of_version_3_is_refused(tmp_path):
    refused = check(tmp_path, as_version(build_resumed(), 4, readme_version=3))
    assert (refused.problem.entry, refused.problem.message) == README_CHANGED


def test_a_package_of_a_newer_version_is_refused_as_too_new_before_anything_else_is_compared(tmp_path):
    newer = as_version(build_resumed(), 5)
    manifest = json.loads(entries(newer)["manifest.json"])
    manifest["standard"] = "GB/T 42727—2035"         # a later version may change what it follows, and more
    result = check(tmp_path, rezip(newer, change={"manifest.json": json.dumps(manifest).encode()}))
    problem = result.problem
    assert not result.ok and (problem.entry, problem.code, problem.expected, problem.got) == (
        "manifest.json", VERSION_TOO_NEW, "1、2、3、4", "5")
    assert problem.message == "格式版本 5 比本程序能校验的版本新（最高为第 4 版），请用更新版本的 tongban 校验"
    assert result.case_no == CASE_NO


def laid_out(package: bytes, name: Callable[[str], str]) -> bytes:
    """The package's files (by their path inside its folder) re-packed at the names ``name`` gives them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in entries(package).items():
            archive.writestr(name(path), data)
    return out.getvalue()


@pytest.mark.parametrize("name, case_no", [
    (lambda path: path, None),                                                   # no folder at all
    (lambda path: path if path == "manifest.json" else f"data/{path}", None),    # the manifest beside a folder
    (lambda path: f"{CASE_NO}/{path}" if path == "manifest.json" else f"{CASE_NO}-files/{path}", CASE_NO),
], ids=["flat", "manifest-at-the-top", "two-folders"])
def test_a_package_of_a_newer_version_laid_out_otherwise_is_refused_as_too_new_not_as_a_broken_layout(
        tmp_path, name, case_no):
    result = check(tmp_path, laid_out(as_version(build_resumed(), 5), name))
    problem = result.problem
    assert not result.ok and (problem.entry, problem.code, problem.got) == ("manifest.json", VERSION_TOO_NEW, "5")
    assert result.case_no == case_no


@pytest.mark.parametrize("version", [4, 5])
@pytest.mark.parametrize("name", [
    lambda path: f"{CASE_NO}/{path}" if path != "README.txt" else f"{CASE_NO}-copy/manifest.json",  # 2 named so
    lambda path: f"outer/{CASE_NO}/{path}",                                                          # one too deep
], ids=["two-manifests", "nested"])
def test_where_no_single_manifest_can_be_read_the_layout_is_the_problem(tmp_path, version, name):
    result = check(tmp_path, laid_out(as_version(build_resumed(), version), name))
    assert not result.ok and result.problem.code == INVALID, result.problem
    assert (result.problem.entry, result.problem.message) in {
        ("(zip)", "归档信息包应只含一个以办件编号命名的文件夹"), ("manifest.json", "缺少该文件")}


def test_a_package_of_a_known_version_laid_out_otherwise_is_a_layout_problem(tmp_path):
    result = check(tmp_path, laid_out(build_resumed(), lambda path: path))
    assert not result.ok and (result.problem.entry, result.problem.message) == (
        "(zip)", "归档信息包应只含一个以办件编号命名的文件夹")


@pytest.mark.parametrize("version", [None, 0, -1, "4", 4.0, True], ids=repr)
def test_a_version_that_is_not_one_of_the_known_numbers_is_unsupported(tmp_path, version):
    # JSON true equals 1 in Python: a verifier comparing with == took it for version 1 and verified the package.
    result = check(tmp_path, as_version(build_clocked(), version))
    problem = result.problem
    assert not result.ok and (problem.entry, problem.message, problem.code) == (
        "manifest.json", "不支持的格式版本", INVALID), problem
    assert problem.expected == "1、2、3、4"
