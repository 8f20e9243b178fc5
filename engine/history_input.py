"""What a file from outside must be before anything reads it further: strict JSON, storable text, typed fields.

History files and archive packages reach an auditor by mail, so every byte is untrusted. Before the reader
of either builds anything from one, the text must be JSON with no duplicate key (``json.loads`` keeps the last
of two, so tongban would hash and replay one value while a person or another tool reads the other) and no
``NaN``/``Infinity`` (not JSON); no string or key may hold what no database stores (:mod:`engine.storable`: a
lone surrogate cannot even be hashed); and each field must have the type of the column it came from, so
a list where a case number belongs is refused as such instead of surfacing later as a Python exception.
tongban never writes any of these. What a refusal echoes from the file is bounded and escaped, and the places
it names count from 1 (:mod:`engine.file_echo`).
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import JSON, Boolean, Column, Date, Integer, String

from .file_echo import place, shown, within
from .persistence.types import UtcDateTime
from .storable import unstorable_in

MAX_HISTORY_BYTES = 256 * 1024 * 1024
"""The largest history file read (256 MiB); the golden histories (tests/data/histories) are near 100 KB each."""


class NotStrictJson(ValueError):
    """Text that ``json.loads`` would take but a file from outside may not hold (a duplicate key, NaN)."""


def strict_loads(text: str | bytes) -> Any:
    """Parse JSON refusing duplicate keys and ``NaN``/``Infinity``.

    Raises:
        NotStrictJson: the Chinese reason (``对象中有重复的键 "payload"``).
        ValueError, RecursionError: as :func:`json.loads` (not JSON, not UTF-8, nested too deep).
    """
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise NotStrictJson(f"对象中有重复的键 {shown(key)}")
            seen.add(key)
    return found


def _no_constant(name: str) -> Any:
    raise NotStrictJson(f"含有 {name}，这不是 JSON 的值")


def unstorable_problem(doc: Any) -> str | None:
    """Where ``doc`` holds a NUL or a lone surrogate, in Chinese (``在第 4 个事件的 actor 处含有…``), else None."""
    found = unstorable_in(doc)
    if found is None:
        return None
    what = "空字符（U+0000）" if found.reason == "nul" else "无效的 Unicode 字符（不成对的 UTF-16 代理项）"
    where = _at(place(found.path)) if found.path else ""
    return f"{where}含有{what}"


def _at(where: str) -> str:
    """``在 case.title 处``, ``在第 4 个事件的 actor 处``: spaced where Latin meets Chinese."""
    return f"在{'' if where.startswith('第') else ' '}{where}{'' if where.endswith(('项', '事件')) else ' '}处"


_KINDS: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (Boolean, (bool,), "true 或 false"),
    (Integer, (int,), "整数"),        # BigInteger and SmallInteger too
    (String, (str,), "文本"),          # Text too
    (Date, (str,), "日期文本（YYYY-MM-DD）"),
    (UtcDateTime, (str,), "带时区的时间文本（ISO 8601）"),
)


def typed(column: Column[Any], value: Any, where: str) -> Any:
    """``value`` when it has the JSON type of ``column`` (None where the column allows it), else TypeError.

    Days and instants stay text here (their reader parses them); a JSON column takes any value.

    Raises:
        TypeError: a Chinese message naming ``where`` (``case.case_no 应为文本``).
    """
    kind = column.type
    if value is None:
        if column.nullable:
            return None
        raise TypeError(f"{where} 不能为空")
    if isinstance(kind, JSON):
        return value
    for sql_type, python_types, words in _KINDS:
        if isinstance(kind, sql_type):
            # JSON true is a Python int: an integer column takes no true, a boolean one no 1.
            if isinstance(value, python_types) and (python_types == (bool,)) == isinstance(value, bool):
                return value
            raise TypeError(f"{where} 应为{words}，实际为 {_json_kind(value)}")
    return value


def typed_row(columns: Mapping[str, Column[Any]], row: Mapping[str, Any], part: str) -> None:
    """Check every field of ``row`` against the column of its name (see :func:`typed`).

    ``part`` is the row's place (:func:`engine.file_echo.place`): ``case`` names ``case.case_no``,
    ``seed.users 第 2 项`` names ``seed.users 第 2 项的 display_name``.
    """
    for key, value in row.items():
        typed(columns[key], value, within(part, key))


def _json_kind(value: Any) -> str:
    """How a JSON value's type is called in Chinese."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "数字"
    if isinstance(value, str):
        return "文本"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__
