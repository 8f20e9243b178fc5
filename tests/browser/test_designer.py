"""A designer changes the shipped parallel approval in the browser: adds a fourth parallel review, sees lint
flag it, fixes it in our properties panel, saves a draft and deploys; new cases take the new version while
the running case stays on the old one. Also the form editor, and the dry-run panel."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any


from app.runtime import get_engine

from .conftest import ARTIFACTS
from .test_review_flow import log_in

ACCEPT = {"decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": True}
SELECTION = "() => TongbanDesigner.modeler.get('selection').get().map(e => e.id)"


def shot(page, name: str) -> None:  # noqa: ANN001
    page.screenshot(path=str(ARTIFACTS / f"designer-{name}.png"))


def api(server, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:  # noqa: ANN001
    """Call the JSON API with a fresh bearer token of ``user``."""
    token = get_engine(server.app).identity.create_token(user, label="browser-test")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def open_modeler(page, base: str, path: str = "/designer/parallel_approval") -> None:  # noqa: ANN001
    page.goto(base + path)
    page.wait_for_selector("body[data-modeler-ready=true]", timeout=20000)
    page.wait_for_selector("#lint-summary:has-text('没有发现问题')", timeout=20000)


def element_named(page, name: str) -> str:  # noqa: ANN001
    return page.evaluate("""name => TongbanDesigner.modeler.get('elementRegistry')
        .filter(e => e.type !== 'label' && e.businessObject.name === name).map(e => e.id)[0]""", name)


def add_parallel_review(page, name: str) -> str:  # noqa: ANN001
    """Append a task to the split gateway from its context pad, make it a user task, connect it to the join."""
    page.click('[data-element-id="split"]')
    append = page.locator('.djs-context-pad [data-action="append.append-task"]')
    assert append.get_attribute("title") == "追加任务"
    append.click()
    page.keyboard.type(name)
    page.click('[data-element-id="split"]')  # ends the label editing
    task = element_named(page, name)
    page.click(f'[data-element-id="{task}"]')
    page.click('.djs-context-pad [data-action="replace"]')
    page.click('.djs-popup [data-id="replace-with-user-task"]')
    page.wait_for_selector("#lint-summary:has-text('2 个错误')")
    page.locator(".djs-palette").get_by_role("button", name="连线工具").click()
    source = page.locator(f'[data-element-id="{task}"]').bounding_box()
    target = page.locator('[data-element-id="join"]').bounding_box()
    page.mouse.move(source["x"] + source["width"] / 2, source["y"] + source["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=10)
    page.mouse.up()
    page.click('[data-element-id="start"]')  # diagram-js swallows the first click after a drag; spend it here
    return task


def test_a_designer_adds_a_parallel_review_fixes_lint_and_deploys_a_version_new_cases_use(server, page):
    base = server.url
    log_in(page, base, "designer")
    page.get_by_role("link", name="流程设计").click()
    row = page.get_by_role("row").filter(has_text="并联审批（示例）")
    assert "第 1 版" in row.inner_text()
    shot(page, "01-list")
    row.get_by_role("link", name="打开最新版").click()
    page.wait_for_selector("body[data-modeler-ready=true]", timeout=20000)
    page.wait_for_selector("#lint-summary:has-text('没有发现问题')", timeout=20000)
    assert page.locator(".djs-palette").get_by_role("button", name="添加任务").count() == 1
    shot(page, "02-modeler")

    task = add_parallel_review(page, "生态环境部门审查")
    page.wait_for_selector("#lint-summary:has-text('1 个错误，1 个警告')")
    generated = page.get_by_role("button", name=re.compile("自动生成"))  # the new task's id says nothing yet
    assert "LINT_ID_GENERATED" in generated.inner_text() and task in generated.inner_text()
    finding = page.get_by_role("button", name=re.compile("没有指定候选组或候选人"))
    assert "TB_NO_CANDIDATES" in finding.inner_text()
    assert page.locator(f'.djs-element.tb-lint-error[data-element-id="{task}"]').count() == 1
    shot(page, "03-lint-error")

    finding.click()
    assert page.evaluate(SELECTION) == [task]
    assert page.locator(f'.djs-element.tb-lint-focus[data-element-id="{task}"]').count() == 1
    canvas = page.locator("#canvas").bounding_box()
    box = page.locator(f'[data-element-id="{task}"]').bounding_box()
    assert canvas["y"] <= box["y"] and box["y"] + box["height"] <= canvas["y"] + canvas["height"]

    page.get_by_label("ID", exact=True).fill("review_shengtai")
    page.get_by_label("ID", exact=True).press("Tab")
    page.wait_for_selector('[data-element-id="review_shengtai"]')
    page.get_by_label("部门", exact=True).select_option(label="生态环境局（shengtai）")
    page.get_by_role("button", name="添加候选组").click()
    page.wait_for_selector("#lint-summary:has-text('没有发现问题')")
    assert page.get_by_label("候选组", exact=True).input_value() == "reviewer@${owning}/shengtai"
    assert page.locator(".djs-element.tb-lint-error").count() == 0
    page.get_by_label("办理表单").select_option("review_opinion")
    page.get_by_label("期限", exact=True).fill("5")
    page.get_by_label("期限", exact=True).press("Tab")
    page.wait_for_function("document.getElementById('doc-state').textContent.includes('有未保存的修改')")
    shot(page, "04-fixed")

    page.get_by_role("button", name="撤销").click()  # undo the deadline, then redo it: edits are commands
    page.wait_for_function("document.querySelector('[data-field=\"deadline-amount\"]').value === ''")
    page.get_by_role("button", name="重做").click()
    page.wait_for_function("document.querySelector('[data-field=\"deadline-amount\"]').value === '5'")

    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_selector("#status:has-text('草稿已保存')")
    assert re.search(r"\?draft=\d+$", page.url)
    page.get_by_role("button", name="部署").click()
    page.wait_for_selector("#status:has-text('已部署为第 2 版')", timeout=20000)
    assert page.url.endswith("?version=2")
    shot(page, "05-deployed")

    status, definitions = api(server, "designer", "GET", "/api/v1/definitions")
    assert [d["version"] for d in definitions if d["process_key"] == "parallel_approval"] == [2, 1]
    status, new_case = api(server, "window_yz", "POST", "/api/v1/cases",
                           {"process_key": "parallel_approval", "title": "部署后收件", "data": {"applicant": "某公司"}})
    assert status == 201, new_case
    reviews = {}
    for case_id in (server.case_id, new_case["case_id"]):
        status, case = api(server, "window_yz", "GET", f"/api/v1/cases/{case_id}")
        accept = next(t for t in case["tasks"] if t["element_id"] == "accept")
        assert api(server, "window_yz", "POST", f"/api/v1/tasks/{accept['id']}/claim")[0] == 200
        assert api(server, "window_yz", "POST", f"/api/v1/tasks/{accept['id']}/complete", {"data": ACCEPT})[0] == 200
        status, case = api(server, "window_yz", "GET", f"/api/v1/cases/{case_id}")
        reviews[case["definition_version"]] = sorted(t["element_id"] for t in case["tasks"] if t["state"] == "open")
    assert reviews == {1: ["review_guihua", "review_xiaofang", "review_zhujian"],
                       2: ["review_guihua", "review_shengtai", "review_xiaofang", "review_zhujian"]}

    page.get_by_role("button", name="部署").click()  # the same diagram once more: no new version
    page.wait_for_selector("#status:has-text('与当前版本相同，未产生新版本')", timeout=20000)
    shot(page, "06-identical")


def test_a_form_is_edited_in_the_form_editor_saved_into_the_draft_and_deployed_with_it(server, page):
    log_in(page, server.url, "designer")
    open_modeler(page, server.url)
    page.click('[data-element-id="review_zhujian"]')
    page.get_by_role("button", name="编辑表单").click()
    page.wait_for_url(re.compile(r"/designer/forms/review_opinion\?draft=\d+$"))
    page.wait_for_selector("body[data-form-ready=true]", timeout=20000)
    assert page.locator(".fjs-palette-group-title", has_text="输入").count() == 1
    page.locator(".fjs-editor-container .fjs-form-field", has_text="审查意见").first.click()
    page.locator(".bio-properties-panel-group-header", has_text="常规").click()
    page.get_by_label("字段标题").click()
    page.keyboard.press("End")
    page.keyboard.type("及理由")
    page.locator(".fjs-editor-container .fjs-form-field-label", has_text="审查意见及理由").wait_for()
    shot(page, "07-form-editor")
    page.get_by_role("button", name="保存到草稿").click()
    page.wait_for_selector("#status:has-text('已保存到草稿')")

    page.get_by_role("link", name="返回流程图").click()
    page.wait_for_selector("#lint-summary:has-text('没有发现问题')", timeout=20000)
    page.click('[data-element-id="review_zhujian"]')
    assert "草稿中已修改" in page.get_by_label("办理表单").inner_text()
    page.get_by_role("button", name="部署").click()
    page.wait_for_selector("#status:has-text('已部署为第 2 版')", timeout=20000)
    drafts = get_engine(server.app).drafts
    assert drafts.deployed_forms()["review_opinion"] == 2
    labels = [c.get("label") for c in drafts.deployed_form("review_opinion")["components"]]
    assert "审查意见及理由" in labels


SCENARIO = """name: 受理后四部门并联审查，全部同意后办结
start:
  by: window_clerk@500103/zwzx
  data: {applicant: 重庆某建设有限公司}
steps:
  - complete: accept
    by: window_clerk@500103/zwzx
    data: {decision: accept, opinion: 材料齐全，予以受理, materials_complete: true}
  - expect:
      tasks: [review_guihua, review_shengtai, review_xiaofang, review_zhujian]
  - complete: review_shengtai
    by: reviewer@500103/shengtai
    data: {approved: approve, opinion: 同意}
  - complete: review_zhujian
    by: reviewer@500103/zhujian
    data: {approved: approve, opinion: 同意}
  - complete: review_guihua
    by: reviewer@500103/guihua
    data: {approved: approve, opinion: 同意}
  - complete: review_xiaofang
    by: reviewer@500103/xiaofang
    data: {approved: approve, opinion: 同意}
  - expect:
      ended: true
      path_contains: [review_shengtai, join, end_done]
"""


def test_a_designer_dry_runs_the_changed_diagram_and_sees_the_path(server, page):
    log_in(page, server.url, "designer")
    open_modeler(page, server.url)
    task = add_parallel_review(page, "生态环境部门审查")
    page.click(f'[data-element-id="{task}"]')
    page.get_by_label("ID", exact=True).fill("review_shengtai")
    page.get_by_label("ID", exact=True).press("Tab")
    page.get_by_label("候选组", exact=True).fill("reviewer@${owning}/shengtai")
    page.get_by_label("候选组", exact=True).press("Tab")
    page.wait_for_selector("#lint-summary:has-text('没有发现问题')")
    page.get_by_role("tab", name="试运行").click()
    page.get_by_label(re.compile("场景")).fill(SCENARIO)
    page.get_by_role("button", name="运行", exact=True).click()
    page.wait_for_selector("#dryrun-result :text('场景运行通过')", timeout=60000)
    assert page.locator('.djs-element.tb-path[data-element-id="review_shengtai"]').count() == 1
    assert page.locator('.djs-element.tb-path[data-element-id="end_rejected"]').count() == 0
    assert page.locator(".tb-path-count").count() >= 5
    shot(page, "08-dryrun")
