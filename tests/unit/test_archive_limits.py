"""The verifier reads every entry streamed against a limit: a zip bomb is refused with bounded memory."""
from __future__ import annotations

import json
import time
import tracemalloc
import zipfile
import zlib

import pytest

from engine import archive_limits, verify_archive
from engine.archive_problems import ENTRY_TOO_LARGE, TOO_LARGE
from tests.unit.archive_fixture import CASE_NO, PDF, build, entries, rezip, sha

FILE = f"materials/files/{sha(PDF)}.pdf"
MIB = 1024 * 1024


def bomb(path, name: str, size: int, *, header_size: int | None = None) -> None:
    """A zip whose entry ``name`` inflates to ``size`` bytes of one JSON string, written without holding it.

    ``header_size`` makes the central directory state another size (a lying header).
    """
    info = zipfile.ZipInfo(f"{CASE_NO}/{name}")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open(info, "w", force_zip64=True) as entry:
            entry.write(b'"')
            for _ in range(size // MIB):
                entry.write(b" " * MIB)
            entry.write(b'"')
    if header_size is not None:
        # zipfile takes the size from the central directory header: 4 bytes at offset 24 of "PK\x01\x02".
        data = bytearray(path.read_bytes())
        at = data.rindex(b"PK\x01\x02") + 24
        data[at:at + 4] = header_size.to_bytes(4, "little")
        path.write_bytes(bytes(data))
        with zipfile.ZipFile(path) as archive:
            assert archive.infolist()[0].file_size == header_size


def measured(path):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = verify_archive(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak, time.perf_counter() - started


def test_a_manifest_that_inflates_to_200_mb_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "bomb.zip"
    bomb(path, "manifest.json", 200 * MIB)
    assert path.stat().st_size < 400 * 1024                       # QA's was 194 KB
    result, peak, seconds = measured(path)
    assert (result.ok, result.problem.entry, result.problem.code) == (False, "manifest.json", ENTRY_TOO_LARGE)
    assert result.problem.expected == f"≤ {archive_limits.MAX_DOCUMENT_BYTES} 字节"
    assert "文件头" in result.problem.got and "压缩炸弹" in result.problem.message
    assert peak < 8 * MIB and seconds < 2, (peak, seconds)


def test_a_header_that_understates_the_size_does_not_let_more_be_read(tmp_path):
    path = tmp_path / "liar.zip"
    bomb(path, "manifest.json", 64 * MIB, header_size=1 * MIB)
    result, peak, _ = measured(path)
    assert not result.ok and result.problem.entry == "manifest.json", result.problem
    assert peak < 8 * MIB, peak


def test_an_entry_read_past_its_limit_stops_one_byte_beyond_it(tmp_path, monkeypatch):
    path = tmp_path / "big.zip"
    bomb(path, "manifest.json", 4 * MIB)
    monkeypatch.setattr(archive_limits, "MAX_DOCUMENT_BYTES", MIB)
    with zipfile.ZipFile(path) as archive:
        name = archive.namelist()[0]
        with pytest.raises(archive_limits.Fail) as refused:
            archive_limits.read_whole(archive, name, "manifest.json", MIB)
        assert sum(map(len, archive_limits.chunks(archive, name, "manifest.json", MIB))) == MIB + 1
    assert (refused.value.problem.code, refused.value.problem.got) == (ENTRY_TOO_LARGE, f"超过 {MIB} 字节")


def test_a_manifest_stating_a_size_over_the_limit_is_refused_before_the_file_is_read(tmp_path):
    original = build()
    manifest = json.loads(entries(original)["manifest.json"])
    for entry in manifest["files"]:
        if entry["path"] == FILE:
            entry["size"] = 3 * 1024 * MIB
    result = verify_archive(_write(tmp_path, rezip(original, change={"manifest.json": json.dumps(manifest).encode()})))
    assert (result.problem.entry, result.problem.code) == (FILE, ENTRY_TOO_LARGE)
    assert result.problem.got == f"{3 * 1024 * MIB} 字节（清单所列大小）"


def test_limits_per_kind_of_entry_and_in_total(tmp_path, monkeypatch):
    path = _write(tmp_path, build())
    monkeypatch.setattr(archive_limits, "MAX_FILE_BYTES", len(PDF) - 1)
    assert (verify_archive(path).problem.entry, verify_archive(path).problem.code) == (FILE, ENTRY_TOO_LARGE)
    monkeypatch.undo()
    monkeypatch.setattr(archive_limits, "MAX_PACKAGE_BYTES", 1000)
    result = verify_archive(path)
    assert (result.problem.entry, result.problem.code) == ("(zip)", TOO_LARGE) and "合计" in result.problem.message


def test_real_packages_are_far_below_every_limit(tmp_path):
    assert archive_limits.MAX_FILE_BYTES >= 100 * 20 * MIB                 # 100 x the default material limit
    assert archive_limits.MAX_DOCUMENT_BYTES >= 3 * 5 * MIB                # BPMN is deployed up to 5 MB
    assert archive_limits.MAX_RECORD_BYTES >= 4 * archive_limits.MAX_DOCUMENT_BYTES
    assert verify_archive(_write(tmp_path, build())).ok


def test_a_corrupt_deflate_stream_is_a_problem_of_its_entry(tmp_path):
    original = bytearray(build())
    with zipfile.ZipFile(_write(tmp_path, bytes(original))) as archive:
        info = archive.getinfo(f"{CASE_NO}/records/form_data.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    original[start:start + 8] = zlib.compress(b"x")[:8]
    result = verify_archive(_write(tmp_path, bytes(original)))
    assert result.problem.entry == "records/form_data.json" and "压缩数据" in result.problem.message


def _write(tmp_path, data: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(data)
    return path
