"""Identity documents of applicants and agents: ID types, ID numbers and 统一社会信用代码, with check digits.

ID types use the codes of GA/T 2000.156 (证件类型代码) that GB/T 39046 表5 names for 申请者证件类型. A
居民身份证号 is checked with its GB 11643 check character; a 统一社会信用代码 (GB 32100-2015) with its mod-31
check character. Other documents are checked for shape only: their numbers carry no check character.

District codes (区县代码) have one rule here too, :data:`DISTRICT_CODE_PATTERN`, for every place that checks one
by its form (org files, catalogs, the inbox filter).
"""
from __future__ import annotations

import re
from datetime import date

from .masking import ID_SHAPE_FAULT, id_number_fault

RESIDENT_ID = "111"
ID_TYPES = {
    RESIDENT_ID: "居民身份证",
    "414": "普通护照",
    "516": "港澳居民来往内地通行证",
    "511": "台湾居民来往大陆通行证",
}
"""Accepted 证件类型代码 (GA/T 2000.156) and their names."""

_SHAPES = {
    "414": re.compile(r"^[A-Z0-9]{5,17}\Z"),
    "516": re.compile(r"^[HM]\d{8,10}\Z"),
    "511": re.compile(r"^\d{8}\Z"),
}
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a 统一社会信用代码 may use (no I, O, S, V, Z)."""
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_SHAPE = re.compile(rf"^[{CREDIT_CODE_CHARS}]{{18}}\Z")
PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})\Z")
"""A mainland mobile number (11 digits) or a landline with its area code."""

_CHONGQING = "50[0-9]{4}"
_COUNTY_SHAPE = "[0-9]{6}"
_INTERNAL = "CQ-[A-Z]{2,9}"    # at most 12 characters: the district columns' length
_END = "$(?!\\n)"
DISTRICT_CODE_PATTERN = f"^(?:{_CHONGQING}|{_INTERNAL}){_END}"
"""A district code: 重庆's GB/T 2260 codes (``500000`` the municipality, ``500103`` 渝中区) or a functional
zone's internal code (``CQ-LJXQ``). Python and ECMAScript read it alike: ASCII ``[0-9]``, never ``\\d`` (which
takes ``١`` or ``５`` in Python), and ``$(?!\\n)`` for the end, since Python's ``$`` also matches before a
trailing line break (``\\Z`` is no end anchor in ECMAScript). The org file admits only these, so every district
the organisation holds matches it."""
DISTRICT_CODE = re.compile(DISTRICT_CODE_PATTERN)
DISTRICT_CODE_SHAPE_PATTERN = f"^(?:{_COUNTY_SHAPE}|{_INTERNAL}){_END}"
"""A code that looks like a district code of any province (``510104``) or an internal one: where a request
names a district that must exist, a code of this shape outside 重庆 is answered ``UNKNOWN_DISTRICT`` (it does
not exist here), anything else is no district code at all (``INVALID_INPUT``)."""
DISTRICT_CODE_RULE = ("应为 50 开头的 6 位 GB/T 2260 代码（如 500103）"
                      "或 CQ- 加 2 到 10 个大写字母的功能区内部代码（如 CQ-LJXQ）")
"""The rule of :data:`DISTRICT_CODE` as people read it."""


def credit_code_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a 统一社会信用代码."""
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(value: str) -> bool:
    """Return True when ``value`` is an 18-character 统一社会信用代码 whose check character is right."""
    return bool(_CREDIT_SHAPE.match(value)) and credit_code_check_char(value[:17]) == value[17]


def id_number_problem(id_type: str, number: str, *, today: date | None = None) -> str | None:
    """Return why ``number`` is not a valid number of document type ``id_type`` (Chinese), or None.

    A 居民身份证号 is checked by :func:`engine.masking.id_number_fault` (shape, region code, birth date not
    after ``today``, check character); ``today`` defaults to the wall-clock date in China Standard Time.
    """
    if id_type not in ID_TYPES:
        return f"证件类型 {id_type!r} 不受支持，可选：{'、'.join(f'{k} {v}' for k, v in ID_TYPES.items())}"
    if id_type == RESIDENT_ID:
        fault = id_number_fault(number, today=today)
        if fault is None:
            return None
        return f"居民身份证号{fault}" if fault == ID_SHAPE_FAULT else f"居民身份证号{fault}，请核对"
    if not _SHAPES[id_type].match(number):
        return f"{ID_TYPES[id_type]}号码格式不正确"
    return None


def credit_code_problem(code: str) -> str | None:
    """Return why ``code`` is not a valid 统一社会信用代码 (Chinese), or None."""
    if not _CREDIT_SHAPE.match(code):
        return "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）"
    return None if is_valid_credit_code(code) else "统一社会信用代码校验位不正确，请核对"


def normalise_id_number(number: str) -> str:
    """Strip blanks and upper-case a trailing x, as clerks and applicants type them."""
    return re.sub(r"\s+", "", number).upper()


def district_code_problem(value: object, what: str = "区县代码") -> str | None:
    """Return why ``value`` is not a district code (:data:`DISTRICT_CODE`) in Chinese, or None when it is one.

    ``what`` names the value in the message (``上级区县代码``). Line breaks and direction controls in the value
    are shown as escapes, so the message stays on one line and reads as typed.
    """
    if isinstance(value, str) and DISTRICT_CODE.match(value):
        return None
    shown = re.sub(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", str(value))
    return f"{what} “{shown}” 无效，{DISTRICT_CODE_RULE}"
