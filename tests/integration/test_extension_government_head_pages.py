"""The pages of the joint procedure's extension: the district government's head decides (第四十二条第二款).

A 工改 case's clocks are 45 working days and more: a clerk's request waits in the government head's inbox, not
the lead department's head's, and a department head who reads the case asks instead of extending directly.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from app import create_app
from app.runtime import get_engine
from engine import CST, CompleteTask, ManualClock, StartCase, ensure_calendar_seeded

from ..helpers import CLERK, deploy_shipped, open_task
from ..pages_helpers import PASSWORD, client_for, csrf_of
from .test_extension_government_head import ACCEPT, REVIEWER_FG

USERS = (
    ("window_yz", ("window_clerk",), "zwzx"),
    ("reviewer_fg", ("reviewer",), "fagai"),
    ("head_zj", ("department_head",), "zhujian"),             # the lead department's head
    ("head_fg", ("department_head", "reviewer"), "fagai"),   # reads the case through 发改's 受理
    ("gov_yz", ("government_head",), None),                  # 渝中区 本级人民政府负责人
)
REASON = "联合审图意见分歧，需组织专家论证"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    engine = get_engine(application)
    ensure_calendar_seeded(engine)
    for username, roles, department in USERS:
        engine.identity.create_user(username, display_name=username, roles=roles, district="500103",
                                    department=department, password=PASSWORD)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("gongcheng", CLERK, {"project_name": "渝中区某综合楼", "project_category": "social",
                                                           "department": "zhujian"})).case_id
    engine.handle(CompleteTask(open_task(engine, REVIEWER_FG, "s1_accept")["id"], REVIEWER_FG, ACCEPT))
    application.config["CASE_ID"] = case_id
    yield application
    engine.close()


def section(page: str) -> str:
    start = page.index('<section class="card extensions"')
    return page[start:page.index("</section>", start)]


def ask(client, case_id, clock="legal", days="15"):
    return client.post(f"/cases/{case_id}/extension-requests", data={
        "csrf_token": csrf_of(client, f"/cases/{case_id}"), "clock": clock, "days": days, "reason": REASON,
        "told_to_applicant": "1"})


def test_the_clerks_request_waits_in_the_government_heads_inbox_who_approves_it(app):
    case_id, engine = app.config["CASE_ID"], get_engine(app)
    clerk, gov, head = client_for(app, "window_yz"), client_for(app, "gov_yz"), client_for(app, "head_zj")
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "法定时限（须经本级人民政府负责人批准）" in page and "第四十二条第二款" in page
    assert ask(clerk, case_id).status_code == 302
    page = clerk.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已提交延期申请，等待本级人民政府负责人审批" in page and "须经本级人民政府负责人批准" in page

    [request] = engine.queries.extension_requests(CLERK, case_id=case_id)
    assert "暂无待审批的延期申请" in section(head.get("/").get_data(as_text=True))   # not the lead department's
    queue = section(gov.get("/").get_data(as_text=True))
    assert request["case_no"] in queue and "批准" in queue and "第四十二条第二款" in queue
    on_case = gov.get(f"/cases/{case_id}").get_data(as_text=True)           # the queue's link opens the case
    assert f'action="/extension-requests/{request["id"]}/approve"' in on_case

    approved = gov.post(f"/extension-requests/{request['id']}/approve",
                        data={"csrf_token": csrf_of(gov, "/"), "back": "inbox", "comment": "同意延长"})
    assert approved.status_code == 302
    after = gov.get("/").get_data(as_text=True)
    assert f"已批准办件 {request['case_no']} 的延期申请（15 个工作日）" in after
    assert "暂无待审批的延期申请" in section(after)
    legal = {c["kind"]: c for c in engine.queries.case(CLERK, case_id)["clocks"]}["legal"]
    assert legal["extended_days"] == 15


def test_a_department_head_asks_for_a_joint_procedure_extension_and_cannot_make_or_decide_it(app):
    case_id, engine = app.config["CASE_ID"], get_engine(app)
    head = client_for(app, "head_fg")
    page = head.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "提交延期申请" in page and "直接延长（本人批准）" in page
    direct = page.split("直接延长（本人批准）</summary>")[1].split("</form>")[0]
    # The 法定 45 days are the government head's; the 承诺 clock is the 承办部门's own promise, its head's.
    assert 'value="committed"' in direct and 'value="legal"' not in direct
    refused = head.post(f"/cases/{case_id}/extend", data={"csrf_token": csrf_of(head, f"/cases/{case_id}"),
                                                          "clock": "legal", "days": "15", "reason": REASON})
    assert refused.status_code == 403 and "本级人民政府负责人" in refused.get_data(as_text=True)
    assert ask(head, case_id, days="10").status_code == 302
    page = head.get(f"/cases/{case_id}").get_data(as_text=True)
    [request] = engine.queries.extension_requests(CLERK, case_id=case_id)
    assert request["requested_by"] == "head_fg" and request["approver_role"] == "government_head"
    assert f'action="/extension-requests/{request["id"]}/approve"' not in page
    decided = head.post(f"/extension-requests/{request['id']}/approve",
                        data={"csrf_token": csrf_of(head, "/"), "back": "case", "case_id": str(case_id)})
    assert decided.status_code == 302
    assert "本级人民政府负责人" in head.get(f"/cases/{case_id}").get_data(as_text=True)   # told, nothing changed
    assert [r["state"] for r in engine.queries.extension_requests(CLERK, state="all", case_id=case_id)] == ["open"]


def test_every_demo_district_has_a_government_head_who_logs_in_to_an_empty_queue(database_url, clock, tmp_path):
    from app.demo import DEMO_USERS, seed_demo
    heads = {district for _, _, roles, district, _ in DEMO_USERS if "department_head" in roles}
    governing = {district: username for username, _, roles, district, _ in DEMO_USERS if "government_head" in roles}
    assert set(governing) == heads == {"500103", "500101", "500114", "CQ-LJXQ"}
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    engine = get_engine(application)
    try:
        lines = seed_demo(engine, tmp_path / "instance")
        assert any(line.split()[:3] == ["gov_yz", "渝中区政府负责人", "government_head@500103"] for line in lines)
        actor = engine.identity.actor_for_password("gov_lj", "tongban-demo")
        assert (actor.roles, actor.district, actor.department) == (("government_head",), "CQ-LJXQ", None)
        client = application.test_client()
        login = client.post("/login", data={"username": "gov_yz", "password": "tongban-demo",
                                            "csrf_token": csrf_of(client)})
        assert login.status_code == 302
        assert "暂无待审批的延期申请" in section(client.get("/").get_data(as_text=True))
    finally:
        engine.close()
