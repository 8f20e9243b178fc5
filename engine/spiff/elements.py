"""The BPMN elements of a parsed definition, by id, as plain data (history, diagram, 办件查询, waiting timers)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent


def element_names(spec: Any, subprocess_specs: Mapping[str, Any]) -> dict[str, str]:
    """Return ``{bpmn element id: name}`` for every element of the process and its subprocesses.

    Elements drawn without a name map to an empty string; SpiffWorkflow's own helper specs (they have no
    BPMN id) are left out. A multi-instance task (会签) is two specs with one id, the unnamed instance spec
    and the named one drawn: the name wins whichever comes first.
    """
    names: dict[str, str] = {}
    for process_spec in (spec, *subprocess_specs.values()):
        for task_spec in process_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id and not names.get(bpmn_id):
                names[bpmn_id] = getattr(task_spec, "bpmn_name", None) or ""
    return names


def end_event_names(spec: Any, subprocess_specs: Mapping[str, Any]) -> dict[str, str]:
    """Return ``{element id: name}`` of every end event of the process and its subprocesses.

    An end event without a name maps to its id. Applicants are told the end reached as the result of
    their case (``不予受理``, ``办结（准予许可）`` ...).
    """
    names: dict[str, str] = {}
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            kinds = {cls.__name__ for cls in type(task_spec).__mro__}
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if "EndEvent" in kinds and bpmn_id:
                names[bpmn_id] = getattr(task_spec, "bpmn_name", None) or bpmn_id
    return names


@dataclass(frozen=True)
class TimerElement:
    """A timer event as drawn: its name, the task it is attached to (a boundary timer) and what firing does.

    ``ends_case``: an interrupting boundary timer of the top-level process whose flow goes straight to a
    terminate end event, so the case is terminated when it fires (容缺补齐期限届满 → 终止办理).
    """

    element_id: str
    name: str
    attached_to: str | None
    ends_case: bool


def timer_elements(spec: Any, subprocess_specs: Mapping[str, Any]) -> dict[str, TimerElement]:
    """Return every timer event of the process and its subprocesses by element id (see :class:`TimerElement`).

    An unnamed timer is named by its id. The task a boundary timer is attached to is read from the
    ``BoundaryEventSplit`` SpiffWorkflow puts before that task: its one output that is not a boundary event.
    """
    found: dict[str, TimerElement] = {}
    for process_spec in (spec, *subprocess_specs.values()):
        attached: dict[str, str] = {}
        for split in process_spec.task_specs.values():
            if isinstance(split, BoundaryEventSplit):
                main = next((o for o in split.outputs if not isinstance(o, BoundaryEvent)), None)
                for event in split.outputs:
                    if main is not None and isinstance(event, BoundaryEvent):
                        attached[event.name] = main.bpmn_id or main.name
        for task_spec in process_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not bpmn_id or not isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition):
                continue
            boundary = attached.get(task_spec.name)
            ends = (process_spec is spec and boundary is not None and bool(getattr(task_spec, "cancel_activity", False))
                    and any(isinstance(o, EndEvent) and isinstance(o.event_definition, TerminateEventDefinition)
                            for o in task_spec.outputs))
            found[bpmn_id] = TimerElement(bpmn_id, getattr(task_spec, "bpmn_name", None) or bpmn_id, boundary, ends)
    return found
