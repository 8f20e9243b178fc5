"""Two refusals of the standard permit over HTTP: a second one-time 补正 notice, and a licence valid until 1900.

行政许可法第三十二条: the window tells the applicant everything to correct at once, so a second notice is 409
``NOTICE_ALREADY_GIVEN``, whichever way the first was given (the 一次性告知补正 task or a 补正 request), and
nothing is written. QA F15: 制证's 有效期至 must come after the day of issue (Beijing business date) and not
past 2100-12-31, refused as any form field is (422 ``FORM_INVALID``, ``details.fields``).
"""
from __future__ import annotations

from .test_http_api import assert_error, claim, complete, get_case
from .test_standard_permit import (  # noqa: F401 - clock, people: the fixtures
    ACCEPT, DRAINAGE, GRANT, LICENSE, RECEIVE, RECEIPT, REVIEW, accept_on_spot, at, clock, do, events, open_tasks,
    people, start,
)

NOTICE = {"correction_notice_no": "渝中补〔2026〕01 号", "missing_items": [{"item_name": "排水水质、水量检测报告"}]}
TOLD = "已于 2026-03-03 一次性告知补正内容，不得再次告知；"


def suspend(client, caller, case_id: int):
    return client.post(f"/api/v1/cases/{case_id}/clocks/suspend", headers=caller.headers,
                       json={"reason_kind": "correction", "reason": "一次性告知：补正预处理设施运行情况说明"})


def state(app, client, caller, case_id: int):
    return len(events(app, case_id, "ClockPaused")), get_case(client, caller, case_id)["version"]


def test_a_correction_request_after_the_notice_task_is_refused(app, client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, DRAINAGE)
    do(client, clerk, case_id, "receive", RECEIVE)
    at(clock, 3, 3)
    do(client, clerk, case_id, "formal_review", {"intake_decision": "correction", "review_note": "材料不齐"})
    do(client, clerk, case_id, "correction_notice", NOTICE)
    at(clock, 3, 5)
    before = state(app, client, clerk, case_id)
    body = assert_error(suspend(client, clerk, case_id), 409, "NOTICE_ALREADY_GIVEN")
    assert body["message"].startswith(TOLD) and body["details"]["notice_date"] == "2026-03-03"
    assert state(app, client, clerk, case_id) == before


def test_the_notice_task_after_a_correction_request_is_refused_and_returned(app, client, people, clock):
    clerk = people["clerk"]
    case_id = start(client, clerk, DRAINAGE)
    do(client, clerk, case_id, "receive", RECEIVE)
    at(clock, 3, 3)
    assert suspend(client, clerk, case_id).status_code == 200     # the notice, given outside the task
    do(client, clerk, case_id, "formal_review", {"intake_decision": "correction", "review_note": "材料不齐"})
    [task] = open_tasks(client, clerk, case_id)
    assert task["element_id"] == "correction_notice" and claim(client, clerk, task["id"]).status_code == 200
    before = state(app, client, clerk, case_id)
    body = assert_error(complete(client, clerk, task["id"], NOTICE), 409, "NOTICE_ALREADY_GIVEN")
    assert body["message"].startswith(TOLD) and "退回" in body["message"]
    assert state(app, client, clerk, case_id) == before
    returned = client.post(f"/api/v1/tasks/{task['id']}/return", headers=clerk.headers,
                           json={"reason": "已一次性告知补正内容，补正齐全后受理"})
    assert returned.status_code == 200, returned.get_data(as_text=True)
    do(client, clerk, case_id, "formal_review", ACCEPT)
    do(client, clerk, case_id, "accept_on_spot", RECEIPT)
    assert {c["status"] for c in get_case(client, clerk, case_id)["clocks"]} == {"confirmed"}


def test_a_licence_must_be_valid_after_the_day_of_issue_and_not_past_2100(app, client, people, clock):
    clerk, reviewer, head = people["clerk"], people["zhujian"], people["head_zj"]
    case_id = accept_on_spot(client, people, {**DRAINAGE, "substantive_check": False})
    do(client, reviewer, case_id, "review", REVIEW)
    do(client, head, case_id, "decide", GRANT)
    at(clock, 3, 11, 23)                                           # late evening: still 03-11 in Beijing
    [task] = [t for t in open_tasks(client, reviewer, case_id) if t["element_id"] == "issue_license"]
    assert claim(client, reviewer, task["id"]).status_code == 200
    for until, message in (("1900-01-01", "应晚于今日（2026-03-11）"), ("2026-03-11", "应晚于今日（2026-03-11）"),
                           ("2101-01-01", "不能晚于 2100-12-31")):
        body = assert_error(complete(client, reviewer, task["id"], {**LICENSE, "license_valid_until": until}),
                            422, "FORM_INVALID")
        assert body["details"]["fields"] == {"license_valid_until": [message]}
    assert get_case(client, clerk, case_id)["status"] == "running"
    assert complete(client, reviewer, task["id"], {**LICENSE, "license_valid_until": "2026-03-12"}).status_code == 200
    assert [t["element_id"] for t in open_tasks(client, clerk, case_id)] == ["deliver"]
