"""The read side of intake: the 收件回执 of a case (the applicant's lookup is :mod:`engine.applicant_access`).

A receipt is handed to the applicant, so ID numbers on it are always masked, whatever the reader's role,
and so is the contact phone; a 统一社会信用代码 is public and shown in full. Its 承诺时限 is the catalog's for
the owning district, or, for a matter whose committed limit is set per project category (工改), the case's
own: its committed clock's budget (:func:`engine.category_limit.case_budget`).
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .calendar import business_date
from .catalog import Matter
from .category_limit import BASES, case_budget, category_text, limit_view
from .clock import Clock
from .commands import Actor
from .errors import NotFound
from .identifiers import ID_TYPES
from .intake_checks import AGENT_KINDS, APPLICANT_KINDS
from .masking import mask_id_number
from .persistence.models import Application, Case, CaseEvent, CaseMaterial, MatterVersion
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .project_targets import TargetTable
from .queries import Queries

MEDIA_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG", "application/ofd": "OFD"}


class Receipts:
    """Receipts for people who may see the case."""

    def __init__(self, sessions: sessionmaker[Session], queries: Queries,
                 uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock):
        self.sessions = sessions
        self.queries = queries
        self.uow = uow
        self.clock = clock

    def receipt(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """Return the 收件回执 of a case received at intake (404 when not visible or not an intake case)."""
        with self.sessions() as session:
            case = session.get(Case, case_id)
            if case is None or not Queries._sees_case(session, actor, case):
                raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
            found = _load(session, case)
            if found is None:
                raise NotFound("该办件不是经窗口收件登记的，没有收件回执", details={"case_id": case_id})
            intake = _intake_manifest(session, case.id)
            matter = Matter.from_doc(found[1].doc)
            own = _own_committed(case, matter, _start_data(session, case.id), self.queries.targets,
                                 business_date(self.clock.now())) if matter.by_category else None
        application, matter_row, materials = found
        return receipt_view(case, application, matter_row, materials, self.queries.case(actor, case_id)["clocks"],
                            intake, committed_limit=own)


def _load(session: Session, case: Case) -> tuple[Application, MatterVersion, list[CaseMaterial]] | None:
    application = session.scalars(select(Application).where(Application.case_id == case.id)).first()
    if application is None:
        return None
    matter_row = session.scalars(select(MatterVersion).where(
        MatterVersion.code == application.matter_code, MatterVersion.version == application.matter_version)).one()
    materials = list(session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case.id)
                                     .order_by(CaseMaterial.id)))
    return application, matter_row, materials


def _intake_manifest(session: Session, case_id: int) -> dict[str, dict[str, Any]]:
    """What 收件 recorded of each material (key -> its ``ApplicationReceived`` manifest entry)."""
    payload = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case_id,
                                                             CaseEvent.event_type == "ApplicationReceived")
                             .order_by(CaseEvent.seq).limit(1))
    return {item["key"]: item for item in (payload or {}).get("materials", ())}


def _start_data(session: Session, case_id: int) -> dict[str, Any]:
    """The data the case was received with (its ``CaseStarted`` event)."""
    payload = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case_id,
                                                             CaseEvent.event_type == "CaseStarted").limit(1))
    return dict((payload or {}).get("data") or {})


def _own_committed(case: Case, matter: Matter, data: dict[str, Any], targets: TargetTable | None,
                   today: date) -> str:
    """The 承诺时限 of a case whose matter sets it per project category: its clock's, with the category named.

    A case whose clock does not know its budget yet shows the catalog's figures per category instead.
    """
    budget = case_budget(case.clocks)
    by = matter.committed_limit.to_dict()["by"]
    if budget is None:
        return category_text(limit_view(matter.committed_limit, targets, today))
    category = data.get(by)     # the basis is also the start data's variable (project_category)
    name = (targets.categories if targets is not None else {}).get(category) if isinstance(category, str) else None
    return f"{budget}（{name}）" if name else f"{budget}（按{BASES[by]}）"


def receipt_view(case: Case, application: Application, matter_row: MatterVersion,
                 materials: list[CaseMaterial], clocks: list[dict[str, Any]],
                 intake: dict[str, dict[str, Any]] | None = None, *,
                 committed_limit: str | None = None) -> dict[str, Any]:
    """Return the receipt as plain data: matter, parties (masked), materials line by line, deadlines.

    ``intake`` is what 收件 recorded per material: a line whose material changed since (补正, or a 容缺
    material supplied later) says so, since the receipt speaks of what was received at 收件.
    ``committed_limit`` replaces the catalog's 承诺时限 of the owning district (a case's own, see
    :func:`_own_committed`).
    """
    matter = Matter.from_doc(matter_row.doc)
    owning, receiving = case.owning_district or "", case.receiving_district or ""
    received = {m.material_key: m for m in materials}
    lines = []
    for material in matter.materials:
        row = received.get(material.key)
        if row is not None and row.sha256:
            status, detail = "upload", f"{row.original_filename}（{MEDIA_NAMES.get(row.media_type or '', '文件')}，" \
                                       f"{_size(row.size or 0)}）"
        elif row is not None:
            status, detail = "license", f"电子证照 {row.license_ref}"
        elif material.key in application.missing:
            status, detail = "tolerance", "容缺，受理后补交"
        else:
            status, detail = "absent", "未提交（非必备）" if not material.required else "未提交"
        if row is not None and intake is not None:
            first = intake.get(material.key)
            if first is None:
                detail += "（收件时未提交，后经补正补交）"
            elif (first.get("sha256"), first.get("license_ref")) != (row.sha256, row.license_ref):
                detail += "（已按补正要求更换）"
        lines.append({"key": material.key, "name": material.name, "required": material.required,
                      "status": status, "detail": detail, "sha256": row.sha256 if row else None,
                      "original_verified": bool(row and row.verified_by),
                      "verified_by": row.verified_by if row else None})
    return {
        "case_id": case.id, "case_no": case.case_no, "status": case.status, "received_at": application.received_at,
        "received_by": application.received_by, "channel": application.channel, "owning_district": owning,
        "receiving_district": receiving,
        "committed_due_at": case.committed_due_at, "legal_due_at": case.legal_due_at, "clocks": clocks,
        "matter": {"code": matter.code, "name": matter.name, "version": matter_row.version,
                   "handling": matter.handling, "legal_limit": str(matter.legal_limit),
                   "committed_limit": committed_limit or str(matter.committed_limit_in(owning)),
                   "agency": matter.overrides.get(owning, {}).get("agency") or matter.doc.get("agency"),
                   "window": matter.overrides.get(receiving, {}).get("window")},
        "applicant": {"kind": APPLICANT_KINDS.get(application.applicant_kind, application.applicant_kind),
                      "name": application.applicant_name,
                      "id_type": "统一社会信用代码" if application.applicant_kind == "legal"
                      else ID_TYPES.get(application.applicant_id_type, application.applicant_id_type),
                      "id_number": application.applicant_id_number if application.applicant_kind == "legal"
                      else mask_id_number(application.applicant_id_number),
                      "legal_representative": application.legal_representative},
        "agent": None if not application.agent_name else {
            "kind": AGENT_KINDS.get(application.agent_kind or "", application.agent_kind),
            "name": application.agent_name,
            "id_type": ID_TYPES.get(application.agent_id_type or "", application.agent_id_type),
            "id_number": mask_id_number(application.agent_id_number),
            "authorization": application.agent_authorization},
        "contact_phone": _mask_phone(application.contact_phone),
        "materials": lines, "tolerance": application.tolerance,
        "missing": [line["name"] for line in lines if line["status"] == "tolerance"],
    }


def _mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 11 else mask_id_number(phone)


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"
