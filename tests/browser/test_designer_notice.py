"""The designer's process panel edits ``<tb:oneTimeNotice tasks="..">`` (一次性告知环节): ticking a user task writes
the element, unticking the last one removes it, a renamed task stays named, a hand-written id that is no user task
is shown ticked so it can be removed (several hand-written elements become one), edits undo like any other, and
what the panel writes passes the server's lint and deploy."""
from __future__ import annotations

from lxml import etree

from app.runtime import get_engine
from engine.definitions import TB_NS

from .test_designer import api, open_modeler, shot
from .test_review_flow import log_in

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def new_draft(server, process_key: str, replace: tuple[str, str] | None = None) -> int:  # noqa: ANN001
    """Save the deployed diagram of ``process_key`` (optionally hand-edited) as a draft through the API."""
    bpmn = get_engine(server.app).drafts.deployed_source(process_key)["bpmn"]
    if replace:
        assert replace[0] in bpmn
        bpmn = bpmn.replace(*replace)
    status, draft = api(server, "designer", "POST", "/api/v1/drafts",
                        {"process_key": process_key, "bpmn": bpmn, "base_version": 1})
    assert status == 201, draft
    return draft["id"]


def stored_notices(server, draft_id: int, process_id: str) -> list[str]:  # noqa: ANN001
    """The ``tasks`` of every tb:oneTimeNotice of ``process_id`` in the draft as stored on the server."""
    root = etree.fromstring(get_engine(server.app).drafts.get(draft_id).bpmn.encode())
    process = root.find(f"{BPMN}process[@id='{process_id}']")
    return [el.get("tasks") for el in process.iterfind(f"{BPMN}extensionElements/{{{TB_NS}}}oneTimeNotice")]


def save(page, revision: int) -> None:  # noqa: ANN001
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_selector(f"#status:has-text('草稿已保存（第 {revision} 次保存）')")


def lint_clean(page) -> None:  # noqa: ANN001
    page.wait_for_selector("#lint-summary:has-text('没有发现问题')", timeout=20000)


def no_lint_error(page) -> None:  # noqa: ANN001
    """Wait for the live lint (the server's) to answer without an error."""
    page.wait_for_function("""() => { const s = document.getElementById('lint-summary').textContent;
        return s === '没有发现问题' || s.startsWith('0 个错误'); }""", timeout=20000)
    assert "TB_BAD_NOTICE" not in page.inner_text("#lint-list")


def test_a_designer_ticks_a_notice_task_saves_clears_it_and_deploys_a_renamed_one(server, page):
    draft_id = new_draft(server, "parallel_approval")
    log_in(page, server.url, "designer")
    open_modeler(page, server.url, f"/designer/parallel_approval?draft={draft_id}")
    notice = page.get_by_role("group", name="一次性告知环节")
    assert "行政许可法》第三十二条" in notice.inner_text()
    assert notice.get_by_role("checkbox").count() == 4  # 受理 and the three reviews
    assert not notice.get_by_label("受理（accept）").is_checked()

    notice.get_by_label("受理（accept）").click()
    lint_clean(page)  # the server's lint: no TB_BAD_NOTICE
    assert page.get_by_role("group", name="一次性告知环节").get_by_label("受理（accept）").is_checked()
    shot(page, "notice-01-ticked")
    page.get_by_role("button", name="撤销").click()  # a modeling command: undo and redo cover it
    page.wait_for_function("!document.querySelector('[data-field=\"notice-accept\"]').checked")
    page.get_by_role("button", name="重做").click()
    page.wait_for_function("document.querySelector('[data-field=\"notice-accept\"]').checked")
    save(page, 2)
    assert stored_notices(server, draft_id, "parallel_approval") == ["accept"]

    page.get_by_role("group", name="一次性告知环节").get_by_label("受理（accept）").click()
    page.wait_for_function("!document.querySelector('[data-field=\"notice-accept\"]').checked")
    save(page, 3)
    assert stored_notices(server, draft_id, "parallel_approval") == []
    source = get_engine(server.app).drafts.get(draft_id).bpmn
    assert "oneTimeNotice" not in source and "tb:clock" in source  # the other extensions stay

    page.get_by_role("group", name="一次性告知环节").get_by_label("消防部门审查（review_xiaofang）").click()
    page.get_by_role("group", name="一次性告知环节").get_by_label("受理（accept）").click()
    page.click('[data-element-id="review_xiaofang"]')
    page.get_by_label("ID", exact=True).fill("review_fire")
    page.get_by_label("ID", exact=True).press("Tab")
    page.wait_for_selector('[data-element-id="review_fire"]')
    page.evaluate("() => TongbanDesigner.modeler.get('selection').select(null)")
    renamed = page.get_by_role("group", name="一次性告知环节").get_by_label("消防部门审查（review_fire）")
    assert renamed.is_checked()
    no_lint_error(page)  # only the LINT_ID_REMOVED warning of the rename
    page.get_by_role("button", name="部署").click()
    page.wait_for_selector("#status:has-text('已部署为第 2 版')", timeout=20000)
    deployed = get_engine(server.app).drafts.deployed_source("parallel_approval", 2)["bpmn"]
    assert 'tasks="accept review_fire"' in deployed  # in diagram order


def test_the_panel_shows_the_receiving_process_notice_and_a_hand_written_unknown_id_to_untick(server, page):
    draft_id = new_draft(server, "yidi_shoujian", (  # written by hand, twice
        '<tb:oneTimeNotice tasks="notify"/>', '<tb:oneTimeNotice tasks="notify"/><tb:oneTimeNotice tasks="gone"/>'))
    log_in(page, server.url, "designer")
    page.goto(f"{server.url}/designer/yidi_shoujian?draft={draft_id}")
    page.wait_for_selector("body[data-modeler-ready=true]", timeout=20000)
    page.wait_for_selector("#lint-list :text('TB_BAD_NOTICE')", timeout=20000)
    page.evaluate("""() => { const m = TongbanDesigner.modeler;
        m.get('selection').select(m.get('elementRegistry').get('p_receiving')); }""")
    notice = page.get_by_role("group", name="一次性告知环节")
    assert notice.get_by_label("一次性告知补正（notify）").is_checked()
    stale = notice.get_by_label("gone（不是本流程的用户任务，请取消勾选）")
    assert stale.is_checked()
    shot(page, "notice-02-stale")
    stale.click()
    page.wait_for_selector("#lint-summary:not(:has-text('检查…'))")
    page.wait_for_function("!document.getElementById('lint-list').textContent.includes('TB_BAD_NOTICE')",
                           timeout=20000)
    assert page.get_by_role("group", name="一次性告知环节").get_by_label(
        "gone（不是本流程的用户任务，请取消勾选）").count() == 0
    save(page, 2)
    assert stored_notices(server, draft_id, "yidi_shoujian") == ["notify"]
