"""网上补正: an applicant account uploads what an open one-time 补正 notice asks for.

The uploads become the case's materials (a material supplied again replaces the row of that key; the
previous file stays in the store and in the audit log) and a ``SupplementReceived`` event with the
applicant as actor, in one transaction. The case then stands where the clerk's 补正 receipt expects it: the
window's own 补正 step (``receive_correction`` in the standard permit) checks the materials and decides, as
it does for materials handed in at the counter. Nothing is accepted while no notice is open
(``NO_OPEN_CORRECTION``, 409), nor after :data:`MAX_SUPPLEMENTS` supplements to one notice (``SUPPLEMENT_LIMIT``,
409: each keeps its files, so one account could otherwise fill the store); refused files leave nothing behind.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from . import events as ev
from .applicant_accounts import is_applicant
from .case_progress import current_pause
from .catalog import Matter
from .commands import SubmitSupplement
from .errors import ApplicationInvalid, Conflict, Forbidden, InvalidInput, NotFound
from .handlers import Services, _record
from .intake import stage_lines
from .material_claims import forget_unreferenced, secure
from .intake_checks import MAX_LICENSE_REF, ChecklistLine
from .persistence.models import Application, CaseEvent, CaseMaterial, MatterVersion
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

MAX_NOTE = 500
MAX_SUPPLEMENTS = 5
"""Online supplements one open 补正 notice accepts; the window checks them and may give its next notice."""
_materials = CaseMaterial.__table__
_applications = Application.__table__


def submit_supplement(cmd: SubmitSupplement, svc: Services) -> dict[str, Any]:
    """Store the supplement and record it on the case (see the module docstring)."""
    if not is_applicant(cmd.actor):
        raise Forbidden("网上补正须使用申请人账号登录", code="APPLICANT_ONLY")
    if svc.materials is None:
        raise InvalidInput("未配置材料存储目录（TONGBAN_MATERIALS_DIR），不能接收材料", code="MATERIALS_STORE_MISSING")
    with svc.uow() as uow:
        application, matter = _mine(uow, cmd)
        _require_open_notice(uow, cmd.case_id)
    lines = _check(cmd, matter)
    staged = stage_lines(svc.materials, lines)
    added: list[str] = []
    try:
        for item in staged.values():
            if svc.materials.keep(item):
                added.append(item.sha256)
        return _write(cmd, svc, application, lines, staged, added)
    except BaseException:
        forget_unreferenced(svc, added)
        raise
    finally:
        for item in staged.values():
            svc.materials.discard(item)


def _mine(uow: SqlAlchemyUnitOfWork, cmd: SubmitSupplement) -> tuple[Application, Matter]:
    """The account's own online application and its matter version; anyone else's case is 404."""
    application = uow.session.scalars(select(Application).where(Application.case_id == cmd.case_id)).first()
    if application is None or application.account != cmd.actor.username:
        raise NotFound("办件不存在", details={"case_id": cmd.case_id})
    row = uow.session.scalars(select(MatterVersion).where(MatterVersion.code == application.matter_code,
                                                           MatterVersion.version == application.matter_version)
                              ).one()
    uow.session.expunge(application)
    return application, Matter.from_doc(row.doc)


def _require_open_notice(uow: SqlAlchemyUnitOfWork, case_id: int) -> None:
    events = [{"seq": e.seq, "event_type": e.event_type, "task_id": e.task_id, "payload": e.payload or {}}
              for e in uow.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                           .order_by(CaseEvent.seq))]
    pause = current_pause(events)
    if pause is None or pause["payload"].get("reason_kind") not in ("correction", "tolerance"):
        raise Conflict("该办件目前没有待补正的一次性告知，无需补正", code="NO_OPEN_CORRECTION",
                       details={"case_id": case_id})
    given = sum(1 for e in events if e["seq"] > pause["seq"] and e["event_type"] == "SupplementReceived")
    if given >= MAX_SUPPLEMENTS:
        raise Conflict(f"本次补正已在网上提交 {given} 次，已达上限，请等待窗口审查；如需更正请联系受理窗口",
                       code="SUPPLEMENT_LIMIT", details={"case_id": case_id, "limit": MAX_SUPPLEMENTS})


def _check(cmd: SubmitSupplement, matter: Matter) -> list[ChecklistLine]:
    by_key = {m.key: m for m in matter.materials}
    fields: dict[str, list[str]] = {}
    lines: list[ChecklistLine] = []
    if len((cmd.note or "").strip()) > MAX_NOTE:
        fields["note"] = [f"补正说明不超过 {MAX_NOTE} 字"]
    for item in cmd.materials:
        material, ref = by_key.get(item.key), (item.license_ref or "").strip()
        if material is None:
            fields[f"materials.{item.key}"] = ["该事项没有这项材料"]
        elif item.original_verified:
            fields[f"materials.{item.key}"] = ["网上补正不能勾选“已核验原件”"]
        elif (item.upload is not None) == bool(ref):
            fields[f"materials.{item.key}"] = ["请上传一个文件，或（允许时）填写电子证照编号，二选一"]
        elif ref and (material.license is None or len(ref) > MAX_LICENSE_REF):
            fields[f"materials.{item.key}"] = ["该材料不能以电子证照代替，请上传文件"]
        else:
            lines.append(ChecklistLine(material, "license" if ref else "upload", item))
    if not cmd.materials:
        raise ApplicationInvalid("请至少提交一项补正材料", code="SUPPLEMENT_EMPTY",
                                 details={"fields": {"materials": ["请至少提交一项补正材料"]}})
    if fields:
        raise ApplicationInvalid(f"补正材料有 {len(fields)} 处需要修改", details={"fields": fields})
    return lines


def _write(cmd: SubmitSupplement, svc: Services, application: Application, lines: list[ChecklistLine],
           staged: dict[str, Any], added: list[str]) -> dict[str, Any]:
    now = svc.clock.now()
    rows = []
    for line in lines:
        item = staged.get(line.material.key)
        rows.append({"material_key": line.material.key, "sha256": item.sha256 if item else None,
                     "size": item.size if item else None, "media_type": item.media_type if item else None,
                     "original_filename": item.filename if item else None,
                     "license_ref": None if item else line.given.license_ref.strip(),
                     "verified_by": None, "verified_at": None, "received_at": now})
    manifest = tuple({"key": r["material_key"], "sha256": r["sha256"], "license_ref": r["license_ref"]}
                     for r in rows)
    with svc.uow() as uow:
        case = uow.cases.lock(cmd.case_id)
        _require_open_notice(uow, case.id)   # again, under the lock: the window may have moved on meanwhile
        for row in rows:
            changed = uow.connection.execute(update(_materials).where(
                _materials.c.case_id == case.id, _materials.c.material_key == row["material_key"]).values(**row))
            if not changed.rowcount:
                uow.connection.execute(_materials.insert(), [{"case_id": case.id, **row}])
        supplied = {r["material_key"] for r in rows}
        still = [key for key in application.missing if key not in supplied]
        uow.connection.execute(update(_applications).where(_applications.c.id == application.id)
                               .values(missing=still))
        event = ev.SupplementReceived(materials=manifest, note=(cmd.note or "").strip())
        uow.cases.save(case, events=_record(case, [event], cmd.actor, now))
        secure(uow, svc.materials, staged.values(), added)
        uow.commit()
    return {"case_id": case.id, "case_no": case.case_no, "materials": [dict(m) for m in manifest],
            "received_at": now}
