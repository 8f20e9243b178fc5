"""Number fields hold what a double holds: a larger integer is a field error, never an ``OverflowError``.

JSON (and the API's reader) takes integers of up to 4,300 digits, but form-js and the browser read numbers as
doubles (at most about 1.8 × 10^308). Python compares such an int with a float exactly; only converting it to a
float overflows, which was a 500 on submission (``math.isfinite``), at deploy (a ``max`` that large) and on the
task page (a ``decimalDigits`` that large). The page also read a long integer through ``float()``, so
12345678901234567890 was stored as 12345678901234567168.
"""
from __future__ import annotations

import json
import sys

import pytest
from werkzeug.datastructures import MultiDict

from app.pages import form_view
from engine.errors import DefinitionRejected, FormInvalid
from engine.form_schema import OUT_OF_RANGE
from engine.forms import parse_form

HUGE = 10 ** 400
LARGEST = int(sys.float_info.max)
"""The largest integer a double holds exactly: still a number."""


def number_form(**component: object) -> dict:
    return {"id": "area", "components": [{"type": "number", "key": "area", "label": "面积", **component}]}


def errors_of(form: dict, data: dict) -> dict:
    with pytest.raises(FormInvalid) as caught:
        parse_form(json.dumps(form)).validate(data)
    return caught.value.details["fields"]


@pytest.mark.parametrize("value", [HUGE, -HUGE, LARGEST + 2 ** 970], ids=["1e400", "-1e400", "just-beyond"])
@pytest.mark.parametrize("component", [{}, {"decimalDigits": 0}, {"decimalDigits": 2, "validate": {"min": 0}},
                                       {"validate": {"max": 10}}])
def test_an_integer_beyond_a_double_is_a_field_error_whatever_the_rules(value, component):
    assert errors_of(number_form(**component), {"area": value}) == {"area": [OUT_OF_RANGE]}


def test_integers_a_double_holds_keep_every_digit_and_meet_their_bounds_exactly():
    form = parse_form(json.dumps(number_form(decimalDigits=0, validate={"min": 0, "max": LARGEST})))
    assert form.validate({"area": LARGEST}) == {"area": LARGEST}
    assert form.validate({"area": 12345678901234567890}) == {"area": 12345678901234567890}
    assert errors_of(number_form(validate={"max": 10 ** 300}), {"area": 10 ** 300 + 1}) == {
        "area": [f"不能大于 {10 ** 300}"]}


@pytest.mark.parametrize("rules", [{"max": HUGE}, {"min": -HUGE}], ids=["max", "min"])
def test_a_form_whose_bound_no_double_holds_is_refused_at_deploy(rules):
    with pytest.raises(DefinitionRejected):
        parse_form(json.dumps(number_form(validate=rules)))


@pytest.mark.parametrize("digits", [16, 400, 10 ** 10, HUGE], ids=["16", "400", "1e10", "1e400"])
def test_the_task_page_offers_any_step_for_more_decimals_than_a_double_tells_apart(digits):
    source = number_form(decimalDigits=digits)
    parse_form(json.dumps(source))   # deploy takes any non-negative integer
    (item,) = form_view.build(source)
    assert item.step == "any"
    assert form_view.build(number_form(decimalDigits=15))[0].step == "0.000000000000001"


def test_the_task_page_reads_a_long_integer_exactly():
    source = number_form(decimalDigits=0)
    for raw, number in (("12345678901234567890", 12345678901234567890), ("-9007199254740993", -9007199254740993),
                        ("1e3", 1000), ("1e-3", 0.001), ("2.50", 2.5)):
        data, _ = form_view.parse(source, MultiDict({"area": raw}))
        assert data["area"] == number and type(data["area"]) is type(number), raw
    assert form_view.parse(source, MultiDict({"area": "1" + "0" * 400}))[0]["area"] == "1" + "0" * 400
