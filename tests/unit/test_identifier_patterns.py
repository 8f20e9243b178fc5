"""Identifier patterns accept the identifier and refuse it with a trailing line break (``\\Z``, not ``$``).

``re.match(r"^x$", "x\\n")`` matches: ``$`` also matches before a final newline, so a form key, user name or
district code ending in ``\\n`` would pass and be stored beside the real one.
"""
from __future__ import annotations

import json
import re

import pytest

from engine import bundle, candidates, catalog, catalog_fields, forms, identifiers, org_file, project_targets
from engine import form_schema, scenario, variables
from engine.errors import DefinitionRejected
from engine.forms import parse_form

PATTERNS = [
    (forms._FORM_ID, "review_opinion"),
    (forms._SEGMENT, "applicant"),
    (variables._NAME, "decision"),
    (scenario._USERNAME, "clerk_yz"),
    (scenario._ELEMENT, "accept"),
    (candidates._EXPR, "reviewer@500103/zhujian"),
    (candidates._REF, "${owning}"),
    (candidates._VALUE, "500103"),
    (bundle.FIELD_PATH, "materials.id_card"),
    (bundle.ELEMENT_ID, "sub_seal"),
    (catalog.TYPE_CODE, "01"),
    (project_targets.CATEGORY, "housing"),
    (catalog_fields.KEY, "id_card"),
    (catalog_fields.FACT_KEY, "floor_area"),
    (identifiers.DISTRICT_CODE, "500103"),
    (identifiers.DISTRICT_CODE, "CQ-LJXQ"),
    (re.compile(identifiers.DISTRICT_CODE_SHAPE_PATTERN), "510104"),
    (org_file.DEPARTMENT_CODE, "zhujian"),
    (org_file.USERNAME, "clerk_yz"),
    (identifiers._SHAPES["414"], "E12345678"),
    (identifiers._SHAPES["516"], "H12345678"),
    (identifiers._SHAPES["511"], "12345678"),
    (identifiers._CREDIT_SHAPE, "91500000MA5U000000"),
    (identifiers.PHONE, "13800138000"),
    (form_schema._PHONE, "13800138000"),
    (form_schema._FORMATS["date"][0], "2026-12-05"),
    (form_schema._FORMATS["time"][0], "12:30"),
    (form_schema._FORMATS["datetime"][0], "2026-12-05T12:30:00+08:00"),
]


@pytest.mark.parametrize(("pattern", "valid"), PATTERNS, ids=[p.pattern[:40] for p, _ in PATTERNS])
def test_an_identifier_pattern_refuses_a_trailing_line_break(pattern: re.Pattern, valid: str):
    assert pattern.match(valid)
    assert pattern.match(valid + "\n") is None


def test_a_form_whose_id_ends_in_a_line_break_is_refused():
    source = json.dumps({"type": "default", "id": "review_opinion\n", "components": []}).encode()
    with pytest.raises(DefinitionRejected):
        parse_form(source)
