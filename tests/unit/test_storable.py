"""engine.storable: the one rule for text a database can store (no U+0000, no lone surrogate)."""
from __future__ import annotations

import pytest

from engine.storable import NUL_WHAT, SURROGATE_WHAT, unstorable, unstorable_in, visible_text


@pytest.mark.parametrize(("text", "reason"), [("a\x00b", "nul"), ("\ud800", "unicode"), ("x\udfff", "unicode")])
def test_nul_and_lone_surrogates_are_unstorable(text, reason):
    found = unstorable(text)
    assert found is not None and found.reason == reason and found.path == ()
    assert found.message == (NUL_WHAT if reason == "nul" else SURROGATE_WHAT)


@pytest.mark.parametrize("text", ["", "受理", "tab\tand\nnewline", "\u202e", "\U0001f600", "\x01"])
def test_other_text_is_storable(text):
    # Direction controls and C0 controls are stored as they are; other rules (BIDI_CONTROLS, YAML) refuse them.
    assert unstorable(text) is None


def test_the_first_bad_key_or_string_is_found_with_its_path():
    assert unstorable_in({"a": ["ok", {"b": "x\x00"}]}).path == ("a", 1, "b")
    assert unstorable_in({"a": [{"\ud800": 1}]}).where == "a.0.\ud800"
    assert unstorable_in(("t", "\x00")).path == (1,)
    assert unstorable_in({"a": [1, 2.5, None, True, "fine"]}) is None


def test_a_value_nested_thousands_deep_does_not_recurse():
    value: object = "\x00"
    for _ in range(50_000):
        value = [value]
    assert unstorable_in(value).reason == "nul"


def test_visible_text_escapes_what_cannot_be_shown():
    assert visible_text("a\x00b\ud800\u202e") == "a\\u0000b\\ud800\\u202e"
