"""ID and mobile numbers written in groups, with full-width separators, or as the old 15-digit ID are masked in
text; numbers of other shapes are left as they are (``engine.masking``)."""
from __future__ import annotations

import pytest

from engine.exports import mask_personal
from engine.masking import mask_mobile_numbers, mask_text


@pytest.mark.parametrize(("text", "masked"), [
    ("500103 19900101 1232", "5001** ******** 1232"),                    # 6-8-4 with blanks
    ("500103-19900101-1232", "5001**-********-1232"),                    # ... hyphens
    ("500103　19900101　1232", "5001**　********　1232"),                  # ... full-width blanks
    ("500103－19900101－1232", "5001**－********－1232"),                  # ... full-width hyphens
    ("500103.19900101.1232", "5001**.********.1232"),                    # ... dots
    ("500103 1990 0101 1232", "5001** **** **** 1232"),                  # 6-4-4-4
    ("500103-1990-01-01-1232", "5001**-****-**-**-1232"),                # the birth date split
    ("50010519950918441X", "5001**********441X"),                        # unsplit, as before
    ("500103900101123", "5001*******1123"),                              # the old 15 digits
    ("500103 900101 123", "5001** *****1 123"),                          # ... in groups (6-6-3)
    ("５００１０３９００１０１１２３", "５００１*******１１２３"),              # ... full-width
])
def test_an_id_number_in_any_common_spelling_keeps_its_first_four_and_last_four_digits(text, masked):
    assert mask_text(f"证号 {text}。") == f"证号 {masked}。"
    assert len(mask_text(text)) == len(text)


@pytest.mark.parametrize("text", [
    "999999999999999",            # 15 digits, no province code
    "500103901301123",            # 15 digits, month 13
    "500103900132123",            # 15 digits, day 32
    "6222 0212 3456 7890 123",    # a bank card in groups of four
    "2026-11-02 10:00",           # a date and time
    "TB202611230000001",          # a 办件编号
    "1500103199001011232",        # 19 digits
    "500103 19900101 1232a",      # glued to a letter
])
def test_other_numbers_are_not_taken_for_id_numbers(text):
    assert mask_text(text) == text


@pytest.mark.parametrize(("text", "masked"), [
    ("138　0013　8000", "138　****　8000"),
    ("138－0013－8000", "138－****－8000"),
    ("138.0013.8000", "138.****.8000"),
    ("138．0013．8000", "138．****．8000"),
    ("138 - 0013 - 8000", "138 - **** - 8000"),
    ("+86 138 0013 8000", "+86 138 **** 8000"),
    ("１３８　００１３　８０００", "１３８　****　８０００"),
])
def test_a_mobile_number_in_groups_with_any_separator_keeps_its_first_three_and_last_four_digits(text, masked):
    assert mask_mobile_numbers(f"电话 {text}，") == f"电话 {masked}，"


@pytest.mark.parametrize("text", ["023-6389-1234", "138.00", "1380.0138.000", "12.5 13.5", "座机 023-63891234"])
def test_other_numbers_are_not_taken_for_mobile_numbers(text):
    assert mask_mobile_numbers(text) == text


def test_exports_mask_grouped_and_old_numbers_in_payloads():
    payload = {"data": {"note": "证号 500103-19900101-1232，旧证 500103900101123，电话 138　0013　8000"}}
    assert mask_personal(payload) == {"data": {
        "note": "证号 5001**-********-1232，旧证 5001*******1123，电话 138　****　8000"}}
