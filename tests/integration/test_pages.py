"""Pages: inbox tabs and filters, the task page's form, claim/complete, the case page, and access control."""
from __future__ import annotations

import re

import pytest

from app import create_app
from app.runtime import get_engine
from engine import ClaimTask, CompleteTask, DefinitionRejected, DeployDefinitions, StartCase, SuspendClock
from engine.spiff import xml_loader

from ..helpers import ACCEPT, CLERK, count_statements
from ..pages_helpers import PASSWORD, client_for, csrf_of, seed


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    application.config["CASE_ID"] = seed(application)
    yield application
    get_engine(application).close()


def accept_task_id(app):
    actor = get_engine(app).identity.actor_for_username("window_yz")
    return get_engine(app).queries.tasks(actor, limit=1).items[0]["id"]


def test_anonymous_visitors_are_sent_to_the_login_page(app):
    client = app.test_client()
    case_id = app.config["CASE_ID"]
    for path in ("/", f"/cases/{case_id}", f"/tasks/{accept_task_id(app)}"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_the_inbox_shows_counts_and_rows_with_a_light_in_words(app):
    client = client_for(app, "window_yz")
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"可认领\s*<span class=\"count\">1</span>", page)
    assert re.search(r"待办\s*<span class=\"count\">0</span>", page)
    assert "受理" in page and "渝中区" in page and "并联审批（示例）" in page
    assert re.search(r'class="badge light-green">.*正常</span>', page)
    assert 'aria-current="page"' in page


def test_inbox_filters_answer_htmx_with_just_the_rows(app):
    client = client_for(app, "window_yz")
    partial = client.get("/?tab=available&light=green", headers={"HX-Request": "true", "HX-Target": "task-list"})
    text = partial.get_data(as_text=True)
    assert "<html" not in text and "受理" in text
    assert "没有符合筛选条件的任务" in client.get("/?tab=available&light=red").get_data(as_text=True)
    assert "没有符合筛选条件的任务" in client.get("/?tab=available&q=不存在的办件").get_data(as_text=True)
    assert "受理" in client.get("/?tab=available&q=某建设").get_data(as_text=True)          # applicant name
    assert "受理" in client.get("/?tab=available&q=TB2026").get_data(as_text=True)          # case number
    assert "没有符合筛选条件的任务" in client.get("/?tab=available&matter=other").get_data(as_text=True)
    assert "灯色（light）应为 green、yellow、red 之一" in client.get("/?tab=available&light=blue").get_data(as_text=True)


def test_the_more_link_pages_through_the_inbox_by_keyset(app):
    engine = get_engine(app)
    for n in range(21):
        engine.handle(StartCase("parallel_approval", CLERK, {}, title=f"批量办件{n:02d}"))
    client = client_for(app, "window_yz")
    first = client.get("/?tab=available").get_data(as_text=True)
    assert first.count("/tasks/") == 20
    link = re.search(r'id="more-row".*?href="([^"]+)"', first, re.S).group(1).replace("&amp;", "&")
    more = client.get(link, headers={"HX-Request": "true", "HX-Target": "more-row"}).get_data(as_text=True)
    assert more.count("/tasks/") == 2 and "<table" not in more and 'id="more-row"' not in more


def test_a_clerk_claims_and_completes_a_task_through_the_form(app):
    client = client_for(app, "window_yz")
    task_id = accept_task_id(app)
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "认领任务" in page and "营业执照" in page and "施工图审查合格书" in page
    assert "收件" in page and "生成任务" in page and "某小区住宅楼施工许可" in page
    token = csrf_of(client, f"/tasks/{task_id}")
    assert client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}).status_code == 302
    form = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<select id="f-decision" name="decision"' in form and 'name="opinion"' in form
    assert 'type="checkbox" id="f-materials_complete"' in form
    missing = client.post(f"/tasks/{task_id}/complete", data={"csrf_token": token, "decision": "accept"})
    assert missing.status_code == 422
    text = missing.get_data(as_text=True)
    assert 'id="f-opinion-err">必填项' in text
    assert 'aria-invalid="true"' in text
    assert '<option value="accept" selected>' in text
    # QA: a box the page never sends as "maybe" was recorded as ticked; the API refuses "yes" as 应为布尔值.
    maybe = client.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": token, "decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": "maybe"})
    assert maybe.status_code == 422 and 'id="f-materials_complete-err">应为布尔值' in maybe.get_data(as_text=True)
    done = client.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": token, "decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": "true"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "已办理：受理" in client.get("/").get_data(as_text=True)
    assert "受理" in client.get("/?tab=completed").get_data(as_text=True)
    reviewer = client_for(app, "reviewer_zj")
    assert "住建部门审查" in reviewer.get("/?tab=available").get_data(as_text=True)


def test_unclaiming_gives_the_task_back(app):
    client = client_for(app, "window_yz")
    task_id = accept_task_id(app)
    token = csrf_of(client, "/")
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token})
    response = client.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": token})
    assert response.status_code == 302
    assert "认领任务" in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_a_task_someone_else_holds_cannot_be_completed_from_the_page(app):
    clerk = client_for(app, "window_yz")
    task_id = accept_task_id(app)
    clerk.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf_of(clerk, "/")})
    engine = get_engine(app)
    engine.identity.create_user("window_yz2", display_name="渝中窗口二", roles=("window_clerk",),
                                district="500103", department="zwzx", password="correct-horse-9")
    other = client_for(app, "window_yz2")
    assert "已由 window_yz 认领办理" in other.get(f"/tasks/{task_id}").get_data(as_text=True)
    response = other.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": csrf_of(other, "/"), "decision": "accept", "opinion": "抢办"}, follow_redirects=True)
    assert response.status_code == 200
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert engine.queries.task(engine.identity.actor_for_username("window_yz"), task_id)["state"] == "open"


def test_the_case_page_shows_summary_clocks_tasks_timeline_and_the_diagram(app):
    client = client_for(app, "window_yz")
    case_id = app.config["CASE_ID"]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    for text in ("概况", "时限", "法定时限", "承诺时限", "任务", "办理记录", "流程图", "收件", "营业执照"):
        assert text in page, text
    assert f'data-src="/cases/{case_id}/diagram.bpmn"' in page and 'data-highlight="accept"' in page
    diagram = client.get(f"/cases/{case_id}/diagram.bpmn")
    assert diagram.mimetype == "application/xml" and b'<bpmn:userTask id="accept"' in diagram.data


PLANTED = b'<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(document.cookie)</html:script>'


def test_the_summary_says_a_paused_clock_is_paused_instead_of_a_dash(app):
    """QA: the summary read 承诺到期 — while the clocks table showed the clock 已暂停 with its due date."""
    client = client_for(app, "window_yz")
    case_id = app.config["CASE_ID"]
    engine = get_engine(app)
    clerk = engine.identity.actor_for_username("window_yz")
    running = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert re.search(r"<dt>承诺到期</dt><dd>\d{4}-\d{2}-\d{2} ", running)
    engine.handle(SuspendClock(case_id, clerk, "correction", "申请人补正", ("committed",)))
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "<dt>承诺到期</dt><dd>已暂停计时</dd>" in page
    assert re.search(r"<dt>法定到期</dt><dd>\d{4}-\d{2}-\d{2} ", page)


def test_a_diagram_is_served_as_an_inert_download_even_holding_a_planted_script(app, monkeypatch):
    """A version deployed before deploy refused scripts still loads, and its diagram can never run as a page."""
    engine = get_engine(app)
    name, data = next((n, d) for n, d in engine.shipped_files()[0] if n == "parallel_approval/main.bpmn")
    planted = data.replace(b"<bpmn:extensionElements>", b"<bpmn:extensionElements>" + PLANTED, 1)
    with pytest.raises(DefinitionRejected) as refused:
        engine.handle(DeployDefinitions(((name, planted),), ()))
    assert refused.value.details["findings"][0]["code"] == "BPMN_ACTIVE_CONTENT"
    with monkeypatch.context() as before_the_check:
        before_the_check.setattr(xml_loader, "_active_content", lambda data, root: None)
        engine.handle(DeployDefinitions(((name, planted),), ()))
    case_id = engine.handle(StartCase("parallel_approval", CLERK, {"applicant": "某公司", "materials": ["营业执照"]},
                                      title="图中有脚本")).case_id
    client = client_for(app, "window_yz")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'data-src="/cases/{case_id}/diagram.bpmn"' in page
    diagram = client.get(f"/cases/{case_id}/diagram.bpmn")
    assert diagram.status_code == 200 and PLANTED in diagram.data
    assert diagram.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert diagram.headers["X-Content-Type-Options"] == "nosniff"
    assert diagram.headers["Content-Disposition"] == f'attachment; filename="case-{case_id}.bpmn"'
    for path in ("/", "/api/v1/tasks/counts", "/login"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff", path
    assert client.get("/api/v1/tasks/counts").headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "Content-Security-Policy" not in client.get("/").headers


def test_the_case_page_links_only_the_tasks_the_viewer_may_open(app):
    engine, case_id, accept_id = get_engine(app), app.config["CASE_ID"], accept_task_id(app)
    engine.handle(ClaimTask(accept_id, CLERK))
    engine.handle(CompleteTask(accept_id, CLERK, ACCEPT))     # the three reviews are now with the reviewers
    reviews = [t["id"] for t in engine.queries.case(CLERK, case_id)["tasks"] if t["id"] != accept_id]
    assert len(reviews) == 3
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    clerk, auditor, reviewer = (client_for(app, u) for u in ("window_yz", "auditor", "reviewer_zj"))
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/tasks/{accept_id}"' in page and "受理" in page
    for task_id in reviews:
        assert f'href="/tasks/{task_id}"' not in page
        assert clerk.get(f"/tasks/{task_id}").status_code == 404
    for name in ("住建部门审查", "规划部门审查", "消防部门审查"):   # still listed, as plain text with their state
        assert re.search(rf"<td>{name}</td><td>[^<]*</td>\s*<td>办理中</td><td>待认领</td>", page), name
    # The auditor sees the case but may open none of its task pages; each link is one the task page serves.
    audited = auditor.get(f"/cases/{case_id}").get_data(as_text=True)
    assert auditor.get(f"/tasks/{reviews[0]}").status_code == 404 and "/tasks/" not in audited
    for client in (clerk, auditor, reviewer):
        linked = set(map(int, re.findall(r'href="/tasks/(\d+)"', client.get(f"/cases/{case_id}").get_data(as_text=True))))
        for task_id in [accept_id, *reviews]:
            assert (client.get(f"/tasks/{task_id}").status_code == 200) == (task_id in linked), task_id


def test_the_case_page_decides_the_links_in_one_query_however_many_tasks(app):
    engine, case_id, accept_id = get_engine(app), app.config["CASE_ID"], accept_task_id(app)
    with count_statements(engine) as one_task:
        assert engine.queries.openable_tasks(CLERK, [accept_id]) == {accept_id}
    engine.handle(ClaimTask(accept_id, CLERK))
    engine.handle(CompleteTask(accept_id, CLERK, ACCEPT))
    ids = [t["id"] for t in engine.queries.case(CLERK, case_id)["tasks"]]
    with count_statements(engine) as four_tasks:
        assert engine.queries.openable_tasks(CLERK, ids) == {accept_id}
    assert len(four_tasks) == len(one_task) == 1


def test_another_districts_user_gets_404_pages_for_the_task_and_case(app):
    outsider = client_for(app, "window_wz")
    case_id, task_id = app.config["CASE_ID"], accept_task_id(app)
    assert "暂无任务" in outsider.get("/?tab=available").get_data(as_text=True)
    for path in (f"/tasks/{task_id}", f"/cases/{case_id}", f"/cases/{case_id}/diagram.bpmn"):
        response = outsider.get(path)
        assert response.status_code == 404, path
        assert "页面不存在" in response.get_data(as_text=True)
    token = csrf_of(outsider, "/")
    assert outsider.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}).status_code == 404
    assert outsider.post(f"/tasks/{task_id}/complete", data={"csrf_token": token}).status_code == 404
    assert outsider.get("/tasks/999999").status_code == 404


def test_vendored_front_end_packages_are_served_locally(app):
    client = app.test_client()
    for path in ("/vendor/htmx.org/htmx.min.js", "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
                 "/vendor/bpmn-js/assets/bpmn-js.css", "/static/tongban.css", "/static/diagram.js"):
        response = client.get(path)
        response.close()
        assert response.status_code == 200, path


def test_an_htmx_request_without_a_session_sends_the_browser_to_the_login_page(app):
    response = app.test_client().get("/?tab=available", headers={"HX-Request": "true", "HX-Target": "task-list"})
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_unknown_page_urls_get_the_html_404_and_api_urls_keep_json(app):
    client = client_for(app, "window_yz")
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "页面不存在" in page.get_data(as_text=True)
    api = client.get("/api/v1/tasks/999999")
    assert api.status_code == 404 and api.json["code"] == "NOT_FOUND"


def test_a_task_the_reader_may_not_take_says_why_and_offers_no_claim(app):
    from engine import CompleteTask, DeployDefinitions
    from tests.conftest import DATA
    engine = get_engine(app)
    path = DATA / "processes" / "separated_rounds.bpmn"
    engine.handle(DeployDefinitions(((path.name, path.read_bytes()),)))
    case_id = engine.handle(StartCase("separated_rounds", CLERK, data={})).case_id
    reviewer = engine.identity.actor_for_username("reviewer_zj")
    first, second = [t["id"] for t in engine.queries.case(reviewer, case_id)["tasks"] if t["element_id"] == "check"]
    engine.handle(CompleteTask(first, reviewer, {}))

    client = client_for(app, "reviewer_zj")
    inbox = client.get("/?tab=available").get_data(as_text=True)
    row = re.search(rf'<tr>(?:(?!</tr>).)*?/tasks/{second}"(?:(?!</tr>).)*</tr>', inbox, re.S)
    assert row and "须由他人办理" in row.group(0) and "按职责分离要求" in row.group(0)
    page = client.get(f"/tasks/{second}").get_data(as_text=True)
    assert "按职责分离要求" in page and "认领任务" not in page
