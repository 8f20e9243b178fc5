"""Deploy-time checks of parsed specs: every string the engine will evaluate, timer literals, and limits.

:func:`iter_expressions` is the one list of what the engine evaluates; every check walks it, so an expression
it missed would escape them all. Events with several event definitions (SpiffWorkflow's
``MultipleEventDefinition``) are walked into as well, although a new deploy refuses them
(:func:`check_deploy_limits`).
"""
from __future__ import annotations

import ast
import re
from typing import Any, Iterator, Mapping

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask

from ..definitions import Finding
from ..errors import EngineError
from ..expressions import Evaluator
from .clock_bridge import TimerValueInvalid, check_timer_value, short_repr, timer_kind
from .multi_instance import MAX_MULTI_INSTANCES, shown_count

_ISO_LIKE = re.compile(r"^(R\d*/)?P(\d+[YMWD])*(T(\d+[HMS])+)?$")

_KIND_ZH = {"condition": "条件表达式", "timer": "定时器表达式", "conditional_event": "条件事件表达式",
            "correlation": "关联表达式", "mi_completion": "多实例完成条件", "mi_cardinality": "多实例数量表达式",
            "loop_condition": "循环条件", "script": "脚本"}


def check_expressions(spec: Any, subprocess_specs: Mapping[str, Any], evaluator: Evaluator) -> Iterator[Finding]:
    """Statically check every string the engine will evaluate; yield a finding per refusal."""
    for element_id, kind, text in iter_expressions(spec, subprocess_specs):
        try:
            if kind == "script":
                evaluator.check_script(text)
            else:
                evaluator.check_expression(text)
        except EngineError as exc:
            yield Finding("EXPRESSION_REJECTED", f"元素 {element_id} 的{_KIND_ZH[kind]}不安全或无效：{exc.message}",
                          element_id)
            continue
        if kind == "timer" and _ISO_LIKE.match(text.strip()):
            yield Finding("TIMER_UNQUOTED", f"元素 {element_id} 的定时器表达式 {text.strip()} 需要加引号，"
                                            f"例如 \"{text.strip()}\"", element_id)


def check_timer_literals(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[Finding]:
    """Yield a ``TIMER_INVALID`` finding for every timer whose expression is a literal no case could run.

    A literal that is not ISO 8601 (``"PT2X"``, ``5``), or that SpiffWorkflow would loop on or fire forever
    with (``"P999999999Y"``, ``"R/PT0S"``, ``"R-1/PT1H"``), fails or hangs every case the moment the timer
    is armed (:func:`.clock_bridge.check_timer_value` says why). Computed timers (``workdays_after(...)``)
    are only known when the case runs; they are checked when armed.
    """
    for element_id, kind, text, event in _walk(spec, subprocess_specs):
        if kind != "timer":
            continue
        value = _literal(text)
        if value is _NOT_LITERAL:
            continue
        try:
            check_timer_value(timer_kind(event) or "date", value)
        except TimerValueInvalid as exc:
            shown = short_repr(value)
            yield Finding("TIMER_INVALID", f"元素 {element_id} 的定时器值 {shown} 无效：{exc.reason}", element_id)


def check_deploy_limits(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[Finding]:
    """Yield a finding for every element a new deploy refuses because the engine cannot run it safely.

    * ``BPMN_MULTIPLE_EVENT_DEFINITIONS``: an event with several event definitions (e.g. a conditional and a
      timer on one boundary event). SpiffWorkflow never evaluates the conditions inside such an event, and
      tongban neither arms nor shows the timers inside it; draw one event per definition instead.
    * ``MULTI_INSTANCE_TOO_MANY``: a multi-instance task whose literal ``loopCardinality`` exceeds
      :data:`.multi_instance.MAX_MULTI_INSTANCES` (a computed one is capped when the case runs).
    """
    for process_spec in (spec, *subprocess_specs.values()):
        for task_spec in process_spec.task_specs.values():
            element_id = _element_id(task_spec)
            event = getattr(task_spec, "event_definition", None)
            if isinstance(event, MultipleEventDefinition) and event.event_definitions:
                yield Finding("BPMN_MULTIPLE_EVENT_DEFINITIONS",
                              f"事件 {element_id} 含有 {len(event.event_definitions)} 个事件定义，引擎无法正确运行"
                              "（其中的条件不会计算，定时器不会启动）；请为每个定义（定时器、条件、消息等）"
                              "各画一个事件", element_id)
            if isinstance(task_spec, MultiInstanceTask) and task_spec.cardinality:
                value = _literal(task_spec.cardinality)
                if isinstance(value, int) and not isinstance(value, bool) and value > MAX_MULTI_INSTANCES:
                    yield Finding("MULTI_INSTANCE_TOO_MANY",
                                  f"多实例任务 {element_id} 的实例数 {shown_count(value)} 超过上限 "
                                  f"{MAX_MULTI_INSTANCES}", element_id)


def iter_expressions(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Yield ``(element_id, kind, text)`` for every engine-evaluated string in the specs."""
    for element_id, kind, text, _event in _walk(spec, subprocess_specs):
        yield element_id, kind, text


def _walk(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """:func:`iter_expressions` plus the event definition each event expression belongs to (else None)."""
    for process_spec in (spec, *subprocess_specs.values()):
        for task_spec in process_spec.task_specs.values():
            element_id = _element_id(task_spec)
            for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
                if condition is not None:
                    yield element_id, "condition", condition.args[0], None
            for event in _event_definitions(getattr(task_spec, "event_definition", None)):
                if isinstance(event, TimerEventDefinition):
                    yield element_id, "timer", event.expression, event
                if isinstance(event, ConditionalEventDefinition):
                    yield element_id, "conditional_event", event.expression, event
                for prop in getattr(event, "correlation_properties", None) or []:
                    yield element_id, "correlation", prop.retrieval_expression, event
            if isinstance(task_spec, MultiInstanceTask):
                if task_spec.condition:
                    yield element_id, "mi_completion", task_spec.condition, None
                if task_spec.cardinality:
                    yield element_id, "mi_cardinality", task_spec.cardinality, None
            if isinstance(task_spec, StandardLoopTask) and task_spec.condition:
                yield element_id, "loop_condition", task_spec.condition, None
            if isinstance(task_spec, ScriptTask):
                yield element_id, "script", task_spec.script, None


def _event_definitions(event: Any) -> Iterator[Any]:
    """``event`` itself, or every definition inside it (and inside those) when it is a multiple event."""
    if isinstance(event, MultipleEventDefinition):
        for inner in event.event_definitions:
            yield from _event_definitions(inner)
    elif event is not None:
        yield event


def _element_id(task_spec: Any) -> str:
    return getattr(task_spec, "bpmn_id", None) or task_spec.name


_NOT_LITERAL = object()


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL
