"""Helpers for the 好差评 tests: a case received at intake and worked to its end."""
from __future__ import annotations

import io
from typing import NamedTuple

from engine import Actor, CompleteTask, Engine, MaterialInput, Party, ReceiveApplication

from .helpers import ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN

MATTER = "11500103MB1D25937B4000117001"
FOOD = "11500103MB1C47082L4000321001"           # 食品经营许可（告知承诺）: standard_permit, offered in 渝中
PDF = b"%PDF-1.7\n%rating test\n"


class Received(NamedTuple):
    """An intake case: its id, 办件编号 and the query code printed on the receipt."""

    case_id: int
    case_no: str
    query_code: str


def receive(engine: Engine, *, tolerance: bool = False) -> Received:
    """Receive an application for the 渝中 parallel-approval matter; ``tolerance`` leaves 中标通知书 missing."""
    materials = (
        MaterialInput("application_form", io.BytesIO(PDF), "申请表.pdf"),
        MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
        MaterialInput("drawing_review", io.BytesIO(PDF + b"d"), "审查合格书.pdf"),
        MaterialInput("bid_notice", missing=True) if tolerance else
        MaterialInput("bid_notice", io.BytesIO(PDF + b"b"), "中标通知书.pdf"),
        MaterialInput("funding_proof", io.BytesIO(PDF + b"f"), "承诺书.pdf", original_verified=True),
    )
    result = engine.handle(ReceiveApplication(MATTER, CLERK, Party("person", "张三", "111", "500103198506120317"),
                                              "13800138000", materials))
    return Received(result.case.case_id, result.case.case_no, result.query_code)


def task_of(engine: Engine, actor: Actor, element_id: str, case_id: int) -> dict:
    """Return the open task at ``element_id`` of one case, as ``actor`` sees it in the inbox."""
    items = [t for t in engine.queries.tasks(actor, limit=200).items
             if t["element_id"] == element_id and t["case_id"] == case_id]
    assert len(items) == 1, items
    return items[0]


def work_to_end(engine: Engine, case: Received) -> None:
    """受理, then the three reviews; 住建 finishes last, so it is the responsible department."""
    engine.handle(CompleteTask(task_of(engine, CLERK, "accept", case.case_id)["id"], CLERK, ACCEPT))
    for actor, element in ((GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang"), (ZHUJIAN, "review_zhujian")):
        engine.handle(CompleteTask(task_of(engine, actor, element, case.case_id)["id"], actor, APPROVE))


def closed_case(engine: Engine) -> Received:
    """An intake case that has ended (办结)."""
    case = receive(engine)
    work_to_end(engine, case)
    return case


def food_application(engine: Engine) -> Received:
    """Receive a 食品经营许可 application (standard_permit: 收件, 形式审查, 一次性告知补正 ...) in 渝中."""
    materials = (MaterialInput("application_form", io.BytesIO(PDF), "申请书.pdf"),
                 MaterialInput("business_license", license_ref="LIC-91500103-0001"),
                 MaterialInput("commitment_letter", io.BytesIO(PDF + b"c"), "承诺书.pdf", original_verified=True),
                 MaterialInput("premises_layout", io.BytesIO(PDF + b"p"), "布局图.pdf"),
                 MaterialInput("safety_rules", io.BytesIO(PDF + b"s"), "制度.pdf"))
    result = engine.handle(ReceiveApplication(
        FOOD, CLERK, Party("legal", "重庆某餐饮管理有限公司", id_number="91500103MA5U1234XJ",
                           legal_representative="王五"), "13800138000", materials,
        form={"department": "shichang", "substantive_check": False}))
    return Received(result.case.case_id, result.case.case_no, result.query_code)


def food_correction(engine: Engine, case: Received) -> None:
    """收件 and 形式审查 of the 食品经营许可, then the one-time 补正 notice listing two items."""
    for element, data in (
            ("receive", {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "standard",
                         "received_materials": "申请书等", "originals_checked": True}),
            ("formal_review", {"intake_decision": "correction", "review_note": "材料不齐"}),
            ("correction_notice", {"correction_notice_no": "渝中补〔2026〕07 号", "missing_items": [
                {"item_name": "经营场所平面布局图", "item_requirement": "标明操作间面积"}, {"item_name": "健康证明"}]})):
        engine.handle(CompleteTask(task_of(engine, CLERK, element, case.case_id)["id"], CLERK, data))
