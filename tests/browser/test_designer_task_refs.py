"""Process-level lint findings and user tasks named by process extensions, in the designer.

A finding that names a process inside a collaboration (``TB_BAD_NOTICE``, ``TB_BAD_CLOCK``) is drawn on the process's
pool, and clicking it selects the pool, so the panel shows the process settings. Deleting a user task from the
canvas takes its id out of ``<tb:oneTimeNotice tasks>`` (removed once empty), out of the ``tb:clock``
``noticeAt``/``startsAt`` and out of the other user tasks' ``tb:assignment separateFrom`` (removed once empty) in the
same command, so one undo restores them all; a clock whose only start task is deleted stays and lint points at it.
Renaming a user task in the panel renames it, in the same command, wherever the process names it: the clocks'
``startsAt``/``noticeAt``/``stopsAt``, ``tb:oneTimeNotice`` and the user tasks' ``tb:assignment separateFrom`` (split
at commas only, as the loader does). Clearing a user task's candidates keeps its ``separateFrom``."""
from __future__ import annotations

from lxml import etree

from app.runtime import get_engine
from engine import LintDefinitions
from engine.definitions import TB_NS

from .test_designer import SELECTION, api, shot
from .test_designer_notice import BPMN, new_draft, no_lint_error, save, stored_notices
from .test_review_flow import log_in

NOTICE = '<tb:oneTimeNotice tasks="correction_notice receive_correction"/>'
COMMITTED = ('startsAt="accept_on_spot accept_corrected accept_tolerance" noticeAt="correction_notice"/>\n'
             '    </bpmn:extensionElements>')
NOTICE_NOW = """() => TongbanDesigner.modeler.get('canvas').getRootElement().businessObject.extensionElements.values
    .filter(v => v.$type === 'tb:OneTimeNotice').map(v => v.tasks)"""


def open_draft(page, server, process_key: str, draft_id: int) -> None:  # noqa: ANN001
    log_in(page, server.url, "designer")
    page.goto(f"{server.url}/designer/{process_key}?draft={draft_id}")
    page.wait_for_selector("body[data-modeler-ready=true]", timeout=20000)
    page.wait_for_selector("#lint-summary:not(:has-text('检查'))", timeout=20000)


def stored_clocks(server, draft_id: int, process_id: str) -> list[dict[str, str]]:  # noqa: ANN001
    """The attributes of every tb:clock of ``process_id`` in the draft as stored on the server."""
    root = etree.fromstring(get_engine(server.app).drafts.get(draft_id).bpmn.encode())
    process = root.find(f"{BPMN}process[@id='{process_id}']")
    return [dict(el.attrib) for el in process.iterfind(f"{BPMN}extensionElements/{{{TB_NS}}}clock")]


def stored_task_ids(server, draft_id: int) -> set[str]:  # noqa: ANN001
    root = etree.fromstring(get_engine(server.app).drafts.get(draft_id).bpmn.encode())
    return {el.get("id") for el in root.iter(f"{BPMN}userTask")}


def has_marker(page, element_id: str, marker: str) -> bool:  # noqa: ANN001
    return page.evaluate("""([id, marker]) => TongbanDesigner.modeler.get('canvas').hasMarker(id, marker)""",
                         [element_id, marker])


def delete_from_context_pad(page, element_id: str) -> None:  # noqa: ANN001
    page.click(f'[data-element-id="{element_id}"]')
    page.click('.djs-context-pad [data-action="delete"]')
    page.wait_for_selector(f'[data-element-id="{element_id}"]', state="detached")


def test_a_process_finding_in_a_collaboration_selects_the_pool_and_shows_the_process_settings(server, page):
    draft_id = new_draft(server, "yidi_shoujian", ('<tb:oneTimeNotice tasks="notify"/>',
                                                   '<tb:oneTimeNotice tasks="notify gone"/>'))
    open_draft(page, server, "yidi_shoujian", draft_id)
    finding = page.locator("#lint-list button.finding", has_text="TB_BAD_NOTICE")
    finding.wait_for(timeout=20000)
    assert "收件地（受权窗口）" in finding.inner_text()  # named by its pool
    assert has_marker(page, "p_receiving", "tb-lint-error")
    assert page.locator('.djs-overlays[data-container-id="p_receiving"] .tb-lint-badge').count() == 1

    finding.click()
    assert page.evaluate(SELECTION) == ["p_receiving"]
    assert has_marker(page, "p_receiving", "tb-lint-focus")
    assert page.inner_text("#panel .panel-title") == "泳池：收件地（受权窗口）"
    notice = page.get_by_role("group", name="一次性告知环节")
    assert notice.get_by_label("gone（不是本流程的用户任务，请取消勾选）").is_checked()
    shot(page, "refs-01-pool-finding")

    # Deleting the owning process's only start task keeps its clocks; lint points at the owning pool.
    delete_from_context_pad(page, "confirm_arrival")
    clock = page.locator("#lint-list button.finding", has_text="TB_BAD_CLOCK").first
    clock.wait_for(timeout=20000)
    assert "confirm_arrival" in clock.inner_text()
    clock.click()
    assert page.evaluate(SELECTION) == ["p_owning"]
    assert page.get_by_label("起算环节").first.input_value() == "confirm_arrival"
    save(page, 2)
    assert [c.get("startsAt") for c in stored_clocks(server, draft_id, "yidi_banli")] == ["confirm_arrival"] * 2


def test_a_process_finding_without_pools_still_selects_the_process(server, page):
    draft_id = new_draft(server, "parallel_approval", ("<bpmn:extensionElements>",
                                                       '<bpmn:extensionElements><tb:oneTimeNotice tasks="gone"/>'))
    open_draft(page, server, "parallel_approval", draft_id)
    finding = page.locator("#lint-list button.finding", has_text="TB_BAD_NOTICE")
    finding.wait_for(timeout=20000)
    finding.click()
    assert page.evaluate(SELECTION) == ["parallel_approval"]
    assert page.inner_text("#panel .panel-title").startswith("流程")
    assert page.get_by_role("group", name="一次性告知环节").get_by_label(
        "gone（不是本流程的用户任务，请取消勾选）").is_checked()


def test_deleting_a_notice_task_takes_it_out_of_the_notice_and_the_clocks_and_undo_restores_it(server, page):
    draft_id = new_draft(server, "standard_permit", (COMMITTED, COMMITTED.replace(
        "</bpmn:extensionElements>", NOTICE + "\n    </bpmn:extensionElements>")))
    open_draft(page, server, "standard_permit", draft_id)
    assert stored_notices(server, draft_id, "standard_permit") == ["correction_notice receive_correction"]

    delete_from_context_pad(page, "correction_notice")
    save(page, 2)
    assert stored_notices(server, draft_id, "standard_permit") == ["receive_correction"]
    assert [c.get("noticeAt") for c in stored_clocks(server, draft_id, "standard_permit")] == [None, None]
    assert "correction_notice" not in get_engine(server.app).drafts.get(draft_id).bpmn
    page.evaluate("() => TongbanDesigner.modeler.get('selection').select(null)")
    notice = page.get_by_role("group", name="一次性告知环节")
    assert notice.get_by_label("接收补正材料（receive_correction）").is_checked()
    shot(page, "refs-02-deleted")

    page.get_by_role("button", name="撤销").click()  # one step: the task, the notice and the clocks
    page.wait_for_selector('[data-element-id="correction_notice"]')
    page.get_by_role("button", name="重做").click()
    page.wait_for_selector('[data-element-id="correction_notice"]', state="detached")
    assert page.evaluate(NOTICE_NOW) == ["receive_correction"]
    page.get_by_role("button", name="撤销").click()
    page.wait_for_selector('[data-element-id="correction_notice"]')
    assert page.evaluate(NOTICE_NOW) == ["correction_notice receive_correction"]
    save(page, 3)
    assert stored_notices(server, draft_id, "standard_permit") == ["correction_notice receive_correction"]
    assert [c.get("noticeAt") for c in stored_clocks(server, draft_id, "standard_permit")] == ["correction_notice"] * 2
    assert "correction_notice" in stored_task_ids(server, draft_id)

    # Several at once (one of them a start task among others): the notice left empty goes, startsAt keeps the rest.
    page.evaluate("""() => { const m = TongbanDesigner.modeler, r = m.get('elementRegistry');
        m.get('selection').select(['correction_notice', 'receive_correction', 'accept_on_spot'].map(id => r.get(id))); }""")
    page.click('.djs-context-pad [data-action="delete"]')
    page.wait_for_selector('[data-element-id="receive_correction"]', state="detached")
    save(page, 4)
    assert stored_notices(server, draft_id, "standard_permit") == []
    clocks = stored_clocks(server, draft_id, "standard_permit")
    assert [c.get("startsAt") for c in clocks] == ["accept_corrected accept_tolerance"] * 2
    assert [c.get("noticeAt") for c in clocks] == [None, None]
    page.get_by_role("button", name="撤销").click()
    page.wait_for_selector('[data-element-id="receive_correction"]')
    save(page, 5)
    assert stored_notices(server, draft_id, "standard_permit") == ["correction_notice receive_correction"]
    assert [c.get("startsAt") for c in stored_clocks(server, draft_id, "standard_permit")] == [
        "accept_on_spot accept_corrected accept_tolerance"] * 2


# standard_permit edited by hand so that ``review`` is named in every kind of place that stores a task id, among
# other ids and with the separators people write (lint asks only that each names a user task of the process).
RENAME_EDITS = (
    ('<tb:clock kind="legal" workdays="20" startsAt="accept_on_spot accept_corrected accept_tolerance" '
     'noticeAt="correction_notice"/>',
     '<tb:clock kind="legal" workdays="20" startsAt="accept_on_spot,review accept_tolerance" '
     'noticeAt="correction_notice review" stopsAt="decide review"/>\n'
     '      <tb:oneTimeNotice tasks="review correction_notice"/>'),
    ('candidateGroups="department_head@${deciding}/${department}" separateFrom="review"',
     'candidateGroups="department_head@${deciding}/${department}" separateFrom="accept_on_spot, review"'),
)


def stored_refs(server, draft_id: int) -> dict[str, list[str | None]]:  # noqa: ANN001
    """Every attribute of the stored draft that names user tasks, by attribute, in document order."""
    root = etree.fromstring(get_engine(server.app).drafts.get(draft_id).bpmn.encode())
    clocks = list(root.iter(f"{{{TB_NS}}}clock"))
    refs = {attr: [c.get(attr) for c in clocks] for attr in ("startsAt", "noticeAt", "stopsAt")}
    refs["tasks"] = [n.get("tasks") for n in root.iter(f"{{{TB_NS}}}oneTimeNotice")]
    refs["separateFrom"] = [a.get("separateFrom") for a in root.iter(f"{{{TB_NS}}}assignment") if a.get("separateFrom")]
    return refs


def lint_errors(server, draft_id: int) -> list[str]:  # noqa: ANN001
    """The server's lint of the stored draft: the codes of its errors (warnings such as a renamed id aside)."""
    bpmn = get_engine(server.app).drafts.get(draft_id).bpmn.encode()
    findings = get_engine(server.app).handle(LintDefinitions((("standard_permit.bpmn", bpmn),)))
    return [f.code for f in findings if f.severity == "error"]


def edited_draft(server, edits: tuple[tuple[str, str], ...]) -> int:  # noqa: ANN001
    """Save the deployed standard_permit, each of ``edits`` (old, new) applied once, as a draft through the API."""
    bpmn = get_engine(server.app).drafts.deployed_source("standard_permit")["bpmn"]
    for old, new in edits:
        assert bpmn.count(old) == 1, old
        bpmn = bpmn.replace(old, new)
    status, draft = api(server, "designer", "POST", "/api/v1/drafts",
                        {"process_key": "standard_permit", "bpmn": bpmn, "base_version": 1})
    assert status == 201, draft
    return draft["id"]


def rename_review(page) -> None:  # noqa: ANN001
    page.click('[data-element-id="review"]')
    page.get_by_label("ID", exact=True).fill("substantive_review")
    page.get_by_label("ID", exact=True).press("Tab")
    page.wait_for_selector('[data-element-id="substantive_review"]')


def test_renaming_a_task_renames_it_wherever_the_process_names_it_and_one_undo_restores_all(server, page):
    draft_id = edited_draft(server, RENAME_EDITS)
    before = stored_refs(server, draft_id)
    assert before == {
        "startsAt": ["accept_on_spot,review accept_tolerance", "accept_on_spot accept_corrected accept_tolerance"],
        "noticeAt": ["correction_notice review", "correction_notice"], "stopsAt": ["decide review", None],
        "tasks": ["review correction_notice"], "separateFrom": ["review", "accept_on_spot, review"]}
    assert lint_errors(server, draft_id) == []
    open_draft(page, server, "standard_permit", draft_id)

    rename_review(page)
    save(page, 2)
    assert stored_refs(server, draft_id) == {
        "startsAt": ["accept_on_spot,substantive_review accept_tolerance",
                     "accept_on_spot accept_corrected accept_tolerance"],
        "noticeAt": ["correction_notice substantive_review", "correction_notice"],
        "stopsAt": ["decide substantive_review", None], "tasks": ["substantive_review correction_notice"],
        "separateFrom": ["substantive_review", "accept_on_spot, substantive_review"]}
    assert lint_errors(server, draft_id) == []
    no_lint_error(page)  # the live lint too: only the warning that a deployed id is gone
    assert 'id="review_results"' in get_engine(server.app).drafts.get(draft_id).bpmn  # ids that merely begin so stay

    page.get_by_role("button", name="撤销").click()  # one step: the id and every reference to it
    page.wait_for_selector('[data-element-id="review"]')
    save(page, 3)
    assert stored_refs(server, draft_id) == before
    assert "substantive_review" not in get_engine(server.app).drafts.get(draft_id).bpmn


# standard_permit edited by hand so that other user tasks name ``review`` in their separateFrom: among other ids
# with the separators people write, alone beside candidate groups, and alone in a tb:assignment whose task takes
# its candidates from the Camunda attribute.
POST_CHECK = ('<bpmn:userTask id="post_check" name="事中事后核查">\n      <bpmn:extensionElements>\n'
              '        <tb:assignment candidateGroups="reviewer@${owning}/${department}"/>')
SEPARATION_EDITS = (
    ('xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0"',
     'xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'),
    ('candidateGroups="department_head@${deciding}/${department}" separateFrom="review"',
     'candidateGroups="department_head@${deciding}/${department}" separateFrom="formal_review, review,accept_on_spot"'),
    ('candidateGroups="reviewer@${deciding}/${department}"/>',
     'candidateGroups="reviewer@${deciding}/${department}" separateFrom="review"/>'),
    (POST_CHECK, POST_CHECK.replace('name="事中事后核查">', 'name="事中事后核查" camunda:candidateGroups='
                                    '"reviewer@${owning}/${department}">').replace(
        'candidateGroups="reviewer@${owning}/${department}"/>', 'separateFrom="review"/>')),
)
SEPARATING = ("decide", "issue_license", "post_check")


def stored_assignments(server, draft_id: int) -> dict[str, list[dict[str, str]]]:  # noqa: ANN001
    """The attributes of the tb:assignment elements of each task in SEPARATING, as stored on the server."""
    root = etree.fromstring(get_engine(server.app).drafts.get(draft_id).bpmn.encode())
    tasks = {el.get("id"): el for el in root.iter(f"{BPMN}userTask")}
    return {tid: [dict(a.attrib) for a in tasks[tid].iterfind(f"{BPMN}extensionElements/{{{TB_NS}}}assignment")]
            for tid in SEPARATING}


def test_deleting_a_task_takes_it_out_of_the_other_tasks_separation_and_one_undo_restores_it(server, page):
    draft_id = edited_draft(server, SEPARATION_EDITS)
    decide = {"candidateGroups": "department_head@${deciding}/${department}"}
    issue = {"candidateGroups": "reviewer@${deciding}/${department}"}
    before = {"decide": [{**decide, "separateFrom": "formal_review, review,accept_on_spot"}],
              "issue_license": [{**issue, "separateFrom": "review"}], "post_check": [{"separateFrom": "review"}]}
    assert stored_assignments(server, draft_id) == before
    assert lint_errors(server, draft_id) == []
    open_draft(page, server, "standard_permit", draft_id)

    delete_from_context_pad(page, "review")
    save(page, 2)
    assert stored_assignments(server, draft_id) == {
        "decide": [{**decide, "separateFrom": "formal_review, accept_on_spot"}], "issue_license": [issue],
        "post_check": []}
    assert lint_errors(server, draft_id) == []  # no TB_BAD_SEPARATION; post_check keeps its Camunda candidates
    no_lint_error(page)
    saved = get_engine(server.app).drafts.get(draft_id).bpmn
    assert 'camunda:candidateGroups="reviewer@${owning}/${department}"' in saved
    page.click('[data-element-id="post_check"]')
    assert page.get_by_label("候选组", exact=True).input_value() == "reviewer@${owning}/${department}"
    shot(page, "refs-03-separation-deleted")

    page.get_by_role("button", name="撤销").click()  # one step: the task and every separateFrom naming it
    page.wait_for_selector('[data-element-id="review"]')
    save(page, 3)
    assert stored_assignments(server, draft_id) == before
    assert "review" in stored_task_ids(server, draft_id)
    assert lint_errors(server, draft_id) == []


def test_renaming_a_task_splits_separate_from_at_commas_only_as_the_loader_does(server, page):
    # "review formal_review" is one (unknown) id to the loader, so renaming review leaves it; the clock's
    # noticeAt is split at spaces too (element_ids), so review is renamed there.
    draft_id = edited_draft(server, (
        ('candidateGroups="department_head@${deciding}/${department}" separateFrom="review"',
         'candidateGroups="department_head@${deciding}/${department}" separateFrom="review formal_review , review"'),
        ('noticeAt="correction_notice"/>\n    </bpmn:extensionElements>',
         'noticeAt="correction_notice review"/>\n    </bpmn:extensionElements>')))
    assert "TB_BAD_SEPARATION" in lint_errors(server, draft_id)
    open_draft(page, server, "standard_permit", draft_id)

    rename_review(page)
    save(page, 2)
    refs = stored_refs(server, draft_id)
    assert refs["separateFrom"] == ["substantive_review", "review formal_review , substantive_review"]
    assert refs["noticeAt"] == ["correction_notice", "correction_notice substantive_review"]
    assert lint_errors(server, draft_id).count("TB_BAD_SEPARATION") == 1  # the hand-written "review formal_review"


def test_clearing_a_tasks_candidates_keeps_its_separate_from(server, page):
    draft_id = new_draft(server, "standard_permit")
    open_draft(page, server, "standard_permit", draft_id)
    for task in ("decide", "issue_license"):  # with a separateFrom, and with candidate groups only
        page.click(f'[data-element-id="{task}"]')
        page.get_by_label("候选组", exact=True).fill("")
        page.get_by_label("候选组", exact=True).press("Tab")
    save(page, 2)
    assert stored_assignments(server, draft_id) == {
        "decide": [{"separateFrom": "review"}], "issue_license": [], "post_check": [
            {"candidateGroups": "reviewer@${owning}/${department}"}]}
    page.click('[data-element-id="decide"]')
    assert page.get_by_label("候选组", exact=True).input_value() == ""

    page.get_by_role("button", name="撤销").click()
    page.get_by_role("button", name="撤销").click()
    save(page, 3)
    assert stored_assignments(server, draft_id) == {
        "decide": [{"candidateGroups": "department_head@${deciding}/${department}", "separateFrom": "review"}],
        "issue_license": [{"candidateGroups": "reviewer@${deciding}/${department}"}],
        "post_check": [{"candidateGroups": "reviewer@${owning}/${department}"}]}
