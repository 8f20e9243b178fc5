"""Workflow state <-> JSON, without the spec in every blob, restoring with the safe script engine.

The default serializer embeds the whole process spec in every snapshot (about a third of its size) and
restores with SpiffWorkflow's unsafe default script engine. Our converter stores only the instance (the spec
comes from the definition the case is pinned to) and constructs the workflow with the restricted engine.
The serializer toggles state on its registry while encoding, so each thread gets its own.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_FORMAT

from .multi_instance import CappedParallelMI, CappedSequentialMI, ParentScopedMI

SERIALIZER_VERSION = f"tb1+spiff{SPIFF_FORMAT}"
"""Stored with every snapshot; a change here needs a migration test with fixtures in tests/data/snapshots."""


class TongbanWorkflow(BpmnWorkflow):
    """The workflow class tongban instantiates, so the serializer can recognise and convert it."""


class SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Converts a workflow without its specs; ``from_dict`` takes specs and script engine as arguments."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """Convert the instance (tasks, data, subprocesses, events) but not its specs."""
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_name"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None,
                  script_engine: Any = None) -> BpmnWorkflow:
        """Rebuild the instance on the given specs, with the given (restricted) script engine."""
        from uuid import UUID
        if spec is None or spec.name != dct.get("spec_name"):
            raise ValueError(f"snapshot is for spec {dct.get('spec_name')!r}, not {getattr(spec, 'name', None)!r}")
        workflow = self.target_class(spec, subprocess_specs or {}, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateCodec:
    """Dump and load workflow snapshots; safe to share between threads."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _serializer(self) -> BpmnWorkflowSerializer:
        ser = getattr(self._local, "serializer", None)
        if ser is None:
            config = {**DEFAULT_CONFIG, TongbanWorkflow: SpecFreeWorkflowConverter,
                      ParentScopedMI: MultiInstanceTaskConverter, CappedParallelMI: MultiInstanceTaskConverter,
                      CappedSequentialMI: MultiInstanceTaskConverter}
            ser = self._local.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        return ser

    def dump(self, workflow: BpmnWorkflow) -> str:
        """Return the JSON snapshot of ``workflow`` (without its specs)."""
        ser = self._serializer()
        ser.registry._encoder_mode = True
        try:
            return json.dumps(ser.to_dict(workflow), cls=ser._encoder_cls, separators=(",", ":"),
                              ensure_ascii=False)
        finally:
            ser.registry._encoder_mode = False

    def describe(self, task_spec: Any) -> dict[str, Any]:
        """Return a task spec's serialized attributes (to compare two versions of an element)."""
        return self._serializer().registry.convert(task_spec)

    def load(self, snapshot: str, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> BpmnWorkflow:
        """Restore a workflow from ``snapshot`` onto the given specs and (restricted) script engine."""
        ser = self._serializer()
        dct = json.loads(snapshot, cls=ser.json_decoder_cls)
        return ser.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs, script_engine=script_engine)
