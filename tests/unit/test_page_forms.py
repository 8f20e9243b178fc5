"""The server-side form: form-js components become HTML fields, and posted fields become the form's JSON."""
from __future__ import annotations

import json
from datetime import date

from werkzeug.datastructures import MultiDict

from app.pages import form_view
from engine.forms import parse_form

from ..conftest import ROOT


def shipped(name: str) -> dict:
    return json.loads((ROOT / "forms" / f"{name}.form").read_text(encoding="utf-8"))


def test_components_become_fields_in_order_with_labels_and_required_marks():
    items = form_view.build(shipped("accept_application"))
    assert [(i.kind, i.key) for i in items] == [("text", ""), ("select", "decision"),
                                               ("checkbox", "materials_complete"), ("textarea", "opinion")]
    decision = items[1]
    assert decision.label == "受理决定" and decision.required
    assert decision.options == [("accept", "受理"), ("reject", "不予受理")]
    assert items[0].label.startswith("受理审查\n")
    assert items[3].description == "不予受理的，须写明理由及依据"


def test_groups_nest_their_fields_under_the_group_path_and_dates_get_date_inputs():
    items = form_view.build(shipped("applicant_info"))
    group = next(i for i in items if i.kind == "group")
    assert group.label == "联系地址"
    assert [c.key for c in group.children] == ["address.district", "address.city", "address.street",
                                               "address.postcode"]
    assert group.children[1].value == "重庆市"
    assert next(i for i in items if i.key == "apply_date").input_type == "date"
    assert group.children[0].dom_id == "f-address-district"


def test_numbers_get_a_step_from_their_decimal_digits():
    area = next(i for i in form_view.build(shipped("review_opinion")) if i.key == "reviewed_area")
    assert area.input_type == "number" and area.step == "0.01"


def test_posted_fields_become_typed_nested_data_that_the_engine_accepts():
    source = shipped("applicant_info")
    posted = MultiDict({"applicant_name": "张三", "id_number": "500103199001011234", "phone": "13800000000",
                        "apply_date": "2026-11-23", "address.district": "yuzhong", "address.city": "重庆市",
                        "address.street": "", "address.postcode": "400010"})
    data, flat = form_view.parse(source, posted)
    assert data["address"] == {"district": "yuzhong", "city": "重庆市", "postcode": "400010"}
    assert flat["address.city"] == "重庆市" and "address.street" not in flat
    assert parse_form(json.dumps(source)).validate(data)["address"]["district"] == "yuzhong"


def test_checkboxes_are_booleans_numbers_are_numbers_and_empty_inputs_are_left_out():
    data, _ = form_view.parse(shipped("accept_application"), MultiDict({"decision": "accept", "opinion": ""}))
    assert data == {"decision": "accept", "materials_complete": False}
    data, _ = form_view.parse(shipped("review_opinion"), MultiDict({"approved": "approve", "reviewed_area": "12.5"}))
    assert data == {"approved": "approve", "reviewed_area": 12.5}
    data, _ = form_view.parse(shipped("review_opinion"), MultiDict({"reviewed_area": "30"}))
    assert data == {"reviewed_area": 30}


def test_text_that_is_not_a_number_is_passed_on_for_the_engine_to_reject():
    source = shipped("review_opinion")
    data, _ = form_view.parse(source, MultiDict({"approved": "approve", "opinion": "同意", "reviewed_area": "十"}))
    assert data["reviewed_area"] == "十"
    errors = {}
    try:
        parse_form(json.dumps(source)).validate(data)
    except Exception as exc:  # noqa: BLE001 - FormInvalid carries the field messages
        errors = exc.details["fields"]
    assert list(errors) == ["reviewed_area"]


def test_option_values_keep_their_declared_types():
    source = {"id": "f", "components": [
        {"type": "radio", "key": "ok", "label": "是否", "values": [{"label": "是", "value": True},
                                                                  {"label": "否", "value": False}]},
        {"type": "checklist", "key": "levels", "label": "级别", "values": [{"label": "一", "value": 1},
                                                                        {"label": "二", "value": 2}]}]}
    data, _ = form_view.parse(source, MultiDict([("ok", "false"), ("levels", "1"), ("levels", "2")]))
    assert data == {"ok": False, "levels": [1, 2]}


def test_errors_and_values_are_put_back_on_their_fields():
    items = form_view.build(shipped("accept_application"), {"decision": "reject"}, {"opinion": ["必填项"]})
    by_key = {i.key: i for i in items}
    assert by_key["decision"].value == "reject"
    assert by_key["opinion"].errors == ["必填项"] and by_key["decision"].errors == []


def test_a_dynamic_list_shows_numbered_rows_and_posted_rows_become_a_list_without_the_empty_ones():
    source = shipped("permit_correction_notice")
    (notice_list,) = [i for i in form_view.build(source) if i.kind == "list"]
    assert (notice_list.key, notice_list.required) == ("missing_items", True)
    assert len(notice_list.children) == form_view.SPARE_ROWS          # none filled yet: only spare rows
    assert [c.key for c in notice_list.children[1].children] == ["missing_items.1.item_name",
                                                                 "missing_items.1.item_requirement"]
    posted = MultiDict({"correction_notice_no": "补 01", "missing_items.0.item_name": "",
                        "missing_items.1.item_name": "检测报告", "missing_items.1.item_requirement": "",
                        "missing_items.2.item_name": "运行说明", "missing_items.2.item_requirement": "加盖公章"})
    data, flat = form_view.parse(source, posted)
    assert data["missing_items"] == [{"item_name": "检测报告"}, {"item_name": "运行说明", "item_requirement": "加盖公章"}]
    assert flat["missing_items.0.item_name"] == "检测报告" and flat["missing_items.1.item_requirement"] == "加盖公章"
    assert parse_form(json.dumps(source)).validate(data)["missing_items"][1]["item_name"] == "运行说明"


def test_an_all_empty_dynamic_list_is_left_out_so_the_engine_reports_it_required_next_to_the_list():
    source = shipped("permit_correction_notice")
    data, _ = form_view.parse(source, MultiDict({"correction_notice_no": "补 01", "missing_items.0.item_name": ""}))
    assert "missing_items" not in data
    items = form_view.build(source, {}, {"missing_items": ["必填项"], "missing_items.4.item_name": ["必填项"]})
    (notice_list,) = [i for i in items if i.kind == "list"]
    assert notice_list.errors == ["必填项"] and len(notice_list.children) == 5 + form_view.SPARE_ROWS
    assert notice_list.children[4].children[0].errors == ["必填项"]


def test_submitted_data_is_put_into_words_by_the_first_form_that_names_each_key():
    fields = form_view.fields_of([shipped("review_opinion"), shipped("accept_application")])
    assert fields["opinion"].label == "审查意见"      # in both forms: the first one's label
    entries = form_view.described({"decision": "accept", "approved": "approve", "opinion": "ok", "Zeta": 1,
                                   "materials_complete": True, "applicant": "李四", "reviewed_area": 12.5}, fields)
    assert [(e.key, e.label, e.value) for e in entries] == [
        ("applicant", "applicant", "李四"), ("approved", "审查结论", "同意"), ("decision", "受理决定", "受理"),
        ("materials_complete", "材料齐全", True), ("opinion", "审查意见", "ok"),
        ("reviewed_area", "核定面积（平方米）", 12.5), ("Zeta", "Zeta", 1)]
    assert form_view.described({"decision": "unknown"}, fields)[0].value == "unknown"   # not an option: as it is
    assert form_view.described(None, fields) == []
    checklist = {"components": [{"type": "checklist", "key": "kinds", "label": "类别",
                                 "values": [{"label": "新建", "value": "new"}, {"label": "改建", "value": 2}]}]}
    assert form_view.described({"kinds": ["new", 2, "other"]}, form_view.fields_of([checklist])) == [
        form_view.Entry("kinds", "类别", ["新建", "改建", "other"])]


def test_only_what_a_number_input_sends_is_read_as_a_number():
    """QA: "1_000" was stored as 1000 and full-width "１２" as 12 (Python's float() takes both), unlike the API."""
    source = shipped("review_opinion")
    for raw in ("1_000", "１２", "nan", "inf", "1e400", "0x10", " 1 2"):
        data, _ = form_view.parse(source, MultiDict({"reviewed_area": raw}))
        assert data["reviewed_area"] == raw.strip(), raw
    for raw, number in (("12", 12), ("-3.5", -3.5), ("1e3", 1000), (".5", 0.5), ("+7", 7)):
        data, _ = form_view.parse(source, MultiDict({"reviewed_area": raw}))
        assert data["reviewed_area"] == number and type(data["reviewed_area"]) is type(number), raw


def test_a_bounded_date_input_offers_only_the_days_the_engine_accepts():
    by_key = {i.key: i for i in form_view.leaves(form_view.build(shipped("permit_license"), today=date(2026, 3, 10)))}
    valid_until = by_key["license_valid_until"]
    assert (valid_until.input_type, valid_until.rules["min"], valid_until.rules["max"]) == (
        "date", "2026-03-11", "2100-12-31")                          # minDate today+1, disallowPassedDates, maxDate
    unbounded = {i.key: i for i in form_view.leaves(form_view.build(shipped("applicant_info"),
                                                                    today=date(2026, 3, 10)))}
    assert all("min" not in i.rules and "max" not in i.rules for i in unbounded.values() if i.input_type == "date")
    assert "min" not in {i.key: i for i in form_view.leaves(form_view.build(shipped("permit_license")))}[
        "license_valid_until"].rules                                  # no day given: nothing to count from
