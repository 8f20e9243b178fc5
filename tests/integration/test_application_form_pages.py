"""工改 through the pages: the intake and 网上申报 pages show its application form (申请表单), keep the values
with the errors beside the fields, and start a case that reaches its first task (SQLite and PostgreSQL).

Before, both pages sent only ``{"subject"}`` for a single matter, and 工改's first script failed with
EXPRESSION_FAILED (表达式引用了未定义的变量 'project_category'): it could be applied for over the API only.
"""
from __future__ import annotations

import io

from app.runtime import get_engine
from engine import Actor

from ..pages_helpers import client_for, csrf_of
from .test_online_pages import app, zhang  # noqa: F401 (fixtures)

GC = "GC500000-LHBL-0001"
PDF = b"%PDF-1.7\n%gongcheng page\n"
FAGAI = Actor("reviewer_fg", ("reviewer",), "500103", "fagai")
COUNTER = {"applicant.kind": "legal", "applicant.name": "重庆某建设有限公司",
           "applicant.id_number": "91500103MA5U1234XJ", "applicant.legal_representative": "王五"}
CATEGORIES = ("一般社会投资项目", "政府投资项目", "小型社会投资项目", "带方案出让用地项目", "一般工业项目")


def posted(csrf: str, **changes: object) -> dict:
    data = {"csrf_token": csrf, "matter_code": GC, "contact_phone": "13800138000",
            "form.project_name": "渝中区某综合楼", "form.project_category": "small_social",
            "material.project_application": (io.BytesIO(PDF), "申请表.pdf"), "missing.project_approval": "true"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def first_task(app, case_id: int) -> str:
    (task,) = [t for t in get_engine(app).queries.tasks(FAGAI).items if t["case_id"] == case_id]
    return task["element_id"]


def test_the_intake_page_asks_for_gongchengs_application_form_and_starts_the_case(app):
    clerk = client_for(app, "window_yz")
    page = clerk.get(f"/intake?matter={GC}").get_data(as_text=True)
    assert "<legend>申请表</legend>" in page and "一表申报" not in page
    assert 'name="form.project_name"' in page and 'name="form.project_category"' in page
    assert 'maxlength="200"' in page and all(label in page for label in ("项目名称", "项目类别", *CATEGORIES))
    assert '<option value="with_plan"' in page and page.count('name="form.subject"') == 1   # the form's own 摘要

    token = csrf_of(clerk, f"/intake?matter={GC}")
    bad = clerk.post("/intake", content_type="multipart/form-data",
                     data=posted(token, **COUNTER, **{"form.project_category": None, "form.subject": "一期报建"}))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'href="#f-form-project_category">项目类别</a>：必填项' in text
    assert 'id="f-form-project_category-err">必填项' in text                     # next to the field too
    assert 'value="渝中区某综合楼"' in text and "一期报建</textarea>" in text           # values kept
    assert "表达式" not in text

    token = csrf_of(clerk, f"/intake?matter={GC}")
    done = clerk.post("/intake", content_type="multipart/form-data", data=posted(token, **COUNTER))
    assert done.status_code == 302, done.get_data(as_text=True)
    case_id = int(done.headers["Location"].split("/")[-2])
    data = get_engine(app).queries.events(case_id)[0].payload["data"]
    assert (data["project_name"], data["project_category"]) == ("渝中区某综合楼", "small_social")
    assert first_task(app, case_id) == "s1_accept"


def test_the_online_page_asks_for_it_too_and_the_applicant_gets_the_case(app, zhang):
    page = zhang.get(f"/online?matter={GC}").get_data(as_text=True)
    assert "<legend>申请表</legend>" in page and 'name="form.project_category"' in page
    token = csrf_of(zhang, f"/online?matter={GC}")
    bad = zhang.post("/online", content_type="multipart/form-data",
                     data=posted(token, district="500103", **{"as": "self", "form.project_name": None,
                                                              "form.project_category": "industrial"}))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'href="#f-form-project_name">项目名称</a>：必填项' in text
    assert '<option value="industrial" selected' in text

    done = zhang.post("/online", content_type="multipart/form-data",
                      data=posted(token, district="500103", **{"as": "self"}))
    assert done.status_code == 302, done.get_data(as_text=True)
    case_id = int(done.headers["Location"].rsplit("/", 1)[1])
    assert get_engine(app).queries.events(case_id)[0].payload["data"]["project_category"] == "small_social"
    assert first_task(app, case_id) == "s1_accept"


def test_the_catalog_api_says_which_form_to_fill_in(app):
    clerk = client_for(app, "window_yz")
    body = clerk.get(f"/api/v1/matters/{GC}").get_json()
    form = body["application_form"]
    assert (form["key"], form["version"]) == ("gc_application", 1) and "source" not in form
    fields = {f["key"]: f for f in form["fields"]}
    assert fields["project_name"] == {"key": "project_name", "label": "项目名称", "type": "textfield",
                                      "required": True, "options": [], "validate": {"required": True,
                                                                                    "maxLength": 200}}
    assert fields["project_category"]["options"] == ["social", "government", "small_social", "with_plan",
                                                     "industrial"]
    listed = clerk.get("/api/v1/matters", query_string={"q": "工程建设"}).get_json()
    assert listed[0]["application_form"]["key"] == "gc_application"
    permit = clerk.get("/api/v1/matters/11500103MB1D25937B4000117001").get_json()
    assert permit["application_form"] is None
