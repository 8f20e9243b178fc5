"""我的办件: the cases an applicant account applied for online, as the applicant may see them.

The detail is the 办件查询 view (stage in plain Chinese, next step, 承诺/法定 deadlines, the one-time 补正
notice with every item, the result) plus what the applicant submitted: the application's parties (ID numbers
masked), the materials received and the 补正 uploads. Another account's case, or a case received at a window,
is 404: its existence is not revealed.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .case_clocks import clocks_of
from .errors import NotFound
from .masking import mask_id_number
from .persistence.models import Application, Case, CaseEvent, CaseMaterial, MatterVersion
from .supplements import MAX_SUPPLEMENTS

ONLINE_HINT = "申请材料需要补正：请按下面一次性告知的全部内容，在本页上传补正材料。补正期间不计入办理时限。"
STATUS_LABELS = {"running": "办理中", "completed": "已办结", "terminated": "已终止"}


class MyCases:
    """Read an applicant account's own online cases.

    Args:
        sessions: read-session factory.
        view: the applicant view of a case by id (:meth:`engine.applicant_access.Applicants.view`).
    """

    def __init__(self, sessions: sessionmaker[Session], view: Callable[[int], dict[str, Any]]):
        self.sessions, self.view = sessions, view

    def list(self, username: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The account's cases, newest first: number, matter, district, status, received and due dates.

        A closed case's due date is gone with its clocks; the working days it used against its committed
        limit (and whether it was late) stand in for it.
        """
        stmt = (select(Case.id, Case.case_no, Case.status, Case.owning_district, Case.committed_due_at,
                       Case.ended_at, Case.committed_used_days, Case.committed_limit_days, Case.committed_late,
                       Case.clocks,
                       Application.received_at, MatterVersion.name)
                .join(Application, Application.case_id == Case.id)
                .join(MatterVersion, (MatterVersion.code == Application.matter_code)
                      & (MatterVersion.version == Application.matter_version))
                .where(Application.account == username)
                .order_by(Application.received_at.desc(), Case.id.desc()).limit(max(1, min(limit, 500))))
        with self.sessions() as session:
            return [{"case_id": r.id, "case_no": r.case_no, "matter_name": r.name, "status": r.status,
                     "status_label": STATUS_LABELS.get(r.status, r.status), "district": r.owning_district,
                     "received_at": r.received_at, "committed_due_at": r.committed_due_at, "ended_at": r.ended_at,
                     "committed_used_days": r.committed_used_days, "committed_limit_days": r.committed_limit_days,
                     "committed_late": r.committed_late, "committed_paused": _paused(r.clocks, "committed")}
                    for r in session.execute(stmt)]

    def detail(self, username: str, case_id: int) -> dict[str, Any]:
        """The account's case with progress, notice, parties and materials.

        Raises:
            NotFound: the case does not exist or is not this account's online application.
        """
        with self.sessions() as session:
            application = session.scalars(select(Application).where(Application.case_id == case_id)).first()
            if application is None or application.account != username:
                raise NotFound("办件不存在", details={"case_id": case_id})
            materials = [{"key": m.material_key, "filename": m.original_filename, "size": m.size,
                          "media_type": m.media_type, "license_ref": m.license_ref, "received_at": m.received_at}
                         for m in session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == case_id)
                                                  .order_by(CaseMaterial.material_key))]
            supplements = [{"seq": e.seq, "at": e.occurred_at, "materials": (e.payload or {}).get("materials", []),
                            "note": (e.payload or {}).get("note", "")}
                           for e in session.scalars(select(CaseEvent).where(
                               CaseEvent.case_id == case_id, CaseEvent.event_type == "SupplementReceived")
                               .order_by(CaseEvent.seq))]
            paused = session.scalar(select(func.max(CaseEvent.seq)).where(
                CaseEvent.case_id == case_id, CaseEvent.event_type == "ClockPaused")) or 0
            parties = _parties(application)
            matter = (application.matter_code, application.matter_version)
            district = session.scalar(select(Case.owning_district).where(Case.id == case_id))
        view = self.view(case_id)
        # A notice in force is the latest pause: its online supplements are those after it (SUPPLEMENT_LIMIT).
        open_to_more = sum(1 for s in supplements if s["seq"] > paused) < MAX_SUPPLEMENTS
        if view["stage"] == "correction":
            view = {**view, "hint": ONLINE_HINT, "next_step": "在线上传补正材料，等待窗口核对"}
        return {**view, "case_id": case_id, "status_label": STATUS_LABELS.get(view["status"], view["status"]),
                "can_supplement": view["stage"] == "correction" and open_to_more, "channel": application.channel,
                "matter_code": matter[0], "matter_version": matter[1],
                "district": district, **parties, "materials_received": materials,
                "supplements": supplements}


def _parties(application: Application) -> dict[str, Any]:
    agent = None
    if application.agent_name:
        agent = {"kind": application.agent_kind, "name": application.agent_name,
                 "id_number": mask_id_number(application.agent_id_number or ""),
                 "authorization": application.agent_authorization}
    return {"applicant": {"kind": application.applicant_kind, "name": application.applicant_name,
                          "id_number": mask_id_number(application.applicant_id_number),
                          "legal_representative": application.legal_representative},
            "agent": agent, "contact_phone": application.contact_phone}


def _paused(doc: Any, kind: str) -> bool:
    """Whether the case's ``kind`` clock runs but is paused (补正, 特别程序, 容缺): no due date meanwhile."""
    clock = clocks_of(doc).get(kind)
    return clock is not None and clock.paused and not clock.closed
