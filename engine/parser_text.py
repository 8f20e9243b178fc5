"""A parser's own words (lxml, SpiffWorkflow, Python, json, PyYAML, re) as the detail of a Chinese sentence.

Findings and rejections say in Chinese what is wrong; the parser's English message stays only inside the
closing parentheses, tidied and shortened, for whoever needs to look it up:
``文件 a.bpmn 的 XML 格式错误，无法解析（第 1 行第 1 列；解析器：Start tag expected, '<' not found）``.
"""
from __future__ import annotations

import re

MAX_CHARS = 240
_BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_LXML_TAIL = re.compile(r"(, line \d+, column \d+)?( \(<string>, line \d+\))?$")


def tidy(text: object) -> str:
    """Return a parser message on one line: no position suffix, ``bpmn:`` for the BPMN namespace, shortened.

    Args:
        text: the message, or the exception carrying it.

    Returns:
        The message without lxml's ``, line 1, column 1 (<string>, line 1)`` tail, SpiffWorkflow's trailing
        ``". "`` or whitespace runs, cut to :data:`MAX_CHARS` characters with an ellipsis.
    """
    raw = text.args[0] if isinstance(text, BaseException) and text.args else text
    notes = getattr(text, "notes", None) or []   # SpiffWorkflow keeps its notes apart from the message
    one_line = " ".join(" ".join(str(part) for part in (raw, *notes)).split())
    one_line = _LXML_TAIL.sub("", one_line.replace(_BPMN_NS, "bpmn:")).rstrip(" .")
    return one_line if len(one_line) <= MAX_CHARS else one_line[:MAX_CHARS - 1] + "…"


def detail(text: object, *, line: int | None = None, column: int | None = None, at: str = "") -> str:
    """Return the parenthesised detail ``（第 L 行第 C 列；解析器：…）`` to end a Chinese sentence with.

    Args:
        text: the parser's message or exception (see :func:`tidy`).
        line: the 1-based line it points at, if known.
        column: the 1-based column, if known (ignored without a line).
        at: the position in other words (``第 3 个字符``), used when there is no line.

    Returns:
        The detail in full-width parentheses.
    """
    where = f"第 {line} 行" + (f"第 {column} 列" if column else "") if line else at
    said = tidy(text)
    parts = [part for part in (where, f"解析器：{said}" if said else "") if part]
    return f"（{'；'.join(parts)}）" if parts else ""
