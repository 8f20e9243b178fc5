"""Designer pages: the process list, the modeler's boot data, the form editor, access and the vendored packages."""
from __future__ import annotations

import json
import re

import pytest

from app import create_app
from app.runtime import get_engine
from tests.draft_diagrams import renamed

from ..pages_helpers import PASSWORD, client_for, seed

BOOT = re.compile(r'<script type="application/json" id="(?:designer|form)-boot">(.*?)</script>', re.S)


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    seed(application)
    identity = get_engine(application).identity
    identity.create_user("designer", display_name="流程设计", roles=("designer",), district="500000",
                         department="dsj", password=PASSWORD)
    identity.create_user("admin", display_name="管理员", roles=("admin",), district="500000", department="dsj",
                         password=PASSWORD)
    yield application
    get_engine(application).close()


def boot_of(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.loads(BOOT.search(response.get_data(as_text=True)).group(1))


def test_the_list_shows_versions_and_drafts_and_only_designers_and_admins_get_in(app):
    draft = get_engine(app).drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="designer",
                                          base_version=1)
    page = client_for(app, "designer").get("/designer").get_data(as_text=True)
    assert "并联审批（示例）" in page and "第 1 版" in page and f"草稿 #{draft.id}" in page
    assert 'href="/designer"' in page  # the navigation link
    assert client_for(app, "admin").get("/designer").status_code == 200
    reviewer = client_for(app, "reviewer_zj")
    refused = reviewer.get("/designer")
    assert refused.status_code == 403 and "流程设计页面仅对流程设计人员和管理员开放" in refused.get_data(as_text=True)
    assert 'href="/designer"' not in reviewer.get("/").get_data(as_text=True)
    assert reviewer.get("/designer/parallel_approval").status_code == 403
    assert reviewer.get("/designer/forms/review_opinion").status_code == 403
    assert app.test_client().get("/designer").headers["Location"].startswith("/login?next=")


def test_the_modeler_opens_the_latest_version_with_what_the_panel_offers(app):
    boot = boot_of(client_for(app, "designer").get("/designer/parallel_approval"))
    assert (boot["process_key"], boot["base_version"], boot["latest_version"], boot["draft"]) == (
        "parallel_approval", 1, 1, None)
    assert '<bpmn:process id="parallel_approval"' in boot["bpmn"]
    assert boot["deployed_forms"]["review_opinion"] == 1 and boot["designer"] is True
    assert {"reviewer", "window_clerk", "department_head"} <= set(boot["roles"])
    assert {"code": "500103", "name": "渝中区"} in boot["districts"]
    assert {"code": "shengtai", "name": "生态环境局"} in boot["departments"]
    assert boot["urls"]["lint"] == "/api/v1/lint" and boot["urls"]["dryrun"] == "/api/v1/dryrun"
    assert boot_of(client_for(app, "admin").get("/designer/parallel_approval"))["designer"] is False


def test_the_modeler_opens_a_draft_or_a_version_and_refuses_what_does_not_exist(app):
    drafts = get_engine(app).drafts
    draft = drafts.create(process_key="parallel_approval", bpmn=renamed("甲"), actor="designer", base_version=1)
    other = drafts.create(process_key="gongcheng", bpmn=renamed("乙"), actor="designer")
    client = client_for(app, "designer")
    boot = boot_of(client.get(f"/designer/parallel_approval?draft={draft.id}"))
    assert boot["draft"] == {"id": draft.id, "revision": 1} and 'name="甲"' in boot["bpmn"]
    assert boot_of(client.get("/designer/parallel_approval?version=1"))["base_version"] == 1
    assert client.get("/designer/parallel_approval?version=9").status_code == 404
    assert client.get(f"/designer/parallel_approval?draft={other.id}").status_code == 404
    assert client.get("/designer/parallel_approval?draft=999").status_code == 404


def test_a_new_process_starts_from_a_blank_diagram_and_a_bad_key_is_refused(app):
    client = client_for(app, "designer")
    redirect = client.get("/designer?key=fire_check&name=消防检查")
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "/designer/fire_check?name=%E6%B6%88%E9%98%B2%E6%A3%80%E6%9F%A5"
    boot = boot_of(client.get("/designer/fire_check?name=消防<检查>"))
    assert boot["base_version"] is None and boot["latest_version"] is None
    assert '<bpmn:process id="fire_check" name="消防&lt;检查&gt;" isExecutable="true">' in boot["bpmn"]
    refused = client.get("/designer/bad key")
    assert refused.status_code == 422 and "流程标识" in refused.get_data(as_text=True)


def test_the_form_editor_opens_the_drafts_copy_the_deployed_form_or_a_new_one(app):
    client = client_for(app, "designer")
    deployed = boot_of(client.get("/designer/forms/review_opinion"))
    assert (deployed["source"], deployed["deployed_version"], deployed["draft"]) == ("deployed", 1, None)
    assert deployed["schema"]["id"] == "review_opinion" and deployed["urls"]["back"] == "/designer"
    form = {**deployed["schema"], "components": []}
    draft = get_engine(app).drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="designer",
                                          base_version=1, forms={"review_opinion": form})
    mine = boot_of(client.get(f"/designer/forms/review_opinion?draft={draft.id}"))
    assert (mine["source"], mine["schema"]["components"]) == ("draft", [])
    assert mine["urls"]["back"] == f"/designer/parallel_approval?draft={draft.id}"
    new = boot_of(client.get(f"/designer/forms/fire_check?draft={draft.id}"))
    assert (new["source"], new["schema"]) == ("new", {"type": "default", "id": "fire_check", "components": [],
                                                      "schemaVersion": 16})
    assert client.get("/designer/forms/bad key").status_code == 422


def test_the_designer_packages_and_files_are_served_locally_and_nothing_else(app):
    client = app.test_client()
    for path in ("/vendor/@bpmn-io/form-js/form-editor.umd.js", "/vendor/@bpmn-io/form-js/assets/form-js-editor.css",
                 "/vendor/bpmn-js/bpmn-modeler.production.min.js", "/static/designer/tb-moddle.json",
                 "/static/designer/modeler.js", "/static/designer/form-editor.js"):
        response = client.get(path)
        response.close()
        assert response.status_code == 200, path
    for path in ("/vendor/@bpmn-io/form-js/../package.json", "/vendor/@bpmn-io/diagram-js/x.js",
                 "/vendor/@bpmn-io/form-js/", "/vendor/@bpmn-io/form-js/index.cjs.map/../../package.json"):
        assert client.get(path).status_code == 404, path


def test_bad_addresses_get_the_chinese_error_page_not_json_nor_the_latest_version(app):
    designer = client_for(app, "designer")
    empty = designer.get("/designer?key=++")
    assert empty.status_code == 422 and empty.mimetype == "text/html"
    assert "请填写流程标识" in empty.get_data(as_text=True)
    wrong = designer.get("/designer?key=流程%20一")
    assert wrong.status_code == 302
    opened = designer.get(wrong.headers["Location"])
    assert opened.status_code == 422 and "流程标识" in opened.get_data(as_text=True)
    for query, said in (("version=abc", "版本号应为正整数"), ("draft=1.5", "草稿编号应为正整数"),
                        ("version=0", "版本号应为正整数")):
        refused = designer.get(f"/designer/parallel_approval?{query}")
        assert refused.status_code == 422 and said in refused.get_data(as_text=True), query
    lost = designer.get("/designer/a/b", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert lost.status_code == 404 and lost.mimetype == "text/html"
