"""A small archive package made without a database: a chained event log and every kind of entry."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

from engine.archive_writer import MaterialFile, PackageInput, write_package
from engine.audit import GENESIS, ChainedEvent, canonical_json, event_hash
from engine.clock import CST
from engine.definitions import definition_content_hash

CASE_NO = "TB20261123000042"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
BPMN = '<?xml version="1.0" encoding="UTF-8"?>\n<definitions id="d"><process id="p" name="示例"/></definitions>\n'
SUB = '<?xml version="1.0"?>\n<definitions id="s"><process id="sub"/></definitions>\n'
FORM = {"id": "review", "type": "default", "components": [{"key": "opinion", "type": "textfield", "label": "意见"}]}
DOC = {"code": "11500103MB1D25937B4000117001", "basic_code": "000117001000", "name": "示例事项", "type": "01",
       "materials": [{"key": "application_form", "name": "申请表"}, {"key": "licence", "name": "营业执照"}]}
PDF = b"%PDF-1.7\n%archive fixture\n" + bytes(range(256))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def form_hash() -> str:
    return sha(canonical_json(FORM).encode())


def chained(specs: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> list[ChainedEvent]:
    """Events from (type, columns, payload), chained from the genesis hash, a minute apart."""
    events, prev = [], GENESIS
    for seq, (kind, columns, payload) in enumerate(specs, start=1):
        at = T0 + timedelta(minutes=seq)
        fields = {"actor": columns.get("actor", "window_yz"), "element_id": columns.get("element_id"),
                  "task_id": columns.get("task_id")}
        digest = event_hash(prev, case_no=CASE_NO, seq=seq, event_type=kind, occurred_at=at, payload=payload,
                            **fields)
        events.append(ChainedEvent(CASE_NO, seq, kind, at, fields["actor"], fields["element_id"],
                                   fields["task_id"], payload, prev, digest))
        prev = digest
    return events


def package_input() -> PackageInput:
    refs = {"review": form_hash()}
    content_hash = definition_content_hash(BPMN, {"sub.bpmn": SUB}, refs)
    events = chained([
        ("CaseStarted", {}, {"process_key": "p", "definition_version": 3, "content_hash": content_hash,
                             "data": {"applicant": "重庆某公司", "project": "一号楼"},
                             "owning_district": "500103", "receiving_district": "500105"}),
        ("MatterReceived", {}, {"code": DOC["code"], "version": 2, "content_hash": sha(canonical_json(DOC).encode())}),
        ("ApplicationReceived", {}, {"channel": "counter", "missing": [], "tolerance": False, "materials": [
            {"key": "application_form", "sha256": sha(PDF), "license_ref": None, "original_verified": True},
            {"key": "licence", "sha256": None, "license_ref": "LIC-1", "original_verified": False}]}),
        ("TaskCreated", {"element_id": "review", "task_id": 7}, {"name": "审查", "candidate_groups": ["reviewer"],
                                                                  "form_key": "review"}),
        ("TaskCompleted", {"element_id": "review", "task_id": 7, "actor": "reviewer_zj"},
         {"data": {"opinion": "同意"}}),
        ("CaseCompleted", {}, {}),
    ])
    materials = [
        MaterialFile("application_form", "申请表", sha(PDF), len(PDF), "application/pdf", "申请表.pdf", None,
                     "window_yz", T0, T0, lambda: io.BytesIO(PDF)),
        MaterialFile("licence", "营业执照", None, None, None, None, "LIC-1", None, None, T0),
    ]
    return PackageInput(
        case={"case_no": CASE_NO, "title": "示例事项（重庆某公司）", "status": "completed", "stage": None,
              "started_by": "window_yz", "clocks": None, "closed_at": events[-1].occurred_at},
        definition={"process_key": "p", "version": 3, "name": "示例", "content_hash": content_hash,
                    "source_name": "p/main.bpmn", "bpmn_xml": BPMN, "resources": {"sub.bpmn": SUB},
                    "form_refs": refs, "bundle": None},
        forms={"review": {"version": 1, "content_hash": form_hash(), "source": FORM}},
        catalog={"code": DOC["code"], "version": 2, "content_hash": sha(canonical_json(DOC).encode()),
                 "name": DOC["name"], "doc": DOC},
        application={"applicant_name": "重庆某公司", "applicant_id_number": "91500103MA5U1234XJ",
                     "contact_phone": "13800138000", "received_at": T0},
        materials=materials, events=events)


def build() -> bytes:
    out = io.BytesIO()
    write_package(out, package_input())
    return out.getvalue()


def entries(package: bytes) -> dict[str, bytes]:
    """The package's files by their path inside its folder."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def rezip(package: bytes, *, change: dict[str, bytes | None] | None = None, add: dict[str, bytes] | None = None,
          fix_manifest: bool = False, case_no: str = CASE_NO) -> bytes:
    """Re-pack as someone editing the package would: change or drop entries, add some, maybe fix the manifest
    (its sizes and hashes, and no entry for a dropped file). ``case_no`` names the package's folder."""
    files = entries(package)
    for path, data in (change or {}).items():
        if data is None:
            files.pop(path)
        else:
            files[path] = data
    files.update(add or {})
    if fix_manifest:
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = [{**e, "sha256": sha(files[e["path"]]), "size": len(files[e["path"]])}
                             for e in manifest["files"] if e["path"] in files]
        files["manifest.json"] = json.dumps(manifest, ensure_ascii=False).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path, data in files.items():
            archive.writestr(f"{case_no}/{path}", data)
    return out.getvalue()


def flip(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace the first ``old`` (which must be there) with ``new`` of the same length."""
    assert old in data and len(old) == len(new), (old, new)
    return data.replace(old, new, 1)
