"""Date bounds of form-js date fields (engine.form_dates): disallowPassedDates, validate.minDate/maxDate.

QA F15: 制证 accepted a licence valid until 1900. A form states its bounds; the server checks them against the
business date the engine hands in, and refuses a malformed bound at deploy.
"""
from __future__ import annotations

from datetime import date

import pytest

from engine.forms import load_forms, parse_form

from .test_forms import FORMS_DIR, field_errors, form_json, rejection_codes

TODAY = date(2026, 3, 11)


def dated(subtype: str = "date", *, passed: bool | None = None, in_list: bool = False, **rules):
    comp = {"type": "datetime", "subtype": subtype, "dateLabel": "日期", "key": "until", "id": "d1",
            "validate": rules}
    if passed is not None:
        comp["disallowPassedDates"] = passed
    if in_list:
        comp = {"type": "dynamiclist", "path": "rows", "id": "l1", "label": "明细", "components": [comp]}
    return parse_form(form_json(comp))


def test_the_shipped_licence_form_wants_a_day_after_issue_and_not_past_2100():
    form = load_forms(FORMS_DIR)["permit_license"]
    data = {"license_no": "渝中排水字〔2026〕第 001 号"}
    for until, message in (("1900-01-01", "应晚于今日（2026-03-11）"), ("2026-03-11", "应晚于今日（2026-03-11）"),
                           ("2101-01-01", "不能晚于 2100-12-31")):
        assert field_errors(form, {**data, "license_valid_until": until}, today=TODAY) == {
            "license_valid_until": [message]}
    for until in ("2026-03-12", "2100-12-31"):
        assert form.validate({**data, "license_valid_until": until}, today=TODAY)["license_valid_until"] == until
    assert field_errors(form, {**data, "license_valid_until": "2026-02-30"}, today=TODAY) == {
        "license_valid_until": ["日期格式应为 YYYY-MM-DD"]}                # one message: the format's


def test_disallow_passed_dates_means_today_or_later_as_the_form_js_picker_offers():
    form = dated(passed=True)
    assert form.validate({"until": "2026-03-11"}, today=TODAY) == {"until": "2026-03-11"}
    assert field_errors(form, {"until": "2026-03-10"}, today=TODAY) == {"until": ["不能早于今日（2026-03-11）"]}


def test_bounds_counted_from_today_wait_for_today_and_fixed_ones_do_not():
    form = dated(minDate="today+30", maxDate="2030-12-31")
    assert form.validate({"until": "2026-03-12"}) == {"until": "2026-03-12"}     # no business date given
    assert field_errors(form, {"until": "2031-01-01"}) == {"until": ["不能晚于 2030-12-31"]}
    assert field_errors(form, {"until": "2026-04-09"}, today=TODAY) == {"until": ["不能早于 2026-04-10"]}
    assert field_errors(dated(maxDate="today-1"), {"until": "2026-03-11"}, today=TODAY) == {
        "until": ["应早于今日（2026-03-11）"]}


def test_a_datetime_value_is_bounded_by_its_day_in_beijing_and_a_list_row_by_its_own_path():
    form = dated("datetime", minDate="today+1")
    late = "2026-03-11T16:30:00Z"                                  # 03-12 00:30 in Beijing
    assert form.validate({"until": late}, today=TODAY) == {"until": late}
    assert field_errors(form, {"until": "2026-03-11T15:59:00Z"}, today=TODAY) == {"until": ["应晚于今日（2026-03-11）"]}
    rows = dated(in_list=True, maxDate="2100-12-31")
    assert field_errors(rows, {"rows": [{"until": "2100-12-31"}, {"until": "2200-01-01"}]}) == {
        "rows.1.until": ["不能晚于 2100-12-31"]}


@pytest.mark.parametrize("comp", [
    {"type": "datetime", "subtype": "date", "key": "d", "id": "x", "validate": {"minDate": "1900/01/01"}},
    {"type": "datetime", "subtype": "date", "key": "d", "id": "x", "validate": {"maxDate": "tomorrow"}},
    {"type": "datetime", "subtype": "date", "key": "d", "id": "x", "validate": {"minDate": "2023-02-29"}},
    {"type": "datetime", "subtype": "date", "key": "d", "id": "x", "disallowPassedDates": "yes"},
    {"type": "datetime", "subtype": "time", "key": "d", "id": "x", "disallowPassedDates": True},
    {"type": "textfield", "key": "d", "id": "x", "validate": {"maxDate": "2100-12-31"}},
    {"type": "datetime", "subtype": "date", "key": "d", "id": "x",
     "validate": {"minDate": "2100-01-01", "maxDate": "2000-01-01"}},
    {"type": "datetime", "subtype": "date", "key": "d", "id": "x", "validate": {"minDate": "today+2",
                                                                             "maxDate": "today"}},
])
def test_a_malformed_or_impossible_date_bound_is_refused_at_deploy(comp):
    assert rejection_codes(form_json(comp)) == ["FORM_BAD_VALIDATE"]


def test_every_shipped_form_still_loads_and_only_validity_dates_carry_bounds():
    forms = load_forms(FORMS_DIR)
    bounded = sorted(f"{key}.{f.key}" for key, form in forms.items() for f in form.fields
                     if f.disallow_passed or f.rules.get("minDate") or f.rules.get("maxDate"))
    assert bounded == ["permit_license.license_valid_until"]
