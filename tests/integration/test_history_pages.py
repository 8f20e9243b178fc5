"""The history page: chain check, path data for the diagram, timeline rows with htmx paging, the state panel."""
from __future__ import annotations

import json
import re

import pytest

from app import create_app
from app.runtime import get_engine
from engine import Actor, ClaimTask, CompleteTask, DeployDefinitions, StartCase

from ..conftest import DATA
from ..helpers import ACCEPT, APPROVE, CLERK, ZHUJIAN, open_task
from ..pages_helpers import PASSWORD, client_for, seed
from .test_replay import tamper

REVIEWER = Actor("rv", ("reviewer",), "500103")


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    seed(application)
    engine = get_engine(application)
    for username, roles, district, department in (("auditor", ("auditor",), "500000", "shenji"),
                                                  ("designer", ("designer",), "500000", "dsj")):
        engine.identity.create_user(username, display_name=username, roles=roles, district=district,
                                    department=department, password=PASSWORD)
    engine.handle(DeployDefinitions((("loop.bpmn", (DATA / "processes" / "loop.bpmn").read_bytes()),)))
    case_id = engine.handle(StartCase("loop", CLERK, data={"applicant_id_number": "500103198506120317"})).case_id
    for round_no in range(17):        # 3 events a round: 54 events, more than one page of 50
        engine.handle(CompleteTask(open_task(engine, REVIEWER, "work")["id"], REVIEWER, {"round": round_no, "done": False}))
    application.config["CASE_ID"] = case_id
    yield application
    engine.close()


def test_the_history_page_shows_integrity_path_and_the_first_page_of_events(app):
    case_id = app.config["CASE_ID"]
    auditor = client_for(app, "auditor")
    assert f'href="/cases/{case_id}/history"' in auditor.get(f"/cases/{case_id}").get_data(as_text=True)
    html = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert "记录完整" in html and "流程路径" in html
    path = json.loads(re.search(r'data-path="([^"]*)"', html).group(1).replace("&#34;", '"'))
    assert path["work"] == 18
    assert html.count('<tr id="event-') == 50
    assert f'hx-get="/cases/{case_id}/history/rows?after=50"' in html
    assert "选择左侧的一条事件" in html


def test_more_rows_come_without_the_table_and_the_last_page_has_no_more_link(app):
    case_id = app.config["CASE_ID"]
    auditor = client_for(app, "auditor")
    rows = auditor.get(f"/cases/{case_id}/history/rows?after=50", headers={"HX-Request": "true"})
    text = rows.get_data(as_text=True)
    assert rows.status_code == 200 and "<table" not in text
    seqs = [int(s) for s in re.findall(r'<tr id="event-(\d+)"', text)]
    assert seqs[0] == 51 and seqs == list(range(51, 51 + len(seqs))) and "加载更多" not in text


def test_the_state_panel_comes_as_a_partial_and_in_the_page_without_javascript(app):
    case_id = app.config["CASE_ID"]
    auditor = client_for(app, "auditor")
    partial = auditor.get(f"/cases/{case_id}/history/10", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-seq="10"' in partial and "<html" not in partial and "确定性重放" in partial
    assert "500103198506120317" in partial               # auditors see the number whole
    page = auditor.get(f"/cases/{case_id}/history?seq=10").get_data(as_text=True)
    assert 'data-seq="10"' in page and 'id="event-10" data-elements="work"' in page and 'aria-current="true"' in page


def test_submitted_data_shows_the_forms_labels_and_option_labels(app):
    engine = get_engine(app)
    accept = open_task(engine, CLERK, "accept")
    case_id = accept["case_id"]
    engine.handle(ClaimTask(accept["id"], CLERK))
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    engine.handle(CompleteTask(review["id"], ZHUJIAN, APPROVE))
    last = engine.queries.case(CLERK, case_id)["event_count"]
    clerk = client_for(app, "window_yz")
    html = clerk.get(f"/cases/{case_id}/history").get_data(as_text=True)
    timeline = re.findall(r'<dl class="data">.*?</dl>', html)
    accepted = next(t for t in timeline if "受理决定" in t)   # each task's data under its own form's labels
    assert '<dt title="decision">受理决定</dt><dd>受理</dd>' in accepted and ">受理意见</dt>" in accepted
    assert '<dt title="materials_complete">材料齐全</dt><dd>是</dd>' in accepted
    reviewed = next(t for t in timeline if "审查结论" in t)
    assert '<dt title="approved">审查结论</dt><dd>同意</dd>' in reviewed and '<dt title="opinion">审查意见</dt>' in reviewed
    assert "<dt>applicant</dt>" in html                 # a key no pinned form names stays as it is
    for raw in ("<dt>decision</dt>", "<dt>approved</dt>", "<dt>opinion</dt>", "<dd>accept</dd>", "<dd>approve</dd>"):
        assert raw not in html, raw
    for state in (clerk.get(f"/cases/{case_id}/history/{last}", headers={"HX-Request": "true"}),
                  clerk.get(f"/cases/{case_id}/history?seq={last}")):
        pane = re.search(r'<dl class="data data-state">.*?</dl>', state.get_data(as_text=True)).group(0)
        assert '<dt title="decision">受理决定</dt><dd>受理</dd>' in pane
        assert '<dt title="approved">审查结论</dt><dd>同意</dd>' in pane
        assert '<dt title="opinion">审查意见</dt><dd>同意</dd>' in pane   # the latest step's form names it
        assert "<dt>applicant</dt><dd>重庆某建设有限公司</dd>" in pane and "accept<" not in pane
    more = clerk.get(f"/cases/{case_id}/history/rows?after=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "受理决定</dt><dd>受理</dd>" in more and "<dt>decision</dt>" not in more


def test_staff_see_masked_numbers_and_other_roles_and_districts_get_error_pages(app):
    case_id = app.config["CASE_ID"]
    reviewer = client_for(app, "reviewer_zj").get(f"/cases/{case_id}/history?seq=1").get_data(as_text=True)
    assert "5001**********0317" in reviewer and "500103198506120317" not in reviewer
    designer = client_for(app, "designer").get(f"/cases/{case_id}/history")
    assert designer.status_code == 403 and "办理历史仅供" in designer.get_data(as_text=True)
    outsider = client_for(app, "window_wz").get(f"/cases/{case_id}/history")
    assert outsider.status_code == 404 and "页面不存在" in outsider.get_data(as_text=True)
    auditor = client_for(app, "auditor")
    assert auditor.get(f"/cases/{case_id}/history?seq=9999").status_code == 404
    assert auditor.get("/cases/424242/history").status_code == 404


def test_a_tampered_case_names_its_broken_link_and_the_state_panel_says_why_it_cannot_be_shown(app, database_url):
    case_id = app.config["CASE_ID"]
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = 5",
           {"p": '{"data": {"round": 99, "done": true}}', "c": case_id})
    auditor = client_for(app, "auditor")
    html = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert "第 5 条断链" in html and "内容被修改" in html
    partial = auditor.get(f"/cases/{case_id}/history/8", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'role="alert"' in partial and "无法重建第 8 条事件时的状态" in partial
