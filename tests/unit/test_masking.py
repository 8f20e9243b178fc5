"""Personal ID numbers: the check character, masking of values, text and data, and the logging filter."""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from engine.masking import (
    IdNumberFilter,
    id_number_check_char,
    install_log_masking,
    is_valid_id_number,
    mask_for_roles,
    mask_id_number,
    mask_mapping,
    mask_mobile_numbers,
    mask_text,
    sees_full_id_numbers,
)

VALID = "500103198506120317"
WITH_X = "50010519950918441X"


def test_an_id_number_keeps_its_first_four_and_last_four_characters():
    assert mask_id_number("500103199003071234") == "5001**********1234"
    assert mask_id_number(WITH_X) == "5001**********441X"
    assert len(mask_id_number(VALID)) == 18


def test_short_and_missing_values_are_starred_entirely_or_empty():
    assert mask_id_number(None) == ""
    assert mask_id_number("12345678") == "********"
    assert mask_id_number("123456789") == "1234*6789"
    assert mask_id_number(500103198506120317) == "5001**********0317"


def test_the_check_character_follows_gb_11643():
    assert id_number_check_char("11010519491231002") == "X"  # the standard's own example
    assert is_valid_id_number(VALID)
    assert is_valid_id_number(WITH_X) and is_valid_id_number(WITH_X.lower())
    assert not is_valid_id_number(VALID[:-1] + "8")
    assert not is_valid_id_number(VALID[:17])
    assert not is_valid_id_number("0" + VALID[1:])
    assert not is_valid_id_number(VALID + "1")


def test_id_numbers_inside_free_text_are_masked_and_other_numbers_are_not():
    text = f"张三（{VALID}）与李四 {WITH_X} 共同申请"
    assert mask_text(text) == "张三（5001**********0317）与李四 5001**********441X 共同申请"
    untouched = ["TB202611230000001", "1" + VALID, "ab" + VALID, "电话 13800138000", "9" * 17]
    for value in untouched:
        assert mask_text(value) == value


def test_id_numbers_typed_with_full_width_or_mixed_digits_are_masked_keeping_the_text_length():
    text = "全角 ５００１０３１９９００１０１１２３２ 混合 5００１０３１９９００１０１１２３２ 末位 ５００１０５１９９５０９１８４４１Ｘ。"
    masked = mask_text(text)
    assert masked == ("全角 ５００１**********１２３２ 混合 5００１**********１２３２ 末位 ５００１**********４４１Ｘ。")
    assert len(masked) == len(text)
    assert mask_text("５００１０５１９９５０９１８４４１ｘ") == "５００１**********４４１ｘ"
    assert mask_mapping({"note": f"（{VALID[:6]}１９９００１０１１２３２）"}) == {"note": "（5001**********１２３２）"}
    untouched = ["１" + "５００１０３１９９００１０１１２３２", "Ａ５００１０３１９９００１０１１２３２", "０" * 18,
                 "５００１０３１９９００１０１１２３２ａ", "１３８００１３８０００"]
    for value in untouched:
        assert mask_text(value) == value


def test_exports_mask_full_width_id_numbers_in_payloads():
    from engine.exports import mask_personal
    payload = {"data": {"note": "全角 ５００１０３１９９００１０１１２３２ 混合 5００１０３１９９００１０１１２３２"}}
    assert mask_personal(payload) == {"data": {"note": "全角 ５００１**********１２３２ 混合 5００１**********１２３２"}}
    phones = {"data": {"note": "+8613800138000 138-0013-8000 １３８００１３８０００"}}
    assert mask_personal(phones) == {"data": {"note": "+86138****8000 138-****-8000 １３８****８０００"}}


def test_mobile_numbers_in_text_are_masked_in_any_digit_width():
    text = "电话 13800138000，全角 １３８００１３８０００，混合 1３９００１３９０００，座机 023-63891234"
    masked = mask_mobile_numbers(text)
    assert masked == "电话 138****8000，全角 １３８****８０００，混合 1３９****９０００，座机 023-63891234"
    assert len(masked) == len(text)
    for value in ("12800138000", "138001380001", "１２８００１３８０００", "TB202611230000001"):
        assert mask_mobile_numbers(value) == value


def test_mobile_numbers_with_the_country_code_or_in_groups_are_masked_too():
    text = "手机 +8613800138000、86 139 0013 9000、138-0013-8000、＋86１３７００１３７０００"
    masked = mask_mobile_numbers(text)
    assert masked == "手机 +86138****8000、86 139 **** 9000、138-****-8000、＋86１３７****７０００"
    assert len(masked) == len(text)
    assert mask_mobile_numbers("订单 5008613800138000") == "订单 5008613800138000"   # inside a longer number


def test_mapping_masks_known_keys_whatever_their_shape_and_ids_anywhere_else():
    data = {
        "applicant_name": "张三", "id_number": "not-a-number-at-all", "agent_id_number": WITH_X,
        "legal_rep_id_number": VALID, "applicant_id_number": 500103198506120317, "age": 38, "paid": True,
        "members": [{"name": "李四", "id_number": VALID}, f"备注：{VALID}"],
        "nested": {"note": f"身份证 {VALID}", "when": None},
    }
    masked = mask_mapping(data)
    assert masked == {
        "applicant_name": "张三", "id_number": "not-***********-all", "agent_id_number": "5001**********441X",
        "legal_rep_id_number": "5001**********0317", "applicant_id_number": "5001**********0317", "age": 38,
        "paid": True, "members": [{"name": "李四", "id_number": "5001**********0317"}, "备注：5001**********0317"],
        "nested": {"note": "身份证 5001**********0317", "when": None},
    }
    assert data["agent_id_number"] == WITH_X  # a copy: the caller's data is untouched


def test_only_window_clerks_and_auditors_see_full_numbers():
    data = {"id_number": VALID}
    for roles in (("window_clerk",), ("auditor",), ("reviewer", "window_clerk")):
        assert sees_full_id_numbers(roles)
        assert mask_for_roles(roles, data) is data
    for roles in (("reviewer",), ("department_head",), ("supervisor",), ("designer",), ("admin",), ()):
        assert not sees_full_id_numbers(roles)
        assert mask_for_roles(roles, data) == {"id_number": "5001**********0317"}


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A private logger writing formatted records to a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"tests.masking.{id(stream)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


def test_the_log_filter_masks_messages_arguments_and_tracebacks(captured):
    logger, stream = captured
    logger.handlers[0].addFilter(IdNumberFilter())
    logger.info("受理 %s 的申请，证件 %s", "张三", VALID)
    logger.info({"id": VALID})
    try:
        raise ValueError(f"bad applicant {WITH_X}")
    except ValueError:
        logger.exception("处理失败")
    output = stream.getvalue()
    assert VALID not in output and WITH_X not in output
    assert "受理 张三 的申请，证件 5001**********0317" in output
    assert "{'id': '5001**********0317'}" in output
    assert "ValueError: bad applicant 5001**********441X" in output


def test_a_record_whose_arguments_do_not_fit_its_message_keeps_them_masked():
    # logging reports such a record with its raw arguments on stderr; those must be masked too.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "参数不匹配 %s %s", (VALID,), None)
    assert IdNumberFilter().filter(record) is True
    assert record.msg == "参数不匹配 %s %s"
    assert record.args == ("5001**********0317",)


def test_installed_log_masking_covers_handlers_added_later_and_installs_once(captured):
    logger, stream = captured
    before = logging.getLogRecordFactory()
    try:
        install_log_masking()
        installed = logging.getLogRecordFactory()
        install_log_masking()
        assert logging.getLogRecordFactory() is installed
        logger.warning("申请人身份证号 %s", VALID)
        assert stream.getvalue() == "WARNING 申请人身份证号 5001**********0317\n"
    finally:
        logging.setLogRecordFactory(before)


def test_a_form_groups_nested_fields_are_masked_by_what_the_group_holds():
    """form-js nests a group's fields under its path (forms/applicant_info.form's ``address`` group)."""
    from engine.exports import mask_personal
    payload = {"data": {"address": {"district": "yuzhong", "street": "解放碑民族路188号3单元502室", "postcode": "400010"},
                        "applicant": {"name": "张三丰", "kind": "natural", "phone": "13800138000"},
                        "contact_address": {"detail": "江北区观音桥步行街8号"},
                        "materials": [{"name": "申请表", "key": "application_form"}]}}
    assert mask_personal(payload) == {"data": {
        "address": {"district": "yuzhon***", "street": "解放碑民族路***", "postcode": "***"},
        "applicant": {"name": "张**", "kind": "natural", "phone": "138****8000"},
        "contact_address": {"detail": "江北区观音桥***"},
        "materials": [{"name": "申请表", "key": "application_form"}]}}
