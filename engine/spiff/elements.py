"""The BPMN elements of a parsed definition, by id, as plain data (for the history and its diagram)."""
from __future__ import annotations

from typing import Any, Mapping


def element_names(spec: Any, subprocess_specs: Mapping[str, Any]) -> dict[str, str]:
    """Return ``{bpmn element id: name}`` for every element of the process and its subprocesses.

    Elements drawn without a name map to an empty string; SpiffWorkflow's own helper specs (they have no
    BPMN id) are left out.
    """
    names: dict[str, str] = {}
    for process_spec in (spec, *subprocess_specs.values()):
        for task_spec in process_spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id:
                names.setdefault(bpmn_id, getattr(task_spec, "bpmn_name", None) or "")
    return names
