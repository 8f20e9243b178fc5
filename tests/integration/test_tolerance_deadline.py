"""The 容缺 deadline (F13) on SQLite and PostgreSQL: the case API, the case page, the task page and 办件查询.

容缺受理 of a 食品经营许可 (standard_permit) on Monday 2026-11-23 with 3 working days: 接收容缺材料 waits
under 容缺补齐期限届满, due 2026-11-27 00:00 Beijing time (the end of 11-26); when it fires the case ends
(终止办理（容缺逾期）). Everyone who must act on that date is told it; a case without such a timer tells none.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from app.runtime import get_engine
from engine import CST, CompleteTask
from engine.calendar_functions import NEVER
from engine.persistence.models import Timer
from tests.helpers import CLERK, count_statements
from tests.pages_helpers import PASSWORD, csrf_of, login
from tests.integration.test_query_pages import app, client  # noqa: F401 - fixtures: the shipped app
from tests.rating_helpers import Received, food_application, task_of

DUE = datetime(2026, 11, 27, 0, 0, tzinfo=CST)
SHOWN = "容缺补齐期限届满：2026-11-26 24:00 前（逾期将终止办理）"
TOLD = "请于 2026-11-26（含当日）前补齐容缺材料，逾期将终止办理"
TIMER = {"element_id": "tolerance_expired", "name": "容缺补齐期限届满", "attached_to": "receive_tolerance",
         "ends_case": True}


@pytest.fixture
def clerk(app: Flask) -> dict[str, str]:
    """The 渝中 window clerk (CLERK) and a 市场监管 reviewer with page passwords; the clerk's API header."""
    engine = get_engine(app)
    for username, roles, department in (("window_yz", ("window_clerk",), "zwzx"),
                                        ("reviewer_sc", ("reviewer",), "shichang")):
        engine.identity.create_user(username, display_name=username, roles=roles, district="500103",
                                    department=department, password=PASSWORD)
    return {"Authorization": f"Bearer {engine.identity.create_token('window_yz', label='test')}"}


def work(engine, case: Received, element: str, data: dict) -> None:
    engine.handle(CompleteTask(task_of(engine, CLERK, element, case.case_id)["id"], CLERK, data))


def tolerance_accepted(engine) -> Received:
    """收件, 形式审查 (容缺), 容缺受理 with 3 working days: 接收容缺材料 is open."""
    case = food_application(engine)
    work(engine, case, "receive", {"applicant_name": "重庆某餐饮管理有限公司", "handling_mode": "standard",
                                   "received_materials": "申请书等", "originals_checked": True})
    work(engine, case, "formal_review", {"intake_decision": "tolerance", "review_note": "健康证明欠缺"})
    work(engine, case, "accept_tolerance", {"tolerance_commitment_signed": True, "tolerance_days": 3,
                                            "tolerance_items": [{"item_name": "从业人员健康证明"}],
                                            "receipt_no": "渝中容缺〔2026〕01 号"})
    return case


def lookup(client: FlaskClient, case: Received) -> str:
    form = {"csrf_token": csrf_of(client, "/query"), "case_no": case.case_no, "query_code": case.query_code}
    response = client.post("/query", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_engine_lists_the_waiting_tolerance_timer_with_its_name_task_and_due_instant(app):
    engine = get_engine(app)
    case = tolerance_accepted(engine)
    assert engine.case_timers.waiting(case.case_id) == [{**TIMER, "due_at": DUE}]
    assert engine.case_timers.waiting(case.case_id, attached_to="receive_tolerance") == [{**TIMER, "due_at": DUE}]
    assert engine.case_timers.waiting(case.case_id, attached_to="review") == []
    with count_statements(engine) as statements:
        engine.case_timers.waiting(case.case_id)
    assert len(statements) == 1                       # one read; the drawn names come from the cached definition
    view = engine.applicants.view(case.case_id)
    assert view["tolerance_deadline"] == {"due_date": "2026-11-26", "text": TOLD}
    work(engine, case, "receive_tolerance", {"tolerance_supplied": True, "tolerance_note": "已补齐"})
    assert engine.case_timers.waiting(case.case_id) == []
    assert engine.applicants.view(case.case_id)["tolerance_deadline"] is None


def test_a_timer_waiting_on_the_never_sentinel_is_not_shown(app):
    engine = get_engine(app)
    case = tolerance_accepted(engine)
    with engine.database.writer.begin() as connection:
        connection.execute(update(Timer).where(Timer.case_id == case.case_id).values(due_at=NEVER))
    assert engine.case_timers.waiting(case.case_id) == []
    assert engine.applicants.view(case.case_id)["tolerance_deadline"] is None


def test_a_case_without_a_timer_shows_none(app, client, clerk):
    engine = get_engine(app)
    case = food_application(engine)
    assert engine.case_timers.waiting(case.case_id) == []
    assert engine.applicants.view(case.case_id)["tolerance_deadline"] is None
    html = lookup(client, case)
    assert "已收件" in html and "补齐容缺材料" not in html
    assert client.get(f"/api/v1/cases/{case.case_id}", headers=clerk).get_json()["timers"] == []
    login(client, "window_yz")
    page = client.get(f"/cases/{case.case_id}").get_data(as_text=True)
    assert "逾期将终止办理" not in page and 'class="timers"' not in page


def test_the_case_api_case_page_and_task_page_show_the_deadline_to_the_window(app, client, clerk):
    engine = get_engine(app)
    case = tolerance_accepted(engine)
    body = client.get(f"/api/v1/cases/{case.case_id}", headers=clerk).get_json()
    assert body["timers"] == [{**TIMER, "due_at": "2026-11-26T16:00:00+00:00"}]
    login(client, "window_yz")
    assert SHOWN in client.get(f"/cases/{case.case_id}").get_data(as_text=True)
    waiting = task_of(engine, CLERK, "receive_tolerance", case.case_id)
    assert SHOWN in client.get(f"/tasks/{waiting['id']}").get_data(as_text=True)
    # Only the task the timer is drawn on tells it: 审查 of the same case does not.
    review = next(t for t in body["tasks"] if t["element_id"] == "review")
    login(client, "reviewer_sc")
    assert client.get(f"/tasks/{review['id']}").status_code == 200
    assert "容缺补齐期限届满" not in client.get(f"/tasks/{review['id']}").get_data(as_text=True)


def test_the_applicant_is_told_the_last_day_in_the_lookup_without_personal_data(app, client):
    engine = get_engine(app)
    case = tolerance_accepted(engine)
    html = lookup(client, case)
    assert TOLD in html
    assert "重庆某餐饮管理有限公司" not in html and "13800138000" not in html and "91500103MA5U1234XJ" not in html
    api = client.post("/api/v1/public/lookup", json={"case_no": case.case_no, "query_code": case.query_code})
    assert api.get_json()["tolerance_deadline"] == {"due_date": "2026-11-26", "text": TOLD}
    work(engine, case, "receive_tolerance", {"tolerance_supplied": True, "tolerance_note": "已补齐"})
    assert TOLD not in lookup(client, case)
