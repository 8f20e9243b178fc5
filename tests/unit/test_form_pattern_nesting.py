r"""Repeats whose copies can split one text many ways, through a repeat of variable count inside, are refused.

The QA report: ``(?:(?:ab){1,32}){1,32}$`` and ``(a{1,30}){1,30}$`` passed the deploy check, and only the 50 ms
limit per value bounded them. A repeat runs like copies of its body side by side; when a repeat of variable
count inside lets neighbouring copies take the same characters, a text splits among them in up to the product
of their choices, each split tried before a failing suffix. As for repeats in a row, every refused example is
run as a form runs it on a crafted value and must exhaust the limit, and every accepted one checks a crafted
near miss within it (with the margin of :func:`~tests.unit.test_form_pattern_neighbours.near_miss`).
"""
from __future__ import annotations

import pytest

from engine.form_patterns import PATTERN_TIMEOUT, deploy_problem
from tests.unit.test_form_pattern_neighbours import near_miss, outcome, probe, refused_at_deploy

MANY = "重复的组内有次数可变的重复，相邻两次可匹配相同字符，同一段文字的分法超过 1000 种"
GROWING = "重复的组内有次数可变的重复，相邻两次可匹配相同字符，分法随长度成倍增加"
# (pattern, what the message says, a value it backtracks on past the limit): all accepted by the old check.
NEWLY_REFUSED = [
    (r"(?:(?:ab){1,32}){1,32}$", MANY, "ab" * 999 + "x"),           # the QA patterns: seconds
    (r"(a{1,30}){1,30}$", MANY, "a" * 1_999 + "b"),
    (r"(a{0,30}){1,5}$", MANY, "a" * 1_999 + "b"),                  # empty copies end it; the others still split
    (r"((a{1,4}){1,4}){1,4}$", MANY, "a" * 1_999 + "b"),            # three deep
    (r"(a{2,3}){1,20}$", MANY, "a" * 1_999 + "b"),                  # 2 + 3 = 3 + 2
    (r"(?:a{1,3}b?){1,30}$", MANY, "a" * 1_999 + "c"),              # across an optional character
    (r"(?:a{1,5}|b){1,10}$", MANY, "a" * 1_999 + "c"),              # through an alternative
    (r"([A-Za-z0-9]{1,10}\s?){1,5}$", MANY, "a" * 1_999 + "!"),     # words, a space between them or not
    (r"(a{1,3}){1,8}$", MANY, "a" * 1_999 + "b"),                   # 9,840 ways: over a second
    (r"(a{1,10}){1,3}$", MANY, "a" * 1_999 + "b"),                  # 1,110 ways: over 100 ms
    (r"(a{1,3})+$", GROWING, "a" * 1_999 + "b"),                    # unbounded: hundreds of ms
    (r"(?:a{1,3}b?)+$", GROWING, "a" * 1_999 + "c"),
]
REFUSED_IDS = [pattern for pattern, _, _ in NEWLY_REFUSED]
# Accepted, and a crafted near miss of 2,000 characters is checked within the limit.
HARMLESS = [
    (r"(?:\d{3}-){2}\d{4}", "123-" * 500),                          # copies of a fixed length split one way
    (r"^(?:[A-Z]{2}\d{2}){1,3}$", "AB12" * 500),
    (r"(\d{1,3}\.){3}\d{1,3}$", "111." * 499 + "1111"),             # every copy ends in a dot: none shares text
    (r"(?:a{1,3}b){1,32}$", "aaab" * 499 + "aaac"),
    (r"^(?:\d{1,4}[-\s]?){2,4}$", "1" * 1_999 + "x"),               # the separator takes no digit: 336 ways
    (r"(a{1,10}){3}$", "a" * 1_999 + "b"),                          # 1,000 ways, the most taken
    (r"(?:a?){1,32}$", "a" * 1_999 + "b"),                          # an empty copy ends it: one way per count
    (r"^[A-Za-z0-9]{1,10}(?:\s[A-Za-z0-9]{1,10}){0,4}$", "a" * 1_999 + "!"),   # the words, split one way
]


@pytest.mark.parametrize(("pattern", "says", "value"), NEWLY_REFUSED, ids=REFUSED_IDS)
def test_copies_that_split_one_text_many_ways_are_refused_and_named(pattern, says, value):
    message = refused_at_deploy(pattern)
    assert f"（{says}：" in message, message


@pytest.mark.parametrize(("pattern", "says", "value"), NEWLY_REFUSED, ids=REFUSED_IDS)
def test_each_refused_nesting_really_exhausts_the_time_limit_on_a_crafted_value(pattern, says, value):
    assert outcome(pattern, value) == PATTERN_TIMEOUT


@pytest.mark.parametrize(("pattern", "value"), HARMLESS)
def test_harmless_nestings_deploy_and_check_a_crafted_near_miss_within_the_limit(pattern, value):
    assert deploy_problem(pattern) is None
    assert probe(pattern).key == "probe"
    assert near_miss(pattern, value) in ("", "格式不正确")


def test_the_message_names_the_repeat_as_the_designer_wrote_it():
    assert deploy_problem(r"(?:(?:ab){1,32}){1,32}$")[1].endswith(
        f"（{MANY}：(?:(?:ab){{1,32}}){{1,32}}），服务器无法安全地校验；请去掉嵌套、重叠或相邻的重复")
    assert f"{MANY}：(?:a{{1,5}}|b){{1,10}}）" in deploy_problem(r"(?:a{1,5}|b){1,10}$")[1]


def test_a_nested_unbounded_repeat_keeps_its_own_message():
    assert "嵌套的不定次重复，如 (a+)+" in deploy_problem(r"(a{1,3}\d+)+$")[1]
    assert "如 (.*a){20}" in deploy_problem(r"(a{1,3}a+){1,30}$")[1]


def test_an_anchored_word_list_is_refused_too_and_its_unambiguous_spelling_deploys():
    """Anchored, one start only: milliseconds; the same words searched take seconds. The rule reads no anchor."""
    assert deploy_problem(r"^([A-Za-z0-9]{1,10}\s?){1,5}$")[0] == "FORM_PATTERN_UNSAFE"
    assert deploy_problem(r"^[A-Za-z0-9]{1,10}(?:\s[A-Za-z0-9]{1,10}){0,4}$") is None
