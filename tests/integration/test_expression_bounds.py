"""Security QA, end to end: hostile diagram expressions that `tongban deploy` accepted and a case then ran badly.

Each test failed before 709feb5 and 91f7fe6. "Badly" is: past the evaluator's time budget, with memory the
budget never charged, or crashing the step with a bare Python or database error instead of an EngineError.
"""
from __future__ import annotations

import time
import tracemalloc

import pytest

from engine import CompleteTask, DefinitionRejected, DeployDefinitions, EngineError, ExpressionFailed, StartCase
from tests.bpmn_factory import diagram
from tests.helpers import ZHUJIAN
from tests.message_helpers import PING_PONG, deploy, start_ping
from tests.unit.test_expression_bounds import _multiple_boundary


@pytest.mark.parametrize("script", ["x = int('f' * 4000, 16)", "x = '\\ud800'"],
                         ids=["int_past_4300_digits", "lone_surrogate"])
def test_a_script_result_the_snapshot_cannot_store_fails_the_step_with_an_engine_error(engine, script):
    """Today: a bare ValueError from json.dumps (engine/spiff/serializer.py) or UnicodeEncodeError at the write."""
    engine.handle(DeployDefinitions((("s.bpmn", diagram(process_id="store", script=script)),)))
    with pytest.raises(EngineError):
        engine.handle(StartCase("store", ZHUJIAN))


def test_a_gateway_condition_on_huge_integers_fails_within_the_time_budget(engine):
    """30 quadratic divisions of 500 000-bit integers: ~4 s for one gateway, against max_seconds = 0.5."""
    condition = ("len([a // b for a in [int('v' * 100000, 32)] for b in [int('v' * 50000, 32)] "
                 "for i in [0] * 30]) > 0")
    engine.handle(DeployDefinitions((("g.bpmn", diagram(process_id="slow_gate", condition=condition)),)))
    ref = engine.handle(StartCase("slow_gate", ZHUJIAN))
    started = time.monotonic()
    with pytest.raises(ExpressionFailed):
        engine.handle(CompleteTask(ref.created_task_ids[0], ZHUJIAN, {}))
    assert time.monotonic() - started < 1.5


def test_a_timer_value_is_never_printed_whole(engine):
    """A 2000-element list shared 2000 times costs 4000 units; the refusal then repr()s all 4 million elements.

    engine/spiff/clock_bridge.py timer_value_failed: ``repr(value)`` before cutting it to 80 characters. With
    ``[[0] * 100000] * 100000`` (still within the budget) that is a 300 GB string.
    """
    engine.handle(DeployDefinitions((("t.bpmn", diagram(process_id="big_timer", timer="[[0] * 2000] * 2000")),)))
    tracemalloc.start()
    try:
        with pytest.raises(ExpressionFailed):
            engine.handle(StartCase("big_timer", ZHUJIAN))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"refusing the timer value allocated {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("correlation", [
    "'a' * 300",                 # PostgreSQL: bare DataError (varchar(256)); SQLite: stored, 300 characters
    "int('f' * 4000, 16)",       # str() past 4300 digits: bare ValueError
    "[[0] * 1000] * 1000",       # str() outside the budget: a 3-million-character key (shared rows, 2000 units)
], ids=["longer_than_the_column", "int_past_4300_digits", "shared_list"])
def test_a_message_correlation_is_bounded_and_fails_the_step_with_an_engine_error(engine, correlation):
    """engine/messages.py: ``str(evaluator.evaluate(spec.correlation, ...))`` is neither charged nor checked."""
    original = PING_PONG.read_text()
    xml = original.replace("payload=\"{'topic': topic}\"",
                           f"payload=\"{{'topic': topic}}\" correlation=\"{correlation}\"")
    assert xml != original
    deploy(engine, xml.encode())
    with pytest.raises(EngineError):
        start_ping(engine)


@pytest.mark.parametrize("condition,cycle", [
    ("__import__('os').system('touch /tmp/pwned_multiple')", '"R1/PT1H"'),
    ("True", "__import__('os').system('touch /tmp/pwned_multiple')"),
], ids=["hostile_condition", "hostile_timer"])
def test_deploy_refuses_hostile_expressions_inside_a_multiple_event(engine, condition, cycle):
    """A boundary event with a conditional and a timer definition: neither expression is checked at deploy."""
    with pytest.raises(DefinitionRejected):
        engine.handle(DeployDefinitions((("m.bpmn", _multiple_boundary(condition, cycle)),)))
