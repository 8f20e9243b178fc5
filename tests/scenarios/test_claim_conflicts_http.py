"""Claim, complete and unclaim (退回认领) answer one situation with one 409 wording, on SQLite and PostgreSQL.

The QA report: unclaiming a task that nobody holds answered 「该任务未被您认领，无法退回认领」, worded unlike the
other 409s (「该任务已被 {assignee} 认领」, 「该任务已办结或已撤销，不能再次处理」).
"""
from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .conftest import Caller
from .test_http_api import (  # noqa: F401 (fixtures)
    ACCEPT, APPROVE, assert_error, case, claim, complete, deployed, in_review, only_task,
)

HELD = "该任务已被 {} 认领"
CLOSED = "该任务已办结或已撤销，不能再次处理"
NOT_HELD = "该任务尚未被认领，不能退回认领"


def unclaim(client: FlaskClient, caller: Caller, task_id: int) -> TestResponse:
    return client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=caller.headers)


def test_a_task_someone_else_holds_gets_the_same_409_from_claim_complete_and_unclaim(client, deployed, in_review):
    first, second = deployed["zhujian"], deployed["zhujian_2"]
    task_id = only_task(client, first, "review_zhujian")["id"]
    assert claim(client, first, task_id).status_code == 200
    for response in (claim(client, second, task_id), complete(client, second, task_id, APPROVE),
                     unclaim(client, second, task_id)):
        body = assert_error(response, 409, "CONFLICT")
        assert (body["message"], body["details"]) == (HELD.format(first.username),
                                                      {"task_id": task_id, "assignee": first.username})


def test_a_closed_task_gets_the_same_409_from_claim_complete_and_unclaim(client, deployed, in_review):
    clerk, task_id = deployed["clerk"], in_review["accept_task"]["id"]
    for response in (claim(client, clerk, task_id), complete(client, clerk, task_id, ACCEPT),
                     unclaim(client, clerk, task_id)):
        body = assert_error(response, 409, "CONFLICT")
        assert (body["message"], body["details"]) == (CLOSED, {"task_id": task_id, "state": "completed"})


def test_unclaiming_a_task_nobody_holds_is_worded_like_the_other_409s(client, deployed, in_review):
    reviewer = deployed["zhujian"]
    task_id = only_task(client, reviewer, "review_zhujian")["id"]
    body = assert_error(unclaim(client, reviewer, task_id), 409, "CONFLICT")
    assert (body["message"], body["details"]) == (NOT_HELD, {"task_id": task_id})
    assert claim(client, reviewer, task_id).status_code == 200   # nothing changed: it is still free to claim
