"""收件 and 网上申报 of a 一件事 on the pages: the 一表申报 form's fields in Chinese, errors per field, the case starts."""
from __future__ import annotations

import io

from app.runtime import get_engine
from engine import Actor

from ..pages_helpers import client_for, csrf_of
from .test_online_pages import app, zhang  # noqa: F401 (fixtures)

KAIBAN = "11500000MB1D25937B4000101001"
PDF = b"%PDF-1.7\n%kaiban page\n"
SHICHANG = Actor("reviewer_sc", ("reviewer",), "500103", "shichang")
FILLED = {"form.company_name": "重庆渝通科技有限公司", "form.company_type": "llc", "form.registered_capital": "100",
          "form.business_scope": "软件开发", "form.address": "重庆市渝中区民族路 1 号", "form.legal_rep_name": "张三",
          "form.legal_rep_id_number": "500103199001011232", "form.employee_count": "8", "form.seal_count": "3",
          "form.invoice_kind": "special"}


def form(csrf: str, **changes: object) -> dict:
    data = {"csrf_token": csrf, "matter_code": KAIBAN, "district": "500103", "as": "self",
            "contact_phone": "13800138000", **FILLED,
            "material.id_card": (io.BytesIO(PDF + b"id"), "身份证.pdf"),
            "material.premises": (io.BytesIO(PDF + b"premises"), "租赁合同.pdf"),
            "material.articles": (io.BytesIO(PDF + b"articles"), "章程.pdf")}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_online_page_of_a_bundle_asks_for_its_application_form_and_starts_the_case(app, zhang):
    page = zhang.get(f"/online?matter={KAIBAN}").get_data(as_text=True)
    for label in ("一表申报", "企业名称", "注册资本（万元）", "法定代表人身份证号", "刻制印章枚数", "增值税专用发票"):
        assert label in page, label
    assert 'name="form.company_name"' in page and 'name="form.invoice_kind"' in page
    # Not asked: the summary of a single matter, the shared materials (the checklist), the phone (asked once).
    for absent in ('name="form.subject"', 'name="form.materials.id_card"', 'name="form.contact_phone"'):
        assert absent not in page, absent
    assert 'name="material.id_card"' in page

    token = csrf_of(zhang, f"/online?matter={KAIBAN}")
    bad = zhang.post("/online", data=form(token, **{"form.company_name": "", "form.seal_count": "0"}),
                     content_type="multipart/form-data")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'href="#f-form-company_name">企业名称</a>：必填项' in text
    assert 'href="#f-form-seal_count">刻制印章枚数</a>' in text
    assert "company_name ：" not in text and "未知字段" not in text and "补正材料" not in text
    assert 'value="重庆市渝中区民族路 1 号"' in text and "软件开发</textarea>" in text      # values kept

    done = zhang.post("/online", data=form(token), content_type="multipart/form-data")
    assert done.status_code == 302, done.get_data(as_text=True)
    case_id = int(done.headers["Location"].rsplit("/", 1)[1])
    engine = get_engine(app)
    data = engine.queries.events(case_id)[0].payload["data"]
    assert (data["company_name"], data["registered_capital"], data["invoice_kind"]) == ("重庆渝通科技有限公司", 100,
                                                                                      "special")
    assert (data["contact_phone"], data["applicant"], data["department"]) == ("13800138000", "张三", "shichang")
    assert set(data["materials"]) == {"id_card", "premises", "articles"}
    (task,) = [t for t in engine.queries.tasks(SHICHANG).items if t["case_id"] == case_id]
    assert task["element_id"] == "license_review"


def test_the_intake_page_of_a_bundle_asks_for_its_application_form_and_prints_the_receipt(app):
    clerk = client_for(app, "window_yz")
    page = clerk.get(f"/intake?matter={KAIBAN}").get_data(as_text=True)
    assert "企业名称" in page and 'name="form.company_name"' in page and 'name="form.subject"' not in page
    token = csrf_of(clerk, f"/intake?matter={KAIBAN}")
    counter = {"as": None, "district": None, "applicant.kind": "person", "applicant.name": "张三",
               "applicant.id_type": "111", "applicant.id_number": "500103199001011232", "verified.id_card": "true"}
    posted = {**form(token), **counter, "form.invoice_kind": None}
    bad = clerk.post("/intake", data={k: v for k, v in posted.items() if v is not None},
                     content_type="multipart/form-data")
    assert bad.status_code == 422
    assert 'href="#f-form-invoice_kind">申领发票种类</a>：必填项' in bad.get_data(as_text=True)
    token = csrf_of(clerk, f"/intake?matter={KAIBAN}")
    done = clerk.post("/intake", data={k: v for k, v in {**form(token), **counter}.items() if v is not None},
                      content_type="multipart/form-data")
    assert done.status_code == 302, done.get_data(as_text=True)
    case_id = int(done.headers["Location"].split("/")[-2])
    (task,) = [t for t in get_engine(app).queries.tasks(SHICHANG).items if t["case_id"] == case_id]
    assert task["element_id"] == "license_review"
    assert "企业开办" in clerk.get(done.headers["Location"]).get_data(as_text=True)
