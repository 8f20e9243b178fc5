"""不动产登记 "023" over HTTP: one process, a gateway on ``sub_type`` and the committed clock per sub-type.

抵押注销、查封/解封、异议登记 are decided on the spot (0), 抵押登记 within 2 working days, 一般登记 within 3,
all counted from 受理; the legal limit is 30 working days (不动产登记暂行条例 第二十条). T0 is Monday
2026-03-02; 2026-04-04..06 is 清明.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from engine import CST

from .conftest import Caller
from .test_bundles import DELIVERY, clock, done, last_day, people, start  # noqa: F401 (fixtures)
from .test_http_api import ACCEPT, assert_error, get_case, inbox, only_task
from tests.goldens import record_golden

REGISTER = {"result": "registered", "register_no": "DB-2026-0001", "opinion": "符合登记条件，予以登簿"}
# sub_type -> (the review task its path reaches, the committed due date)
SUB_TYPES = {
    "mortgage_cancel": ("register_instant", "2026-03-02"),
    "seizure": ("register_instant", "2026-03-02"),
    "seizure_release": ("register_instant", "2026-03-02"),
    "objection": ("register_instant", "2026-03-02"),
    "objection_cancel": ("register_instant", "2026-03-02"),
    "mortgage": ("review_mortgage", "2026-03-04"),
    "general": ("review_general", "2026-03-05"),
}


def clocks(client: Any, caller: Caller, case_id: int) -> dict[str, dict[str, Any]]:
    return {c["kind"]: c for c in get_case(client, caller, case_id)["clocks"]}


def accepted_case(client: Any, people: dict[str, Caller], sub_type: str) -> int:
    clerk = people["clerk"]
    case_id = start(client, clerk, "budongchan_dengji", {"sub_type": sub_type, "applicant": "王五"},
                    f"不动产登记 {sub_type}")
    assert {c["status"] for c in clocks(client, clerk, case_id).values()} == {"not_started"}
    done(client, clerk, only_task(client, clerk, "accept")["id"], ACCEPT)
    return case_id


@pytest.mark.parametrize("sub_type", sorted(SUB_TYPES))
def test_each_sub_type_takes_its_own_path_with_its_committed_limit(app, client, people, sub_type):
    clerk, guihua = people["clerk"], people["guihua"]
    element, committed_due = SUB_TYPES[sub_type]
    case_id = accepted_case(client, people, sub_type)
    found = clocks(client, clerk, case_id)
    assert found["committed"]["t0"] == "2026-03-02"
    assert found["committed"]["due_date"] == committed_due
    assert found["legal"]["due_date"] == "2026-04-14"              # 30 working days, 清明 skipped

    task = only_task(client, guihua, element)
    assert task["candidate_groups"] == ["reviewer@500103/guihua"]
    assert inbox(client, clerk)["items"] == []
    done(client, guihua, task["id"], REGISTER)
    deliver = only_task(client, clerk, "deliver")
    assert done(client, clerk, deliver["id"], DELIVERY)["status"] == "completed"
    final = get_case(client, clerk, case_id)
    assert [t["element_id"] for t in final["tasks"]] == ["accept", element, "deliver"]
    assert {c["light"] for c in final["clocks"]} == {"closed"}
    if sub_type in ("mortgage_cancel", "mortgage", "general"):      # 0, 2 and 3 working days
        record_golden(f"budongchan_023_{sub_type}", app, case_id)


def test_an_on_the_spot_registration_is_due_today_and_its_task_within_two_hours(client, people, clock):
    case_id = accepted_case(client, people, "mortgage_cancel")
    task = only_task(client, people["guihua"], "register_instant")
    budget = datetime.fromisoformat(task["due_at"]) - datetime.fromisoformat(task["created_at"])
    assert budget.total_seconds() == 2 * 3600
    assert last_day(get_case(client, people["clerk"], case_id)["committed_due_at"]) == "2026-03-02"


def test_a_mortgage_registration_turns_red_after_two_working_days(client, people, clock):
    case_id = accepted_case(client, people, "mortgage")
    assert clocks(client, people["clerk"], case_id)["committed"]["light"] == "green"
    clock.set(datetime(2026, 3, 4, 10, 0, tzinfo=CST))
    assert clocks(client, people["clerk"], case_id)["committed"]["light"] == "yellow"
    clock.set(datetime(2026, 3, 5, 10, 0, tzinfo=CST))
    assert clocks(client, people["clerk"], case_id)["committed"]["light"] == "red"
    assert get_case(client, people["clerk"], case_id)["status"] == "running"


def test_a_case_without_a_sub_type_is_refused_at_intake(client, people):
    response = client.post("/api/v1/cases", headers=people["clerk"].headers,
                           json={"process_key": "budongchan_dengji", "title": "缺登记类型", "data": {}})
    assert_error(response, 422, "EXPRESSION_FAILED")
    assert inbox(client, people["clerk"])["items"] == []
