r"""Unbounded repeats in a row that can share out the same text are refused at deploy; real patterns are not.

A text that X and Y can split many ways is retried split by split before a failing suffix, so ``\d+\d+$``
searched over 2,000 digits and an ``x`` takes seconds. Every refused example below is also run as a form would
run it (:func:`~engine.form_patterns.pattern_check`) on a crafted value, and must exhaust the 50 ms per-value
limit: the rule refuses no pattern on theory alone. Every accepted one checks a crafted near miss well within it
(:func:`near_miss`).
"""
from __future__ import annotations

import json

import pytest

from engine import form_patterns
from engine.errors import DefinitionRejected
from engine.form_patterns import PATTERN_TIMEOUT, VALUE_TIMEOUT, deploy_problem, pattern_check
from engine.forms import parse_form
from tests.unit.test_form_patterns import refusal

# (pattern, what the message names, a value it backtracks on for seconds: all accepted by the old check)
NEWLY_REFUSED = [
    (r"(?:ab)+(?:ab)+$", "(?:ab)+ 与 (?:ab)+", "ab" * 999 + "x"),                # groups side by side
    (r"(\d\d)+\d+$", r"(\d\d)+ 与 \d+", "1" * 1_999 + "x"),
    (r"[ab]+ab[ab]+$", "[ab]+ 与 [ab]+", "ab" * 999 + "x"),                    # across a literal both can take
    (r"\d+(?:-\d)?\d+$", r"\d+ 与 \d+", "1" * 1_999 + "x"),                      # across an optional group
    (r"(?:\d+|x)\d+$", r"(?:\d+|x) 与 \d+", "1" * 1_999 + "x"),                  # a branch holding a repeat
    (r"\d+\d++$", r"\d+ 与 \d++", "1" * 1_999 + "x"),                           # re-run for every split
    (r"\d+(?>\d+)$", r"\d+ 与 (?>\d+)", "1" * 1_999 + "x"),
    (r"(?i)[a-z]+[A-Z]+$", "[a-z]+ 与 [A-Z]+", "a" * 1_999 + "1"),              # one class, both cases
]
# Refused before as well, and still: the same shape with single characters.
STILL_REFUSED = [
    (r"\d+\d+$", r"\d+ 与 \d+", "1" * 1_999 + "x"),
    (r"[a-z]+[a-z0-9]+$", "[a-z]+ 与 [a-z0-9]+", "a" * 1_999 + "-"),
    (r"x*a*a*a*$", "a* 与 a*", "a" * 1_998 + "bc"),
    (r".+.+=.+x", ".+ 与 .+", "=" * 1_998 + "\nx"),
    (r"\S+@\S+\.\S+", r"\S+ 与 \S+", "@" * 1_000 + " "),
    (r"[^@\s]+@[^@\s]+\.[^@\s]+$", r"[^@\s]+ 与 [^@\s]+", "." * 999 + "@" + "." * 999 + "@"),  # no ^
]
# Anchored, one such pair is quadratic at worst (tens of ms on 2,000 characters); three in a row are not.
ANCHORED_TRIPLES = [r"^a+a+a+$", r"^\S+@\S+\.\S+$", r"^(?:ab)+(?:ab)+(?:ab)+$", r"^\d+-?\d+\d+$"]
# Patterns designers write: they deploy, and a crafted near miss (1,000 characters) is checked within the limit.
REAL_PATTERNS = [
    (r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", "9" * 1_000),       # 统一社会信用代码
    (r"^\d{17}[\dXx]$", "1" * 1_000),                                              # 身份证号
    (r"^1[3-9]\d{9}$", "13" + "8" * 998),                                          # 手机号
    (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "a@" + "." * 997 + "@"),                        # 电子邮箱
    (r"\S+@\S+", "@" * 1_000),
    (r"^\d{4}-\d{2}-\d{2}$", "2026-" * 200),                                       # 日期
    (r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", "a@" + "a." * 499),
    (r"^\d{1,3}(?:,\d{3})*(?:\.\d{1,2})?$", "1" + ",111" * 250),                   # 金额，千分位
    (r"^\d+(\.\d{1,2})?$", "1" * 999 + "."),
    (r"^0\d{2,3}-?\d{7,8}$", "0" * 1_000),                                         # 固定电话
    (r"^[\u4e00-\u9fa5·]{2,20}$", "张" * 1_000),
    (r"^(?=.*\d)(?=.*[a-z])(?=.*[A-Z]).{8,20}$", "a" * 1_000),                     # 密码
    (r"^https?://[^\s/$.?#][^\s]*$", "http://" + "a" * 993 + " "),
    (r"^(?:\d{3},)+\d+$", "111," * 250),            # every group ends with a comma: one split only
    (r"^(?:ab)+(?:ba)+$", "ab" * 500),              # ...b|b... : the groups meet in one place
    (r"[A-Z]+\d+[A-Z]+$", "A1" * 500),              # the digits stand between: once refused, never slow
    (r"^\d+\d+$", "1" * 999 + "x"),                 # one pair, anchored
]


def probe(pattern: str):
    return parse_form(json.dumps({"id": "probe", "components": [
        {"id": "f1", "type": "textfield", "key": "code", "label": "编码", "validate": {"pattern": pattern}}]}))


def refused_at_deploy(pattern: str) -> str:
    """Assert the pattern is refused alone and in a form's deploy (naming its field); return the message."""
    code, message = deploy_problem(pattern)
    assert code == "FORM_PATTERN_UNSAFE"
    with pytest.raises(DefinitionRejected) as info:
        probe(pattern)
    [finding] = info.value.details["findings"]
    assert (finding["code"], finding["element_id"]) == ("FORM_PATTERN_UNSAFE", "f1")
    return message


def outcome(pattern: str, value: str) -> str:
    """Check ``value`` as a form does (50 ms of matching at most): "" when it fits, else the field message."""
    return refusal(pattern_check(pattern, None), value)


LOADED_HOST = 3
"""How many times slower than a quiet host a loaded CI host ran the same match, in processor time (measured)."""


def near_miss(pattern: str, value: str) -> str:
    """Check a near miss of an accepted pattern as a form does, but with :data:`LOADED_HOST` times the limit.

    The limit counts processor time, and a host busy with other processes spends up to three times as much on
    the same steps: the slowest accepted near miss, ``(a{1,10}){3}$`` on 2,000 characters, takes 15 ms of the
    50 on a quiet host and took 42-57 ms on a loaded one. A refused pattern runs for hundreds of milliseconds
    to seconds on the same values, so the margin still tells the two apart, and a host's load can never make
    a refused pattern look harmless (the refused examples keep the real limit).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(form_patterns, "VALUE_TIMEOUT", LOADED_HOST * VALUE_TIMEOUT)
        return outcome(pattern, value)


@pytest.mark.parametrize(("pattern", "fragment", "value"), NEWLY_REFUSED + STILL_REFUSED)
def test_repeats_in_a_row_that_can_share_out_one_text_are_refused_and_named(pattern, fragment, value):
    message = refused_at_deploy(pattern)
    assert f"相邻的不定次重复 {fragment} 可匹配同一段文字" in message, message


@pytest.mark.parametrize(("pattern", "fragment", "value"), NEWLY_REFUSED + STILL_REFUSED)
def test_each_refused_pattern_really_exhausts_the_time_limit_on_a_crafted_value(pattern, fragment, value):
    assert outcome(pattern, value) == PATTERN_TIMEOUT


@pytest.mark.parametrize("pattern", ANCHORED_TRIPLES)
def test_an_anchored_pattern_may_hold_one_such_pair_but_not_three_repeats_in_a_row(pattern):
    code, message = deploy_problem(pattern)
    assert code == "FORM_PATTERN_UNSAFE" and "且之前已有一处这样的重复" in message


def test_an_unanchored_pair_says_that_a_leading_caret_would_allow_it():
    assert deploy_problem(r"\d+\d+$")[1].endswith("分法随长度成倍增加；以 ^ 开头的 pattern 可容许一处），服务器无法安全"
                                                  "地校验；请去掉嵌套、重叠或相邻的重复")
    assert deploy_problem(r"^\d+\d+$") is None


def test_only_a_caret_or_backslash_a_at_the_very_start_anchors_the_pattern():
    assert [deploy_problem(p) for p in (r"\A\d+\d+$", r"(^\d+\d+$)")] == [None, None]
    for unanchored in (r"(?m)^\d+\d+$", r"^x|\d+\d+$", r"x^\d+\d+$"):   # every line start; a branch; too late
        assert deploy_problem(unanchored)[0] == "FORM_PATTERN_UNSAFE", unanchored
    assert "以 ^ 开头" not in deploy_problem(r"(?m)^\d+\d+$")[1]


@pytest.mark.parametrize(("pattern", "value"), REAL_PATTERNS)
def test_real_patterns_deploy_and_check_a_crafted_near_miss_within_the_limit(pattern, value):
    assert deploy_problem(pattern) is None
    assert probe(pattern).key == "probe"
    assert near_miss(pattern, value) in ("", "格式不正确")


@pytest.mark.parametrize(("pattern", "value"), [
    (r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", "91500000MA5U7ABC1X"),
    (r"^\d{17}[\dXx]$", "50010319900307123X"), (r"^1[3-9]\d{9}$", "13812345678"),
    (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "zhang.san@cq.gov.cn"), (r"\S+@\S+", "a@b"),
    (r"^\d{4}-\d{2}-\d{2}$", "2026-03-01")])
def test_real_patterns_still_take_their_values(pattern, value):
    assert probe(pattern).validate({"code": value}) == {"code": value}
