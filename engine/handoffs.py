"""异地代收代办: the receiving district's case hands the application to the owning district's case.

The matter's catalog entry names the collaboration (``handoff: {process, clock_starts, transfer_limit}``).
A window that receives another district's matter under a grant starts the receiving process (收件地); its
handoff throw event asks the engine to attach what the owning district needs (``tb:message attach``):

* ``handoff``: sender case, matter, both districts, when it was sent, the transfer leg's budget and where the
  legal clock starts;
* ``manifest``: every received file by sha256 (with size and type), and who verified each original when;
* ``verification``: every completed task that needed a grant: element, right, who, when, what they entered.

The owning district's case starts from that message; before it does, every manifest hash is checked against
the material store. It is the case the metrics count for the application, so it takes over the receiving
case's intake facts (channel, 补正 rounds, 容缺, visits; :func:`copy_materials`). Tasks that carry
``tb:right`` are refused (and the refusal recorded) when the receiving district's grant does not cover them.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select

from .calendar import business_date
from .case_opening import Opening
from .catalog import Matter
from .errors import InvalidInput
from .grants import rights_in_force
from .case_metrics import visits
from .persistence.models import Case, CaseEvent, CaseMaterial, MatterVersion


class ManifestMismatch(InvalidInput):
    """A handed-over materials manifest names content the material store lacks or holds differently."""

    code = "MANIFEST_MISMATCH"


def proxy_opening(uow: Any, matter_row: MatterVersion, owning: str, receiving: str, now: datetime) -> Opening | None:
    """The receiving district's opening for a matter received for another district (None: not a handoff)."""
    matter = Matter.from_doc(matter_row.doc)
    if owning == receiving or not matter.handoff:
        return None
    rights = rights_in_force(uow, matter_code=matter.code, owning=owning, receiving=receiving, on=business_date(now))
    return Opening(process_key=matter.handoff["process"], catalog_clocks=False,
                   data={"granted_rights": rights, "owning_district": owning, "receiving_district": receiving,
                         "transfer_workdays": matter.handoff["transfer_limit"]["amount"]})


def refreshed_rights(uow: Any, case: Any, task_data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """``{"granted_rights": [...]}`` as in force now, for a receiving district's process that reads it; else {}.

    That is a task completed in a case received for another district whose process routes on the variable
    (the receiving window's process, e.g. to 一次性告知). The variable is set at intake; a grant added or
    revoked since must decide the next gateway, not the one in force when the application came in. Replay
    re-issues the completion under the grants in force then, so it routes the same way.
    """
    if case.owning_district == case.receiving_district or "granted_rights" not in task_data:
        return {}
    facts = uow.messages.case_facts(case.id)
    if not facts or not facts["matter_code"]:
        return {}
    return {"granted_rights": rights_in_force(uow, matter_code=facts["matter_code"], owning=case.owning_district,
                                              receiving=case.receiving_district, on=business_date(now))}


def attach_parts(uow: Any, case: Any, definition: Any, parts: tuple[str, ...], now: datetime) -> dict[str, Any]:
    """Build the engine-provided parts of a handoff message (see the module docstring)."""
    out: dict[str, Any] = {}
    completed = _completed_with_rights(uow, case.id, definition) if {"manifest", "verification"} & set(parts) else []
    if "handoff" in parts:
        facts = uow.messages.case_facts(case.id)
        handoff = _matter_handoff(uow, facts["matter_code"], facts["matter_version"]) or {}
        limit = handoff.get("transfer_limit") or {"amount": 1, "unit": "workday"}
        out["handoff"] = {"sender_case_no": case.case_no, "matter_code": facts["matter_code"],
                          "owning_district": case.owning_district, "receiving_district": case.receiving_district,
                          "sent_at": now.isoformat(), "sent_on": business_date(now).isoformat(),
                          "transfer_limit": limit, "clock_starts": handoff.get("clock_starts", "arrival")}
    if "manifest" in parts:
        out["manifest"] = _manifest(uow, case.id, completed)
    if "verification" in parts:
        out["verification"] = [{"element_id": e["element_id"], "name": e["name"], "right": e["right"],
                                "actor": e["actor"], "at": e["at"], "data": e["data"]} for e in completed]
    return out


def clocks_from(payload: Mapping[str, Any], sender: Mapping[str, Any] | None) -> datetime | None:
    """When the owning case's clocks start at once (收件地受理), or None: they wait for its 到件受理.

    Only a matter whose legal clock counts from 收件地受理 (``clock_starts: receiving``) starts them at once,
    and only when the receiving window's last 形式审查 found the application complete (``formal_result:
    complete``): that review is the 受理 counted. One that found it incomplete accepted nothing; the owning
    district's 到件受理 decides whether to accept it (第三十二条第一款第五项; 受理 and 不予受理 stay with the owning
    district), and its clocks start there. A verification record without a 形式审查 counts from the receipt
    (``sender``'s ``started_at``), as before.
    """
    if ((payload.get("handoff") or {}).get("clock_starts")) != "receiving":
        return None
    reviews = [v for v in payload.get("verification") or () if v.get("right") == "formal_review"]
    if not reviews:
        return sender["started_at"] if sender else None
    last = reviews[-1]   # the record lists the completions in the order they were made
    if (last.get("data") or {}).get("formal_result") != "complete":
        return None
    return datetime.fromisoformat(last["at"])


def notice_at(payload: Mapping[str, Any]) -> datetime | None:
    """When the receiving window gave the one-time 补正 notice (its ``notify`` right), from the verification record.

    The window gives it under its 一次性告知权 for the owning district: the application the owning case receives
    has had its notice (行政许可法 第三十二条第一款第四项), and the owning district may not give another.
    """
    times = [v["at"] for v in payload.get("verification") or () if v.get("right") == "notify"]
    return datetime.fromisoformat(min(times)) if times else None


def verify_manifest(store: Any, manifest: Any) -> None:
    """Check every manifest entry's content against the material store; refuse naming each mismatch."""
    if not isinstance(manifest, list):
        raise ManifestMismatch("移交材料清单格式无效")
    problems = []
    for item in manifest:
        sha = item.get("sha256") if isinstance(item, Mapping) else None
        if not sha:
            continue
        label = f"{item.get('name') or item.get('key')}（{str(sha)[:12]}…）"
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            problems.append(f"{label}：sha256 格式无效")
        elif store is None or not store.exists(sha):
            problems.append(f"{label}：材料库中没有该文件")
        elif _file_sha256(store.path_of(sha)) != sha:
            problems.append(f"{label}：文件内容与清单中的 sha256 不符")
    if problems:
        raise ManifestMismatch("移交材料清单校验失败：" + "；".join(problems), details={"problems": problems})


def copy_materials(uow: Any, case_id: int, manifest: list[Mapping[str, Any]], now: datetime) -> None:
    """Record the handed-over materials on the owning district's case (the files are already stored).

    The owning case is the one the metrics count for the application, so it also takes over the intake
    facts of the receiving case (:func:`take_over_intake`).
    """
    take_over_intake(uow, case_id)
    rows = [{"case_id": case_id, "material_key": m["key"], "sha256": m.get("sha256"), "size": m.get("size"),
             "media_type": m.get("media_type"), "original_filename": m.get("filename"),
             "license_ref": m.get("license_ref"), "verified_by": m.get("original_verified_by"),
             "verified_at": datetime.fromisoformat(m["original_verified_at"]) if m.get("original_verified_at")
             else None, "received_at": now} for m in manifest]
    if rows:
        uow.connection.execute(CaseMaterial.__table__.insert(), rows)


def take_over_intake(uow: Any, case_id: int) -> None:
    """Give the case started by a handoff the receiving case's channel, 补正 rounds, 容缺 and visits.

    The application was received at the receiving district's window (窗口收件, perhaps with 容缺 materials,
    perhaps after 补正 there) and the owning case, not that leg, counts as the application in the metrics
    (最多跑一次, 容缺率, 补正率). The sender is the one the case's ``MessageReceived`` names; after the handoff
    the receiving leg only delivers the result, which the visit rule does not count, so nothing later needs
    carrying over. Replay, which has no sender case, leaves the columns as the events make them.
    """
    cases, events = Case.__table__, CaseEvent.__table__
    payload = uow.connection.execute(select(events.c.payload).where(events.c.case_id == case_id,
                                                                    events.c.event_type == "MessageReceived")
                                     .order_by(events.c.seq).limit(1)).scalar()
    sender_no = (payload or {}).get("sender_case_no")
    if not sender_no:
        return
    sender = uow.connection.execute(select(cases.c.channel, cases.c.corrections, cases.c.tolerance)
                                    .where(cases.c.case_no == sender_no)).first()
    mine = uow.connection.execute(select(cases.c.channel, cases.c.corrections, cases.c.tolerance)
                                  .where(cases.c.id == case_id)).first()
    if sender is None or mine is None:
        return
    channel = mine.channel or sender.channel
    corrections = (mine.corrections or 0) + (sender.corrections or 0)
    tolerance = bool(mine.tolerance or sender.tolerance)
    uow.connection.execute(cases.update().where(cases.c.id == case_id).values(
        channel=channel, corrections=corrections, tolerance=tolerance,
        visits=visits(channel, corrections, tolerance)))


def _file_sha256(path: Any) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _matter_handoff(uow: Any, code: str | None, version: int | None) -> dict[str, Any] | None:
    """The ``handoff`` settings of the matter version the case was received under."""
    if not code:
        return None
    table = MatterVersion.__table__
    found = uow.connection.execute(select(table.c.doc).where(table.c.code == code, table.c.version == version)).first()
    return (found[0] if found else {}).get("handoff")


def _completed_with_rights(uow: Any, case_id: int, definition: Any) -> list[dict[str, Any]]:
    rights = {k: v.right for k, v in definition.user_tasks.items() if v.right}
    names = {k: v.name for k, v in definition.user_tasks.items()}
    table = CaseEvent.__table__
    rows = uow.connection.execute(select(table.c.element_id, table.c.actor, table.c.occurred_at, table.c.payload)
                                  .where(table.c.case_id == case_id, table.c.event_type == "TaskCompleted")
                                  .order_by(table.c.seq))
    return [{"element_id": element, "name": names.get(element, element), "right": rights[element], "actor": actor,
             "at": at.isoformat(), "data": (payload or {}).get("data", {})}
            for element, actor, at, payload in rows if element in rights]


def _manifest(uow: Any, case_id: int, completed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    verified: dict[str, tuple[str, str]] = {}
    for entry in completed:
        if entry["right"] == "verify_original":
            keys = entry["data"].get("verified_materials") or ()
            for key in re.split(r"[,，、\s]+", keys) if isinstance(keys, str) else keys:
                if key:
                    verified[key] = (entry["actor"], entry["at"])
    table = CaseMaterial.__table__
    rows = uow.connection.execute(select(table).where(table.c.case_id == case_id).order_by(table.c.id)).mappings()
    out = []
    for row in rows:
        by, at = verified.get(row["material_key"], (row["verified_by"], row["verified_at"] and
                                                    row["verified_at"].isoformat()))
        out.append({"key": row["material_key"], "sha256": row["sha256"], "size": row["size"],
                    "media_type": row["media_type"], "filename": row["original_filename"],
                    "license_ref": row["license_ref"], "original_verified_by": by, "original_verified_at": at})
    return out
