"""Hostile timer values over HTTP: deploy refuses literals, a computed one fails the start with 422, nothing written.

Each request that used to hang runs under a time bound (``bounded``), so a regression fails instead of hanging.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.runtime import get_engine
from engine.persistence.models import Case
from tests.bpmn_factory import diagram
from tests.scenarios.test_http_api import assert_error, upload
from tests.unit.test_timer_values import bounded, timer_diagram

COMPUTED = diagram(process_id="probe", timer='value_of("wait", "PT2H")')


def cases(app) -> int:
    with get_engine(app).database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


def start(client, caller, data):
    return bounded(lambda: client.post("/api/v1/cases", headers=caller.headers,
                                       json={"process_key": "probe", "title": "定时器", "data": data}))


@pytest.mark.parametrize(("kind", "value"), [("timeDuration", '"P999999999Y"'), ("timeDuration", '"PT2X"'),
                                             ("timeDuration", "5"), ("timeCycle", '"R/PT0S"'),
                                             ("timeCycle", '"R-1/PT1H"'), ("timeDate", '"2026-13-45T00:00:00"')])
def test_deploy_refuses_a_timer_literal_no_case_could_run(client, cast, kind, value):
    body = assert_error(bounded(lambda: upload(client, cast["designer"], [("t.bpmn", timer_diagram(kind, value))])),
                        422, "DEFINITION_REJECTED")
    assert [(f["code"], f["element_id"]) for f in body["details"]["findings"]] == [("TIMER_INVALID", "timer")]
    assert client.get("/api/v1/definitions", headers=cast["designer"].headers).get_json() == []


@pytest.mark.parametrize("value", ["P999999999Y", "PT2X", "P-1D", "2026-13-45T00:00:00", 5])
def test_a_computed_timer_value_fails_the_start_with_422_naming_the_element_and_writes_nothing(app, client, cast,
                                                                                           value):
    assert upload(client, cast["designer"], [("t.bpmn", COMPUTED)]).status_code == 201
    body = assert_error(start(client, cast["clerk"], {"wait": value}), 422, "EXPRESSION_FAILED")
    assert body["details"]["element_id"] == "timer"
    assert "元素 timer 的定时器时长值" in body["message"]
    assert cases(app) == 0
    # The write lock was not held: the next start goes through.
    assert start(client, cast["clerk"], {"wait": "PT2H"}).status_code == 201
    assert cases(app) == 1


def test_lint_names_candidate_groups_nobody_can_claim(client, cast):
    ext = ('<tb:assignment candidateGroups="wizard@999999/nothing, applicant, reviewer@599999/zhujian, '
           'reviewer@500103/nothing, reviewer@${owning}/zhujian"/>')
    data = {"files": [(io.BytesIO(diagram(task_extensions=ext)), "t.bpmn")]}
    body = client.post("/api/v1/lint", headers=cast["designer"].headers, data=data,
                       content_type="multipart/form-data").get_json()
    found = sorted((f["code"], f["severity"], f["message"].split("候选组 ")[1].split(" ")[0])
                   for f in body["findings"] if f["code"].startswith("LINT_CANDIDATE_"))
    assert found == [("LINT_CANDIDATE_UNKNOWN_DEPARTMENT", "error", "reviewer@500103/nothing"),
                     ("LINT_CANDIDATE_UNKNOWN_DISTRICT", "error", "reviewer@599999/zhujian"),
                     ("LINT_CANDIDATE_UNKNOWN_ROLE", "error", "applicant"),
                     ("LINT_CANDIDATE_UNKNOWN_ROLE", "error", "wizard@999999/nothing")]
    assert body["ok"] is False
