"""Personal ID numbers (居民身份证号): validate, mask, and keep them out of responses and logs.

The rule: an 18-character number shows its first 4 and last 4 characters (``5001**********1234``).
Only the roles that must compare the number with the person or the paper file see it in full:
``window_clerk`` (原件核验 at the counter) and ``auditor`` (checking the file); every other role sees the
masked form, and so do lists, logs and the CLI. Visibility of the case itself is decided before masking:
masking never makes a case visible, it only decides how much of a visible number is shown.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from .calendar import business_date
from .clock import SystemClock

FULL_ID_NUMBER_ROLES = frozenset({"window_clerk", "auditor"})
"""Roles that see full ID numbers in the cases they may see."""

ID_NUMBER_KEYS = frozenset({"id_number", "applicant_id_number", "agent_id_number"})
"""Data keys that always hold an ID number (any key ending in ``_id_number`` counts too)."""

_GLUED = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
"""Letters and digits, ASCII and full-width (全角), that a number in text must not be glued to."""

_SEP = frozenset(" \u00a0\u3000-\u2010\u2011\u2012\u2013\u2212\uff0d.\uff0e\u00b7\u30fb")
"""What people put between the groups of a number they write out: blanks (ASCII, no-break, full-width
全角空格), hyphens and dashes (``-``, ``－``, ``‐``, ``–``, ``−``) and dots (``.``, ``．``, ``·``, ``・``)."""
_GAP = f"[{''.join(re.escape(char) for char in sorted(_SEP))}]{{0,3}}"

_ID_FIRST, _ID_LAST, _DIGIT = "[1-9\uff11-\uff19]", "[0-9Xx\uff10-\uff19\uff38\uff58]", r"\d"


def _spelled(length: int, first: str, last: str, breaks: frozenset[int]) -> str:
    """A number of ``length`` characters that may have a gap of separators after each position in ``breaks``."""
    parts = []
    for position in range(1, length + 1):
        parts.append(first if position == 1 else last if position == length else _DIGIT)
        if position in breaks:
            parts.append(_GAP)
    return "".join(parts)


ID_NUMBER_IN_TEXT = re.compile(
    rf"(?<![{_GLUED}])(?:{_spelled(18, _ID_FIRST, _ID_LAST, frozenset({3, 6, 10, 12, 14}))}"
    rf"|{_spelled(15, _ID_FIRST, _DIGIT, frozenset({3, 6, 8, 10, 12}))})(?![{_GLUED}])")
"""An ID number inside free text, not glued to other letters or digits: the 18-character 居民身份证号, or the
first generation's 15 digits (6-digit region, ``YYMMDD``, 3-digit sequence, no check character).

Digits and the check character ``X`` may be typed full-width (``５００１…１２３Ｘ``, an input method's 全角 mode),
or mixed with ASCII ones: the number is the same to a reader, so it is masked all the same. Staff also write a
number in groups: ``500103 19900101 1232``, ``500103-19900101-1232``, ``500103 1990 0101 1232``, the date split
(``500103-1990-01-01-1232``) or ``500 103 …``; up to three separators (:data:`_SEP`) may stand at those
places. A 15-digit match is masked only when it reads as an old ID number (a province code, a real month
and day, see :func:`mask_text`), so other 15-digit numbers stay. The character classes are written out
rather than normalising the text (NFKC), so a match is found in one pass and masking keeps the text's other
characters and its length unchanged.
"""

MOBILE_IN_TEXT = re.compile(rf"(?<!\d)((?:[+\uff0b])?86{_GAP})?"                 # country code, kept
                            rf"([1\uff11][3-9\uff13-\uff19]\d)({_GAP})\d{{4}}({_GAP})(\d{{4}})(?!\d)")
"""A mainland mobile number (11 digits, ``1[3-9]…``) inside free text, not within a longer run of digits.

ASCII, full-width or mixed digits (``\\d`` is any decimal digit; the leading ``1[3-9]`` is spelled out in both
widths), with or without the country code (``+86``, ``86``) and written in groups of 3-4-4 with blanks,
hyphens or dots between them, half- or full-width (``138-0013-8000``, ``138 0013 8000``, ``138　0013　8000``,
``138－0013－8000``, ``138.0013.8000``; :data:`_SEP`). The prefix, the first three and last four digits and
the separators are kept.
"""

_SHAPE = re.compile(r"^\d{17}[0-9Xx]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

PROVINCE_CODES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                            50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82})
"""GB/T 2260 province-level codes: the first two digits of every 居民身份证号 (北京 11 … 澳门 82)."""
EARLIEST_BIRTH_YEAR = 1900
"""Birth years before this are refused: no living holder of an 18-digit number was born earlier."""

ID_SHAPE_FAULT = "应为 18 位（前 17 位数字，末位数字或 X）"
ID_REGION_FAULT = "行政区划代码不正确（前两位应为省级行政区划代码，11–82）"
ID_BIRTH_DATE_FAULT = "出生日期不正确（第 7–14 位不是有效的日期）"
ID_BIRTH_EARLY_FAULT = f"出生日期不正确（出生年份不能早于 {EARLIEST_BIRTH_YEAR} 年）"
ID_BIRTH_FUTURE_FAULT = "出生日期不正确（第 7–14 位的日期晚于今天）"
ID_CHECK_FAULT = "校验位不正确"


def id_number_check_char(first17: str) -> str:
    """Return the GB 11643 check character (``0``-``9`` or ``X``) for the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def id_number_fault(value: str, *, today: date | None = None) -> str | None:
    """Return what is wrong with an 18-character 居民身份证号 (GB 11643-1999), in Chinese, or None.

    Checked in this order, so the message names the part to correct rather than the check character a
    mistyped part also breaks: the shape (17 digits and a digit or ``X``), the region code (its first two
    digits a province of GB/T 2260), the birth date (digits 7-14: a real day, not before
    :data:`EARLIEST_BIRTH_YEAR` and not after ``today``), then the check character (ISO 7064 MOD 11-2). The
    message never repeats the number's digits (it may reach logs).

    Args:
        value: the number as typed (a trailing lower-case ``x`` is accepted).
        today: the business date births may not follow; the wall-clock date in China Standard Time when not
            given (callers with an injected clock pass its date).

    Returns:
        One of the ``ID_*_FAULT`` phrases, or None for a valid number.
    """
    if not isinstance(value, str) or not _SHAPE.match(value):
        return ID_SHAPE_FAULT
    if int(value[:2]) not in PROVINCE_CODES:
        return ID_REGION_FAULT
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return ID_BIRTH_DATE_FAULT
    if born.year < EARLIEST_BIRTH_YEAR:
        return ID_BIRTH_EARLY_FAULT
    if born > (today or _today()):
        return ID_BIRTH_FUTURE_FAULT
    if id_number_check_char(value[:17]) != value[17].upper():
        return ID_CHECK_FAULT
    return None


def is_valid_id_number(value: str, *, today: date | None = None) -> bool:
    """Return True when ``value`` is a valid 18-character ID number (see :func:`id_number_fault`)."""
    return id_number_fault(value, today=today) is None


def _today() -> date:
    return business_date(SystemClock().now())


def mask_id_number(value: Any) -> str:
    """Mask one ID number: keep the first 4 and last 4 characters, star the rest.

    Values too short to keep 8 characters are starred entirely; ``None`` becomes an empty string.
    """
    if value is None:
        return ""
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return f"{text[:4]}{'*' * (len(text) - 8)}{text[-4:]}"


def mask_text(text: str) -> str:
    """Mask every ID number that appears inside free text (titles, messages, notes).

    The first 4 and last 4 characters of the number are kept and the ones between starred, as
    :func:`mask_id_number` does; separators between groups stay where they were (``5001** ******** 1232``).
    """
    return ID_NUMBER_IN_TEXT.sub(_masked_in_text, text)


def _masked_in_text(match: re.Match[str]) -> str:
    found = match.group(0)
    places = [i for i, char in enumerate(found) if char not in _SEP]
    if len(places) == 15 and not _old_id_number([found[i] for i in places]):
        return found
    starred = set(places[4:-4])
    return "".join("*" if i in starred else char for i, char in enumerate(found))


def _old_id_number(chars: list[str]) -> bool:
    """Whether 15 digits read as a first-generation ID number: a province code, then ``YYMMDD`` of a real date."""
    digits = "".join(str(int(char)) for char in chars)     # full-width digits read as their values
    month, day = int(digits[8:10]), int(digits[10:12])
    return int(digits[:2]) in PROVINCE_CODES and 1 <= month <= 12 and 1 <= day <= 31


def mask_mobile_numbers(text: str) -> str:
    """Mask every mobile number inside free text: keep its first 3 and last 4 digits (``138****8000``).

    Full-width and mixed digits count as digits (see :data:`MOBILE_IN_TEXT`); the characters kept are the
    ones typed, so the text keeps its length. ID numbers are left to :func:`mask_text`.
    """
    return MOBILE_IN_TEXT.sub(r"\1\2\3****\4\5", text)


def is_id_number_key(key: Any) -> bool:
    """Return True for data keys that name an ID number (``id_number``, ``agent_id_number``, ...)."""
    return isinstance(key, str) and (key in ID_NUMBER_KEYS or key.endswith("_id_number"))


def mask_mapping(data: Any) -> Any:
    """Return a copy of ``data`` (mappings, lists, strings) with every ID number masked.

    Values under ID-number keys are masked whatever they look like; any other string is searched for
    18-character ID numbers. Other values are returned as they are.
    """
    if isinstance(data, dict):
        return {key: (mask_id_number(value) if is_id_number_key(key) and _scalar(value)
                      else mask_mapping(value)) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(mask_mapping(item) for item in data)
    if isinstance(data, str):
        return mask_text(data)
    return data


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def sees_full_id_numbers(roles: Iterable[str]) -> bool:
    """Return True when one of ``roles`` needs full ID numbers (see :data:`FULL_ID_NUMBER_ROLES`)."""
    return bool(FULL_ID_NUMBER_ROLES.intersection(roles))


def mask_for_roles(roles: Iterable[str], data: Any) -> Any:
    """Return ``data`` unchanged for roles that see full ID numbers, else :func:`mask_mapping` of it."""
    return data if sees_full_id_numbers(roles) else mask_mapping(data)


class IdNumberFilter(logging.Filter):
    """A logging filter that masks ID numbers in a record's message and exception text.

    Attach it to handlers (``logging.config`` can name it as ``engine.masking.IdNumberFilter``), or call
    :func:`install_log_masking` once to mask every record the process creates.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place with masked text; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - the handler reports a bad format string, with the arguments
            record.args = mask_mapping(record.args)
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking() -> None:
    """Mask ID numbers in every log record created from now on (idempotent).

    The record factory is wrapped rather than a handler filtered, so handlers configured later (by
    gunicorn, waitress or a deployment's logging config) are covered as well.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_id_numbers", False):
        return
    masking = IdNumberFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        masking.filter(record)
        return record

    factory.masks_id_numbers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
