"""Element names for people: a 会签 (multi-instance user task) is named as drawn, not by its id."""
from __future__ import annotations

import pytest

from engine.calendar_functions import calendar_functions
from engine.expressions import Evaluator
from engine.project_targets import target_functions
from engine.spiff.elements import element_names
from engine.spiff.parser import parse_unit
from tests.conftest import ROOT


@pytest.mark.parametrize(("directory", "element", "name"), [
    ("standard_permit", "review", "审查"),
    ("gongcheng", "s1_review", None),
])
def test_multi_instance_tasks_are_named_as_drawn(directory, element, name):
    files = [(p.name, p.read_bytes()) for p in sorted((ROOT / "processes" / directory).glob("*.bpmn"))]
    functions = {**calendar_functions(None), **target_functions({})}   # named, never called: parsing only
    unit = parse_unit(files, Evaluator(functions), max_bytes=10 ** 7)
    process = next(p for p in unit.processes.values() if element in element_names(p.spec, p.subprocess_specs))
    names = element_names(process.spec, process.subprocess_specs)
    drawn = {getattr(s, "bpmn_name", None) for spec in (process.spec, *process.subprocess_specs.values())
             for s in spec.task_specs.values() if getattr(s, "bpmn_id", None) == element} - {None}
    assert len(drawn) == 1 and names[element] == drawn.pop()
    if name is not None:
        assert names[element] == name
