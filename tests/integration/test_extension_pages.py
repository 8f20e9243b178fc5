"""Deadline extension pages (行政许可法第四十二条): a clerk asks on the case page, a head decides in the inbox."""
from __future__ import annotations

import re

import pytest

from app import create_app
from app.runtime import get_engine
from engine import ClaimTask, CompleteTask, ensure_calendar_seeded

from ..helpers import ACCEPT, CLERK, open_task
from ..pages_helpers import PASSWORD, client_for, csrf_of, seed

HEAD = ("head_yz", "渝中住建科长", ("department_head", "reviewer"), "500103", "zhujian")
REASON = "需要组织现场核查，材料较多"


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    engine = get_engine(application)
    ensure_calendar_seeded(engine)          # the clocks start with the case only on a known calendar
    application.config["CASE_ID"] = seed(application)
    username, name, roles, district, department = HEAD
    engine.identity.create_user(username, display_name=name, roles=roles, district=district,
                                department=department, password=PASSWORD)
    # Accepted: the reviews are open, so the head (a 住建 reviewer too) may open the case page.
    accept = open_task(engine, CLERK, "accept")["id"]
    engine.handle(ClaimTask(accept, CLERK))
    engine.handle(CompleteTask(accept, CLERK, ACCEPT))
    yield application
    engine.close()


def legal_due(app):
    clocks = get_engine(app).queries.case(CLERK, app.config["CASE_ID"])["clocks"]
    return next(c for c in clocks if c["kind"] == "legal")["due_date"]


def requests_of(app, state="all"):
    return get_engine(app).queries.extension_requests(CLERK, state=state, case_id=app.config["CASE_ID"])


def ask(client, case_id, **fields):
    """POST the case page's 申请延长时限 form (with the page's CSRF token)."""
    data = {"csrf_token": csrf_of(client, f"/cases/{case_id}"), "clock": "legal", "days": "5", "reason": REASON,
            "told_to_applicant": "1", **fields}
    return client.post(f"/cases/{case_id}/extension-requests", data=data)


def decide(client, request_id, decision, comment=""):
    """POST 批准 or 驳回 from the inbox's list (with the inbox's CSRF token)."""
    data = {"csrf_token": csrf_of(client, "/"), "back": "inbox", "comment": comment}
    return client.post(f"/extension-requests/{request_id}/{decision}", data=data)


def section(page):
    """The inbox's 待审批的延期申请 section, or None."""
    found = re.search(r'<section class="card extensions".*?</section>', page, re.S)
    return found.group(0) if found else None


def test_a_clerk_asks_on_the_case_page_and_the_head_approves_in_the_inbox(app):
    case_id = app.config["CASE_ID"]
    clerk, head = client_for(app, "window_yz"), client_for(app, "head_yz")
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "申请延长时限" in page and "直接延长（本人批准）" not in page
    assert '<option value="legal"' in page and '<option value="committed"' in page
    assert "已告知申请人延长理由" in page
    before = legal_due(app)

    asked = ask(clerk, case_id)
    assert asked.status_code == 302 and asked.headers["Location"].startswith(f"/cases/{case_id}")
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已提交延期申请，等待科室负责人审批" in page
    assert "待审批" in page and REASON in page and "已告知申请人" in page and "撤回" in page
    assert legal_due(app) == before                     # asking changes no deadline
    assert section(clerk.get("/").get_data(as_text=True)) is None

    inbox = section(head.get("/").get_data(as_text=True))
    assert inbox is not None and "待审批的延期申请" in inbox
    [request] = requests_of(app, "open")
    assert f'href="/cases/{case_id}">{request["case_no"]}</a>' in inbox
    for text in ("法定时限", "5 个工作日", REASON, "渝中窗口", "2026-11-23 09:00", "批准", "驳回"):
        assert text in inbox, text
    assert "待审批" in head.get(f"/cases/{case_id}").get_data(as_text=True)   # the link opens the case

    approved = decide(head, request["id"], "approve", "同意延长")
    assert approved.status_code == 302 and approved.headers["Location"].startswith("/")
    after = head.get("/").get_data(as_text=True)
    assert f"已批准办件 {request['case_no']} 的延期申请（5 个工作日）" in after
    assert "暂无待审批的延期申请" in section(after)
    assert legal_due(app) > before
    [done] = requests_of(app)
    assert (done["state"], done["decided_by"], done["comment"]) == ("approved", "head_yz", "同意延长")

    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已批准" in page and "同意延长" in page and "渝中住建科长" in page
    assert legal_due(app) in page and "已延长 5 个工作日" in page
    assert '<option value="legal"' not in page           # extended once: only the committed clock is left


def test_rejecting_without_a_reason_shows_the_error_and_changes_nothing(app):
    case_id, engine = app.config["CASE_ID"], get_engine(app)
    clerk, head = client_for(app, "window_yz"), client_for(app, "head_yz")
    assert ask(clerk, case_id).status_code == 302
    [request] = requests_of(app, "open")
    before, events = legal_due(app), len(engine.queries.events(case_id))

    refused = decide(head, request["id"], "reject", "   ")
    assert refused.status_code == 302
    page = head.get("/").get_data(as_text=True)
    assert 'class="flash flash-error"' in page and "驳回延期申请须写明理由" in page
    assert request["case_no"] in section(page)           # still waiting
    assert [r["state"] for r in requests_of(app)] == ["open"]
    assert legal_due(app) == before and len(engine.queries.events(case_id)) == events

    # The head may also decide on the case page, and comes back to it.
    on_case = head.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'action="/extension-requests/{request["id"]}/approve"' in on_case and "驳回" in on_case
    rejected = head.post(f"/extension-requests/{request['id']}/reject", data={
        "csrf_token": csrf_of(head, "/"), "back": "case", "case_id": str(case_id), "comment": "理由不充分"})
    assert rejected.status_code == 302 and rejected.headers["Location"].startswith(f"/cases/{case_id}")
    assert "已驳回" in head.get(f"/cases/{case_id}").get_data(as_text=True)
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已驳回" in page and "理由不充分" in page and legal_due(app) == before
    again = decide(head, request["id"], "approve")         # decided once: said on the page, not a 500
    assert again.status_code == 302
    assert "该延期申请已由渝中住建科长驳回" in head.get("/").get_data(as_text=True)
    # The history timeline tells the request and the head's reason for the rejection.
    history = clerk.get(f"/cases/{case_id}/history").get_data(as_text=True)
    assert "驳回延长申请" in history and "意见：理由不充分" in history and "法定时限延长 5 个工作日" in history


def test_a_clerk_does_not_see_the_section_nor_may_decide(app):
    case_id = app.config["CASE_ID"]
    clerk = client_for(app, "window_yz")
    assert ask(clerk, case_id).status_code == 302
    [request] = requests_of(app, "open")
    page = clerk.get("/").get_data(as_text=True)
    assert section(page) is None and "待审批的延期申请" not in page
    assert decide(clerk, request["id"], "approve").status_code == 302
    page = clerk.get("/").get_data(as_text=True)
    assert 'class="flash flash-error"' in page and "负责人" in page
    assert [r["state"] for r in requests_of(app)] == ["open"]
    reviewer = client_for(app, "reviewer_zj")
    assert section(reviewer.get("/").get_data(as_text=True)) is None
    outsider = client_for(app, "window_wz")              # another district: neither the case nor the request
    assert decide(outsider, request["id"], "approve").status_code == 404
    assert outsider.post(f"/cases/{case_id}/extension-requests",
                         data={"csrf_token": csrf_of(outsider, "/"), "days": "5", "reason": REASON}).status_code == 404


def test_refused_requests_are_told_on_the_case_page_with_the_form_kept(app):
    case_id = app.config["CASE_ID"]
    clerk = client_for(app, "window_yz")
    blank = ask(clerk, case_id, reason=" ")
    assert blank.status_code == 422
    assert "延长期限须写明理由" in blank.get_data(as_text=True) and 'role="alert"' in blank.get_data(as_text=True)
    for days in ("0", "16", "abc", "²"):
        wrong = ask(clerk, case_id, days=days)
        assert wrong.status_code == 422 and "延长天数应为 1 到 15 之间的整数" in wrong.get_data(as_text=True), days
    too_long = ask(clerk, case_id, days="12")            # 20-day legal clock: at most 10
    assert too_long.status_code == 409 and "超过上限 10" in too_long.get_data(as_text=True)
    assert REASON in too_long.get_data(as_text=True) and 'value="12"' in too_long.get_data(as_text=True)
    assert ask(clerk, case_id, clock="nonsense").status_code == 422
    assert requests_of(app) == []
    assert ask(clerk, case_id).status_code == 302
    twice = ask(clerk, case_id)
    assert twice.status_code == 409 and "已有待审批的延期申请" in twice.get_data(as_text=True)
    no_csrf = clerk.post(f"/cases/{case_id}/extension-requests", data={"days": "5", "reason": REASON})
    assert no_csrf.status_code == 400 and len(requests_of(app)) == 1


def test_the_requester_withdraws_their_own_request(app):
    case_id = app.config["CASE_ID"]
    clerk, reviewer = client_for(app, "window_yz"), client_for(app, "reviewer_zj")
    assert ask(clerk, case_id).status_code == 302
    [request] = requests_of(app, "open")
    assert "撤回" not in reviewer.get(f"/cases/{case_id}").get_data(as_text=True)
    refused = reviewer.post(f"/extension-requests/{request['id']}/withdraw",
                            data={"csrf_token": csrf_of(reviewer, "/"), "back": "case", "case_id": str(case_id)})
    assert refused.status_code == 302 and refused.headers["Location"].startswith(f"/cases/{case_id}")
    assert "只有提交申请的人可以撤回延期申请" in reviewer.get(f"/cases/{case_id}").get_data(as_text=True)
    withdrawn = clerk.post(f"/extension-requests/{request['id']}/withdraw",
                           data={"csrf_token": csrf_of(clerk, "/"), "back": "case", "case_id": str(case_id)})
    assert withdrawn.status_code == 302
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"已撤回办件 {request['case_no']} 的延期申请" in page and "已撤回" in page
    assert [r["state"] for r in requests_of(app)] == ["withdrawn"]


def test_a_head_extends_directly_from_the_case_page(app):
    case_id = app.config["CASE_ID"]
    head, clerk = client_for(app, "head_yz"), client_for(app, "window_yz")
    page = head.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "直接延长（本人批准）" in page and "提交延期申请" not in page
    before = legal_due(app)
    forged = clerk.post(f"/cases/{case_id}/extend", data={"csrf_token": csrf_of(clerk, "/"), "clock": "legal",
                                                          "days": "5", "reason": REASON})
    assert forged.status_code == 403 and "负责人" in forged.get_data(as_text=True) and legal_due(app) == before
    done = head.post(f"/cases/{case_id}/extend", data={"csrf_token": csrf_of(head, "/"), "clock": "legal",
                                                       "days": "10", "reason": REASON, "told_to_applicant": "1"})
    assert done.status_code == 302
    page = head.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已延长法定时限 10 个工作日" in page and "已延长 10 个工作日" in page
    assert legal_due(app) > before and legal_due(app) in page
    assert requests_of(app) == []
