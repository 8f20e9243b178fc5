"""A permit through 补正, 特别程序 and an extension over HTTP, on the manual clock, checking every due date.

T0 is Thursday 2026-02-12 (受理 at intake). The legal clock is 20 working days, the committed one 10
(see processes/parallel_approval). 2026 facts used: 02-14 and 02-28 are 调休 Saturdays that work,
02-15..23 is 春节, 04-04..06 is 清明.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from app.runtime import get_engine
from engine import CST, ManualClock, ensure_calendar_seeded

from .test_http_api import ACCEPT, APPROVE, REVIEWS, complete, get_case, only_task, start_case
from .test_http_api import deployed  # noqa: F401  (fixture)
from tests.goldens import record_golden


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 2, 12, 9, 30, tzinfo=CST))


def clocks(client: Any, caller: Any, case_id: int) -> dict[str, dict[str, Any]]:
    return {c["kind"]: c for c in get_case(client, caller, case_id)["clocks"]}


def due(client: Any, caller: Any, case_id: int) -> tuple[str, str]:
    c = clocks(client, caller, case_id)
    return c["legal"]["due_date"], c["committed"]["due_date"]


def lights(client: Any, caller: Any, case_id: int) -> tuple[str, str]:
    c = clocks(client, caller, case_id)
    return c["legal"]["light"], c["committed"]["light"]


def at(clock: ManualClock, month: int, day: int, hour: int = 9) -> None:
    clock.set(datetime(2026, month, day, hour, 0, tzinfo=CST))


def test_a_permit_through_correction_special_procedure_and_extension(app, client, deployed, clock):
    engine = get_engine(app)
    ensure_calendar_seeded(engine)
    engine.identity.create_user("head_yz", display_name="科长", roles=("department_head",), district="500103",
                                department="zhujian")
    clerk = deployed["clerk"]
    case_id = start_case(client, clerk)["case_id"]
    base = f"/api/v1/cases/{case_id}/clocks"
    assert due(client, clerk, case_id) == ("2026-03-18", "2026-03-04")
    assert lights(client, clerk, case_id) == ("green", "green")

    at(clock, 2, 24, 10)                                   # 补正: the applicant must supply a document
    assert client.post(f"{base}/suspend", json={"reason_kind": "correction", "reason": "一次性告知补正土地证明"},
                       headers=clerk.headers).status_code == 200
    assert lights(client, clerk, case_id) == ("paused", "paused")
    at(clock, 2, 27, 10)
    assert client.post(f"{base}/resume", json={}, headers=clerk.headers).status_code == 200
    assert due(client, clerk, case_id) == ("2026-03-23", "2026-03-09")   # +3 working days (02-24..26)

    complete(client, clerk, only_task(client, clerk, "accept")["id"], ACCEPT)
    at(clock, 3, 2, 9)                                     # 特别程序: an expert review, 5 working days expected
    assert client.post(f"{base}/suspend", json={"reason_kind": "special_procedure", "reason": "组织专家评审",
                                                "procedure": "专家评审", "expected_days": 5},
                       headers=clerk.headers).status_code == 200
    at(clock, 3, 6, 9)
    assert client.post(f"{base}/resume", json={}, headers=clerk.headers).status_code == 200
    assert due(client, clerk, case_id) == ("2026-03-27", "2026-03-13")   # +4 working days (03-02..05)

    at(clock, 3, 11, 9)
    assert lights(client, clerk, case_id) == ("green", "yellow")          # committed: 2 working days left
    at(clock, 3, 16, 9)
    assert lights(client, clerk, case_id) == ("green", "red")             # committed overdue since 03-14
    asked = client.post(f"{base}/extension-requests", json={"days": 10, "reason": "专家意见分歧，需补充论证",
                                                             "told_to_applicant": True}, headers=clerk.headers)
    assert asked.status_code == 201, asked.get_json()
    assert due(client, clerk, case_id)[0] == "2026-03-27"                 # asking moves nothing
    head = {"Authorization": f"Bearer {engine.identity.create_token('head_yz', label='scenario')}"}
    at(clock, 3, 16, 15)                                                  # the head approves that afternoon
    approved = client.post(f"/api/v1/extension-requests/{asked.get_json()['id']}/approve",
                           json={"comment": "同意，抓紧组织论证"}, headers=head)
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved", approved.get_json()
    assert due(client, clerk, case_id)[0] == "2026-04-13"                 # +10 working days around 清明
    legal = clocks(client, clerk, case_id)["legal"]
    assert "补正" in legal["rule"] and "特别程序" in legal["rule"] and "延长" in legal["rule"]

    for who, element in REVIEWS:
        complete(client, deployed[who], only_task(client, deployed[who], element)["id"], APPROVE)
    final = get_case(client, clerk, case_id)
    assert final["status"] == "completed" and {c["light"] for c in final["clocks"]} == {"closed"}
    # permit_clocks_paused_and_extended.json is the same story recorded when a clerk recorded the approval; it
    # stays as it was, so that replay keeps accepting such histories.
    record_golden("permit_clocks_extension_approved", app, case_id)
