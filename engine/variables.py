"""Checks for process variables that do not come through a form (start data, tasks without a form)."""
from __future__ import annotations

import json
import re
import sys
from typing import Any, Mapping

from .errors import InvalidInput
from .storable import unstorable_in, visible_text

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\Z")
MAX_BYTES = 256 * 1024
MAX_DEPTH = 20   # lists and objects inside a variable's value
_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_INT_LIMIT = 10 ** _INT_DIGITS


def check_variables(data: Any, *, what: str = "数据") -> dict[str, Any]:
    """Return ``data`` as a dict of JSON-native values, or raise InvalidInput naming every bad key.

    Text anywhere in a value (and the keys of its objects) must be storable (:mod:`engine.storable`).
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(f"{what}应为 JSON 对象")
    problems: dict[str, list[str]] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not _NAME.match(key):
            problems[str(key)] = ["变量名应以字母开头，只含字母、数字和下划线，最长 64 个字符"]
        elif nested_deeper_than(value, MAX_DEPTH):
            problems[key] = [f"列表和对象的嵌套不能超过 {MAX_DEPTH} 层"]
        elif not _json_native(value):
            problems[key] = [f"取值只能是字符串、数字（整数至多 {_INT_DIGITS} 位）、布尔、null、列表或对象"]
        elif (found := unstorable_in({key: value})) is not None:
            # PostgreSQL stores no NUL; a lone surrogate cannot even be hashed into the audit trail.
            problems[key] = [f"取值{found.message}" if len(found.path) == 1
                             else f"{visible_text(found.where)} 处{found.message}"]
    if problems:
        raise InvalidInput(f"{what}有误：{len(problems)} 个字段不符合要求", details={"fields": problems})
    size = len(json.dumps(data, ensure_ascii=False))
    if size > MAX_BYTES:
        raise InvalidInput(f"{what}过大（{size} 字节，上限 {MAX_BYTES} 字节）")
    return dict(data)


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` deep (iteratively: it never recurses)."""
    stack = [(value, 0)]   # iterative: a value nested thousands deep must not recurse
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _json_native(value: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):   # JSON writes and reads no longer integer (Python's own limit, as the API's)
        return -_INT_LIMIT < value < _INT_LIMIT
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(_json_native(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_native(v, depth + 1) for k, v in value.items())
    return False
