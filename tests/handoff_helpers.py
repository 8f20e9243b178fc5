"""Shared steps of the 异地代收代办 tests: a 黔江 window receives 渝中's 污水排入 permit under a grant."""
from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from engine import Actor, ClaimTask, CompleteTask, MaterialInput, MessageWorker, Party, ReceiveApplication
from engine.persistence.models import Case
from tests.helpers import deploy_shipped

CODE = "11500103MB1D25937B4000118005"            # 城镇污水排入排水管网许可 (standard permit, clock at arrival)
CODE_RECEIVING_CLOCK = "11500103MB1C47082L4000321001"   # 食品经营许可: legal clock from 收件地受理
YUZHONG, QIANJIANG = "500103", "500114"
WINDOW_QJ = Actor("window_qj", ("window_clerk",), QIANJIANG, "zwzx")
WINDOW_YZ = Actor("window_yz", ("window_clerk",), YUZHONG, "zwzx")
REVIEWER_YZ = Actor("reviewer_yz", ("reviewer",), YUZHONG, "zhujian")
HEAD_YZ = Actor("head_yz", ("department_head", "reviewer"), YUZHONG, "zhujian")
SUPERVISOR_YZ = Actor("supervisor_yz", ("supervisor",), YUZHONG, "jiancha")
PDF = b"%PDF-1.7\n%handoff test\n"
COMPANY = Party("legal", "黔江某食品有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")
ALL_RIGHTS = ("receive", "formal_review", "verify_original", "notify", "deliver")


def setup(engine: Any, rights: tuple[str, ...] = ALL_RIGHTS, code: str = CODE) -> None:
    """Deploy everything shipped and let 黔江 act for 渝中 with ``rights``."""
    deploy_shipped(engine)
    engine.grants.add(matter_code=code, owning=YUZHONG, receiving=QIANJIANG, rights=list(rights), actor="admin")


def receive(engine: Any, code: str = CODE) -> Any:
    """The 黔江 window receives the application (收件) for 渝中."""
    materials = (MaterialInput("application_form", io.BytesIO(PDF + b"form"), "申请表.pdf"),
                 MaterialInput("business_license", license_ref="LIC-500103-2026-0001"),
                 MaterialInput("drainage_plan", io.BytesIO(PDF + b"plan"), "排水图纸.pdf"),
                 MaterialInput("water_quality_report", io.BytesIO(PDF + b"water"), "检测报告.pdf"))
    if code == CODE_RECEIVING_CLOCK:
        materials = (MaterialInput("application_form", io.BytesIO(PDF + b"form"), "申请书.pdf"),
                     MaterialInput("business_license", license_ref="LIC-500103-2026-0002"),
                     MaterialInput("commitment_letter", io.BytesIO(PDF + b"letter"), "承诺书.pdf"),
                     MaterialInput("premises_layout", io.BytesIO(PDF + b"layout"), "布局图.pdf"),
                     MaterialInput("safety_rules", io.BytesIO(PDF + b"rules"), "制度.pdf"))
    # No department in the form: the matter's catalog entry gives it (and 实质核查), as for every intake.
    return engine.handle(ReceiveApplication(code, WINDOW_QJ, COMPANY, "13800138000", materials,
                                            owning_district=YUZHONG))


def task_of(engine: Any, actor: Actor, element_id: str, case_id: int | None = None) -> dict[str, Any]:
    """The one open task at ``element_id`` that ``actor`` sees (in ``case_id`` when given)."""
    items = [t for t in engine.queries.tasks(actor, limit=200).items
             if t["element_id"] == element_id and (case_id is None or t["case_id"] == case_id)]
    assert len(items) == 1, (element_id, items)
    return items[0]


def do(engine: Any, actor: Actor, element_id: str, data: dict[str, Any], case_id: int | None = None) -> Any:
    """Claim and complete the task."""
    task = task_of(engine, actor, element_id, case_id)
    engine.handle(ClaimTask(task["id"], actor))
    return engine.handle(CompleteTask(task["id"], actor, data))


IDENTITY = {"identity_method": "id_card", "identity_result": "consistent"}
ORIGINALS = {"verified_materials": "water_quality_report", "original_note": "检测报告原件与扫描件一致"}
COMPLETE = {"formal_result": "complete", "formal_note": "材料齐全，符合法定形式"}
INCOMPLETE = {"formal_result": "incomplete", "formal_note": "缺预处理设施运行情况说明"}
NOTICE = {"correction_notice_no": "BZ-QJ-001", "missing_items": [{"item_name": "预处理设施的运行情况说明"}]}
CORRECTED = {"correction_note": "已收到预处理设施运行情况说明"}
HANDOFF = {"transfer_mode": "post", "tracking_no": "SF1234567890"}
ARRIVED = {"arrival_result": "accept", "arrival_note": "移交材料齐全，纸质原件已收到"}
REVIEWED = {"review_result": {"conclusion": "meets", "opinion": "符合许可条件"}}
GRANTED = {"decision": "grant", "decision_opinion": "准予许可"}
LICENSE = {"license_no": "渝中排水许字〔2026〕第 001 号", "license_valid_until": "2031-11-30"}
DELIVERED = {"delivery_method": "post", "delivery_tracking_no": "EMS0001", "delivery_note": "已邮寄"}


def verify_at_qianjiang(engine: Any, case_id: int) -> None:
    """身份核验, 原件核验 and 形式审查 (complete) at the 黔江 window, then 移交."""
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, case_id)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, case_id)
    do(engine, WINDOW_QJ, "formal_review", COMPLETE, case_id)
    do(engine, WINDOW_QJ, "handoff", HANDOFF, case_id)


def complete_handoff(engine: Any) -> tuple[int, int]:
    """Run a whole 异地代收代办 to its end: (the 黔江 receiving case, the 渝中 owning case), both closed."""
    setup(engine)
    mine = receive(engine).case.case_id
    verify_at_qianjiang(engine, mine)
    worker = MessageWorker(engine)
    assert worker.sweep().delivered == 1
    with engine.database.read_sessions() as session:
        theirs = session.scalars(select(Case.id).where(Case.id != mine)).one()
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, theirs)
    do(engine, REVIEWER_YZ, "review", REVIEWED, theirs)
    do(engine, HEAD_YZ, "decide", GRANTED, theirs)
    do(engine, REVIEWER_YZ, "issue_license", LICENSE, theirs)
    assert worker.sweep().delivered == 1
    do(engine, WINDOW_QJ, "deliver", DELIVERED, mine)
    return mine, theirs
