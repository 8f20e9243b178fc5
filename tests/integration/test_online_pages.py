"""The applicant's pages: login lands on 我的办件, 网上申报 with per-field errors, the case page, 网上补正 upload."""
from __future__ import annotations

import io
import re

import pytest

from app import create_app
from app.runtime import get_engine
from engine import Actor, SuspendClock

from ..pages_helpers import PASSWORD, csrf_of, login, seed

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%online page\n"
CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")


@pytest.fixture
def app(database_url, clock, tmp_path):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                              "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives")})
    seed(application)
    get_engine(application).applicant_accounts.add("zhangsan", name="张三", id_type="111",
                                                   id_number="500103199001011232", verified_by="window_yz",
                                                   password=PASSWORD)
    yield application
    get_engine(application).close()


@pytest.fixture
def zhang(app):
    client = app.test_client()
    response = login(client, "zhangsan")
    assert response.status_code == 302
    return client


def form(csrf: str, **changes) -> dict:
    data = {"csrf_token": csrf, "matter_code": CODE, "district": "500103", "as": "self",
            "contact_phone": "13800138000", "form.subject": "某小区 1 号楼施工许可",
            "material.application_form": (io.BytesIO(PDF), "申请表.pdf"),
            "license.land_certificate": "LIC-500103-2026-0001",
            "material.drawing_review": (io.BytesIO(PDF + b"d"), "审查合格书.pdf"), "missing.bid_notice": "true",
            "material.funding_proof": (io.BytesIO(PDF + b"f"), "承诺书.pdf")}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_applicant_lands_on_my_cases_and_staff_pages_are_closed(app, zhang):
    home = zhang.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/my/cases")
    page = zhang.get("/my/cases").get_data(as_text=True)
    assert "我的办件" in page and "网上申报" in page and "5001**********1232" in page and "我的任务" not in page
    for path in ("/intake", "/dashboard", "/designer", "/cases/1", "/tasks/1", "/reports"):
        refused = zhang.get(path)
        assert refused.status_code == 403 and "工作人员" in refused.get_data(as_text=True), path
    clerk = app.test_client()
    login(clerk, "window_yz")
    assert clerk.get("/my/cases").status_code == 403


def test_an_applicant_applies_on_the_page_with_errors_kept_then_sees_the_query_code_once(app, zhang):
    listed = zhang.get("/online").get_data(as_text=True)
    assert CODE in listed and "11500000MB1538920T4000107001" not in listed      # 户口迁移 is not online
    page = zhang.get(f"/online?matter={CODE}").get_data(as_text=True)
    assert 'name="district"' in page and "送达时核验原件" in page and "已核验原件" not in page
    token = csrf_of(zhang, f"/online?matter={CODE}")
    bad = zhang.post("/online", data=form(token, contact_phone="12", district=""),
                     content_type="multipart/form-data")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "请选择办理地" in text and 'name="district"' in text and 'value="12"' in text   # the form, values kept
    for blank in (None, "", "  "):    # no matter chosen: say so, not "事项  不存在"; nothing is written
        unchosen = zhang.post("/online", data=form(token, matter_code=blank), content_type="multipart/form-data")
        text = unchosen.get_data(as_text=True)
        assert unchosen.status_code == 422 and "请先选择要申报的事项" in text and "不存在" not in text
        assert CODE in text    # the matters offered online are listed again
    assert zhang.get("/my/cases").get_data(as_text=True).count("/my/cases/") == 0
    forged = zhang.post("/online", data=form(token, **{"as": "legal", "agent.authorization": ""}),
                        content_type="multipart/form-data")
    assert forged.status_code == 422 and "授权委托书编号" in forged.get_data(as_text=True)
    done = zhang.post("/online", data=form(token), content_type="multipart/form-data")
    assert done.status_code == 302
    case_page = zhang.get(done.headers["Location"]).get_data(as_text=True)
    code = re.search(r'class="query-code">([A-Z0-9]{8})<', case_page)
    assert code and "申报成功" in case_page and "已收件" in case_page
    assert "query-code" not in zhang.get(done.headers["Location"]).get_data(as_text=True)   # shown once
    assert zhang.get("/my/cases").get_data(as_text=True).count("/my/cases/") == 1


def test_the_supplement_form_appears_with_an_open_notice_and_stores_the_upload(app, zhang):
    token = csrf_of(zhang, f"/online?matter={CODE}")
    location = zhang.post("/online", data=form(token), content_type="multipart/form-data").headers["Location"]
    case_id = int(location.rsplit("/", 1)[1])
    assert "网上补正" not in zhang.get(location).get_data(as_text=True)
    refused = zhang.post(f"{location}/supplements", data={"csrf_token": token, "material.drawing_review": (
        io.BytesIO(PDF + b"2"), "b.pdf")}, content_type="multipart/form-data")
    assert refused.status_code == 409 and "没有待补正" in refused.get_data(as_text=True)
    get_engine(app).handle(SuspendClock(case_id, CLERK, "correction", "一次性告知：审查合格书缺盖章页"))
    page = zhang.get(location).get_data(as_text=True)
    assert "网上补正" in page and "缺盖章页" in page
    wrong = zhang.post(f"{location}/supplements", data={"csrf_token": token, "material.drawing_review": (
        io.BytesIO(b"GIF89a" + b"\x00" * 16), "x.gif")}, content_type="multipart/form-data")
    assert wrong.status_code == 422 and "审查合格书" in wrong.get_data(as_text=True)
    ok = zhang.post(f"{location}/supplements", data={"csrf_token": token, "note": "已补盖章页",
                                                      "material.drawing_review": (io.BytesIO(PDF + b"v2"),
                                                                                  "审查合格书-盖章.pdf")},
                    content_type="multipart/form-data")
    assert ok.status_code == 302
    after = zhang.get(ok.headers["Location"]).get_data(as_text=True)
    assert "补正材料已提交" in after and "审查合格书-盖章.pdf" in after and "已补盖章页" in after
    no_csrf = zhang.post(f"{location}/supplements", data={"note": "x"}, content_type="multipart/form-data")
    assert no_csrf.status_code == 400


def test_an_applicant_sees_each_project_categorys_committed_limit_of_a_matter_set_per_category(app, zhang):
    """工改 (F11): 网上申报 lists and heads the matter with the figures in force today, not the placeholder 45."""
    figures = "按项目类别：一般社会投资项目 50 个工作日、政府投资项目 80 个工作日、小型社会投资项目 35 个工作日、" \
              "带方案出让用地项目 20 个工作日、一般工业项目 15 个工作日"
    listed = zhang.get("/online?q=工程建设项目").get_data(as_text=True)
    assert f"GC500000-LHBL-0001 · 承诺 {figures} · 全市通办" in listed
    page = zhang.get("/online?matter=GC500000-LHBL-0001").get_data(as_text=True)
    assert f"法定时限 45 个工作日 · 承诺时限 {figures}" in page and "承诺时限 45" not in page
    permit = zhang.get(f"/online?matter={CODE}").get_data(as_text=True)
    assert "法定时限 20 个工作日 · 承诺时限 10 个工作日" in permit     # a matter with an amount, as before
