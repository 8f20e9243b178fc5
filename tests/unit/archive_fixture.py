"""A small archive package made without a database: a chained event log and every kind of entry."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from engine.archive_readme import readme_text
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


def as_version(package: bytes, version: Any, readme_version: Any = None) -> bytes:
    """The package as an engine writing format ``version`` wrote it: its manifest says so and its README.txt is
    that version's text (``readme_version``'s instead, for a README that does not match its manifest)."""
    files = entries(package)
    manifest = json.loads(files["manifest.json"])
    manifest["format_version"] = version
    listed = [e for e in manifest["files"] if e["path"] != "README.txt"]
    shown = version if readme_version is None else readme_version
    readme = readme_text({**manifest, "format_version": shown, "files": []}, listed)
    return rezip(package, change={"manifest.json": json.dumps(manifest, ensure_ascii=False).encode(),
                                  "README.txt": readme.encode()}, fix_manifest=True, case_no=manifest["package"])


def flip(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace the first ``old`` (which must be there) with ``new`` of the same length."""
    assert old in data and len(old) == len(new), (old, new)
    return data.replace(old, new, 1)


CLOCKED_BPMN = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                'xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="d"><process id="p" name="示例">'
                '<extensionElements><tb:clock kind="legal" workdays="20"/>'
                '<tb:clock kind="committed" workdays="10" startsAt="accept"/></extensionElements>'
                '</process></definitions>\n')


def clocked_input() -> PackageInput:
    """A case with both clocks, as the engine records them: the 法定 one started at 收件 (its budget on the
    ``ClocksStarted`` event), the 承诺 one at 受理 (budget from the diagram, not on the event), a 补正 pause,
    a resume and an approved extension, all closed at 办结."""
    from engine.legal_clock import Budget, Clock

    base = package_input()
    refs = {"review": form_hash()}
    content_hash = definition_content_hash(CLOCKED_BPMN, {}, refs)
    at = [T0 + timedelta(minutes=n) for n in range(14)]      # event n happens at at[n]
    legal = Clock.start("legal", Budget(20), at[4].date(), at[4], "window_yz")
    committed = Clock.start("committed", Budget(10), at[7].date(), at[7], "window_yz")
    legal, committed = (c.pause(at[9], "correction", "补正营业执照", "reviewer_zj") for c in (legal, committed))
    legal, committed = (c.resume(at[10], "window_yz") for c in (legal, committed))
    legal = legal.extend(5, "需现场核查", "head_zj", "head_zj", at[11], max_total_days=10, approver_roles_ok=True,
                         told_to_applicant=True)
    legal, committed = (c.close(at[13]) for c in (legal, committed))
    clocks = {"legal": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": legal.to_dict()},
              "committed": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": committed.to_dict()}}
    opening = [(e.event_type, {"actor": e.actor}, dict(e.payload)) for e in base.events[:3]]
    opening[0][2]["content_hash"] = content_hash
    events = chained(opening + [
        ("ClocksStarted", {}, {"clocks": {"legal": {"budget": {"amount": 20, "unit": "workday"},
                                                    "t0": at[4].date().isoformat()}}}),
        ("TaskCreated", {"element_id": "accept", "task_id": 6}, {"name": "受理", "candidate_groups": ["window_clerk"],
                                                                  "form_key": None}),
        ("TaskCompleted", {"element_id": "accept", "task_id": 6}, {"data": {"accepted": True}}),
        ("ClocksStarted", {"element_id": "accept"}, {"clocks": {"committed": {
            "kind": "committed", "t0": at[7].date().isoformat(), "deemed": False, "explanation": ""}}}),
        ("TaskCreated", {"element_id": "review", "task_id": 7}, {"name": "审查", "candidate_groups": ["reviewer"],
                                                                  "form_key": "review"}),
        ("ClockPaused", {"actor": "reviewer_zj"}, {"clocks": ["legal", "committed"], "reason_kind": "correction",
                                                   "reason": "补正营业执照", "procedure": "", "expected_days": None}),
        ("ClockResumed", {}, {"clocks": ["legal", "committed"]}),
        ("DeadlineExtended", {"actor": "head_zj"}, {"clock": "legal", "days": 5, "reason": "需现场核查",
                                                    "approved_by": "head_zj", "told_to_applicant": True}),
        ("TaskCompleted", {"element_id": "review", "task_id": 7, "actor": "reviewer_zj"},
         {"data": {"opinion": "同意"}}),
        ("CaseCompleted", {}, {}),
    ])
    assert [e.occurred_at for e in events] == at[1:]
    return PackageInput(
        case={**base.case, "clocks": clocks, "closed_at": events[-1].occurred_at},
        definition={**base.definition, "content_hash": content_hash, "bpmn_xml": CLOCKED_BPMN, "resources": {}},
        forms=base.forms, catalog=base.catalog, application=base.application, materials=base.materials,
        events=events)


def build_clocked() -> bytes:
    out = io.BytesIO()
    write_package(out, clocked_input())
    return out.getvalue()


def build_resumed() -> bytes:
    """The clocked case whose 补正 pause a 受理 ended: event 10 is the ``ClocksStarted`` that names both clocks in
    its ``resumed`` instead of a ``ClockResumed`` (the case record is the same: both run again from event 10)."""
    base = clocked_input()
    specs = []
    for event in base.events:
        kind, payload = event.event_type, dict(event.payload)
        if kind == "ClockResumed":
            kind, payload = "ClocksStarted", {"clocks": {}, "resumed": {"legal": "correction",
                                                                        "committed": "correction"}}
        specs.append((kind, {"actor": event.actor, "element_id": event.element_id, "task_id": event.task_id},
                      payload))
    out = io.BytesIO()
    write_package(out, replace(base, events=chained(specs)))
    return out.getvalue()
