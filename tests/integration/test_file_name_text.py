"""A definition file's name is held to the rules its content is (storable, no direction controls)."""
from __future__ import annotations

import pytest

from engine import DefinitionRejected, DeployDefinitions
from tests.bpmn_factory import diagram


@pytest.mark.parametrize("name", ["qa\u202e.bpmn", "qa\u2066x.bpmn", "qa\x00.bpmn"], ids=["rlo", "lri", "nul"])
def test_a_definition_file_name_with_a_direction_control_or_nul_deploys_nothing(engine, name):
    # Before: the name was stored as the version's source_name (a bidi control shown reordered in the log;
    # a NUL accepted on SQLite and a 500 on PostgreSQL), though BPMN, .form and catalog text refuse both.
    with pytest.raises(DefinitionRejected) as exc:
        engine.handle(DeployDefinitions(((name, diagram(process_id="qa_file_name")),)))
    finding = exc.value.details["findings"][0]
    assert finding["code"] == "FILE_NAME_UNSAFE" and "\\u" in finding["file"], finding
    assert engine.queries.definitions() == []
