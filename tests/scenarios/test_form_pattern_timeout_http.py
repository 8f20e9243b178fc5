"""Hostile form patterns over HTTP, on SQLite and PostgreSQL: refused at deploy, or bounded in time when completing.

The QA report: completing a task whose field had ``(a|aa)+$`` with 37 ``a`` then ``b`` took 15.8 s, and an
unrelated ``POST /api/v1/cases`` waited 13.8 s behind it. Every request that could hang runs under
``bounded``, so a regression fails the test instead of hanging it.
"""
from __future__ import annotations

import json
import time

import pytest

from engine.form_patterns import PATTERN_TIMEOUT, deploy_problem
from tests.bpmn_factory import diagram
from tests.scenarios.test_http_api import assert_error, complete, get_case, only_task, upload
from tests.unit.test_form_patterns import SLIPS_THROUGH, SLOW_VALUE
from tests.unit.test_timer_values import bounded

PROBE = diagram(process_id="probe", task_extensions='<tb:assignment candidateGroups="reviewer"/>'
                                                    '<tb:form key="probe_form"/>')


def probe_form(pattern: str) -> bytes:
    return json.dumps({"id": "probe_form", "type": "default", "components": [
        {"id": "f_code", "type": "textfield", "key": "code", "label": "编码",
         "validate": {"required": True, "pattern": pattern}}]}).encode()


def start(client, caller) -> dict:
    response = bounded(lambda: client.post("/api/v1/cases", headers=caller.headers,
                                           json={"process_key": "probe", "title": "格式校验", "data": {}}))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def state(client, caller, case_id: int) -> tuple:
    case = get_case(client, caller, case_id)
    return case["version"], case["event_count"], case["status"], [(t["id"], t["state"]) for t in case["tasks"]]


@pytest.mark.parametrize("pattern", ["(a|aa)+$", "(a|a)*$", "(.*a){20}"])
def test_the_qa_patterns_are_refused_at_deploy(client, cast, pattern):
    response = bounded(lambda: upload(client, cast["designer"], [("probe.bpmn", PROBE),
                                                                 ("forms/probe_form.form", probe_form(pattern))]))
    findings = assert_error(response, 422, "DEFINITION_REJECTED")["details"]["findings"]
    [finding] = [f for f in findings if f["file"] == "forms/probe_form.form"]   # the diagram misses its form too
    assert (finding["code"], finding["element_id"]) == ("FORM_PATTERN_UNSAFE", "f_code")
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []


def test_a_value_whose_pattern_check_runs_out_of_time_is_refused_quickly_and_writes_nothing(client, cast):
    assert deploy_problem(SLIPS_THROUGH) is None, "the deploy check reads this pattern now: pick another"
    uploaded = upload(client, cast["designer"], [("probe.bpmn", PROBE),
                                                 ("forms/probe_form.form", probe_form(SLIPS_THROUGH))])
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    reviewer = cast["zhujian"]
    case = start(client, cast["clerk"])
    task = only_task(client, reviewer, "task")
    before = state(client, reviewer, case["case_id"])

    started = time.perf_counter()
    response = bounded(lambda: complete(client, reviewer, task["id"], {"code": SLOW_VALUE}))
    assert time.perf_counter() - started < 3   # seconds to hours before; now the 50 ms budget, plus slack
    body = assert_error(response, 422, "FORM_INVALID")
    assert body["details"]["fields"] == {"code": [PATTERN_TIMEOUT]}
    assert state(client, reviewer, case["case_id"]) == before

    # Nothing is left holding a lock: an unrelated start and a fitting value go straight through.
    started = time.perf_counter()
    start(client, cast["clerk"])
    done = bounded(lambda: complete(client, reviewer, task["id"], {"code": "abab"}))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert time.perf_counter() - started < 3
    assert get_case(client, reviewer, case["case_id"])["status"] == "completed"
