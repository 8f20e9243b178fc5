"""engine.forms: parsing form-js files and validating submissions with Chinese field errors."""
from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from engine.errors import DefinitionRejected, FormInvalid
from engine.forms import FormDefinition, load_forms, parse_form

FORMS_DIR = pathlib.Path(__file__).resolve().parents[2] / "forms"
REVIEW = {"approved": "approve", "opinion": "同意"}

VALID_APPLICANT = {
    "applicant_name": "张三",
    "id_number": "50010319900307123X",
    "phone": "13800138000",
    "apply_date": "2024-03-15",
    "address": {"district": "yuzhong", "city": "重庆市", "street": "解放碑街道民族路 1 号"},
}


@pytest.fixture(scope="module")
def forms() -> dict[str, FormDefinition]:
    return load_forms(FORMS_DIR)


def form_json(*components: dict[str, Any], form_id: str = "test_form") -> str:
    return json.dumps({"type": "default", "id": form_id, "components": list(components), "schemaVersion": 16,
                       "exporter": {"name": "Camunda Modeler", "version": "5.28.0"}}, ensure_ascii=False)


def field_errors(form: FormDefinition, data: Any, **kw: Any) -> dict[str, list[str]]:
    with pytest.raises(FormInvalid) as info:
        form.validate(data, **kw)
    assert info.value.message.startswith("表单数据有误")
    return info.value.details["fields"]


def rejection_codes(data: str | bytes, **kw: Any) -> list[str]:
    with pytest.raises(DefinitionRejected) as info:
        parse_form(data, **kw)
    return [f["code"] for f in info.value.details["findings"]]


LINE_ITEMS = form_json(
    {"type": "textfield", "key": "title", "label": "事项", "id": "f1"},
    {"type": "dynamiclist", "path": "items", "label": "申报明细", "id": "f2", "isRepeating": True,
     "components": [
         {"type": "textfield", "key": "name", "label": "名称", "id": "f3", "validate": {"required": True}},
         {"type": "number", "key": "count", "label": "数量", "id": "f4", "decimalDigits": 0,
          "validate": {"min": 1, "max": 99}},
     ]},
    {"type": "checklist", "key": "tags", "label": "标签", "id": "f5",
     "values": [{"label": "加急", "value": "urgent"}, {"label": "复核", "value": "recheck"}]},
    {"type": "textfield", "key": "case_no", "label": "案号", "id": "f6", "readonly": True},
    {"type": "select", "key": "level", "label": "级别", "id": "f7",
     "values": [{"label": "一级", "value": 1}, {"label": "是", "value": True}]},
    {"type": "datetime", "key": "at", "subtype": "datetime", "dateLabel": "时间", "id": "f8"},
    {"type": "datetime", "key": "hour", "subtype": "time", "timeLabel": "时刻", "id": "f9"},
    {"type": "textfield", "key": "email", "label": "邮箱", "id": "f10",
     "validate": {"validationType": "email"}},
    {"type": "checkbox", "key": "agree", "label": "我已阅读并同意", "id": "f11", "validate": {"required": True}},
)


# --- shipped forms --------------------------------------------------------------------------------

def test_every_shipped_form_parses_and_is_keyed_by_its_id(forms):
    permit = {"permit_receive", "permit_formal_review", "permit_acceptance", "permit_correction_notice",
              "permit_correction_received", "permit_tolerance", "permit_tolerance_received", "permit_review",
              "permit_decision", "permit_license", "permit_delivery", "permit_post_check", "permit_revocation"}
    gongcheng = {"gc_stage_accept", "gc_stage_conclusion", "gc_correction", "gc_review_s1", "gc_review_s2",
                 "gc_review_s3", "gc_design_vote", "gc_drawing_review", "gc_joint_acceptance"}
    bundles = {"qiye_kaiban_apply", "license_registration", "seal_filing", "invoice_application",
               "certificate_delivery", "social_insurance_registration", "housing_fund_registration",
               "budongchan_jiaoyi_apply", "property_contract_filing", "property_tax_assessment",
               "property_transfer_registration", "property_registration"}
    assert set(forms) >= {"accept_application", "review_opinion", "applicant_info"} | permit | gongcheng | bundles
    for key, form in forms.items():
        assert form.key == key and len(form.content_hash) == 64


def test_every_negative_decision_of_the_standard_permit_requires_its_basis(forms):
    # 否定必有依据: the basis field is required exactly when the decision is negative.
    cases = [("permit_formal_review", {"intake_decision": "reject", "review_note": "x"}, "not_accepted_basis"),
             ("permit_correction_received", {"correction_complete": "incomplete", "correction_note": "x"},
              "not_accepted_basis"),
             ("permit_decision", {"decision": "refuse", "decision_opinion": "x"}, "decision_basis")]
    for key, negative, basis in cases:
        assert field_errors(forms[key], negative) == {basis: ["必填项"]}, key
        assert forms[key].validate({**negative, basis: "第三十二条"})[basis] == "第三十二条"
    assert forms["permit_decision"].validate({"decision": "grant", "decision_opinion": "准予"}) == {
        "decision": "grant", "decision_opinion": "准予"}
    assert field_errors(forms["permit_revocation"], {"revocation_no": "1"}) == {"revocation_basis": ["必填项"]}


def test_group_path_fields_get_dotted_keys_and_layout_components_are_skipped(forms):
    keys = [f.key for f in forms["applicant_info"].fields]
    assert keys == ["applicant_name", "id_number", "phone", "apply_date",
                    "address.district", "address.city", "address.street", "address.postcode"]
    by_key = {f.key: f for f in forms["applicant_info"].fields}
    assert by_key["apply_date"].label == "申请日期" and by_key["apply_date"].subtype == "date"
    assert by_key["address.city"].required and not by_key["address.street"].required


def test_valid_acceptance_comes_back_unchanged(forms):
    data = {"decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": True}
    assert forms["accept_application"].validate(data) == data


def test_valid_review_keeps_numbers_as_json_numbers(forms):
    cleaned = forms["review_opinion"].validate({**REVIEW, "reviewed_area": 12.5})
    assert cleaned == {"approved": "approve", "opinion": "同意", "reviewed_area": 12.5}
    assert forms["review_opinion"].validate({"approved": "reject", "opinion": "不符合条件",
                                             "reviewed_area": 0})["reviewed_area"] == 0


def test_valid_applicant_keeps_the_date_as_an_iso_string(forms):
    cleaned = forms["applicant_info"].validate(VALID_APPLICANT)
    assert cleaned == VALID_APPLICANT and isinstance(cleaned["apply_date"], str)


def test_missing_and_null_optional_fields_are_absent_from_the_result(forms):
    cleaned = forms["review_opinion"].validate({**REVIEW, "reviewed_area": None})
    assert "reviewed_area" not in cleaned


# --- bad submissions ------------------------------------------------------------------------------

def test_every_missing_required_field_is_reported_at_once(forms):
    errors = field_errors(forms["applicant_info"], {})
    assert errors == {k: ["必填项"] for k in ("applicant_name", "id_number", "phone", "apply_date",
                                              "address.district", "address.city")}


def test_the_error_message_counts_the_bad_fields(forms):
    with pytest.raises(FormInvalid) as info:
        forms["review_opinion"].validate({})
    assert info.value.message == "表单数据有误（共 2 处）" and info.value.code == "FORM_INVALID"


def test_blank_required_text_counts_as_missing(forms):
    errors = field_errors(forms["accept_application"], {"decision": "accept", "opinion": "  \n "})
    assert errors == {"opinion": ["必填项"]}


@pytest.mark.parametrize("invisible", ["\u200b\u200b", " \u200e\u2060 ", "\ufeff"])
def test_required_text_of_only_invisible_characters_counts_as_missing(forms, invisible):
    """QA: a required 审查意见 of two zero-width spaces was recorded as given."""
    errors = field_errors(forms["accept_application"], {"decision": "accept", "opinion": invisible})
    assert errors == {"opinion": ["必填项"]}
    kept = forms["accept_application"].validate({"decision": "accept", "opinion": "\u200b同意\u200b"})
    assert kept["opinion"] == "\u200b同意\u200b"                 # visible text is kept as written


def test_a_string_is_not_a_number(forms):
    errors = field_errors(forms["review_opinion"], {**REVIEW, "reviewed_area": "12"})
    assert errors == {"reviewed_area": ["应为数字"]}


def test_a_boolean_is_not_a_number(forms):
    errors = field_errors(forms["review_opinion"], {**REVIEW, "reviewed_area": True})
    assert errors == {"reviewed_area": ["应为数字"]}


def test_a_true_string_is_not_a_checkbox_value(forms):
    errors = field_errors(forms["accept_application"],
                          {"decision": "accept", "opinion": "受理", "materials_complete": "true"})
    assert errors == {"materials_complete": ["应为布尔值（true/false）"]}


def test_a_number_is_not_text(forms):
    errors = field_errors(forms["accept_application"], {"decision": "accept", "opinion": 5})
    assert errors == {"opinion": ["应为文本"]}


def test_a_number_below_min_is_out_of_range(forms):
    errors = field_errors(forms["review_opinion"], {**REVIEW, "reviewed_area": -1})
    assert errors == {"reviewed_area": ["不能小于 0"]}


def test_too_many_decimals_are_refused(forms):
    errors = field_errors(forms["review_opinion"], {**REVIEW, "reviewed_area": 1.234})
    assert errors == {"reviewed_area": ["小数位数不能超过 2 位"]}


def test_an_opinion_longer_than_max_length_is_too_long(forms):
    errors = field_errors(forms["review_opinion"], {"approved": "approve", "opinion": "很" * 501})
    assert errors == {"opinion": ["长度不能超过 500"]}
    assert forms["review_opinion"].validate({"approved": "approve", "opinion": "很" * 500})


def test_an_id_number_not_matching_the_pattern_is_malformed(forms):
    for bad in ("50010319900307123", "5001031990030712Y4", "50010319901307123X"):
        errors = field_errors(forms["applicant_info"], {**VALID_APPLICANT, "id_number": bad})
        assert errors == {"id_number": ["格式不正确"]}


def test_an_option_not_in_values_is_refused(forms):
    errors = field_errors(forms["review_opinion"], {"approved": "yes", "opinion": "同意"})
    assert errors == {"approved": ["不是允许的选项"]}


def test_an_unknown_field_is_refused(forms):
    errors = field_errors(forms["accept_application"], {"decision": "accept", "opinion": "受理", "amount": 1})
    assert errors == {"amount": ["未知字段"]}


def test_an_impossible_date_is_refused(forms):
    errors = field_errors(forms["applicant_info"], {**VALID_APPLICANT, "apply_date": "2023-02-29"})
    assert errors == {"apply_date": ["日期格式应为 YYYY-MM-DD"]}
    errors = field_errors(forms["applicant_info"], {**VALID_APPLICANT, "apply_date": "2024/03/15"})
    assert errors == {"apply_date": ["日期格式应为 YYYY-MM-DD"]}


def test_nested_group_errors_are_reported_by_dotted_path(forms):
    data = {**VALID_APPLICANT, "address": {"district": "jiangbei", "city": 5, "postcode": "4000", "floor": 3}}
    errors = field_errors(forms["applicant_info"], data)
    assert errors == {"address.city": ["应为文本"], "address.postcode": ["格式不正确"], "address.floor": ["未知字段"]}


def test_a_group_that_is_not_an_object_is_refused(forms):
    errors = field_errors(forms["applicant_info"], {**VALID_APPLICANT, "address": "重庆"})
    assert errors == {"address": ["应为对象"]}


def test_a_non_object_submission_is_refused(forms):
    assert field_errors(forms["accept_application"], ["accept"]) == {"_form": ["应为对象"]}


def test_partial_validation_skips_required_but_still_checks_present_values(forms):
    draft = {"phone": "13800138000"}
    assert forms["applicant_info"].validate(draft, partial=True) == draft
    assert field_errors(forms["applicant_info"], {"phone": "138"}, partial=True) == {"phone": ["格式不正确"]}


# --- dynamic lists, options and other component kinds --------------------------------------------

def test_dynamic_list_items_are_validated_with_index_paths():
    form = parse_form(LINE_ITEMS)
    assert [f.key for f in form.fields][:4] == ["title", "items", "items.name", "items.count"]
    errors = field_errors(form, {"agree": True, "items": [{"name": "甲", "count": 2},
                                                          {"count": 0}, {"name": "丙", "count": 2.5}]})
    assert errors == {"items.1.name": ["必填项"], "items.1.count": ["不能小于 1"], "items.2.count": ["应为整数"]}


def test_dynamic_list_data_comes_back_as_a_list_of_objects_with_integers():
    form = parse_form(LINE_ITEMS)
    cleaned = form.validate({"agree": True, "items": [{"name": "甲", "count": 3.0}], "tags": ["urgent"]})
    assert cleaned == {"agree": True, "items": [{"name": "甲", "count": 3}], "tags": ["urgent"]}
    assert type(cleaned["items"][0]["count"]) is int


def test_a_dynamic_list_that_is_not_a_list_is_refused():
    errors = field_errors(parse_form(LINE_ITEMS), {"agree": True, "items": {"name": "甲"}})
    assert errors == {"items": ["应为列表"]}


def test_checklist_entries_are_checked_one_by_one():
    errors = field_errors(parse_form(LINE_ITEMS), {"agree": True, "tags": ["urgent", "later"]})
    assert errors == {"tags.1": ["不是允许的选项"]}


def test_option_values_compare_exactly_by_type():
    form = parse_form(LINE_ITEMS)
    assert form.validate({"agree": True, "level": 1}) == {"agree": True, "level": 1}
    assert form.validate({"agree": True, "level": True}) == {"agree": True, "level": True}
    for wrong in ("1", 1.5, "true", [1]):
        assert field_errors(form, {"agree": True, "level": wrong}) == {"level": ["不是允许的选项"]}


def test_readonly_fields_must_not_be_submitted():
    errors = field_errors(parse_form(LINE_ITEMS), {"agree": True, "case_no": "渝2024-001"})
    assert errors == {"case_no": ["只读字段，不能提交"]}


def test_a_required_checkbox_must_be_checked():
    assert field_errors(parse_form(LINE_ITEMS), {"agree": False}) == {"agree": ["必填项"]}


def test_datetime_time_and_email_formats_are_checked():
    form = parse_form(LINE_ITEMS)
    good = {"agree": True, "at": "2024-03-15T09:30+08:00", "hour": "09:30", "email": "zhang@cq.gov.cn"}
    assert form.validate(good) == good
    errors = field_errors(form, {"agree": True, "at": "2024-03-15T09:30", "hour": "9:30", "email": "zhang"})
    assert set(errors) == {"at", "hour", "email"}
    assert errors["hour"] == ["时间格式应为 HH:MM"] and errors["email"] == ["邮箱格式不正确"]


DECISION = {"type": "select", "key": "decision", "label": "决定", "id": "f0", "validate": {"required": True},
            "values": [{"label": "受理", "value": "accept"}, {"label": "不予受理", "value": "reject"}]}


def test_a_required_field_hidden_by_its_condition_is_required_only_when_shown():
    form = parse_form(form_json(DECISION, {"type": "textfield", "key": "reason", "label": "理由", "id": "f1",
                                           "validate": {"required": True},
                                           "conditional": {"hide": "=decision != \"reject\""}}))
    assert form.validate({"decision": "accept"}) == {"decision": "accept"}
    assert field_errors(form, {"decision": "reject"}) == {"reason": ["必填项"]}
    assert field_errors(form, {"decision": "reject", "reason": "   "}) == {"reason": ["必填项"]}
    assert form.validate({"decision": "reject", "reason": "第三十二条"})["reason"] == "第三十二条"
    assert form.validate({"decision": "reject"}, partial=True) == {"decision": "reject"}


def test_a_condition_error_comes_with_the_other_field_errors():
    form = parse_form(form_json(DECISION, {"type": "textfield", "key": "reason", "label": "理由", "id": "f1",
                                           "validate": {"required": True, "maxLength": 5},
                                           "conditional": {"hide": "=decision = \"accept\""}},
                                {"type": "number", "key": "days", "label": "天数", "id": "f2"}))
    assert field_errors(form, {"decision": "reject", "days": "x"}) == {"reason": ["必填项"], "days": ["应为数字"]}
    assert field_errors(form, {"decision": "reject", "reason": "太长的理由文字"})["reason"] != ["必填项"]


@pytest.mark.parametrize("hide", ["=count(items) > 2", '=decision == "reject"'])
def test_a_required_field_whose_condition_the_server_cannot_read_is_refused_at_deploy(hide):
    """It would silently never be required (``==`` is not FEEL's equality); the designer is told why."""
    with pytest.raises(DefinitionRejected) as exc:
        parse_form(form_json(DECISION, {"type": "textfield", "key": "reason", "label": "理由", "id": "f1",
                                        "validate": {"required": True}, "conditional": {"hide": hide}}))
    (finding,) = exc.value.details["findings"]
    assert finding["code"] == "FORM_HIDE_UNSUPPORTED" and "FEEL 的相等是 =" in finding["message"]


def test_an_optional_field_may_carry_any_condition():
    form = parse_form(form_json(DECISION, {"type": "textfield", "key": "reason", "label": "理由", "id": "f1",
                                           "conditional": {"hide": "=count(items) > 2"}}))
    assert form.validate({"decision": "reject"}) == {"decision": "reject"}


def test_a_field_inside_a_conditional_group_is_never_required_on_the_server():
    form = parse_form(form_json(DECISION, {"type": "group", "path": "refusal", "id": "g1", "label": "不予",
                                           "conditional": {"hide": "=decision = \"accept\""}, "components": [
                                               {"type": "textfield", "key": "basis", "label": "依据", "id": "f1",
                                                "validate": {"required": True}}]}))
    assert form.validate({"decision": "reject"}) == {"decision": "reject"}


def test_a_group_without_path_keeps_its_fields_flat():
    form = parse_form(form_json({"type": "group", "label": "分组", "id": "g1", "components": [
        {"type": "textfield", "key": "city", "label": "城市", "id": "f1"}]}))
    assert [f.key for f in form.fields] == ["city"] and form.validate({"city": "重庆"}) == {"city": "重庆"}


# --- malformed form files ----------------------------------------------------------------------------------

def test_a_file_that_is_not_json_is_rejected():
    assert rejection_codes(b"{not json") == ["FORM_NOT_JSON"]
    assert rejection_codes(b"\xff\xfe") == ["FORM_NOT_JSON"]


def test_a_json_array_or_a_form_without_id_or_components_is_rejected():
    assert rejection_codes("[]") == ["FORM_NOT_OBJECT"]
    assert rejection_codes('{"components": []}') == ["FORM_NO_ID"]
    assert rejection_codes('{"id": "x"}') == ["FORM_NO_COMPONENTS"]


def test_duplicate_json_keys_are_rejected():
    assert rejection_codes('{"id": "a", "id": "b", "components": []}') == ["FORM_NOT_JSON"]


def test_two_components_with_the_same_key_are_rejected():
    text = form_json({"type": "textfield", "key": "name", "label": "姓名", "id": "f1"},
                     {"type": "textarea", "key": "name", "label": "备注", "id": "f2"})
    assert rejection_codes(text) == ["FORM_DUPLICATE_KEY"]


def test_a_field_clashing_with_a_group_path_is_rejected():
    text = form_json({"type": "textfield", "key": "address", "label": "地址", "id": "f1"},
                     {"type": "group", "path": "address", "id": "g1", "components": [
                         {"type": "textfield", "key": "city", "label": "城市", "id": "f2"}]})
    assert rejection_codes(text) == ["FORM_DUPLICATE_KEY"]


def test_an_unknown_component_type_is_rejected():
    codes = rejection_codes(form_json({"type": "signaturepad", "key": "sign", "id": "f1"}))
    assert codes == ["FORM_UNKNOWN_COMPONENT"]


def test_a_data_component_without_key_is_rejected():
    assert rejection_codes(form_json({"type": "textfield", "label": "姓名", "id": "f1"})) == ["FORM_BAD_KEY"]


def test_a_select_without_values_is_rejected():
    assert rejection_codes(form_json({"type": "select", "key": "d", "id": "f1"})) == ["FORM_NO_OPTIONS"]
    assert rejection_codes(form_json({"type": "radio", "key": "d", "id": "f1", "values": []})) == [
        "FORM_NO_OPTIONS"]
    assert rejection_codes(form_json({"type": "select", "key": "d", "id": "f1", "valuesKey": "opts"})) == [
        "FORM_NO_OPTIONS"]


def test_a_pattern_that_does_not_compile_is_rejected():
    text = form_json({"type": "textfield", "key": "n", "id": "f1", "validate": {"pattern": "(["}})
    codes = rejection_codes(text)
    assert codes == ["FORM_BAD_VALIDATE"]


def test_min_above_max_and_negative_lengths_are_rejected():
    text = form_json({"type": "number", "key": "n", "id": "f1", "validate": {"min": 5, "max": 1}},
                     {"type": "textfield", "key": "t", "id": "f2", "validate": {"maxLength": -1}})
    assert rejection_codes(text) == ["FORM_BAD_VALIDATE", "FORM_BAD_VALIDATE"]


def test_every_problem_in_a_form_is_listed_together():
    text = form_json({"type": "signaturepad", "key": "a", "id": "f1"},
                     {"type": "select", "key": "b", "id": "f2"})
    with pytest.raises(DefinitionRejected) as info:
        parse_form(text)
    assert [f["element_id"] for f in info.value.details["findings"]] == ["f1", "f2"]
    assert info.value.code == "DEFINITION_REJECTED"


def test_an_oversized_form_is_rejected_before_parsing():
    assert rejection_codes(form_json(), max_bytes=20) == ["FORM_TOO_LARGE"]


def test_a_form_whose_id_differs_from_the_expected_key_is_rejected():
    assert rejection_codes(form_json(form_id="other"), expected_key="test_form") == ["FORM_KEY_MISMATCH"]
    assert parse_form(form_json(), expected_key="test_form").key == "test_form"


# --- content hash and loading ------------------------------------------------------------------------------

def test_content_hash_is_stable_under_key_reordering():
    source = json.loads((FORMS_DIR / "review_opinion.form").read_text(encoding="utf-8"))
    reordered = {k: source[k] for k in reversed(list(source))}
    reordered["components"] = [{k: c[k] for k in sorted(c, reverse=True)} for c in source["components"]]
    original = parse_form(json.dumps(source)).content_hash
    assert parse_form(json.dumps(reordered, indent=4)).content_hash == original


def test_content_hash_changes_when_a_label_changes():
    source = json.loads((FORMS_DIR / "review_opinion.form").read_text(encoding="utf-8"))
    before = parse_form(json.dumps(source)).content_hash
    source["components"][1]["label"] = "复核意见"
    assert parse_form(json.dumps(source)).content_hash != before


def test_load_forms_rejects_two_files_with_the_same_id(tmp_path):
    (tmp_path / "a.form").write_text(form_json(form_id="same"), encoding="utf-8")
    (tmp_path / "b.form").write_text(form_json(form_id="same"), encoding="utf-8")
    with pytest.raises(DefinitionRejected) as info:
        load_forms(tmp_path)
    assert [f["code"] for f in info.value.details["findings"]] == ["FORM_DUPLICATE_ID"]


def test_load_forms_reads_only_form_files_and_names_the_bad_file(tmp_path):
    (tmp_path / "ok.form").write_text(form_json(form_id="ok"), encoding="utf-8")
    (tmp_path / "notes.json").write_text("{broken", encoding="utf-8")
    assert list(load_forms(tmp_path)) == ["ok"]
    (tmp_path / "bad.form").write_text("{broken", encoding="utf-8")
    with pytest.raises(DefinitionRejected) as info:
        load_forms(tmp_path)
    assert info.value.details["findings"][0]["message"].startswith("bad.form")


def test_a_required_dynamic_list_needs_at_least_one_item():
    form = parse_form(form_json({"type": "dynamiclist", "path": "items", "id": "l1", "label": "补正内容",
                                 "validate": {"required": True}, "components": [
                                     {"type": "textfield", "key": "name", "label": "材料", "id": "f1",
                                      "validate": {"required": True}}]}))
    assert field_errors(form, {}) == {"items": ["必填项"]}
    assert field_errors(form, {"items": []}) == {"items": ["必填项"]}
    assert field_errors(form, {"items": [{}]}) == {"items.0.name": ["必填项"]}
    assert form.validate({"items": [{"name": "营业执照"}]}) == {"items": [{"name": "营业执照"}]}
    optional = parse_form(form_json({"type": "dynamiclist", "path": "items", "id": "l1", "label": "补正内容",
                                     "components": [
                                         {"type": "textfield", "key": "name", "label": "材料", "id": "f1"}]}))
    assert optional.validate({"items": []}) == {"items": []}
