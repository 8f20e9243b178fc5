"""The clerk's intake page and the receipt: matter search (htmx), CSRF, per-field errors, the printable receipt."""
from __future__ import annotations

import io
import re

import pytest

from app import create_app
from app.runtime import get_engine
from engine import Actor

from ..pages_helpers import client_for, csrf_of, seed

CODE = "11500103MB1D25937B4000117001"
AUDITOR = Actor("auditor", ("auditor",), "500000", None)
PDF = b"%PDF-1.7\n%page test\n"


@pytest.fixture
def app(database_url, clock, tmp_path):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                              "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives")})
    seed(application)
    yield application
    get_engine(application).close()


def application_form(csrf: str, **changes) -> dict:
    data = {"csrf_token": csrf, "matter_code": CODE, "applicant.kind": "person", "applicant.name": "张三",
            "applicant.id_type": "111", "applicant.id_number": "500103198506120317",
            "contact_phone": "13800138000", "form.subject": "某小区 1 号楼施工许可",
            "material.application_form": (io.BytesIO(PDF), "申请表.pdf"),
            "license.land_certificate": "LIC-500103-2026-0001",
            "material.drawing_review": (io.BytesIO(PDF + b"d"), "审查合格书.pdf"),
            "missing.bid_notice": "true",
            "material.funding_proof": (io.BytesIO(PDF + b"f"), "承诺书.pdf"), "verified.funding_proof": "true"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_clerk_finds_a_matter_of_their_district_with_htmx_and_others_see_none(app):
    clerk = client_for(app, "window_yz")
    partial = clerk.get("/intake/matters?q=施工许可", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="matter-results"') and f"/intake?matter={CODE}" in partial
    page = clerk.get(f"/intake?matter={CODE}").get_data(as_text=True)
    assert "渝中区政务服务中心 3 号窗口" in page and 'enctype="multipart/form-data"' in page
    assert 'name="verified.funding_proof"' in page and 'name="missing.bid_notice"' in page
    assert 'name="missing.application_form"' not in page  # required and not 容缺: no way to skip it
    outsider = client_for(app, "window_wz")
    assert CODE not in outsider.get("/intake/matters?q=施工许可").get_data(as_text=True)
    assert outsider.get(f"/intake?matter={CODE}").status_code == 404
    assert client_for(app, "reviewer_zj").get("/intake").status_code == 403


def test_intake_without_the_csrf_token_is_refused(app):
    clerk = client_for(app, "window_yz")
    response = clerk.post("/intake", data=application_form("wrong"), content_type="multipart/form-data")
    assert response.status_code == 400
    assert get_engine(app).queries.tasks(get_engine(app).identity.actor_for_username("window_yz")).items[-1][
        "case_title"] == "某小区住宅楼施工许可"  # only the seeded case


def test_errors_come_back_per_field_in_chinese_with_the_values_kept(app):
    clerk = client_for(app, "window_yz")
    csrf = csrf_of(clerk, f"/intake?matter={CODE}")
    response = clerk.post("/intake", content_type="multipart/form-data", data=application_form(
        csrf, **{"applicant.id_number": "500103198506120318", "contact_phone": "12",
                 "verified.funding_proof": None}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "居民身份证号校验位不正确，请核对" in page and "联系电话应为 11 位手机号或带区号的固定电话" in page
    assert "该材料须核验原件" in page and 'aria-invalid="true"' in page
    assert 'href="#f-applicant-id_number">申请人证件号码</a>' in page and ">建设资金已经落实承诺书</a>" in page
    assert 'value="张三"' in page
    missing = clerk.post("/intake", content_type="multipart/form-data", data=application_form(
        csrf, **{"material.drawing_review": None}))
    assert missing.status_code == 422 and "缺少必备材料（不可容缺），不予收件：施工图设计文件审查合格书" in \
        missing.get_data(as_text=True)


def test_an_application_without_a_matter_asks_for_one_and_creates_nothing(app):
    clerk = client_for(app, "window_yz")
    engine = get_engine(app)
    before = engine.queries.task_counts(engine.identity.actor_for_username("window_yz"))
    csrf = csrf_of(clerk, "/intake")
    for blank in (None, "", "  "):
        response = clerk.post("/intake", content_type="multipart/form-data",
                              data=application_form(csrf, matter_code=blank))
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert '<p class="field-error" id="err-matter_code">请选择事项</p>' in page
        assert '<a href="#f-matter_code">事项</a>：请选择事项' in page and 'aria-invalid="true"' in page
        assert "不存在" not in page and "选择事项" in page   # the matter search is offered again
    assert engine.queries.task_counts(engine.identity.actor_for_username("window_yz")) == before


def test_a_successful_intake_shows_the_receipt_with_the_query_code_only_once(app):
    clerk = client_for(app, "window_yz")
    csrf = csrf_of(clerk, f"/intake?matter={CODE}")
    response = clerk.post("/intake", content_type="multipart/form-data", data=application_form(csrf))
    assert response.status_code == 302 and re.match(r"^/cases/\d+/receipt$", response.headers["Location"])
    first = clerk.get(response.headers["Location"]).get_data(as_text=True)
    code = re.search(r'class="query-code"><dt>查询码</dt><dd><strong>([A-Z0-9]{8})</strong>', first)
    assert code, first
    assert "5001**********0317" in first and "500103198506120317" not in first
    assert "138****8000" in first and "渝中区政务服务中心 3 号窗口" in first and "渝中区住房和城乡建设委员会" in first
    assert "容缺受理" in first and "中标通知书" in first and "已核验原件" in first
    assert "2026-12-02 24:00" in first  # 承诺办结时间: 7 working days in 渝中
    css = clerk.get("/static/tongban.css")
    assert "@media print" in css.get_data(as_text=True) and "receipt" in first
    css.close()
    again = clerk.get(response.headers["Location"]).get_data(as_text=True)
    assert code.group(1) not in again and "重新打印的回执不含查询码" in again
    outsider = client_for(app, "window_wz")
    assert outsider.get(response.headers["Location"]).status_code == 404


def test_a_window_lists_and_receives_a_matter_another_district_granted_it(app):
    outsider = client_for(app, "window_wz")                            # 万州 window, the matter is 渝中's
    assert CODE not in outsider.get("/intake/matters?q=施工许可").get_data(as_text=True)
    grant = get_engine(app).grants.add(matter_code=CODE, owning="500103", receiving="500101", rights=["receive"],
                                       actor="admin")
    listed = outsider.get("/intake/matters?q=施工许可").get_data(as_text=True)
    assert f"/intake?matter={CODE}&amp;owning=500103" in listed and "代收 · 渝中区" in listed
    form_page = outsider.get(f"/intake?matter={CODE}&owning=500103").get_data(as_text=True)
    assert 'name="owning_district" value="500103"' in form_page and "业务属地为渝中区" in form_page
    csrf = csrf_of(outsider, f"/intake?matter={CODE}&owning=500103")
    response = outsider.post("/intake", content_type="multipart/form-data",
                             data=application_form(csrf, owning_district="500103"))
    assert response.status_code == 302, response.get_data(as_text=True)
    case_id = int(response.headers["Location"].split("/")[2])
    case = get_engine(app).queries.case(AUDITOR, case_id)
    assert (case["owning_district"], case["receiving_district"]) == ("500103", "500101")
    get_engine(app).grants.revoke(grant.id, actor="admin", reason="试点结束")
    assert outsider.get(f"/intake?matter={CODE}&owning=500103").status_code == 404
    csrf = csrf_of(outsider, "/intake")
    refused = outsider.post("/intake", content_type="multipart/form-data",
                            data=application_form(csrf, owning_district="500103"))
    assert refused.status_code == 422 and "未获渝中区（500103）授予事项" in refused.get_data(as_text=True)


def test_a_matter_with_its_committed_limit_per_project_category_shows_the_figures_and_the_cases_own(app):
    """工改 (F11): the list and the form show each category's 承诺时限; the receipt the case's own, not 45."""
    from engine import MaterialInput, Party, ReceiveApplication
    gc = "GC500000-LHBL-0001"
    figures = "按项目类别：一般社会投资项目 50 个工作日、政府投资项目 80 个工作日、小型社会投资项目 35 个工作日、" \
              "带方案出让用地项目 20 个工作日、一般工业项目 15 个工作日"
    clerk = client_for(app, "window_yz")
    listed = clerk.get("/intake/matters?q=工程建设项目", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f"{gc} · 承诺 {figures}" in listed and "承诺 45" not in listed
    page = clerk.get(f"/intake?matter={gc}").get_data(as_text=True)
    assert f"法定时限 45 个工作日 · 承诺时限 {figures}" in page
    engine = get_engine(app)
    result = engine.handle(ReceiveApplication(gc, engine.identity.actor_for_username("window_yz"),
                                              Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ",
                                                    legal_representative="王五"), "13800138000",
                                              (MaterialInput("project_application", io.BytesIO(PDF), "申请表.pdf"),
                                               MaterialInput("project_approval", io.BytesIO(PDF + b"a"), "备案.pdf")),
                                              form={"project_name": "渝中区某综合楼", "project_category": "with_plan"}))
    receipt = clerk.get(f"/cases/{result.case.case_id}/receipt").get_data(as_text=True)
    assert "<dt>承诺时限</dt><dd>20 个工作日（带方案出让用地项目）</dd>" in receipt
    assert "受理之日起 20 个工作日（带方案出让用地项目）" in receipt and "45 个工作日（" not in receipt
