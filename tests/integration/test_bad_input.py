"""Bad input gets a precise error and changes nothing, on both databases."""
from __future__ import annotations

import json
import threading

import pytest

from engine import (
    Actor, ClaimTask, CompleteTask, Conflict, DefinitionRejected, DeployDefinitions, FormInvalid, InvalidInput, NotFound,
    StartCase, UnclaimTask,
)
from tests.bpmn_factory import diagram
from tests.helpers import ACCEPT, CLERK, OUTSIDER, ZHUJIAN, ZHUJIAN_2, APPROVE, deploy_shipped, open_task


def snapshot(engine, case_id):
    case = engine.queries.case(CLERK, case_id)
    return case["version"], case["event_count"], [(t["id"], t["state"], t["assignee"]) for t in case["tasks"]]


@pytest.fixture
def started(engine):
    deploy_shipped(engine)
    return engine.handle(StartCase("parallel_approval", CLERK))


def test_unknown_task_id_is_not_found(engine, started):
    with pytest.raises(NotFound) as exc:
        engine.handle(CompleteTask(999_999, CLERK, ACCEPT))
    assert exc.value.code == "NOT_FOUND" and "任务" in exc.value.message


def test_a_task_outside_your_groups_is_not_found_rather_than_forbidden(engine, started):
    accept = open_task(engine, CLERK, "accept")
    before = snapshot(engine, started.case_id)
    for command in (ClaimTask(accept["id"], OUTSIDER), CompleteTask(accept["id"], OUTSIDER, ACCEPT)):
        with pytest.raises(NotFound):
            engine.handle(command)
    assert engine.queries.tasks(OUTSIDER).items == []
    assert snapshot(engine, started.case_id) == before


def test_form_data_of_the_wrong_type_lists_every_bad_field_and_changes_nothing(engine, started):
    accept = open_task(engine, CLERK, "accept")
    before = snapshot(engine, started.case_id)
    with pytest.raises(FormInvalid) as exc:
        engine.handle(CompleteTask(accept["id"], CLERK, {"decision": "maybe", "materials_complete": "yes",
                                                           "extra": 1}))
    fields = exc.value.details["fields"]
    assert set(fields) == {"decision", "materials_complete", "opinion", "extra"}
    assert snapshot(engine, started.case_id) == before


def test_completing_a_task_twice_is_a_conflict(engine, started):
    accept = open_task(engine, CLERK, "accept")
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    before = snapshot(engine, started.case_id)
    with pytest.raises(Conflict) as exc:
        engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    assert exc.value.http_status == 409
    assert snapshot(engine, started.case_id) == before


def test_a_task_claimed_by_someone_else_cannot_be_claimed_completed_or_unclaimed(engine, started):
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    before = snapshot(engine, started.case_id)
    for command in (ClaimTask(review["id"], ZHUJIAN_2), CompleteTask(review["id"], ZHUJIAN_2, APPROVE),
                    UnclaimTask(review["id"], ZHUJIAN_2)):
        with pytest.raises(Conflict) as exc:
            engine.handle(command)
        assert ZHUJIAN.username in exc.value.message
    assert snapshot(engine, started.case_id) == before
    assert engine.queries.tasks(ZHUJIAN_2, scope="available").items == []


def test_starting_an_undeployed_process_or_with_bad_data_is_refused(engine):
    with pytest.raises(NotFound):
        engine.handle(StartCase("no_such_process", CLERK))
    deploy_shipped(engine)
    with pytest.raises(InvalidInput) as exc:
        engine.handle(StartCase("parallel_approval", CLERK, data={"__class__": 1, "ok": object()}))
    assert set(exc.value.details["fields"]) == {"__class__", "ok"}


def test_a_rejected_deploy_writes_nothing(engine):
    deploy_shipped(engine)
    before = engine.queries.definitions()
    evil = diagram(process_id="evil", condition="__import__('os').system('id') == 0")
    good = diagram(process_id="good")
    with pytest.raises(DefinitionRejected):
        engine.handle(DeployDefinitions((("good.bpmn", good), ("evil.bpmn", evil))))
    assert engine.queries.definitions() == before


def test_a_form_whose_id_ends_in_a_line_break_is_refused_and_nothing_is_deployed(engine):
    form = json.dumps({"type": "default", "id": "x\n", "components": []}).encode()
    with pytest.raises(DefinitionRejected):
        engine.handle(DeployDefinitions((), (("x.form", form),), actor=Actor("designer", ("designer",), "500000")))
    assert engine.drafts.deployed_forms() == {}


def test_a_diagram_whose_form_does_not_exist_is_refused(engine):
    bpmn = diagram(process_id="needs_form", task_extensions='<tb:assignment candidateGroups="reviewer"/>'
                                                          '<tb:form key="no_such_form"/>')
    with pytest.raises(DefinitionRejected) as exc:
        engine.handle(DeployDefinitions((("f.bpmn", bpmn),)))
    assert exc.value.details["findings"][0]["code"] == "TB_FORM_MISSING"


def test_two_threads_completing_the_same_task_exactly_one_wins(engine, started):
    accept = open_task(engine, CLERK, "accept")
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt() -> None:
        barrier.wait()
        try:
            outcomes.append(engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT)))
        except Conflict as exc:
            outcomes.append(exc)
    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(wins) == 1 and len(outcomes) == 2, outcomes
    case = engine.queries.case(CLERK, started.case_id)
    assert [t["element_id"] for t in case["tasks"]].count("review_zhujian") == 1
    assert [e.event_type for e in engine.queries.events(started.case_id)].count("TaskCompleted") == 1
