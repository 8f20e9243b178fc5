"""Security QA of the restricted evaluator: attacks that got through before 709feb5 (each test failed then).

The evaluator is meant to bound every evaluation's time (``Limits.max_seconds``) and memory, to return only values
the engine can store, and the deploy-time check is meant to see every expression the engine will evaluate.
"""
from __future__ import annotations

import time

import pytest

from engine.errors import DefinitionRejected, ExpressionFailed
from engine.expressions import Evaluator
from engine.spiff.parser import parse_unit
from tests.bpmn_factory import HEAD

# int(text, 32) is linear and exempt from Python's 4300-digit limit: a 100 000-character text (max_sequence) gives
# a 500 000-bit integer, far beyond the 16 384 bits expression_guards._MAX_INT_BITS allows products to reach.
HUGE_A = "int('v' * 100000, 32)"
HUGE_B = "int('v' * 50000, 32)"

TIME_BOMBS = {
    # Quadratic long division, never charged: ~0.13 s per item, and the clock is only read every 1000 items.
    "floor_division": f"[a // b for a in [{HUGE_A}] for b in [{HUGE_B}] for i in [0] * 30]",
    "modulo": f"[a % b for a in [{HUGE_A}] for b in [{HUGE_B}] for i in [0] * 30]",
    # One C call over 100 000 huge ints, charged 100 000 units (ints weigh nothing): ~1.5 s.
    "sum": f"[sum([a] * 100000) > 0 for a in [{HUGE_A}]]",
    # 100 000 full-length comparisons of equal-length huge ints: ~1.1 s.
    "membership": f"[(a - 1) in [a] * 100000 for a in [{HUGE_A}]]",
}


def test_int_of_a_long_text_cannot_build_an_integer_past_the_bit_limit():
    """``a * b`` is refused past 16 384 bits, but int(text, 32) builds 500 000 bits without a charge."""
    with pytest.raises(ExpressionFailed):
        Evaluator().evaluate(f"{HUGE_A} > 0", {})


@pytest.mark.parametrize("source", list(TIME_BOMBS.values()), ids=list(TIME_BOMBS))
def test_operations_on_huge_integers_are_held_to_max_seconds(source):
    evaluator = Evaluator()
    started = time.monotonic()
    with pytest.raises(ExpressionFailed) as exc:
        evaluator.evaluate(source, {})
    elapsed = time.monotonic() - started
    assert exc.value.details.get("reason") == "budget"
    assert elapsed < 3 * evaluator.limits.max_seconds, f"ran {elapsed:.1f}s against a budget of 0.5s"


@pytest.mark.parametrize("script", [
    "x = int('f' * 4000, 16)",   # 4817 decimal digits: json.dumps raises ValueError (4300-digit limit)
    "x = '\\ud800'",             # a lone surrogate: the snapshot cannot be encoded as UTF-8
], ids=["int_past_4300_digits", "lone_surrogate"])
def test_a_script_result_the_snapshot_cannot_store_is_refused_by_the_evaluator(script):
    """_plain (engine/expression_guards.py) accepts any int and any str; the crash comes later, bare."""
    with pytest.raises(ExpressionFailed):
        Evaluator().execute(script, {})


def _multiple_boundary(condition: str, cycle: str) -> bytes:
    """A user task with a boundary event carrying two event definitions (SpiffWorkflow's MultipleEventDefinition)."""
    return (HEAD + '<bpmn:process id="mu" isExecutable="true"><bpmn:startEvent id="start"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="task"/>'
            '<bpmn:userTask id="task"><bpmn:extensionElements><tb:assignment candidateGroups="reviewer"/>'
            '</bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:boundaryEvent id="b" attachedToRef="task">'
            f'<bpmn:conditionalEventDefinition><bpmn:condition>{condition}</bpmn:condition>'
            '</bpmn:conditionalEventDefinition>'
            f'<bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>'
            '</bpmn:boundaryEvent><bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="end"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="task" targetRef="end"/><bpmn:endEvent id="end"/>'
            '</bpmn:process></bpmn:definitions>').encode()


@pytest.mark.parametrize("condition,cycle", [
    ("__import__('os').system('touch /tmp/pwned_multiple')", '"R1/PT1H"'),
    ("True", "__import__('os').system('touch /tmp/pwned_multiple')"),
    ("True", '"R/PT0S"'),   # refused by check_timer_literals when it stands alone
], ids=["hostile_condition", "hostile_timer", "endless_zero_cycle"])
def test_expressions_inside_a_multiple_event_definition_are_checked_at_deploy(condition, cycle):
    """iter_expressions (engine/spiff/parser.py) never looks inside MultipleEventDefinition.event_definitions."""
    with pytest.raises(DefinitionRejected):
        parse_unit([("m.bpmn", _multiple_boundary(condition, cycle))], Evaluator(), max_bytes=1 << 20)


def test_deploy_refuses_a_multi_instance_cardinality_no_case_could_run():
    """A parallel multi-instance creates every instance in one step (3000 user tasks take ~3 s): 10**6 is a bomb."""
    xml = (HEAD + '<bpmn:process id="mi" isExecutable="true"><bpmn:startEvent id="start"/>'
           '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="t"/>'
           '<bpmn:userTask id="t"><bpmn:extensionElements><tb:assignment candidateGroups="reviewer"/>'
           '</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics isSequential="false">'
           '<bpmn:loopCardinality>1000000</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
           '<bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="end"/><bpmn:endEvent id="end"/>'
           '</bpmn:process></bpmn:definitions>').encode()
    with pytest.raises(DefinitionRejected):
        parse_unit([("mi.bpmn", xml)], Evaluator(), max_bytes=1 << 20)
