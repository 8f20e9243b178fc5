"""Multi-instance task specs with a cap on the number of instances one task may create.

A parallel multi-instance task creates all its instances in one engine step, so :data:`.runner.MAX_ENGINE_STEPS`
never applies: ``loopCardinality`` 10**6 (or a collection of a million items) would build a million tasks in
memory before anything could stop it. Every multi-instance task the parser builds is one of the classes below;
they refuse, before creating any instance, a count above :data:`MAX_MULTI_INSTANCES`. A literal count above it
is refused at deploy (:func:`.spec_checks.check_deploy_limits`).
"""
from __future__ import annotations

from collections.abc import Sized
from typing import Any

from SpiffWorkflow.bpmn.parser import TaskParser
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask

from ..errors import ExpressionFailed, WorkflowFailed

MAX_MULTI_INSTANCES = 1000
"""Most instances one multi-instance task (会签, 并联审批) may create, from its cardinality or its collection.

Real 会签 have a handful of departments; a thousand user tasks already take about a second to create.
"""


def check_instance_count(spec: Any, count: int) -> None:
    """Raise :class:`WorkflowFailed` (``MULTI_INSTANCE_LIMIT``) when ``count`` exceeds the cap."""
    if count > MAX_MULTI_INSTANCES:
        element = spec.bpmn_id or spec.name
        shown = shown_count(count)
        raise WorkflowFailed(f"多实例任务 {element} 要创建 {shown} 个实例，超过上限 {MAX_MULTI_INSTANCES}，已中止；"
                             "请检查多实例数量表达式或输入集合", code="MULTI_INSTANCE_LIMIT",
                             details={"element_id": element, "count": count if count.bit_length() <= 63 else shown,
                                      "limit": MAX_MULTI_INSTANCES})


def shown_count(count: int) -> str:
    """``count`` as text; a huge one (str() refuses past 4300 digits) by its size instead."""
    return str(count) if count.bit_length() <= 63 else f"不少于 2^{count.bit_length() - 1}"


def _cardinality(spec: Any, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        element = spec.bpmn_id or spec.name
        raise ExpressionFailed(f"多实例任务 {element} 的数量表达式应得出整数，得到 {type(value).__name__}",
                               details={"reason": "type", "element_id": element})
    check_instance_count(spec, value)
    return value


def _check_collection(spec: Any, my_task: Any) -> None:
    collection = spec.data_input.get(my_task)
    if isinstance(collection, Sized):
        check_instance_count(spec, len(collection))


class CappedParallelMI(ParallelMultiInstanceTask):
    """Parallel multi-instance that checks the count before creating any instance."""

    def create_children(self, my_task: Any) -> None:
        """Create every instance, as SpiffWorkflow 3.2 does, once the count is known to be within the cap."""
        if self.data_input is not None:
            _check_collection(self, my_task)
            super().create_children(my_task)
            return
        cardinality = _cardinality(self, my_task.workflow.script_engine.evaluate(my_task, self.cardinality))
        if self.data_output is not None:
            self.init_data_output_with_cardinality(my_task)
        for index in range(cardinality):
            self.create_child(my_task, index, index)


class CappedSequentialMI(SequentialMultiInstanceTask):
    """Sequential multi-instance held to the same cap (its count would otherwise size lists it keeps)."""

    def init_remaining_items(self, my_task: Any) -> Any:
        """Check the input collection's size before listing its items."""
        _check_collection(self, my_task)
        return super().init_remaining_items(my_task)

    def get_next_index(self, my_task: Any) -> Any:
        """Check the evaluated cardinality before the first instance is created."""
        if my_task.internal_data.get("current") == 0:
            _cardinality(self, my_task.internal_data.get("cardinality"))
        return super().get_next_index(my_task)


class ParentScopedMI(CappedParallelMI):
    """Parallel multi-instance whose completionCondition sees the collected outputs.

    SpiffWorkflow 3.2 evaluates the condition against the last finished child, whose copy of the output
    collection is stale, so "2 of 3 approve" (会签) would never fire early. Evaluate on the parent instead.
    """

    def check_completion_condition(self, my_task: Any) -> Any:
        """Evaluate the completion condition over the parent's merged outputs."""
        if my_task.internal_data.get("merged") and self.condition is not None:
            return my_task.workflow.script_engine.evaluate(my_task, self.condition)
        return None


def capped_parser(parser_class: type[TaskParser], parallel: type = CappedParallelMI) -> type[TaskParser]:
    """A subclass of ``parser_class`` that builds the capped multi-instance specs."""
    return type(f"Capped{parser_class.__name__}", (parser_class,),
                {"PARALLEL_MI_CLASS": parallel, "SEQUENTIAL_MI_CLASS": CappedSequentialMI})
