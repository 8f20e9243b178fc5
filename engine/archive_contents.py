"""The second half of the offline archive check: every document is tied to the verified event chain.

By the time these checks run, each file matches the manifest's sha256 and the events form an intact
chain. What remains is whether the manifest and the documents tell the truth about that chain: a package
whose files and manifest were edited together is caught here.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Protocol

from . import archive_format as fmt
from .archive_case import check_case_record
from .archive_clocks import declared_budgets
from .archive_problems import Fail, entry_shown, shown
from .archive_readme import readme_text
from .audit import canonical_json
from .definitions import definition_content_hash
from .file_echo import clipped
from .messages import payload_digest
from .parser_text import json_problem


class PackageReader(Protocol):
    """What the checks need from the package being read."""

    def read(self, path: str) -> bytes:
        """The bytes of one entry (a document, read whole within the verifier's limit)."""

    def json(self, path: str) -> Any:
        """One entry parsed as JSON."""

    def same(self, path: str, data: bytes) -> bool:
        """Whether the entry holds exactly ``data`` (streamed, so it may be larger than a document)."""


def check_contents(reader: PackageReader, manifest: Mapping[str, Any], listed: Mapping[str, Mapping[str, Any]],
                   facts: fmt.EventFacts) -> None:
    """Raise :class:`Fail` at the first document that disagrees with the events."""
    _check_chain(reader, manifest, facts)
    derived = facts.case_facts()
    for key in fmt.MANIFEST_CASE_KEYS:
        if key not in manifest["case"]:
            raise Fail(fmt.MANIFEST, f"清单的 case 缺少 {key}")
    for key in sorted(set(manifest["case"]) - set(fmt.MANIFEST_CASE_KEYS), key=str):
        raise Fail(fmt.MANIFEST, f"清单的 case 中有多余的 {clipped(key)}")
    for key in fmt.DERIVED_CASE_KEYS:
        if manifest["case"].get(key) != derived[key]:
            raise Fail(fmt.MANIFEST, f"清单中的 case.{key} 与审计事件不符", derived[key], manifest["case"].get(key))
    case = _object(reader, fmt.CASE)
    for key, value in manifest["case"].items():
        if case.get(key) != value:
            raise Fail(fmt.CASE, f"{key} 与清单不符", value, case.get(key))
    for path, entry in listed.items():
        if entry.get("description") != fmt.describe(path):
            raise Fail(fmt.MANIFEST, f"清单中 {entry_shown(path)} 的说明被改动", fmt.describe(path),
                       entry.get("description"))
    diagrams = _check_definition(reader, listed, facts)
    catalog = _check_catalog(reader, manifest, listed, facts)
    # The diagram and the catalog entry are tied to the chain now: they say which budgets a clock may have.
    check_case_record(case, facts, declared_budgets(diagrams, catalog))
    _check_form_data(reader, facts)
    _check_materials(reader, listed, facts, _check_handoff(reader, listed, facts))
    # Last: the README lists what the package holds, so a document taken out with its manifest entry would
    # show here first, under a vaguer reason than the check of that document gives.
    readme = readme_text({**manifest, "files": []}, [e for p, e in listed.items() if p != fmt.README])
    if fmt.README in listed and reader.read(fmt.README) != readme.encode():
        raise Fail(fmt.README, "说明与清单不符（说明被改动）")


def _check_chain(reader: PackageReader, manifest: Mapping[str, Any], facts: fmt.EventFacts) -> None:
    chain = manifest["chain"]
    if chain.get("event_count") != facts.count:
        raise Fail(fmt.MANIFEST, "清单中的事件数与审计事件不符（事件被删除或增加）", str(facts.count),
                   shown(chain.get("event_count")))
    if chain.get("head") != facts.head:
        raise Fail(fmt.MANIFEST, "清单中的链头与最后一个事件的哈希不符", facts.head, shown(chain.get("head")))
    head = _object(reader, fmt.CHAIN_HEAD)
    for key, value in (("case_no", facts.case_no), ("event_count", facts.count), ("head", facts.head)):
        if head.get(key) != value:
            raise Fail(fmt.CHAIN_HEAD, f"{key} 与审计事件不符", shown(value), shown(head.get(key)))


def _check_definition(reader: PackageReader, listed: Mapping[str, Any], facts: fmt.EventFacts) -> list[str]:
    """Tie the definition to ``CaseStarted`` (or the last ``CaseMigrated``); return its BPMN texts (main first)."""
    doc = _object(reader, fmt.DEFINITION)
    derived = facts.case_facts()
    for key, fact in (("process_key", "process_key"), ("version", "definition_version"),
                      ("content_hash", "definition_hash")):
        if doc.get(key) != derived[fact]:
            which = "CaseMigrated（最后一次迁移）" if facts.migrated else "CaseStarted"
            raise Fail(fmt.DEFINITION, f"{key} 与 {which} 事件记录的流程版本不符", shown(derived[fact]),
                       shown(doc.get(key)))
    resources = doc.get("resources")
    form_refs, forms = doc.get("form_refs"), doc.get("forms")
    if not (isinstance(resources, dict) and isinstance(form_refs, dict) and isinstance(forms, dict)):
        raise Fail(fmt.DEFINITION, "缺少 resources、form_refs 或 forms")
    main = _member(reader, listed, fmt.DEFINITION, doc.get("main"), fmt.BPMN_DIR).decode("utf-8", "replace")
    texts = {name: _member(reader, listed, fmt.DEFINITION, path, fmt.BPMN_DIR).decode("utf-8", "replace")
             for name, path in resources.items()}
    recomputed = definition_content_hash(main, texts, form_refs, doc.get("bundle"))
    if recomputed != doc["content_hash"]:
        where = doc["main"] if not resources else fmt.DEFINITION
        raise Fail(where, "流程图与表单引用的内容哈希与办件锁定的版本不符（流程定义被改动）", doc["content_hash"],
                   recomputed)
    pinned = dict(form_refs)
    bundle = doc.get("bundle")
    if isinstance(bundle, dict) and bundle.get("form"):
        pinned[bundle["form"]] = bundle.get("form_hash")
    for key, expected in sorted(pinned.items()):
        form = forms.get(key)
        if not isinstance(form, dict):
            raise Fail(fmt.DEFINITION, f"缺少流程引用的表单 {clipped(key)}", expected, None)
        path = form.get("path")
        source = _parse(path, _member(reader, listed, fmt.DEFINITION, path, fmt.FORMS_DIR))
        got = hashlib.sha256(canonical_json(source).encode()).hexdigest()
        if got != expected or form.get("content_hash") != expected:
            raise Fail(path, f"表单 {clipped(key)} 的内容哈希与流程锁定的版本不符", expected, got)
    return [main, *texts.values()]


def _check_catalog(reader: PackageReader, manifest: Mapping[str, Any], listed: Mapping[str, Any],
                   facts: fmt.EventFacts) -> dict[str, Any] | None:
    """Tie the catalog entry to ``MatterReceived``; return it (None: the case was not received for a matter)."""
    if facts.matter is None:
        if fmt.CATALOG in listed:
            raise Fail(fmt.CATALOG, "审计事件中没有 MatterReceived，包中却有事项目录条目")
        return None
    doc = _object(reader, fmt.CATALOG)
    got = hashlib.sha256(canonical_json(doc).encode()).hexdigest()
    if got != facts.matter.get("content_hash"):
        raise Fail(fmt.CATALOG, "事项目录条目的内容哈希与 MatterReceived 事件不符（条目被改动）",
                   shown(facts.matter.get("content_hash")), got)
    for key, doc_key in (("matter_name", "name"), ("basic_code", "basic_code")):
        if manifest["case"].get(key) != doc.get(doc_key):
            raise Fail(fmt.MANIFEST, f"清单中的 case.{key} 与事项目录条目不符", doc.get(doc_key),
                       manifest["case"].get(key))
    return doc


def _check_form_data(reader: PackageReader, facts: fmt.EventFacts) -> None:
    expected = facts.form_data()
    # The projection of the events, byte for byte as the builder wrote it: compared streamed, as it may be large.
    if reader.same(fmt.FORM_DATA, fmt.pretty_json(expected)):
        return
    got = _object(reader, fmt.FORM_DATA)
    if got == expected:
        return
    if got.get("initial") != expected["initial"] or got.get("case_no") != expected["case_no"]:
        raise Fail(fmt.FORM_DATA, "办件初始数据与 CaseStarted 事件不符", shown(expected["initial"]),
                   shown(got.get("initial")))
    mine = got.get("submissions") if isinstance(got.get("submissions"), list) else []
    for index, submission in enumerate(expected["submissions"]):
        other = mine[index] if index < len(mine) else None
        if other != submission:
            raise Fail(fmt.FORM_DATA, f"第 {submission['seq']} 个事件提交的表单数据与审计事件不符",
                       shown(submission), shown(other))
    raise Fail(fmt.FORM_DATA, "表单数据比审计事件多", str(len(expected["submissions"])), str(len(mine)))


def _check_handoff(reader: PackageReader, listed: Mapping[str, Any], facts: fmt.EventFacts) -> dict[str, Any] | None:
    """Tie the message the case was opened on to its ``MessageReceived`` event; return it (None: no such case)."""
    started = facts.start_message
    if started is None:
        if fmt.HANDOFF in listed:
            raise Fail(fmt.HANDOFF, "办件不是由消息启动的，包中却有移交消息")
        return None
    if fmt.HANDOFF not in listed:
        raise Fail(fmt.HANDOFF, "办件由消息启动（MessageReceived），包中缺少该消息（移交材料清单）")
    doc = _object(reader, fmt.HANDOFF)
    payload = doc.get("payload")
    got = payload_digest(payload) if isinstance(payload, dict) else None
    if got != started.get("payload_sha256"):
        raise Fail(fmt.HANDOFF, "移交消息内容的哈希与 MessageReceived 事件不符（消息被改动）",
                   shown(started.get("payload_sha256")), shown(got))
    for key in ("idempotency_key", "sender_case_no"):
        if doc.get(key) != started.get(key):
            raise Fail(fmt.HANDOFF, f"{key} 与 MessageReceived 事件不符", shown(started.get(key)), shown(doc.get(key)))
    return doc


def _check_materials(reader: PackageReader, listed: Mapping[str, Any], facts: fmt.EventFacts,
                     handoff: Mapping[str, Any] | None) -> None:
    items = reader.json(fmt.MATERIALS)
    if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
        raise Fail(fmt.MATERIALS, "材料清单应为对象列表，每项有 key")
    for number, item in enumerate(items, start=1):
        # A key is text, as the events record it (a list or an object could not even be looked up).
        if not isinstance(item["key"], (str, type(None))):
            raise Fail(fmt.MATERIALS, f"材料清单第 {number} 项的 key 应为文本", "文本", item["key"])
    by_key = {item["key"]: item for item in items}
    # An application's materials come from ApplicationReceived (and 补正); a case opened on a handoff message
    # takes the manifest of that message, whose hash the MessageReceived event records.
    recorded = facts.recorded_materials(handoff)
    origin = "移交消息的材料清单" if facts.application_materials is None and facts.start_message is not None \
        else "ApplicationReceived 事件记录的材料"
    for key in sorted(set(by_key) - set(recorded), key=str):
        raise Fail(fmt.MATERIALS, f"材料 {clipped(key)} 不在{origin}中")
    for key, (record, source, verifier) in recorded.items():
        item = by_key.get(key)
        if item is None:
            raise Fail(fmt.MATERIALS, f"缺少{origin}中的材料 {clipped(key)}")
        # Packages built before materials named their source held application materials only.
        for field, value in (("sha256", record.get("sha256")), ("license_ref", record.get("license_ref")),
                             ("original_verified_by", verifier), ("source", source)):
            got = item.get(field, "application") if field == "source" else item.get(field)
            if got != value:
                raise Fail(fmt.MATERIALS, f"材料 {clipped(key)} 的 {field} 与{origin}不符", shown(value), shown(got))
        if item.get("sha256") is None:
            continue
        path = fmt.material_path(item["sha256"], item.get("media_type"))
        if item.get("file") != path or path not in listed:
            raise Fail(fmt.MATERIALS, f"材料 {clipped(key)} 的文件不在包中", path, shown(item.get("file")))
        if listed[path]["sha256"] != item["sha256"] or listed[path]["size"] != item.get("size"):
            raise Fail(path, f"材料 {clipped(key)} 的文件与材料清单登记的 SHA-256 或大小不符", item["sha256"],
                       listed[path]["sha256"])


def _member(reader: PackageReader, listed: Mapping[str, Any], source: str, path: Any, folder: str) -> bytes:
    if not isinstance(path, str) or not path.startswith(folder) or path not in listed:
        raise Fail(source, "引用的文件不在包中", folder + "…", shown(path))
    return reader.read(path)


def _parse(path: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:   # not UTF-8, not JSON, an integer too long
        raise Fail(path, json_problem(exc)) from None


def _object(reader: PackageReader, path: str) -> dict[str, Any]:
    value = reader.json(path)
    if not isinstance(value, dict):
        raise Fail(path, "应为 JSON 对象")
    return value


