"""Reading the YAML files designers keep next to the diagrams (matter catalog, 一件事 bundle, scenarios).

:func:`load_yaml` turns one file into nodes that remember their line (refusing oversize, non-UTF-8, malformed
YAML, alias bombs, values PyYAML cannot build, and hidden bidirectional controls), and ``_Checker`` collects
the problems found in its fields, each with file and line, until ``_raise`` refuses the whole file at once.
:mod:`engine.catalog`, :mod:`engine.bundle` and :mod:`engine.scenario` build on these (they import them from
:mod:`engine.catalog`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

import yaml

from .catalog_entry import UNITS, Limit
from .definitions import Finding
from .errors import DefinitionRejected
from .parser_text import detail
from .storable import unstorable
from .text_input import BIDI_CONTROLS, BIDI_WHAT, bidi_lines

MAX_CATALOG_BYTES = 1_000_000
MAX_LIMIT_DAYS = 3650
MAX_NODES = 100_000


def yaml_file_named(name: str, stem: str) -> bool:
    """Whether ``name`` (any folder) is ``<stem>.yaml`` or ``*.<stem>.yaml`` (or ``.yml``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base in (f"{stem}.yaml", f"{stem}.yml") or base.endswith((f".{stem}.yaml", f".{stem}.yml"))


@dataclass
class _Node:
    """A YAML value with the line it starts on (1-based)."""

    value: Any
    line: int


def load_yaml(name: str, data: bytes) -> _Node:
    """Read a YAML file of ours (catalog, bundle) into line-aware nodes; refuse oversize, non-UTF-8, bad YAML."""
    if len(data) > MAX_CATALOG_BYTES:
        raise DefinitionRejected(f"{name} 超过 {MAX_CATALOG_BYTES // 1000} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DefinitionRejected(f"{name} 不是 UTF-8 文本") from None
    hidden = bidi_lines(text)
    if not hidden:
        root = _compose(text, name)
        _refuse_unstorable(root, name)
        # An escape in a quoted scalar ("\u202e") holds no control in the text, only in the value it reads as.
        hidden = sorted(set(_bidi_value_lines(root)))
        if not hidden:
            return root
    # A matter or bundle name shown reversed at every window (Trojan Source), as BPMN and forms refuse.
    raise DefinitionRejected(f"{name} 第 {hidden[0]} 行：{BIDI_WHAT}", details={"findings": [
        Finding("TB_CATALOG_BIDI_TEXT", BIDI_WHAT, None, line=line, file=name).to_dict() for line in hidden]})


def _bidi_value_lines(node: _Node | None) -> Iterator[int]:
    """The lines of the keys and text values holding a bidirectional control, walking the composed nodes."""
    return (line for line, text in _texts(node) if BIDI_CONTROLS.search(text))


def _refuse_unstorable(node: _Node | None, name: str) -> None:
    r"""Refuse keys and text values no database stores (a quoted ``"\0"`` or ``"\ud800"``), each at its line.

    PyYAML's reader refuses such characters written raw (see :func:`_compose`), not when a double-quoted
    scalar spells them as escapes; PostgreSQL would then refuse the NUL, and a lone surrogate fails hashing.
    """
    found = [(line, f"文字{bad.message}") for line, text in _texts(node) if (bad := unstorable(text)) is not None]
    if found:
        line, message = min(found)
        raise DefinitionRejected(f"{name} 第 {line} 行：{message}", details={"findings": [
            Finding("TB_CATALOG_UNSTORABLE_TEXT", message, None, line=line, file=name).to_dict()
            for line, message in sorted(found)]})


def _texts(node: _Node | None) -> Iterator[tuple[int, str]]:
    """Every key and text value of the composed nodes, with its line (a key at its value's line)."""
    todo = [node] if node is not None else []
    while todo:
        current = todo.pop()
        value = current.value
        if isinstance(value, str):
            yield current.line, value
        elif isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, str):
                    yield child.line, key
                todo.append(child)
        elif isinstance(value, list):
            todo.extend(value)


def _compose(text: str, name: str) -> _Node:
    try:
        # The reader refuses NUL and the other control characters but tab, LF and CR as it is built.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:   # reading a str, ``character`` is the code point
        raise _yaml_error(name, f"含有不允许的控制字符 U+{exc.character:04X}，",
                          f"unacceptable character #x{exc.character:04x}: {exc.reason}",
                          text.count("\n", 0, exc.position) + 1) from None
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _yaml_error(name, "", getattr(exc, "problem", None) or exc,
                          mark.line + 1 if mark is not None else 0) from None
    except RecursionError:   # PyYAML composes nested collections recursively: "[[[[...]]]]" runs out of stack
        loader.dispose()
        raise DefinitionRejected(f"{name}：YAML 嵌套过深，无法解析", details={"findings": [
            Finding("TB_CATALOG_YAML", "YAML 嵌套过深，无法解析", None, file=name).to_dict()]}) from None
    budget = [MAX_NODES]
    try:
        return _convert(root, loader, budget) if root is not None else _Node(None, 1)
    except _BadValue as exc:
        raise DefinitionRejected(f"{name} 第 {exc.line} 行：{exc.message}", details={"findings": [
            Finding("TB_CATALOG_FIELD", exc.message, None, line=exc.line, file=name).to_dict()]}) from None
    except RecursionError:
        budget[0] = -1
    finally:
        loader.dispose()
    raise DefinitionRejected(f"{name}：内容过于庞大或嵌套过深（超过 {MAX_NODES} 个值，可能是 YAML 别名展开）")


def _yaml_error(name: str, why: str, said: object, line: int) -> DefinitionRejected:
    """The refusal of a file PyYAML cannot read: a ``TB_CATALOG_YAML`` finding at ``line`` (0: unknown)."""
    return DefinitionRejected(f"{name} 第 {line} 行：YAML 格式错误", details={"findings": [
        Finding("TB_CATALOG_YAML", f"YAML 格式错误，{why}无法解析" + detail(said, line=line or None), None,
                line=line, file=name).to_dict()]})


class _BadValue(Exception):
    """A well-formed YAML value that cannot be read (``2026-02-30``, ``!!int abc``, a list as a key)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def _convert(node: yaml.Node, loader: yaml.SafeLoader, budget: list[int]) -> _Node:
    """Turn a composed YAML node into values that remember their line; aliases count each time they expand."""
    budget[0] -= 1
    if budget[0] < 0:
        raise RecursionError
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, loader)
            try:
                hash(key)
            except TypeError:
                raise _BadValue(key_node.start_mark.line + 1, "键应为文字或数字，不能是列表或映射") from None
            out[key] = _convert(value_node, loader, budget)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(item, loader, budget) for item in node.value], line)
    return _Node(_construct(node, loader), line)


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """Build one value; a value PyYAML recognises but cannot build is refused with its line, not a traceback."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise _BadValue(node.start_mark.line + 1, f"不支持的 YAML 标签 {node.tag}" + detail(exc.problem)) from None
    except (ValueError, TypeError, OverflowError) as exc:   # e.g. datetime.date(2026, 2, 30)
        text = node.value if isinstance(node, yaml.ScalarNode) else ""
        what = "日期或时间" if node.tag.endswith(":timestamp") else f" {node.tag.rsplit(':', 1)[-1]} 值"
        raise _BadValue(node.start_mark.line + 1, f"{text!r} 不是有效的{what}；若是文字请加引号"
                        + detail(exc)) from None


class _Checker:
    """Collects findings for one file, each with its line."""

    def __init__(self, name: str):
        self.name = name
        self.findings: list[Finding] = []

    def fail(self, code: str, message: str, line: int, element: str | None = None) -> None:
        self.findings.append(Finding(code, message, element, line=line, file=self.name))

    def text(self, entry: dict[str, _Node], key: str, line: int, *, required: bool = True,
             pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        node = entry.get(key)
        if node is None or node.value is None or node.value == "":
            if required:
                self.fail("TB_CATALOG_FIELD", f"缺少 {key}（{what}）", line)
            return None
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail("TB_CATALOG_FIELD", f"{key}（{what}）应为文字", node.line)
            return None
        value = value.strip()
        if pattern is not None and not pattern.match(value):
            self.fail("TB_CATALOG_FIELD", f"{key}（{what}）取值 {value!r} 格式不正确", node.line)
            return None
        return value

    def flag(self, entry: dict[str, _Node], key: str, default: bool) -> bool:
        node = entry.get(key)
        if node is None or node.value is None:
            return default
        if not isinstance(node.value, bool):
            self.fail("TB_CATALOG_FIELD", f"{key} 应为 true 或 false", node.line)
            return default
        return node.value

    def limit(self, node: _Node | None, key: str, what: str, line: int) -> Limit | None:
        if node is None:
            self.fail("TB_CATALOG_FIELD", f"缺少 {key}（{what}）", line)
            return None
        value = node.value
        if not isinstance(value, dict) or set(value) - {"amount", "unit"} or "amount" not in value:
            self.fail("TB_CATALOG_LIMIT", f"{key}（{what}）应写成 {{amount: 天数, unit: workday|day}}", node.line)
            return None
        amount, unit = value["amount"].value, value.get("unit", _Node("workday", node.line)).value
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_LIMIT_DAYS:
            self.fail("TB_CATALOG_LIMIT", f"{key}（{what}）天数 {amount!r} 无效：应为 0 至 {MAX_LIMIT_DAYS} 的整数",
                      value["amount"].line)
            return None
        if unit not in UNITS:
            self.fail("TB_CATALOG_LIMIT", f"{key}（{what}）单位 {unit!r} 无效：应为 workday（工作日）或 day（自然日）",
                      node.line)
            return None
        return Limit(amount, unit)


def _raise(check: _Checker) -> None:
    if check.findings:
        first = check.findings[0]
        raise DefinitionRejected(f"{check.name} 第 {first.line} 行：{first.message}"
                                 + (f"（另有 {len(check.findings) - 1} 处问题）" if len(check.findings) > 1 else ""),
                                 details={"findings": [f.to_dict() for f in check.findings]})
