"""A parser's own words (lxml, SpiffWorkflow, Python, json, PyYAML, re) as the detail of a Chinese sentence.

Findings and rejections say in Chinese what is wrong; the parser's English message stays only inside the
closing parentheses, tidied and shortened, for whoever needs to look it up:
``文件 a.bpmn 的 XML 格式错误，无法解析（第 1 行第 1 列；解析器：Start tag expected, '<' not found）``.

Files people hand the command line to check (history files, archive packages) are told about in Chinese
only, as their readers are auditors rather than developers: :func:`json_problem` says why bytes are not
JSON (``不是有效的 JSON（第 8 行第 247 列：字符串缺少结束的引号）``) and :func:`file_problem` why a file
cannot be read or written (``文件不存在``), without Python's English (``[Errno 2] No such file or directory``).
"""
from __future__ import annotations

import errno
import json
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


_JSON_WORDS = {
    "Expecting value": "此处应有一个值",
    "Unterminated string starting at": "字符串缺少结束的引号",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting property name enclosed in double quotes": "键名应写在双引号中",
    "Extra data": "JSON 结束后还有多余的内容",
    "Invalid control character at": "字符串中有控制字符",
    "Invalid \\escape": "无效的转义序列",
    "Invalid \\uXXXX escape": "无效的 \\u 转义序列",
}
"""The json module's messages (``JSONDecodeError.msg``) in Chinese."""


def json_problem(exc: BaseException) -> str:
    """Return why text is not JSON, in Chinese only: a predicate to follow the file or entry it is about.

    Args:
        exc: what ``bytes.decode``/``json.loads`` raised: :class:`UnicodeDecodeError`,
            :class:`json.JSONDecodeError`, :class:`RecursionError` (nested too deep) or another
            :class:`ValueError` (an integer past ``sys.get_int_max_str_digits()``).

    Returns:
        ``不是 UTF-8 编码的文本（第 N 个字节）`` or ``不是有效的 JSON（第 L 行第 C 列：缺少逗号）``; the json
        module's English is translated where known and otherwise left out.
    """
    if isinstance(exc, UnicodeDecodeError):
        return f"不是 UTF-8 编码的文本（第 {exc.start + 1} 个字节）"
    if isinstance(exc, json.JSONDecodeError):
        said = _JSON_WORDS.get(exc.msg)
        return f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列{'：' + said if said else ''}）"
    if isinstance(exc, RecursionError):
        return "不是有效的 JSON（嵌套过深）"
    return "不是有效的 JSON（整数位数过多）"


_FILE_ERRNOS = {errno.ENOSPC: "磁盘空间不足", errno.EROFS: "文件系统为只读", errno.ENAMETOOLONG: "文件名过长",
                errno.ELOOP: "路径中的符号链接过多"}


def file_problem(exc: OSError, *, writing: bool = False) -> str:
    """Return why a file could not be read (or written), in Chinese, without Python's English.

    Args:
        exc: the :class:`OSError` that ``open``/``read_text``/``write_text`` raised.
        writing: the file was being written (``没有写入权限`` rather than ``没有读取权限``).

    Returns:
        ``文件不存在``, ``是文件夹，不是文件``, ``没有读取权限`` … or, for a rarer error, its number.
    """
    if isinstance(exc, FileNotFoundError):
        return "所在文件夹不存在" if writing else "文件不存在"
    if isinstance(exc, IsADirectoryError):
        return "是文件夹，不是文件"
    if isinstance(exc, NotADirectoryError):
        return "路径中的某一级不是文件夹"
    if isinstance(exc, PermissionError):
        return "没有写入权限" if writing else "没有读取权限"
    if exc.errno in _FILE_ERRNOS:
        return _FILE_ERRNOS[exc.errno]
    action = "写入" if writing else "读取"
    return f"操作系统拒绝{action}（错误号 {exc.errno}）" if exc.errno else f"无法{action}"
