"""A multi-instance task never creates more than MAX_MULTI_INSTANCES instances when the case runs.

A parallel multi-instance creates all its instances in one step, where MAX_ENGINE_STEPS never applies: a computed
cardinality or a collection past the cap must fail the step with an EngineError before any instance exists. The
counts used are the cap plus one, so on code without the cap these tests fail (no error) instead of hanging.
"""
from __future__ import annotations

import time

import pytest

from engine import DeployDefinitions, EngineError, ExpressionFailed, StartCase
from engine.spiff.multi_instance import MAX_MULTI_INSTANCES
from tests.bpmn_factory import HEAD
from tests.helpers import ZHUJIAN

TOO_MANY = MAX_MULTI_INSTANCES + 1


def _mi_process(process_id: str, loop: str, *, sequential: bool = False) -> bytes:
    """start -> a multi-instance user task with the given loop elements -> end."""
    return (HEAD + f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="start"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="t"/>'
            '<bpmn:userTask id="t" name="会签"><bpmn:extensionElements><tb:assignment candidateGroups="reviewer"/>'
            '</bpmn:extensionElements>'
            f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">{loop}'
            '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
            '<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="end"/><bpmn:endEvent id="end"/>'
            '</bpmn:process></bpmn:definitions>').encode()


CARDINALITY = "<bpmn:loopCardinality>n</bpmn:loopCardinality>"
COLLECTION = '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" name="item"/>'

CASES = {
    "parallel_cardinality": (CARDINALITY, False, {"n": TOO_MANY}),
    "parallel_collection": (COLLECTION, False, {"items": list(range(TOO_MANY))}),
    "sequential_cardinality": (CARDINALITY, True, {"n": TOO_MANY}),
    "sequential_collection": (COLLECTION, True, {"items": list(range(TOO_MANY))}),
}


@pytest.mark.parametrize("loop,sequential,data", list(CASES.values()), ids=list(CASES))
def test_a_count_past_the_cap_fails_the_step_before_any_instance_exists(engine, loop, sequential, data):
    engine.handle(DeployDefinitions((("mi.bpmn", _mi_process("mi_cap", loop, sequential=sequential)),)))
    started = time.monotonic()
    with pytest.raises(EngineError) as exc:
        engine.handle(StartCase("mi_cap", ZHUJIAN, data=data))
    assert exc.value.code == "MULTI_INSTANCE_LIMIT"
    assert exc.value.details["element_id"] == "t"
    assert exc.value.details["count"] == TOO_MANY
    assert exc.value.details["limit"] == MAX_MULTI_INSTANCES
    assert str(MAX_MULTI_INSTANCES) in exc.value.message
    # Refused before creating the instances: a thousand user tasks would take about a second.
    assert time.monotonic() - started < 5


def test_a_huge_computed_cardinality_is_refused_and_reported_without_printing_it(engine):
    """A count past 64 bits is shown by its size (str() refuses ints past 4300 digits; details go to JSON)."""
    loop = "<bpmn:loopCardinality>4294967296 * 4294967296 * 4294967296</bpmn:loopCardinality>"
    engine.handle(DeployDefinitions((("mi.bpmn", _mi_process("mi_huge", loop)),)))
    with pytest.raises(EngineError) as exc:
        engine.handle(StartCase("mi_huge", ZHUJIAN))
    assert exc.value.code == "MULTI_INSTANCE_LIMIT"
    assert exc.value.details["count"] == "不少于 2^96"
    assert "2^96" in exc.value.message


@pytest.mark.parametrize("loop,data", [(CARDINALITY, {"n": 3}), (COLLECTION, {"items": ["a", "b", "c"]})],
                         ids=["cardinality", "collection"])
def test_a_count_within_the_cap_creates_every_instance(engine, loop, data):
    engine.handle(DeployDefinitions((("mi.bpmn", _mi_process("mi_ok", loop)),)))
    ref = engine.handle(StartCase("mi_ok", ZHUJIAN, data=data))
    assert len(ref.created_task_ids) == 3


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_a_cardinality_that_is_not_an_integer_fails_with_an_expression_error(engine, sequential):
    engine.handle(DeployDefinitions((("mi.bpmn", _mi_process("mi_text", CARDINALITY, sequential=sequential)),)))
    with pytest.raises(ExpressionFailed) as exc:
        engine.handle(StartCase("mi_text", ZHUJIAN, data={"n": "3"}))
    assert exc.value.details["element_id"] == "t"


def test_deploy_refuses_a_literal_cardinality_past_the_cap_but_accepts_the_cap(engine):
    too_many = _mi_process("mi_lit", f"<bpmn:loopCardinality>{TOO_MANY}</bpmn:loopCardinality>")
    with pytest.raises(EngineError) as exc:
        engine.handle(DeployDefinitions((("mi.bpmn", too_many),)))
    assert [f["code"] for f in exc.value.details["findings"]] == ["MULTI_INSTANCE_TOO_MANY"]
    assert exc.value.details["findings"][0]["element_id"] == "t"
    at_cap = _mi_process("mi_lit", f"<bpmn:loopCardinality>{MAX_MULTI_INSTANCES}</bpmn:loopCardinality>")
    engine.handle(DeployDefinitions((("mi.bpmn", at_cap),)))
