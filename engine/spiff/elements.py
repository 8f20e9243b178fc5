"""Names of a definition's BPMN elements, read from its parsed specs (no workflow needed)."""
from __future__ import annotations

from typing import Any


def end_event_names(spec: Any, subprocess_specs: dict[str, Any]) -> dict[str, str]:
    """Return ``{element id: name}`` of every end event of the process and its subprocesses.

    An end event without a name maps to its id. Applicants are told the end reached as the result of
    their case (``不予受理``, ``办结（准予许可）`` ...).
    """
    names: dict[str, str] = {}
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            kinds = {cls.__name__ for cls in type(task_spec).__mro__}
            if "EndEvent" in kinds and task_spec.bpmn_id:
                names[task_spec.bpmn_id] = task_spec.bpmn_name or task_spec.bpmn_id
    return names
