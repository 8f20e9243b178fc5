"""The message side of :class:`~engine.spiff.runner.WorkflowRunner`.

Which messages a workflow waits for, catching one, and starting a workflow at its message start event. The
host routes messages between cases; SpiffWorkflow only catches them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

from ..errors import Conflict
from .serializer import TongbanWorkflow

if TYPE_CHECKING:
    from .steps import StepResult


def catchable_messages(spec: Any, subprocess_specs: Mapping[str, Any]) -> set[str]:
    """Names of the messages any catch event or receive task of the process (or a process it calls) catches.

    Message start events count: a start event is a catching event too.
    """
    names: set[str] = set()
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if not isinstance(task_spec, CatchingEvent) or definition is None:
                continue
            parts = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
            names.update(d.name for d in parts if isinstance(d, MessageEventDefinition))
    return names


class MessageSteps:
    """Mixed into the runner, which provides ``script_engine``, ``_advance`` and ``_ready_ids``."""

    script_engine: Any
    _advance: Any
    _ready_ids: Any

    def waiting_messages(self, workflow: Any) -> set[str]:
        """Names of the messages a catch event or receive task of ``workflow`` waits for right now."""
        return {e.name for e in workflow.waiting_events() if e.event_type == MessageEventDefinition.__name__}

    def catch_message(self, workflow: Any, name: str, payload: Mapping[str, Any]) -> StepResult:
        """Deliver message ``name`` to the catch event waiting for it, then run until the workflow waits.

        The payload's keys become case data. Raises Conflict (``MESSAGE_NOT_AWAITED``) when nothing waits for
        the message, so the caller can keep it buffered.
        """
        if name not in self.waiting_messages(workflow):
            raise Conflict(f"办件未在等待消息 {name}", code="MESSAGE_NOT_AWAITED", details={"message": name})
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(payload))
        return self._advance(workflow, before=self._ready_ids(workflow), action=lambda: workflow.send_event(event))

    def start_at_message(self, spec: Any, subprocess_specs: dict[str, Any], data: Mapping[str, Any], name: str,
                         payload: Mapping[str, Any]) -> tuple[Any, StepResult]:
        """Create a workflow whose message start event catches ``name`` with ``payload``; run until it waits."""
        workflow = TongbanWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(data)
        event = BpmnEvent(MessageEventDefinition(name), payload=dict(payload))

        def action() -> None:
            workflow.do_engine_steps()
            workflow.send_event(event)
        return workflow, self._advance(workflow, before={}, action=action)
