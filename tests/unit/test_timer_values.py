"""Timer values SpiffWorkflow would hang or crash on: refused at deploy and lint, and again when armed.

Every step that could hang runs under :func:`bounded`, so a regression fails the test instead of hanging it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable
from xml.sax.saxutils import escape

import pytest

from engine.errors import DefinitionRejected, ExpressionFailed, WorkflowFailed
from engine.expressions import Evaluator
from engine.lint import DeployedFacts, LintLimits, lint_files
from engine.spiff import runner as runner_module
from engine.spiff.clock_bridge import TimerValueInvalid, check_timer_value
from engine.spiff.parser import parse_unit
from engine.spiff.runner import WorkflowRunner
from tests.bpmn_factory import HEAD, diagram
from tests.unit.test_runner import clock, runner  # noqa: F401 - fixtures (the manual clock, the restricted runner)

HOSTILE_DURATIONS = ['"P999999999Y"', '"PT2X"', '"P-1D"', '"2026-13-45T00:00:00"', "5", '"P101Y"',
                     '"PT999999999H"']
HOSTILE_CYCLES = ['"R/PT0S"', '"R-1/PT1H"', '"R/P0D"', '"R/P999999999Y"', '"PT1H"', '"R/2026-12-01T09:00:00"']
HOSTILE_DATES = ['"2026-13-45T00:00:00"', '"P5D"', "5", '"tomorrow"']


def bounded(fn: Callable[[], Any], seconds: float = 20) -> Any:
    """Run ``fn`` in a thread; fail (instead of hanging the suite) when it does not return in time."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: the engine hangs"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def timer_diagram(kind: str, value: str) -> bytes:
    """start -> task (with a non-interrupting boundary timer of ``kind``) -> end."""
    return (HEAD + '<bpmn:process id="probe" isExecutable="true"><bpmn:startEvent id="start"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="task"/>'
            '<bpmn:userTask id="task" name="任务"><bpmn:extensionElements>'
            '<tb:assignment candidateGroups="reviewer"/></bpmn:extensionElements></bpmn:userTask>'
            '<bpmn:boundaryEvent id="timer" attachedToRef="task" cancelActivity="false">'
            f'<bpmn:timerEventDefinition><bpmn:{kind}>{escape(value)}</bpmn:{kind}></bpmn:timerEventDefinition>'
            '</bpmn:boundaryEvent><bpmn:sequenceFlow id="ft" sourceRef="timer" targetRef="remind"/>'
            '<bpmn:endEvent id="remind"/><bpmn:sequenceFlow id="f1" sourceRef="task" targetRef="end"/>'
            '<bpmn:endEvent id="end"/></bpmn:process></bpmn:definitions>').encode()


def parse(data: bytes, *, stored: bool = False) -> Any:
    return parse_unit([("t.bpmn", data)], Evaluator(), max_bytes=10**7, validate_xsd=False,
                      stored=stored).processes["probe"]


def start(runner: WorkflowRunner, process: Any, data: dict[str, Any] | None = None) -> Any:
    return bounded(lambda: runner.start(process.spec, process.subprocess_specs, data or {}))


# --- the value check ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value", "reason"), [
    ("duration", "P999999999Y", "时长超过 100 年"),
    ("duration", "PT2X", "不是有效的 ISO 8601 时长"),
    ("duration", "P-1D", "不是有效的 ISO 8601 时长"),
    ("duration", 5, "实际是 int 类型"),
    ("cycle", "R/PT0S", "间隔不能为零"),
    ("cycle", "R-1/PT1H", "重复次数不能为负数"),
    ("cycle", "R/P200Y", "时长超过 100 年"),
    ("date", "2026-13-45T00:00:00", "不是有效的 ISO 8601 日期时间"),
    ("date", "P5D", "需要一个日期时间"),
])
def test_a_value_spiffworkflow_would_choke_on_is_refused_with_a_chinese_reason(kind, value, reason):
    with pytest.raises(TimerValueInvalid) as exc:
        check_timer_value(kind, value)
    assert reason in exc.value.reason


@pytest.mark.parametrize(("kind", "value"), [
    ("duration", "PT2H"), ("duration", "P100Y"), ("duration", "PT0S"), ("duration", "P1.5D"),
    ("cycle", "R3/PT1H"), ("cycle", "R/P1D"), ("cycle", "R/2026-12-01T09:00:00+08:00/P1D"),
    ("date", "2026-12-01T09:00:00+08:00"), ("date", "9999-12-31T00:00:00+08:00"),  # a paused clock's due time
])
def test_ordinary_values_pass(kind, value):
    check_timer_value(kind, value)


# --- deploy and lint refuse literals ---------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value"), [*[("timeDuration", v) for v in HOSTILE_DURATIONS],
                                             *[("timeCycle", v) for v in HOSTILE_CYCLES],
                                             *[("timeDate", v) for v in HOSTILE_DATES]])
def test_deploy_and_lint_refuse_a_hostile_timer_literal_and_a_stored_one_still_loads(kind, value):
    data = timer_diagram(kind, value)
    with pytest.raises(DefinitionRejected) as exc:
        bounded(lambda: parse(data))
    assert [f["code"] for f in exc.value.details["findings"]] == ["TIMER_INVALID"]
    assert exc.value.details["findings"][0]["element_id"] == "timer"
    findings = bounded(lambda: lint_files([("t.bpmn", data)], [], Evaluator(), LintLimits(10**7, 10**6),
                                          DeployedFacts(form=lambda key: None)))
    assert [(f.code, f.element_id, f.severity) for f in findings if f.severity == "error"] == [
        ("TIMER_INVALID", "timer", "error")]
    # Every version deployed before this check still loads; its cases fail at the timer instead.
    assert parse(data, stored=True).spec is not None


# --- the run-time check, for computed values and stored literals ------------------------------------------------

@pytest.mark.parametrize("value", ["P999999999Y", "PT2X", "P-1D", "2026-13-45T00:00:00", 5])
def test_a_computed_duration_that_spiffworkflow_would_loop_or_crash_on_fails_the_step(runner, value):
    process = parse(timer_diagram("timeDuration", 'value_of("wait", "PT2H")'))
    with pytest.raises(ExpressionFailed) as exc:
        start(runner, process, {"wait": value})
    assert exc.value.code == "EXPRESSION_FAILED"
    assert exc.value.details["element_id"] == "timer"
    assert exc.value.message.startswith("元素 timer 的定时器时长值")
    workflow, step = start(runner, process, {"wait": "PT2H"})
    assert [t.element_id for t in step.timers] == ["timer"]


@pytest.mark.parametrize(("value", "reason"), [('"R/PT0S"', "间隔不能为零"), ('"R-1/PT1H"', "重复次数不能为负数")])
def test_a_stored_zero_period_or_negative_repeat_cycle_fails_the_start_instead_of_spinning(runner, clock, value,
                                                                                         reason):
    process = parse(timer_diagram("timeCycle", value), stored=True)
    with pytest.raises(ExpressionFailed) as exc:
        start(runner, process)
    assert reason in exc.value.message and exc.value.details["element_id"] == "timer"


def test_a_stored_absurd_duration_fails_the_start_instead_of_looping_billions_of_times(runner):
    process = parse(timer_diagram("timeDuration", '"P999999999Y"'), stored=True)
    with pytest.raises(ExpressionFailed, match="时长超过 100 年"):
        start(runner, process)


def test_a_date_timer_given_a_duration_fails_with_a_message_not_a_type_error(runner):
    process = parse(timer_diagram("timeDate", 'value_of("due", "2026-12-01T09:00:00+08:00")'))
    with pytest.raises(ExpressionFailed, match="需要一个日期时间"):
        start(runner, process, {"due": "P5D"})


def test_a_cycle_firing_hundreds_of_times_in_one_step_is_stopped_with_a_clear_error(runner, clock):
    process = parse(timer_diagram("timeCycle", '"R/PT1M"'))
    workflow, _ = start(runner, process)
    clock.advance(days=30)  # 43,200 fires are due; each one grows the tree the next one walks
    with pytest.raises(WorkflowFailed) as exc:
        bounded(lambda: runner.fire_timers(workflow), seconds=60)
    assert exc.value.code == "ENGINE_STEPS_EXCEEDED"
    assert f"超过 {runner_module.MAX_ENGINE_STEPS} 个引擎环节" in exc.value.message


def test_a_cycle_firing_a_few_times_in_one_step_is_fine(runner, clock):
    process = parse(timer_diagram("timeCycle", '"R/P1D"'))
    workflow, _ = start(runner, process)
    clock.advance(days=30, hours=1)
    step = bounded(lambda: runner.fire_timers(workflow))
    assert step.advanced.count("remind") == 30


def test_rearming_a_date_timer_checks_the_new_value(runner):
    process = parse(timer_diagram("timeDate", 'value_of("due", "2026-12-01T09:00:00+08:00")'))
    workflow, _ = start(runner, process, {"due": "2026-12-01T09:00:00+08:00"})
    task = next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "timer")
    task.data["due"] = "2026-13-45T00:00:00"
    with pytest.raises(ExpressionFailed, match="不是有效的 ISO 8601 日期时间"):
        runner.rearm_timers(workflow)


def test_the_factory_diagram_with_a_good_timer_still_deploys():
    assert parse(diagram(timer='"PT2H"')).spec is not None


# --- missed cycle slots (engine.spiff.cycle_catchup) ------------------------------------------------------------

def test_a_cycle_late_by_a_month_fires_once_when_its_missed_slots_are_merged(runner, clock):
    process = parse(timer_diagram("timeCycle", '"R/PT1M"'))
    workflow, _ = start(runner, process)
    clock.advance(days=30)                            # 43,200 slots; the last one is exactly now, not yet passed
    assert runner.merge_missed_cycles(workflow) == {"timer": 43_198}
    step = bounded(lambda: runner.fire_timers(workflow))
    assert step.advanced.count("remind") == 1
    (timer,) = runner.waiting_timers(workflow)
    assert timer.due_at == clock.now()                # the slot at now fires next, not one per missed minute
    assert runner.merge_missed_cycles(workflow) == {}


@pytest.mark.parametrize(("cycle", "advance_hours", "missed", "fired"), [
    ('"R/PT1H"', 0.5, {}, 0),                         # nothing passed yet
    ('"R/PT1H"', 1.5, {}, 1),                         # one slot passed: nothing to merge
    ('"R/PT1H"', 3.5, {"timer": 2}, 1),
    ('"R2/PT1H"', 10, {"timer": 1}, 1),               # a finite cycle: the merged slots count as used
])
def test_only_slots_beyond_the_first_passed_one_are_merged(runner, clock, cycle, advance_hours, missed, fired):
    workflow, _ = start(runner, parse(timer_diagram("timeCycle", cycle)))
    clock.advance(minutes=int(advance_hours * 60))
    assert runner.merge_missed_cycles(workflow) == missed
    assert bounded(lambda: runner.fire_timers(workflow)).advanced.count("remind") == fired
