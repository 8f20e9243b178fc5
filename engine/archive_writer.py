"""Write an archive package (归档信息包) as a zip, deterministically, from plain data (no database here).

The same case record always gives the same bytes: entries carry the case's closing time as their
timestamp, fixed permissions and fixed compression, and nothing in the package depends on when it was
built. So a rebuild of an unchanged case reproduces the package and its sha256 exactly. Events and
material files are streamed into the zip (never held in memory whole), hashing each entry as it goes.
"""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Sequence

from . import archive_format as fmt
from .archive_readme import readme_text
from .audit import GENESIS, ChainedEvent
from .clock import CST
from .errors import EngineError

CHUNK = 1024 * 1024


class ArchiveBuildFailed(EngineError):
    """The package could not be produced (a material file is missing, the record is inconsistent)."""

    code = "ARCHIVE_BUILD_FAILED"
    http_status = 409


@dataclass(frozen=True)
class MaterialFile:
    """One received material: its record and, for an uploaded file, how to read its content."""

    key: str
    name: str
    sha256: str | None
    size: int | None
    media_type: str | None
    original_filename: str | None
    license_ref: str | None
    verified_by: str | None
    verified_at: datetime | None
    received_at: datetime
    open: Callable[[], BinaryIO] | None = None
    """Opens the stored file; None for a 电子证照 reference (nothing uploaded)."""


@dataclass(frozen=True)
class PackageInput:
    """Everything a package holds, read from the database by :mod:`engine.archives` (or made by a test)."""

    case: Mapping[str, Any]
    """``case_no``, ``title``, ``status``, ``stage``, ``started_by``, ``clocks``, ``closed_at``."""
    definition: Mapping[str, Any]
    """``process_key``, ``version``, ``name``, ``content_hash``, ``source_name``, ``bpmn_xml``,
    ``resources``, ``form_refs``, ``bundle``."""
    forms: Mapping[str, Mapping[str, Any]]
    """Pinned forms by key: ``version``, ``content_hash``, ``source``."""
    catalog: Mapping[str, Any] | None
    """The matter version: ``code``, ``version``, ``content_hash``, ``name``, ``doc``; None without one."""
    application: Mapping[str, Any] | None
    materials: Sequence[MaterialFile]
    events: Iterable[ChainedEvent]
    handoff: Mapping[str, Any] | None = None
    """The first message the case received: ``name``, ``idempotency_key``, ``sender_case_no``, ``payload``
    (written as :data:`~engine.archive_format.HANDOFF` when the case was opened on it); None without one."""


@dataclass(frozen=True)
class WrittenPackage:
    """What was written: the manifest (with every entry's sha256) and the chain it covers."""

    manifest: dict[str, Any]
    event_count: int
    chain_head: str


class _Zip:
    """A zip being written with fixed entry metadata; each entry's sha256 and size are recorded."""

    def __init__(self, out: BinaryIO, root: str, when: datetime):
        self.zip = zipfile.ZipFile(out, "w")
        self.root = root
        local = when.astimezone(CST)
        self.date_time = (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)
        self.entries: list[dict[str, Any]] = []

    def write(self, path: str, chunks: Iterable[bytes], *, stored: bool = False) -> dict[str, Any]:
        info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=self.date_time)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.create_system, info.external_attr = 3, 0o100644 << 16
        digest, size = hashlib.sha256(), 0
        with self.zip.open(info, "w") as dest:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                dest.write(chunk)
        entry = {"path": path, "sha256": digest.hexdigest(), "size": size, "description": fmt.describe(path)}
        self.entries.append(entry)
        return entry

    def close(self) -> None:
        self.zip.close()


def write_package(out: BinaryIO, package: PackageInput) -> WrittenPackage:
    """Write ``package`` as a zip to ``out`` (a seekable binary file); return its manifest."""
    case_no = package.case["case_no"]
    archive = _Zip(out, case_no, package.case["closed_at"])
    try:
        _write_definition(archive, package)
        if package.catalog is not None:
            archive.write(fmt.CATALOG, [fmt.pretty_json(package.catalog["doc"])])
        if package.application is not None:
            archive.write(fmt.APPLICATION, [fmt.pretty_json(_plain(package.application))])
        facts = fmt.EventFacts(case_no)
        archive.write(fmt.EVENTS, _event_lines(package.events, facts))
        if facts.count == 0:
            raise ArchiveBuildFailed(f"办件 {case_no} 没有审计事件，不能归档", details={"case_no": case_no})
        archive.write(fmt.FORM_DATA, [fmt.pretty_json(facts.form_data())])
        handoff = _write_handoff(archive, package, facts)
        _write_materials(archive, package.materials, facts.recorded_materials(handoff))
        case = {**facts.case_facts(), **_case_extras(package)}
        archive.write(fmt.CASE, [fmt.pretty_json({**case, "stage": package.case.get("stage"),
                                                  "started_by": package.case.get("started_by"),
                                                  "clocks": package.case.get("clocks")})])
        chain = {"event_count": facts.count, "head": facts.head}
        archive.write(fmt.CHAIN_HEAD, [fmt.pretty_json({
            "case_no": case_no, **chain, "genesis": GENESIS,
            "rule": "hash = sha256(prev_hash + '\\n' + canonical_json(case_no, seq, type, at, actor, "
                    "element_id, task_id, payload))"})])
        manifest = {"format": fmt.FORMAT, "format_version": fmt.FORMAT_VERSION, "standard": fmt.STANDARD,
                    "package": case_no, "case": case, "chain": chain, "files": []}
        archive.write(fmt.README, [readme_text(manifest, archive.entries).encode()])
        manifest["files"] = sorted(archive.entries, key=lambda e: e["path"])
        archive.write(fmt.MANIFEST, [fmt.pretty_json(manifest)])
        archive.entries.pop()  # the manifest does not list itself
    finally:
        archive.close()
    return WrittenPackage(manifest, facts.count, str(facts.head))


def _write_definition(archive: _Zip, package: PackageInput) -> None:
    definition = package.definition
    main = fmt.BPMN_DIR + fmt.safe_part(definition.get("source_name") or "main.bpmn")
    archive.write(main, [definition["bpmn_xml"].encode()])
    resources = {}
    for name, xml in sorted(definition["resources"].items()):
        resources[name] = fmt.BPMN_DIR + "resources/" + fmt.safe_part(name)
        archive.write(resources[name], [xml.encode()])
    forms = {}
    for key, form in sorted(package.forms.items()):
        forms[key] = {"version": form["version"], "content_hash": form["content_hash"],
                      "path": f"{fmt.FORMS_DIR}{fmt.safe_part(key)}.form"}
        archive.write(forms[key]["path"], [fmt.pretty_json(form["source"])])
    archive.write(fmt.DEFINITION, [fmt.pretty_json({
        "process_key": definition["process_key"], "version": definition["version"], "name": definition["name"],
        "content_hash": definition["content_hash"], "source_name": definition.get("source_name"),
        "main": main, "resources": resources, "form_refs": dict(definition["form_refs"]),
        "bundle": definition.get("bundle"), "forms": forms})])


def _event_lines(events: Iterable[ChainedEvent], facts: fmt.EventFacts) -> Iterator[bytes]:
    for event in events:
        facts.add(event)
        yield fmt.event_line(event)


def _write_handoff(archive: _Zip, package: PackageInput, facts: fmt.EventFacts) -> Mapping[str, Any] | None:
    """Write the message the case was opened on (its manifest is where the materials came from), if any."""
    started = facts.start_message
    if started is None:
        return None
    handoff = package.handoff
    if handoff is None or handoff.get("idempotency_key") != started.get("idempotency_key"):
        raise ArchiveBuildFailed(f"办件 {package.case['case_no']} 由消息启动，但找不到该消息（移交材料清单）",
                                 details={"idempotency_key": started.get("idempotency_key")})
    archive.write(fmt.HANDOFF, [fmt.pretty_json(handoff)])
    return handoff


def _write_materials(archive: _Zip, materials: Sequence[MaterialFile],
                     recorded: Mapping[Any, tuple[Mapping[str, Any], str, str | None]]) -> None:
    """Write each material's file once, then the list of materials, each naming where it came from.

    Files are named by content, so materials uploaded with the same bytes (intake stores them once) share one
    member of the package. ``recorded`` (:meth:`~engine.archive_format.EventFacts.recorded_materials`) gives
    each material's source: the application, a supplement or the handoff manifest.
    """
    listed = []
    written: set[str] = set()
    for item in sorted(materials, key=lambda m: m.key):
        path = None
        if item.sha256 is not None:
            if item.open is None:
                raise ArchiveBuildFailed(f"材料“{item.name}”的文件不在材料库中（sha256 {item.sha256}）",
                                         details={"material": item.key, "sha256": item.sha256})
            path = fmt.material_path(item.sha256, item.media_type)
        if path is not None and path not in written:
            written.add(path)
            entry = archive.write(path, _chunks(item.open), stored=True)
            if entry["sha256"] != item.sha256:
                raise ArchiveBuildFailed(f"材料“{item.name}”的文件内容与登记的 sha256 不符（材料库文件被改动）",
                                         details={"material": item.key, "expected": item.sha256,
                                                  "got": entry["sha256"]})
        listed.append({"key": item.key, "name": item.name, "sha256": item.sha256, "size": item.size,
                       "media_type": item.media_type, "original_filename": item.original_filename,
                       "license_ref": item.license_ref, "original_verified_by": item.verified_by,
                       "original_verified_at": fmt.local_time(item.verified_at),
                       "received_at": fmt.local_time(item.received_at), "file": path,
                       "source": recorded[item.key][1] if item.key in recorded else None})
    archive.write(fmt.MATERIALS, [fmt.pretty_json(listed)])


def _chunks(opener: Callable[[], BinaryIO]) -> Iterator[bytes]:
    with opener() as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _case_extras(package: PackageInput) -> dict[str, Any]:
    doc = package.catalog["doc"] if package.catalog is not None else {}
    return {"title": package.case.get("title"), "status": package.case.get("status"),
            "matter_name": doc.get("name"), "basic_code": doc.get("basic_code")}


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: fmt.local_time(v) if isinstance(v, datetime) else v for k, v in values.items()}
