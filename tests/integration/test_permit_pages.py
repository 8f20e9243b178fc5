"""The standard permit's one-time 补正 notice through the task page: a dynamic list in a form without JavaScript."""
from __future__ import annotations

import pytest

from app import create_app
from app.runtime import get_engine
from engine import ClaimTask, CompleteTask, StartCase, ensure_calendar_seeded

from ..helpers import CLERK
from ..pages_helpers import csrf_of, login, seed


@pytest.fixture
def app(database_url, clock):
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    seed(application)
    yield application
    get_engine(application).close()


def open_task(engine, element_id):
    return [t for t in engine.queries.tasks(CLERK, limit=50).items if t["element_id"] == element_id][0]["id"]


def test_the_clerk_lists_every_missing_item_on_the_correction_notice_page(app):
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    ref = engine.handle(StartCase("standard_permit", CLERK, {"department": "zhujian", "substantive_check": False},
                                  title="排水许可"))
    for element, data in (("receive", {"applicant_name": "某公司", "handling_mode": "standard",
                                       "received_materials": "申请书"}),
                          ("formal_review", {"intake_decision": "correction", "review_note": "材料不齐"})):
        task_id = open_task(engine, element)
        engine.handle(ClaimTask(task_id, CLERK))
        engine.handle(CompleteTask(task_id, CLERK, data))
    task_id = open_task(engine, "correction_notice")
    engine.handle(ClaimTask(task_id, CLERK))
    client = app.test_client()
    assert login(client, "window_yz").status_code == 302
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "需要补正的全部内容" in page and 'name="missing_items.2.item_name"' in page
    token = csrf_of(client, f"/tasks/{task_id}")
    empty = client.post(f"/tasks/{task_id}/complete", data={"csrf_token": token, "correction_notice_no": "补 01",
                                                            "missing_items.0.item_name": ""})
    assert empty.status_code == 422
    assert 'class="group list has-error"' in empty.get_data(as_text=True)
    done = client.post(f"/tasks/{task_id}/complete", data={
        "csrf_token": token, "correction_notice_no": "补 01", "missing_items.0.item_name": "",
        "missing_items.1.item_name": "排水水质检测报告", "missing_items.2.item_name": "预处理设施运行说明",
        "missing_items.2.item_requirement": "加盖公章"})
    assert done.status_code == 302, done.get_data(as_text=True)
    completed = [e for e in engine.queries.events(ref.case_id) if e.event_type == "TaskCompleted"][-1]
    assert completed.payload["data"]["missing_items"] == [
        {"item_name": "排水水质检测报告"}, {"item_name": "预处理设施运行说明", "item_requirement": "加盖公章"}]
