"""The history page's 重放核对 and 校验链条 buttons: auditors only, verdicts inline (htmx) or in the page."""
from __future__ import annotations

import re

from .test_history_pages import app, client_for  # noqa: F401 - the app fixture: a 54-event loop case
from .test_replay import tamper
from .test_replay_inputs import edit_store
from ..pages_helpers import csrf_of

HX = {"HX-Request": "true"}


def post_replay(client, case_id, headers=HX):
    token = csrf_of(client, f"/cases/{case_id}/history")
    return client.post(f"/cases/{case_id}/history/replay", data={"csrf_token": token}, headers=headers)


def test_auditors_get_both_buttons_and_identical_and_intact_verdicts_as_fragments(app):  # noqa: F811
    case_id = app.config["CASE_ID"]
    auditor = client_for(app, "auditor")
    page = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert "重放核对" in page and "校验链条" in page
    assert f'hx-post="/cases/{case_id}/history/replay"' in page and f'hx-get="/cases/{case_id}/history/verify"' in page
    replayed = post_replay(auditor, case_id)
    text = replayed.get_data(as_text=True)
    assert replayed.status_code == 200 and "<html" not in text
    assert 'data-verdict="identical"' in text and "重放一致" in text and "54 条记录的事件逐条重现" in text
    verified = auditor.get(f"/cases/{case_id}/history/verify", headers=HX).get_data(as_text=True)
    assert "<html" not in verified and 'data-verdict="intact"' in verified and "54 条事件" in verified


def test_without_javascript_the_verdict_comes_inside_the_whole_page(app):  # noqa: F811
    case_id = app.config["CASE_ID"]
    auditor = client_for(app, "auditor")
    page = post_replay(auditor, case_id, headers={}).get_data(as_text=True)
    assert "<html" in page and 'id="verdict"' in page and 'data-verdict="identical"' in page
    assert page.count('<tr id="event-') == 50
    verified = auditor.get(f"/cases/{case_id}/history/verify").get_data(as_text=True)
    assert "<html" in verified and 'data-verdict="intact"' in verified


def test_other_readers_of_the_history_see_no_buttons_and_are_refused(app):  # noqa: F811
    case_id = app.config["CASE_ID"]
    reviewer = client_for(app, "reviewer_zj")
    page = reviewer.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert "记录完整" in page and "重放核对" not in page and "校验链条" not in page
    refused = post_replay(reviewer, case_id)
    assert refused.status_code == 403 and "仅供审计人员" in refused.get_data(as_text=True)
    assert reviewer.get(f"/cases/{case_id}/history/verify", headers=HX).status_code == 403
    auditor = client_for(app, "auditor")
    assert auditor.get("/cases/424242/history/verify", headers=HX).status_code == 404
    assert auditor.post(f"/cases/{case_id}/history/replay", headers=HX).status_code == 400   # no CSRF token


def test_a_tampered_case_shows_the_first_divergence_and_the_first_broken_link(app, database_url):  # noqa: F811
    case_id = app.config["CASE_ID"]
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = 5",
           {"p": '{"data": {"round": 99, "done": true}}', "c": case_id})
    auditor = client_for(app, "auditor")
    text = post_replay(auditor, case_id).get_data(as_text=True)
    assert 'data-verdict="diverged" data-seq="5"' in text and "重放在第 5 条事件处不一致</strong>：记录与重放的内容不同。" in text
    assert "事件与记录不一致" not in text and "expected" not in text and "got" not in text
    assert '<th scope="col">记录</th><th scope="col">重放</th>' in text and 'class="differs"' in text
    assert f'href="/cases/{case_id}/history?seq=5#event-5"' in text
    verified = auditor.get(f"/cases/{case_id}/history/verify", headers=HX).get_data(as_text=True)
    assert 'data-verdict="broken" data-seq="5"' in verified and "第 5 条断链" in verified and "内容被修改" in verified


def test_a_snapshot_edited_in_the_database_is_its_own_verdict(app, database_url):  # noqa: F811
    case_id = app.config["CASE_ID"]
    auditor = client_for(app, "auditor")
    intact = auditor.get(f"/cases/{case_id}/history/verify", headers=HX).get_data(as_text=True)
    assert 'data-verdict="intact"' in intact and "流程状态快照与链上记下的摘要相符" in intact
    tamper(database_url, "UPDATE cases SET workflow_state = workflow_state || ' ' WHERE id = :c", {"c": case_id})
    text = auditor.get(f"/cases/{case_id}/history/verify", headers=HX).get_data(as_text=True)
    seq = re.search(r'data-verdict="snapshot" data-seq="(\d+)"', text)
    assert seq is not None and "<strong>流程状态快照被改动</strong>：事件链完整，但办件的流程状态快照与第" in text
    assert f'href="/cases/{case_id}/history?seq={seq.group(1)}#event-{seq.group(1)}"' in text


def test_a_replay_refused_by_the_definition_store_says_why_inline(app, database_url):  # noqa: F811
    case_id = app.config["CASE_ID"]
    edit_store(database_url, "DELETE FROM process_definitions WHERE process_key = 'loop'", {})
    auditor = client_for(app, "auditor")
    text = post_replay(auditor, case_id).get_data(as_text=True)
    assert 'data-verdict="refused"' in text and "[DEFINITION_MISSING]" in text
    assert re.search(r"流程定义 loop 第 1 版（内容哈希 [0-9a-f]{64}）已不在定义库中", text)
