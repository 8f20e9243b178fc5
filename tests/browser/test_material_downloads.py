"""A reviewer opens a case in a real browser and downloads what the applicant submitted; another district cannot."""
from __future__ import annotations

import io

from app.runtime import get_engine
from engine import Actor, CompleteTask, MaterialInput, Party, ReceiveApplication

from .test_review_flow import log_in, shot

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%browser download\n"
CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")


def receive_and_accept(server) -> int:  # noqa: ANN001
    """The 渝中 window receives an application with uploads and a 电子证照, and accepts it for review."""
    engine = get_engine(server.app)
    materials = (
        MaterialInput("application_form", io.BytesIO(PDF), "施工许可申请表（签章）.pdf"),
        MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
        MaterialInput("drawing_review", io.BytesIO(PDF + b"d"), "审查合格书.pdf"),
        MaterialInput("bid_notice", io.BytesIO(PDF + b"b"), "中标通知书.pdf"),
        MaterialInput("funding_proof", io.BytesIO(PDF + b"f"), "承诺书.pdf", original_verified=True),
    )
    result = engine.handle(ReceiveApplication(CODE, CLERK, Party("legal", "重庆某建设有限公司",
                                                                 id_number="91500103MA5U1234XJ",
                                                                 legal_representative="王五"),
                                              "13800138000", materials))
    case_id = result.case.case_id
    (accept,) = [t for t in engine.queries.tasks(CLERK).items if t["case_id"] == case_id]
    engine.handle(CompleteTask(accept["id"], CLERK, {"decision": "accept", "opinion": "材料齐全",
                                                     "materials_complete": True}))
    return case_id


def test_a_reviewer_downloads_a_material_from_the_case_page_and_another_district_gets_not_found(
        server, page, browser):  # noqa: ANN001
    case_id = receive_and_accept(server)
    log_in(page, server.url, "reviewer_yz")
    page.goto(f"{server.url}/cases/{case_id}")
    materials = page.get_by_role("region", name="申请材料")
    assert "电子证照 LIC-500103-2026-0001" in materials.inner_text()
    assert "已核验原件（window_yz" in materials.inner_text()
    shot(page, "41-case-materials", full_page=True)
    with page.expect_download() as started:
        materials.get_by_role("link", name="下载 建筑工程施工许可证申请表").click()
    download = started.value
    assert download.suggested_filename == "施工许可申请表（签章）.pdf"
    with open(download.path(), "rb") as saved:
        assert saved.read() == PDF
    url = download.url
    assert url.endswith(f"/cases/{case_id}/materials/application_form")

    other = browser.new_context(locale="zh-CN")
    outsider = other.new_page()
    log_in(outsider, server.url, "window_wz")
    response = outsider.goto(url)
    assert response.status == 404 and "您要找的页面不存在，或您无权查看" in outsider.inner_text("body")
    other.close()
