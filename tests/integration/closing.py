"""Cases that run to their end, for the archive, seal and export tests."""
from __future__ import annotations

import io

from engine import CompleteTask, Engine, MaterialInput, Party, ReceiveApplication, StartCase
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN, open_task

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%closing test\n"
COMPANY = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")
PERSON_DATA = {"applicant_name": "张三", "id_number": "500103198506120317", "contact_phone": "13800138000",
               "note": "联系人手机 13912345678"}


def receive(engine: Engine, tag: str = "") -> int:
    """Receive an application with four uploads (one original seen) and a 电子证照; return the case id."""
    materials = (
        MaterialInput("application_form", io.BytesIO(PDF + tag.encode()), "申请表.pdf"),
        MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
        MaterialInput("drawing_review", io.BytesIO(PDF + b"drawing" + tag.encode()), "审查合格书.pdf"),
        MaterialInput("bid_notice", io.BytesIO(PDF + b"bid" + tag.encode()), "中标通知书.pdf"),
        MaterialInput("funding_proof", io.BytesIO(PDF + b"fund" + tag.encode()), "承诺书.pdf",
                      original_verified=True),
    )
    result = engine.handle(ReceiveApplication(CODE, CLERK, COMPANY, "13800138000", materials,
                                              form={"project": "某小区 1 号楼"}))
    return result.case.case_id


def run_to_end(engine: Engine, case_id: int) -> str:
    """Accept and approve in the three departments; return the case's final status."""
    accept = [t for t in engine.queries.case(CLERK, case_id)["tasks"] if t["element_id"] == "accept"][0]
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    status = ""
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        task = [t for t in engine.queries.case(CLERK, case_id)["tasks"]
                if t["element_id"] == element and t["state"] == "open"][0]
        status = engine.handle(CompleteTask(task["id"], actor, APPROVE)).status
    return status


def closed_case(engine: Engine, tag: str = "") -> int:
    """A received case run to its end; return its id."""
    case_id = receive(engine, tag)
    assert run_to_end(engine, case_id) == "completed"
    return case_id


def started_with_personal_data(engine: Engine) -> int:
    """A case started directly with personal data in its start data (not through intake)."""
    return engine.handle(StartCase("parallel_approval", CLERK, data=dict(PERSON_DATA))).case_id


__all__ = ["CODE", "PERSON_DATA", "closed_case", "open_task", "receive", "run_to_end", "started_with_personal_data"]
