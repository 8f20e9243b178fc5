r"""Form ``validate.pattern``: refused at deploy when it can backtrack without limit, and bounded in time anyway.

The QA report: ``(a|aa)+$`` passed the deploy check, and 37 ``a`` then ``b`` took 15.8 s to check (50 would
take hours) while every other write waited. Every check that could hang runs under :func:`bounded`, so a
regression fails the test instead of hanging it.
"""
from __future__ import annotations

import json
import time

import pytest
from marshmallow import ValidationError

from engine.errors import DefinitionRejected, FormInvalid
from engine.form_patterns import (
    PATTERN_MAX_INPUT, PATTERN_TIMEOUT, SUBMISSION_BUDGET, deploy_problem, pattern_check, pattern_problem,
)
from engine.forms import parse_form
from tests.conftest import ROOT
from tests.unit.test_layers import offenders
from tests.unit.test_timer_values import bounded

QA_PATTERNS = ["(a|aa)+$", "(a|a)*$", "(.*a){20}"]
SLIPS_THROUGH = "((a)|(b))+$"
"""Takes a quarter of a second on a long value, yet the static rules accept it: a repeated group walks to the end
from every start (quadratic, as a lone ``\\d+$`` searched), saving its captures at every step."""
SLOW_VALUE = "ab" * 999 + "x"
SAFE_PATTERNS = [r"^\d{6}$", r"^[A-Z0-9]{18}$", r"\S+@\S+", r"^1[3-9]\d{9}$", r"^\d{17}[\dXx]$",
                 r"^[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dXx]$",
                 r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", r"^(0\d{2,3}-)?\d{7,8}$",
                 r"^(?:(?:\+?86[- ]?)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)$", r"^(\d{1,3}\.){3}\d{1,3}$",
                 r"^[\u4e00-\u9fa5·]{2,20}$", r"^(foo|bar)+$", r"(ab|a)+$", r"^([a-z]|\d|-)+$", r"^\{\d+\}$"]


def form(pattern: str, *, max_length: int | None = None, stored: bool = False):
    rules: dict = {"required": True, "pattern": pattern}
    if max_length is not None:
        rules["maxLength"] = max_length
    return parse_form(json.dumps({"id": "probe", "components": [
        {"id": "f1", "type": "textfield", "key": "code", "label": "编码", "validate": rules}]}), stored=stored)


def refusal(check, value: str) -> str:
    """Run ``check`` on ``value`` (within 10 s); return its message, or "" when the value passes."""
    def run() -> str:
        try:
            check(value)
        except ValidationError as exc:
            return exc.messages[0]
        return ""
    return bounded(run, seconds=10)


def test_the_qa_pattern_on_a_value_that_would_take_hours_is_refused_within_the_time_limit():
    check = pattern_check("(a|aa)+$", 100)
    started = time.perf_counter()
    assert refusal(check, "a" * 50 + "b") == PATTERN_TIMEOUT
    assert time.perf_counter() - started < 2   # 50 ms of matching, plus slack for a loaded machine
    assert refusal(check, "a" * 50) == ""      # the bound changes nothing for a value that matches


@pytest.mark.parametrize(("pattern", "value"), [("(a|a)*$", "a" * 50 + "b"), ("(.*a){20}", "a" * 19 + "b" * 1_000)])
def test_the_other_qa_patterns_stay_within_the_time_limit_too(pattern, value):
    started = time.perf_counter()
    assert refusal(pattern_check(pattern, None), value) in ("格式不正确", PATTERN_TIMEOUT)
    assert time.perf_counter() - started < 2


def test_a_pattern_the_static_check_misses_is_a_field_error_within_the_time_limit():
    assert deploy_problem(SLIPS_THROUGH) is None, "the deploy check reads this pattern now: pick another"
    probe = form(SLIPS_THROUGH)
    started = time.perf_counter()
    with pytest.raises(FormInvalid) as info:
        bounded(lambda: probe.validate({"code": SLOW_VALUE}), seconds=10)
    assert time.perf_counter() - started < 2
    assert info.value.code == "FORM_INVALID"
    assert info.value.details["fields"] == {"code": [PATTERN_TIMEOUT]}
    assert probe.validate({"code": "abab"}) == {"code": "abab"}


def test_one_submission_shares_one_budget_so_many_slow_values_cost_no_more_than_it():
    probe = parse_form(json.dumps({"id": "probe", "components": [{
        "id": "items", "type": "dynamiclist", "path": "items", "components": [
            {"id": "f1", "type": "textfield", "key": "code", "label": "编码", "validate": {"pattern": SLIPS_THROUGH}}]}]}))
    started = time.perf_counter()
    with pytest.raises(FormInvalid) as info:   # one by one, 100 values would take 100 x 50 ms
        bounded(lambda: probe.validate({"items": [{"code": SLOW_VALUE}] * 100}), seconds=20)
    assert time.perf_counter() - started < SUBMISSION_BUDGET + 2
    fields = info.value.details["fields"]
    assert len(fields) == 100 and all(messages == [PATTERN_TIMEOUT] for messages in fields.values())


@pytest.mark.parametrize("pattern", QA_PATTERNS + ["(a|b|ab)+$", r"(\d|\d\d)+$", "(.*a){2}", "(a|aa){2,5}",
                                                    r"(?:\u7701|[^a])+$", r"\S+@\S+$"])
def test_overlapping_alternatives_and_repeated_overlapping_groups_are_refused_at_deploy(pattern):
    assert pattern_problem(pattern) is not None
    with pytest.raises(DefinitionRejected) as info:
        form(pattern)
    [finding] = info.value.details["findings"]
    assert (finding["code"], finding["element_id"]) == ("FORM_PATTERN_UNSAFE", "f1")
    assert "回溯" in finding["message"]


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_common_safe_patterns_still_deploy(pattern):
    assert deploy_problem(pattern) is None
    assert form(pattern).key == "probe"


def test_every_shipped_form_pattern_still_deploys():
    patterns = [c["validate"]["pattern"] for path in sorted((ROOT / "forms").glob("*.form"))
                for c in _components(json.loads(path.read_text(encoding="utf-8"))["components"])
                if isinstance(c.get("validate"), dict) and c["validate"].get("pattern")]
    assert patterns
    assert {p: deploy_problem(p) for p in patterns} == {p: None for p in patterns}


def _components(comps: list) -> list:
    return [c for comp in comps for c in [comp, *_components(comp.get("components") or [])]]


@pytest.mark.parametrize("pattern", ["a{e<=1}b", "[a[:digit:]]", r"^[\d[:alpha:]]+$", "a{,3}", "{"])
def test_spellings_the_browser_reads_differently_from_the_server_are_refused_at_deploy(pattern):
    with pytest.raises(DefinitionRejected) as info:
        form(pattern)
    [finding] = info.value.details["findings"]
    assert finding["code"] == "FORM_BAD_VALIDATE"
    assert finding["message"].startswith("字段 code 的配置有误：pattern 中的")


def test_a_stored_form_with_a_qa_pattern_still_loads_and_leaves_the_pattern_to_the_browser():
    stored = form("(a|aa)+$", max_length=100, stored=True)
    value = "a" * 50 + "b"
    assert bounded(lambda: stored.validate({"code": value}), seconds=10) == {"code": value}


def test_the_pattern_is_a_javascript_style_search_on_ascii_classes():
    check = pattern_check(r"\d{3}", None)
    assert refusal(check, "编号abc123") == ""
    assert refusal(check, "１２３") == "格式不正确"   # full-width digits are no \d in JavaScript either
    assert refusal(pattern_check(r"^\d+$", 10), "1" * 11) == ""   # left to maxLength
    assert refusal(pattern_check(r"^\d+$", None), "1" * (PATTERN_MAX_INPUT + 1)).endswith("无法校验格式")


def test_only_the_pattern_module_imports_regex():
    assert offenders("engine", ("regex",), allowed_in=("engine/form_patterns.py",)) == []
    assert offenders("app", ("regex",)) == []
