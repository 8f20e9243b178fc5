"""Separation of duties (职责分离, ``separateFrom``) on SQLite and PostgreSQL: per 会签 round, across tasks."""
from __future__ import annotations

import pytest

from engine import Actor, ClaimTask, CompleteTask, DeployDefinitions, EngineConfig, StartCase, bootstrap
from engine.separation import SeparationOfDuties
from tests.conftest import DATA, ROOT
from tests.helpers import CLERK, ZHUJIAN, ZHUJIAN_2

HEAD = Actor("head_zj", ("department_head", "reviewer"), "500103", "zhujian")


@pytest.fixture
def engine(database_url, clock):
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", workflow_cache_size=0), clock=clock)
    path = DATA / "processes" / "separated_rounds.bpmn"
    eng.handle(DeployDefinitions(((path.name, path.read_bytes()),)))
    yield eng
    eng.close()


def open_ids(engine, actor: Actor, case_id: int, element: str) -> list[int]:
    return [t["id"] for t in engine.queries.case(actor, case_id)["tasks"]
            if t["element_id"] == element and t["state"] == "open"]


def test_one_person_per_instance_in_a_round_but_free_again_in_the_next_round(engine):
    case_id = engine.handle(StartCase("separated_rounds", CLERK, data={})).case_id
    first, second = open_ids(engine, ZHUJIAN, case_id, "check")
    engine.handle(CompleteTask(first, ZHUJIAN, {}))
    with pytest.raises(SeparationOfDuties) as refused:
        engine.handle(ClaimTask(second, ZHUJIAN))
    assert refused.value.details["conflicting_task_id"] == first
    with pytest.raises(SeparationOfDuties):
        engine.handle(CompleteTask(second, ZHUJIAN, {}))
    engine.handle(CompleteTask(second, HEAD, {}))                 # a head holding the reviewer role checked
    (conclude,) = open_ids(engine, HEAD, case_id, "conclude")
    with pytest.raises(SeparationOfDuties):                       # ...so that head may not conclude
        engine.handle(CompleteTask(conclude, HEAD, {}))
    other_head = Actor("head_zj2", ("department_head",), "500103", "zhujian")
    engine.handle(CompleteTask(conclude, other_head, {"recheck": True}))

    # Round two: the first round's performers bind nobody, but within the round the rule holds again.
    third, fourth = open_ids(engine, ZHUJIAN, case_id, "check")
    engine.handle(ClaimTask(third, ZHUJIAN))
    with pytest.raises(SeparationOfDuties):
        engine.handle(ClaimTask(fourth, ZHUJIAN))
    engine.handle(CompleteTask(third, ZHUJIAN, {}))
    engine.handle(CompleteTask(fourth, ZHUJIAN_2, {}))
    (conclude,) = open_ids(engine, HEAD, case_id, "conclude")
    with pytest.raises(SeparationOfDuties):                       # across tasks, every round counts
        engine.handle(CompleteTask(conclude, HEAD, {"recheck": False}))
    engine.handle(CompleteTask(conclude, other_head, {"recheck": False}))
    assert engine.queries.case(CLERK, case_id)["status"] == "completed"


def test_the_inbox_tells_who_may_not_take_a_task_before_the_claim_is_refused(engine):
    case_id = engine.handle(StartCase("separated_rounds", CLERK, data={})).case_id
    first, second = open_ids(engine, ZHUJIAN, case_id, "check")
    before = {t["id"]: t["separated"] for t in engine.queries.tasks(ZHUJIAN, scope="available").items}
    assert before == {first: None, second: None}
    engine.handle(CompleteTask(first, ZHUJIAN, {}))

    listed = {t["id"]: t["separated"] for t in engine.queries.tasks(ZHUJIAN, scope="available").items}
    assert list(listed) == [second]
    with pytest.raises(SeparationOfDuties) as refused:
        engine.handle(ClaimTask(second, ZHUJIAN))
    assert listed[second] == refused.value.message            # the same reason, before trying
    assert engine.queries.task(ZHUJIAN, second)["separated"] == refused.value.message
    assert [t["separated"] for t in engine.queries.tasks(ZHUJIAN_2, scope="available").items] == [None]
    assert engine.queries.task(ZHUJIAN_2, second)["separated"] is None

    engine.handle(ClaimTask(second, ZHUJIAN_2))                # held by someone else: not offered any more
    assert engine.queries.tasks(ZHUJIAN_2, scope="mine").items[0]["separated"] is None
    assert engine.queries.tasks(ZHUJIAN, scope="available").items == []
