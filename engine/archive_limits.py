"""How much of a package the offline verifier reads: every entry is read streamed, against a limit.

A zip says how large each entry is uncompressed, but a hostile file can say anything, and a few hundred
kilobytes of deflated data can expand to gigabytes (a zip bomb). So the verifier refuses an entry whose header
or manifest size is over its limit before reading it, and counts what it actually inflates, stopping one byte
past the limit: memory stays bounded by the limits, whatever the file claims.

The limits sit far above anything a real package holds (README.md, Archives and exports, lists them): a
material file is at most the upload limit (``TONGBAN_MAX_MATERIAL_BYTES``, 20 MB by default); the documents are
JSON, BPMN and form files of kilobytes (deploy takes BPMN up to 5 MB, forms up to 1 MB).
"""
from __future__ import annotations

import zipfile
import zlib
from typing import IO, Iterator

from . import archive_format as fmt
from .archive_problems import ENTRY_TOO_LARGE, TOO_LARGE, Fail

MIB = 1024 * 1024
MAX_DOCUMENT_BYTES = 16 * MIB
"""A document read whole (JSON, BPMN, form, README.txt), and each line of the events."""
MAX_RECORD_BYTES = 64 * MIB
"""``records/events.jsonl`` and ``records/form_data.json`` (its projection), both read streamed."""
MAX_FILE_BYTES = 2048 * MIB
"""One material file (only hashed, streamed): a hundred times the default upload limit."""
MAX_PACKAGE_BYTES = 8192 * MIB
"""All entries together, uncompressed."""
CHUNK = MIB


def limit_for(path: str) -> int:
    """The largest uncompressed size the verifier reads of the entry at ``path`` (inside the package folder)."""
    if path in (fmt.EVENTS, fmt.FORM_DATA):
        return MAX_RECORD_BYTES
    if path.startswith(fmt.FILES_DIR):
        return MAX_FILE_BYTES
    return MAX_DOCUMENT_BYTES


def check_declared(sizes: dict[str, int], source: str) -> None:
    """Refuse entries whose stated sizes (zip headers or the manifest) are over their limits or in total."""
    for path, size in sizes.items():
        if size > limit_for(path):
            raise too_large(path, limit_for(path), f"{size} 字节（{source}）")
    total = sum(sizes.values())
    if total > MAX_PACKAGE_BYTES:
        raise Fail("(zip)", f"包内文件解压后合计超过上限（{source}），未读取（疑为压缩炸弹）",
                   f"≤ {MAX_PACKAGE_BYTES} 字节", f"{total} 字节", code=TOO_LARGE)


def too_large(path: str, limit: int, got: str | None = None) -> Fail:
    """The problem of an entry over ``limit``; ``got`` says what was stated, by default that reading passed it."""
    return Fail(path, "文件解压后超过上限，未读取（疑为压缩炸弹，或不是 tongban 归档信息包）", f"≤ {limit} 字节",
                got or f"超过 {limit} 字节", code=ENTRY_TOO_LARGE)


def chunks(package: zipfile.ZipFile, name: str, path: str, most: int) -> Iterator[bytes]:
    """The entry's bytes in chunks, stopping once more than ``most`` bytes came out (the caller sees the excess).

    A damaged or unreadable entry is a problem of that entry, never an exception of the zip library.
    """
    try:
        with package.open(name) as handle:
            yield from _bounded(handle, most)
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise Fail(path, "压缩数据校验失败（CRC 不符或数据不完整），文件已损坏或被改动") from None
    except (NotImplementedError, RuntimeError) as exc:    # an unknown compression method, an encrypted entry
        raise Fail(path, f"无法解压（压缩方式不受支持或已加密：{exc}）") from None


def read_whole(package: zipfile.ZipFile, name: str, path: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The whole entry, refused past ``limit`` without reading more than one byte beyond it."""
    data = b"".join(chunks(package, name, path, limit))
    if len(data) > limit:
        raise too_large(path, limit)
    return data


def _bounded(handle: IO[bytes], most: int) -> Iterator[bytes]:
    left = most + 1
    while left > 0:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk
