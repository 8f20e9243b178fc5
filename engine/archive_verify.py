"""Check an archive package offline: no database, no configuration, only the zip file.

Checks, in order, stopping at the first problem and naming the entry, what was expected and what was found:
the format version, first, wherever a manifest is found (at the top or in one folder: a newer format may lay
the package out otherwise, so one newer than those this verifier reads is refused as such,
``ARCHIVE_VERSION_TOO_NEW``, not as a layout it does not know), the zip itself (one folder named by the
办件编号, CRCs), the manifest (format, version), that the files in the package are exactly
those the manifest lists, each file's size and sha256, the event hash chain line by line, the chain head, every
case fact the manifest states (against the events), the definition's and the forms' content hashes (against
``CaseStarted``), the catalog entry's (against ``MatterReceived``), every field of ``metadata/case.json``
(:mod:`engine.archive_case`, its clocks rebuilt from the clock events by :mod:`engine.archive_clocks`), the form
data (a projection of the events) and the materials manifest (against ``ApplicationReceived``). Every entry is
read streamed and against a limit (:mod:`engine.archive_limits`), so a zip bomb is refused without being
inflated.
"""
from __future__ import annotations

import hashlib
import logging
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from . import archive_format as fmt, archive_limits as limits
from .archive_contents import check_contents
from .archive_problems import ENTRY_TOO_LARGE, VERSION_TOO_NEW, ArchiveProblem, Fail, entry_shown
from .audit import GENESIS, event_hash
from .file_echo import clipped, shown
from .history_input import NotStrictJson, strict_loads
from .parser_text import json_problem

__all__ = ["ArchiveCheck", "ArchiveProblem", "verify_archive"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveCheck:
    """The verdict on one package file.

    Attributes:
        ok: True when every check passed.
        path: the file checked.
        sha256: the zip file's own sha256 (compare with ``tongban archive list``).
        size: the zip file's size in bytes.
        case_no: the 办件编号 the package is named by, when it could be read.
        entries: files the manifest lists.
        events: audit events in the package (as far as they were read).
        chain_head: the last event's hash, when the chain was read to its end.
        problem: the first problem found, when not ok.
    """

    ok: bool
    path: str
    sha256: str
    size: int
    case_no: str | None = None
    entries: int = 0
    events: int = 0
    chain_head: str | None = None
    problem: ArchiveProblem | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``tongban archive verify --json``)."""
        return asdict(self)


def verify_archive(path: str | Path) -> ArchiveCheck:
    """Verify the package at ``path``; never raises for a bad package, only reports it."""
    path = Path(path)
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    reader = _Reader()
    try:
        with _open(path) as package:
            reader.check(package)
    except Fail as failed:
        problem = failed.problem
    except zipfile.LargeZipFile:
        problem = ArchiveProblem("(zip)", "不是有效的 zip 文件（需要 ZIP64 支持）")
    except (zipfile.BadZipFile, EOFError):
        problem = ArchiveProblem("(zip)", "不是有效的 zip 文件（不是 zip 格式，或已损坏、被截断）")
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
        # The chain is not keyed: whoever edits a document can re-hash it, so a check past the chain may meet a
        # shape no check before it refused. Reported, never raised: the verdict on a bad package is a problem.
        log.warning("archive %s: %s while checking %s", path, type(exc).__name__, reader.entry, exc_info=True)
        problem = ArchiveProblem(entry_shown(reader.entry or "(zip)"),
                                 f"内容的结构或类型不符合归档信息包格式，无法校验（{type(exc).__name__}）")
    else:
        problem = None
    return ArchiveCheck(problem is None, str(path), digest.hexdigest(), size, reader.root, reader.listed_count,
                        reader.events, reader.head, problem)


def _open(path: Path) -> zipfile.ZipFile:
    """Open the zip; a member name flagged UTF-8 that is not UTF-8 is a problem of the container."""
    try:
        return zipfile.ZipFile(path)
    except UnicodeDecodeError:
        raise Fail("(zip)", "不是有效的 zip 文件（有文件名标为 UTF-8 编码，实际却不是）") from None


def _loads(path: str, data: bytes) -> Any:
    """Parse one JSON entry strictly (no duplicate key, no NaN); Fail naming the entry otherwise."""
    try:
        return strict_loads(data)
    except NotStrictJson as exc:
        raise Fail(path, f"不是有效的 JSON：{exc}") from None
    except (ValueError, RecursionError) as exc:   # not UTF-8, not JSON, an integer too long
        raise Fail(path, json_problem(exc)) from None


def _check_version(version: Any) -> None:
    """Refuse a format version this verifier does not read; a newer one says to use a newer tongban."""
    if type(version) is int and version in fmt.READABLE_VERSIONS:     # JSON true or 1.0 is no version 1
        return
    readable, newest = "、".join(map(str, fmt.READABLE_VERSIONS)), max(fmt.READABLE_VERSIONS)
    if type(version) is int and version > newest:
        raise Fail(fmt.MANIFEST, f"格式版本 {clipped(version)} 比本程序能校验的版本新（最高为第 {newest} 版），"
                   "请用更新版本的 tongban 校验", readable, version, code=VERSION_TOO_NEW)
    raise Fail(fmt.MANIFEST, "不支持的格式版本", readable, version)


class _Reader:
    """Walks one package; raises :class:`Fail` at the first problem."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.entry: str | None = None
        """The entry read last (named by a problem no check foresaw)."""
        self.listed_count = self.events = 0
        self.head: str | None = None

    def check(self, package: zipfile.ZipFile) -> None:
        self.zip = package
        self._version_first()
        names = self._names()
        manifest = self.json(fmt.MANIFEST)
        self._check_manifest(manifest)
        listed = {entry["path"]: entry for entry in manifest["files"]}
        self.listed_count = len(listed)
        for path in listed:
            if path not in names:
                raise Fail(path, "清单列出的文件在包中缺失")
        for name in sorted(names - set(listed) - {fmt.MANIFEST}):
            raise Fail(name, "包中有清单未列出的文件")
        if fmt.EVENTS not in listed:
            raise Fail(fmt.EVENTS, "缺少该文件（审计事件）")
        limits.check_declared({path: entry["size"] for path, entry in listed.items()}, "清单所列大小")
        for path, entry in listed.items():
            self._check_entry(path, entry)
        facts = self._read_events(manifest["package"])
        check_contents(self, manifest, listed, facts)

    def _version_first(self) -> None:
        """Refuse a format version this verifier does not read before judging the layout, which it defines.

        The manifest is looked for at the top or in one folder. Where there is no single one, its header states
        a size over the limit, it cannot be read or it is not a tongban manifest stating a version, the checks
        that follow say what is wrong.
        """
        found = [i for i in self.zip.infolist()
                 if i.filename.count("/") <= 1 and i.filename.rpartition("/")[2] == fmt.MANIFEST]
        if len(found) != 1 or found[0].file_size > limits.MAX_DOCUMENT_BYTES:
            return
        try:
            manifest = _loads(fmt.MANIFEST, limits.read_whole(self.zip, found[0].filename, fmt.MANIFEST))
        except Fail:     # said again, with the entry's own problem, when the manifest is read below
            return
        if isinstance(manifest, dict) and manifest.get("format") == fmt.FORMAT and "format_version" in manifest:
            try:
                _check_version(manifest["format_version"])
            except Fail:
                self.root = found[0].filename.rpartition("/")[0] or None    # the package's name, where it has one
                raise

    def _names(self) -> set[str]:
        infos = [i for i in self.zip.infolist() if not (i.is_dir() and i.file_size == 0)]
        seen: set[str] = set()
        for info in infos:
            if info.filename in seen:
                raise Fail(info.filename, "包中有重名文件")
            seen.add(info.filename)
            if not fmt.is_safe_entry(info.filename):
                raise Fail(info.filename, "文件名不安全（绝对路径或含 ..）")
        roots = sorted({name.split("/", 1)[0] for name in seen})
        if len(roots) != 1 or any("/" not in name for name in seen):
            raise Fail("(zip)", "归档信息包应只含一个以办件编号命名的文件夹", "1 个文件夹",
                       f"{len(roots)} 个：{'、'.join(clipped(root) for root in roots[:5])}")
        self.root = roots[0]
        # Before anything is inflated: what the headers state (reading counts what really comes out).
        limits.check_declared({i.filename.split("/", 1)[1]: i.file_size for i in infos}, "文件头所载大小")
        return {name.split("/", 1)[1] for name in seen}

    def _check_manifest(self, manifest: Any) -> None:
        if not isinstance(manifest, dict):
            raise Fail(fmt.MANIFEST, "清单应为 JSON 对象")
        if manifest.get("format") != fmt.FORMAT:
            raise Fail(fmt.MANIFEST, "不是 tongban 归档信息包（format 不符）", fmt.FORMAT, manifest.get("format"))
        _check_version(manifest.get("format_version"))
        if manifest.get("standard") != fmt.STANDARD:
            raise Fail(fmt.MANIFEST, "清单中的 standard 被改动", fmt.STANDARD, manifest.get("standard"))
        if manifest.get("package") != self.root:
            raise Fail(fmt.MANIFEST, "清单中的包名与文件夹名不符", self.root, manifest.get("package"))
        for key, kind in (("case", dict), ("chain", dict), ("files", list)):
            if not isinstance(manifest.get(key), kind):
                raise Fail(fmt.MANIFEST, f"清单缺少 {key} 或格式不对")
        seen = set()
        for entry in manifest["files"]:
            if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                    and isinstance(entry.get("sha256"), str) and isinstance(entry.get("size"), int)
                    and not isinstance(entry.get("size"), bool) and entry["size"] >= 0):
                raise Fail(fmt.MANIFEST, "清单的 files 中有格式不对的条目（应有 path、sha256、size）")
            if entry["path"] in seen or entry["path"] == fmt.MANIFEST or not fmt.is_safe_entry(entry["path"]):
                raise Fail(fmt.MANIFEST, f"清单的 files 中有重复或不安全的路径：{shown(entry['path'])}")
            seen.add(entry["path"])

    def _check_entry(self, path: str, entry: dict[str, Any]) -> None:
        digest, size = hashlib.sha256(), 0
        # One byte past the stated size is enough to know it is wrong: nothing beyond is inflated.
        for chunk in limits.chunks(self.zip, f"{self.root}/{path}", path, entry["size"]):
            digest.update(chunk)
            size += len(chunk)
        if size != entry["size"]:
            got = f"{size} 字节" if size <= entry["size"] else f"超过 {entry['size']} 字节"
            raise Fail(path, "文件大小与清单不符", f"{entry['size']} 字节", got)
        if digest.hexdigest() != entry["sha256"]:
            raise Fail(path, "SHA-256 与清单不符（文件被改动）", entry["sha256"], digest.hexdigest())

    def read(self, path: str) -> bytes:
        """The bytes of one document, at most :data:`~engine.archive_limits.MAX_DOCUMENT_BYTES`."""
        self.entry = path
        name = self.zip.getinfo(f"{self.root}/{path}").filename      # KeyError: not in the package
        return limits.read_whole(self.zip, name, path)

    def json(self, path: str) -> Any:
        """Parse one JSON entry; a missing or broken file is a problem of that entry."""
        try:
            data = self.read(path)
        except KeyError:
            raise Fail(path, "缺少该文件") from None
        return _loads(path, data)

    def same(self, path: str, data: bytes) -> bool:
        """Whether the entry holds exactly ``data``, compared chunk by chunk."""
        at = 0
        for chunk in limits.chunks(self.zip, f"{self.root}/{path}", path, len(data)):
            if data[at:at + len(chunk)] != chunk:
                return False
            at += len(chunk)
        return at == len(data)

    def _read_events(self, case_no: str) -> fmt.EventFacts:
        facts, prev, expected_seq = fmt.EventFacts(case_no), GENESIS, 1
        self.entry = fmt.EVENTS
        for number, line in enumerate(self._lines(fmt.EVENTS), start=1):
            try:
                event = fmt.parse_event_line(line)
            except ValueError as exc:
                raise Fail(fmt.EVENTS, f"第 {number} 行：{exc}") from None
            if event.case_no != case_no:
                raise Fail(fmt.EVENTS, f"第 {number} 行：办件编号与包名不符", case_no, event.case_no)
            if event.seq != expected_seq:
                raise Fail(fmt.EVENTS, f"第 {number} 行：事件序号不连续（有事件被删除或插入）", expected_seq, event.seq)
            if event.prev_hash != prev:
                raise Fail(fmt.EVENTS, f"第 {event.seq} 个事件：与前一事件的哈希链接不符", prev, event.prev_hash)
            recomputed = event_hash(prev, case_no=event.case_no, seq=event.seq, event_type=event.event_type,
                                    occurred_at=event.occurred_at, actor=event.actor,
                                    element_id=event.element_id, task_id=event.task_id, payload=event.payload)
            if recomputed != event.hash:
                raise Fail(fmt.EVENTS, f"第 {event.seq} 个事件：内容与其哈希不符（内容被修改）", recomputed,
                           event.hash)
            try:
                facts.add(event)
            except ValueError as exc:
                raise Fail(fmt.EVENTS, f"第 {event.seq} 个事件（{clipped(event.event_type)}）：{exc}") from None
            prev, expected_seq = event.hash, expected_seq + 1
            self.events = facts.count
        if facts.count == 0:
            raise Fail(fmt.EVENTS, "没有审计事件")
        self.head = facts.head
        return facts

    def _lines(self, path: str) -> Iterator[bytes]:
        """The entry's lines, each refused when longer than a document (the entry's size was checked already)."""
        rest, number = b"", 0
        for chunk in limits.chunks(self.zip, f"{self.root}/{path}", path, limits.MAX_RECORD_BYTES):
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                number += 1
                yield self._line(path, number, line + b"\n")
            self._line(path, number + 1, rest)
        if rest:
            yield rest

    @staticmethod
    def _line(path: str, number: int, line: bytes) -> bytes:
        if len(line) > limits.MAX_DOCUMENT_BYTES:
            raise Fail(path, f"第 {number} 行过长，未读取", f"≤ {limits.MAX_DOCUMENT_BYTES} 字节",
                       f"超过 {limits.MAX_DOCUMENT_BYTES} 字节", code=ENTRY_TOO_LARGE)
        return line
