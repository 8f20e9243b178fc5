"""engine.form_conditions: the FEEL subset of form-js ``conditional.hide`` the server evaluates."""
from __future__ import annotations

import pytest

from engine.form_conditions import parse_hide


@pytest.mark.parametrize("text, data, hidden", [
    ('=decision != "reject"', {"decision": "accept"}, True),
    ('=decision != "reject"', {"decision": "reject"}, False),
    ('=decision != "reject"', {}, True),                                     # null is not "reject"
    ('=decision = null', {}, True),
    ('=a.b = 1', {"a": {"b": 1.0}}, True),                                   # numbers compare by value
    ('=a.b = 1', {"a": {"b": True}}, False),                                 # true is not 1 in FEEL
    ('=a.b = "1"', {"a": {"b": 1}}, False),
    ('=flag = true', {"flag": True}, True),
    ('=decision = "accept" or decision = "tolerance"', {"decision": "tolerance"}, True),
    ('=decision = "accept" or decision = "tolerance"', {"decision": "reject"}, False),
    ('=mode = "x" and decision = "reject"', {"mode": "x", "decision": "reject"}, True),
    ('=mode = "x" and decision = "reject"', {"mode": "y", "decision": "reject"}, False),
    ('=note = "a and b"', {"note": "a and b"}, True),
])
def test_understood_conditions_hide_exactly_when_true(text, data, hidden):
    condition = parse_hide(text)
    assert condition is not None and condition.source == text
    assert condition.hides(data) is hidden


@pytest.mark.parametrize("text", [
    None, 3, "decision = 'x'", "=count(items) > 2", '=a = "x" and b = "y" or c = "z"', "=a >= 2",
    '=a = "x" and', "=a = x", '=__import__("os") = 1', "=",
])
def test_anything_else_is_not_understood(text):
    assert parse_hide(text) is None
