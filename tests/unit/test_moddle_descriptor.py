"""The modeler's moddle descriptor of the tb: namespace says exactly what the engine's loader accepts."""
from __future__ import annotations

import json

from engine.definitions import TB_NS
from engine.spiff.xml_extensions import _KNOWN_TB, _TB_PARENTS
from tests.conftest import ROOT

DESCRIPTOR = json.loads((ROOT / "app" / "static" / "designer" / "tb-moddle.json").read_text(encoding="utf-8"))


def test_the_descriptor_names_our_namespace_with_lower_case_tags():
    assert (DESCRIPTOR["prefix"], DESCRIPTOR["uri"]) == ("tb", TB_NS)
    assert DESCRIPTOR["xml"] == {"tagAlias": "lowerCase"}


def test_every_extension_and_attribute_the_loader_knows_round_trips_through_the_modeler():
    types = {t["name"][0].lower() + t["name"][1:]: t for t in DESCRIPTOR["types"]}
    assert set(types) == set(_KNOWN_TB)
    for name, known in _KNOWN_TB.items():
        properties = types[name]["properties"]
        assert {p["name"] for p in properties} == known, name
        assert all(p["isAttr"] and p["type"] == "String" for p in properties), name


def test_each_extension_is_allowed_where_the_loader_allows_it():
    for t in DESCRIPTOR["types"]:
        name = t["name"][0].lower() + t["name"][1:]
        allowed = {a.removeprefix("bpmn:") for a in t["meta"]["allowedIn"]}
        assert allowed == {p[0].upper() + p[1:] for p in _TB_PARENTS[name]}, name
