"""The BPMN elements of a parsed definition, by id, as plain data (for the history, its diagram, 办件查询)."""
from __future__ import annotations

from typing import Any, Mapping


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
