"""The archive package format (归档信息包): paths, JSON conventions and the facts derived from the events.

The builder (reads the database) and the offline verifier (reads only the zip) share this module, so they
agree on every path and every derived fact. Layout, after GB/T 42727—2023 as DOMAIN.md describes it (the
package is named by the 办件编号 and holds metadata, the electronic files and their check values)::

    <办件编号>/README.txt                 what the package is, for people (Chinese)
    <办件编号>/manifest.json              metadata + every file's sha256 and size (校验信息)
    <办件编号>/metadata/case.json         the case (办件) record
    <办件编号>/metadata/catalog.json      the matter catalog entry (事项目录) as received under
    <办件编号>/metadata/application.json  the application (办事申请), when received at intake
    <办件编号>/metadata/handoff.json      the message a case started on (异地代收代办 移交), with its manifest
    <办件编号>/metadata/chain_head.json   the case's audit chain head
    <办件编号>/definition/...             definition.json, the BPMN files exactly as pinned, the pinned forms
    <办件编号>/records/events.jsonl       every audit event, one JSON object per line, with both hashes
    <办件编号>/records/form_data.json     the data submitted at each step (a projection of the events)
    <办件编号>/materials/materials.json   materials manifest; materials/files/<sha256>.<ext> the files

Every fact the manifest states about the case is derived from the hash-chained events (and checked
against them offline); the definition, forms and catalog entry are tied to the chain by their content
hashes, which the ``CaseStarted`` and ``MatterReceived`` events record. A case started by a message
(the owning district's case of an 异地代收代办) has no ``ApplicationReceived``: its materials come from the
handoff manifest in that message, which ``metadata/handoff.json`` holds and the ``MessageReceived`` event ties
to the chain by its ``payload_sha256``. Each entry of ``materials.json`` says where it came from
(``source``: ``application``, ``supplement`` or ``handoff``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from . import clock_changes
from .audit import ChainedEvent
from .clock import CST
from .file_echo import shown
from .history_input import NotStrictJson, strict_loads, unstorable_problem
from .parser_text import json_problem

FORMAT = "tongban-archive"
FORMAT_VERSION = 4
"""The version this engine writes. Version 2 added to README.txt what the event chain does not protect;
version 3 says there that ``ClocksStarted`` records every clock's budget (older cases' 受理 clocks excepted);
version 4 that a ``ClocksStarted`` may record the clocks its 受理 resumed (``resumed``), which a verifier of
version 3 would not rebuild: it refuses a version 4 package as of a version it does not know instead of
reporting a false mismatch of the clocks."""
READABLE_VERSIONS = (1, 2, 3, 4)
"""Versions the verifier reads: every package ever written still verifies (a package written in version 3
after ``resumed`` was recorded, before version 4, too)."""
STANDARD = "GB/T 42727—2023《政务服务事项电子文件归档规范》"

README = "README.txt"
MANIFEST = "manifest.json"
CASE = "metadata/case.json"
CATALOG = "metadata/catalog.json"
APPLICATION = "metadata/application.json"
HANDOFF = "metadata/handoff.json"
CHAIN_HEAD = "metadata/chain_head.json"
DEFINITION = "definition/definition.json"
BPMN_DIR = "definition/bpmn/"
FORMS_DIR = "definition/forms/"
EVENTS = "records/events.jsonl"
FORM_DATA = "records/form_data.json"
MATERIALS = "materials/materials.json"
FILES_DIR = "materials/files/"

DESCRIPTIONS = {
    README: "说明", CASE: "办件元数据", CATALOG: "事项目录条目", APPLICATION: "办事申请",
    HANDOFF: "移交消息（含移交材料清单）",
    CHAIN_HEAD: "审计哈希链链头", DEFINITION: "流程定义说明", EVENTS: "审计事件（哈希链）",
    FORM_DATA: "表单数据", MATERIALS: "申请材料清单",
}
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "application/ofd": ".ofd"}

MATERIAL_SOURCES = {"application": "收件时提交", "supplement": "补正时提交", "handoff": "收件地移交"}
"""Where a material of the package came from (``source`` in ``materials.json``), as people read it."""
OPENING_EVENTS = frozenset({"CaseStarted", "MatterReceived", "GrantExercised"})
"""The events recorded before the inputs a case was opened with (a starting message comes right after)."""

DERIVED_CASE_KEYS = ("case_no", "owning_district", "receiving_district", "started_at", "ended_at", "process_key",
                     "definition_version", "definition_hash", "matter_code", "matter_version", "matter_hash")
"""The manifest's case facts that the events determine (the verifier recomputes each)."""
MANIFEST_CASE_KEYS = DERIVED_CASE_KEYS + ("title", "status", "matter_name", "basic_code")
"""Every case fact of the manifest: the derived ones, the title, the status and the catalog entry's name and code."""
CASE_KEYS = MANIFEST_CASE_KEYS + ("stage", "started_by", "clocks")
"""Every field of ``metadata/case.json`` (the same in every format version)."""
CLOCK_EVENTS = frozenset(clock_changes.CLOCK_EVENTS)
"""The events that change a case's clocks (the ones :mod:`engine.archive_clocks` reads)."""


def describe(path: str) -> str:
    """The Chinese description of an entry, for the manifest."""
    if path.startswith(BPMN_DIR):
        return "流程图（BPMN，与办件锁定的版本逐字节一致）"
    if path.startswith(FORMS_DIR):
        return "表单定义（form-js）"
    if path.startswith(FILES_DIR):
        return "申请材料电子文件"
    return DESCRIPTIONS.get(path, "")


def pretty_json(value: Any) -> bytes:
    """Readable, deterministic JSON (sorted keys, UTF-8 text kept as is), ending with a newline."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def utc_instant(value: datetime) -> str:
    """The instant as the event hash covers it: UTC with microseconds (``2026-11-23T01:00:00.000000Z``)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc_instant(text: str) -> datetime:
    """Parse :func:`utc_instant`'s format back; ValueError for anything else."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def local_time(value: datetime | None) -> str | None:
    """The instant in China Standard Time, ISO 8601 with offset, for people."""
    return None if value is None else value.astimezone(CST).isoformat()


def event_line(event: ChainedEvent) -> bytes:
    """One line of ``events.jsonl``: every hashed field plus ``prev_hash`` and ``hash``."""
    record = {"case_no": event.case_no, "seq": event.seq, "type": event.event_type,
              "at": utc_instant(event.occurred_at), "actor": event.actor, "element_id": event.element_id,
              "task_id": event.task_id, "payload": event.payload, "prev_hash": event.prev_hash,
              "hash": event.hash}
    return (json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()


EVENT_TYPES = {"case_no": (str,), "seq": (int,), "type": (str,), "at": (str,), "actor": (str, type(None)),
               "element_id": (str, type(None)), "task_id": (int, type(None)), "payload": (dict,),
               "prev_hash": (str,), "hash": (str,)}
"""Each field of an ``events.jsonl`` line and the JSON types it may have (true/false is no integer)."""


def parse_event_line(line: bytes) -> ChainedEvent:
    """Read one ``events.jsonl`` line; ValueError naming what is wrong.

    The line must be strict JSON (no duplicate key, no NaN), hold no text a database cannot store (a lone
    surrogate cannot be hashed) and give each field its type (:data:`EVENT_TYPES`): the chain is not keyed,
    so a line re-hashed after an edit reaches every check that follows whatever it holds.
    """
    try:
        record = strict_loads(line)
    except NotStrictJson as exc:
        raise ValueError(f"不是有效的 JSON：{exc}") from None
    except (ValueError, RecursionError) as exc:   # not UTF-8, not JSON, an integer too long
        raise ValueError(json_problem(exc)) from None
    if not isinstance(record, dict):
        raise ValueError("应为 JSON 对象")
    missing = [k for k in EVENT_TYPES if k not in record]
    if missing:
        raise ValueError(f"缺少字段 {'、'.join(missing)}")
    wrong = [k for k, kinds in EVENT_TYPES.items()
             if not isinstance(record[k], kinds) or isinstance(record[k], bool)]
    if wrong:
        raise ValueError(f"字段 {'、'.join(wrong)} 的类型不对（seq 应为整数、task_id 为整数或 null、payload 为对象，"
                         "其余为文本）")
    problem = unstorable_problem(record)
    if problem is not None:
        raise ValueError(problem)
    try:
        at = parse_utc_instant(record["at"])
    except ValueError:
        raise ValueError(f"时间格式不正确：{shown(record['at'])}") from None
    return ChainedEvent(record["case_no"], record["seq"], record["type"], at, record["actor"],
                        record["element_id"], record["task_id"], record["payload"], record["prev_hash"],
                        record["hash"])


def safe_part(name: str) -> str:
    """A file name from a deployed resource name: path parts kept, nothing that climbs out of the folder."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "unnamed.bpmn"


def is_safe_entry(name: str) -> bool:
    """Whether a zip entry name stays inside the package folder (no absolute path, no ``..``)."""
    return not (name.startswith("/") or "\\" in name or ":" in name.split("/")[0]
                or any(p in ("..", ".") for p in name.split("/")))


def material_path(sha256: str, media_type: str | None) -> str:
    """Where a material's file lives in the package: named by its content hash."""
    return f"{FILES_DIR}{sha256}{EXTENSIONS.get(media_type or '', '')}"


@dataclass
class EventFacts:
    """What the events say about the case, accumulated one event at a time (builder and verifier alike)."""

    case_no: str
    count: int = 0
    head: str | None = None
    started: ChainedEvent | None = None
    completed_at: datetime | None = None
    matter: Mapping[str, Any] | None = None
    application_materials: list[Mapping[str, Any]] | None = None
    application_actor: str | None = None
    material_sources: dict[str, str] = field(default_factory=dict)
    start_message: Mapping[str, Any] | None = None
    """The ``MessageReceived`` payload of the message the case was opened on (None: not message-started)."""
    opening: bool = True
    task_names: dict[int, str] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    clock_events: list[ChainedEvent] = field(default_factory=list)
    """The events that changed the clocks (:data:`CLOCK_EVENTS`), in order."""
    migrated: Mapping[str, Any] | None = None
    """The last ``CaseMigrated`` payload (the definition the case ran on last), None when never migrated."""

    def add(self, event: ChainedEvent) -> None:
        """Take in the next event of the chain.

        Raises:
            ValueError: a field this reads has the wrong shape (the materials of an application or a
                supplement are not a list of objects): the verifier reports it as a problem of the events.
        """
        self.count, self.head = self.count + 1, event.hash
        payload = event.payload
        if event.event_type == "CaseStarted" and self.started is None:
            self.started = event
        elif event.event_type == "CaseCompleted":
            self.completed_at = event.occurred_at
        elif event.event_type == "MatterReceived" and self.matter is None:
            self.matter = payload
        elif event.event_type == "MessageReceived" and self.start_message is None and self.opening:
            self.start_message = payload
        elif event.event_type == "ApplicationReceived" and self.application_materials is None:
            self.application_materials = _materials(payload)
            self.application_actor = event.actor
            self.material_sources = {m.get("key"): "application" for m in self.application_materials}
        elif event.event_type == "SupplementReceived" and self.application_materials is not None:
            # 网上补正 replaces (or adds) the material of each key; no original was verified online.
            supplied = {m.get("key"): {**m, "original_verified": False} for m in _materials(payload)}
            self.application_materials = [m for m in self.application_materials if m.get("key") not in supplied]
            self.application_materials += list(supplied.values())
            self.material_sources.update({key: "supplement" for key in supplied})
        elif event.event_type == "TaskCreated" and event.task_id is not None:
            self.task_names[event.task_id] = str(payload.get("name") or "")
        elif event.event_type == "TaskCompleted":
            self.submissions.append({
                "seq": event.seq, "at": local_time(event.occurred_at), "actor": event.actor,
                "element_id": event.element_id, "task_id": event.task_id,
                "task_name": self.task_names.get(event.task_id or -1), "data": payload.get("data") or {}})
        elif event.event_type == "CaseMigrated":
            self.migrated = payload
        if event.event_type in CLOCK_EVENTS:
            self.clock_events.append(event)
        if event.event_type not in OPENING_EVENTS:
            self.opening = False

    def recorded_materials(self, handoff: Mapping[str, Any] | None) -> dict[Any, tuple[Mapping[str, Any], str,
                                                                                      str | None]]:
        """Every material the record names: key -> (its record, its source, who verified its original).

        An application's materials are those of ``ApplicationReceived`` (and later ``SupplementReceived``);
        the clerk who received the application is the one who saw the originals at the counter. A case
        opened on a message takes the manifest of that message (``handoff``, the content of
        :data:`HANDOFF`, already checked against the event), with the verifier each entry names.
        """
        if self.application_materials is not None:
            return {m.get("key"): (m, self.material_sources.get(m.get("key"), "application"),
                                   self.application_actor if m.get("original_verified") else None)
                    for m in self.application_materials}
        manifest = ((handoff or {}).get("payload") or {}).get("manifest")
        if self.start_message is None or not isinstance(manifest, list):
            return {}
        return {m.get("key"): (m, "handoff", m.get("original_verified_by")) for m in manifest
                if isinstance(m, Mapping)}

    def case_facts(self) -> dict[str, Any]:
        """The manifest's derived case facts (:data:`DERIVED_CASE_KEYS`)."""
        started = self.started.payload if self.started is not None else {}
        matter = self.matter or {}
        return {
            "case_no": self.case_no, "owning_district": started.get("owning_district"),
            "receiving_district": started.get("receiving_district"),
            "started_at": local_time(self.started.occurred_at) if self.started is not None else None,
            "ended_at": local_time(self.completed_at), "process_key": started.get("process_key"),
            # The package holds the definition the case ran on last: a migration's target, else the start's.
            "definition_version": (self.migrated or {}).get("to_version", started.get("definition_version")),
            "definition_hash": (self.migrated or {}).get("to_hash", started.get("content_hash")),
            "matter_code": matter.get("code"),
            "matter_version": matter.get("version"), "matter_hash": matter.get("content_hash"),
        }

    def form_data(self) -> dict[str, Any]:
        """``records/form_data.json``: the start data and every task submission, in event order."""
        initial = self.started.payload.get("data") if self.started is not None else None
        return {"case_no": self.case_no, "initial": initial or {}, "submissions": self.submissions}


def _materials(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """An application's or a supplement's ``materials``: a list of objects (absent: none); ValueError otherwise."""
    materials = payload.get("materials") or []
    if not isinstance(materials, list) or not all(isinstance(m, dict) and isinstance(m.get("key"), (str, type(None)))
                                                  for m in materials):
        raise ValueError("payload.materials 应为对象的列表（每份材料的 key 为文本）")
    return list(materials)
