r"""What a message echoes from a file from outside: bounded values, escaped characters, places counted from 1.

A refusal of a history file (or of a line of an archive package) names where the problem is and what it found,
and both come from the file, which anyone may have written. So every value echoed is :func:`shown`: at most
:data:`SHOWN_CHARS` characters of it, then ``…`` (a 10 MB ``format`` value is not put into a message), each
control, format or separator character written as an escape such as ``\u001b`` (a file cannot clear, recolour
or reorder the auditor's terminal). Every place is :func:`place`: positions counted from 1, as people count
(``第 4 个事件的 actor``, ``seed.users 第 2 项的 display_name``, ``payload.items 第 1 项的 name``).

Programs read codes and ``details``; the one position a history file's refusal gives them is ``details.line``
of a file that is not JSON: the line the message names, counted from 1 as well. No 0-based index path is
given out.
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any, Sequence

from .audit import canonical_json

SHOWN_CHARS = 40
"""How many characters of a value from a file a message echoes (then ``…``)."""
NOTHING = "（无）"
"""How a missing value (JSON null) is shown to people, never as Python's ``None``."""
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories echoed as escapes: controls (C0, DEL, C1), format characters (direction overrides,
zero-width ones), lone surrogates and the line and paragraph separators."""


def clipped(value: Any) -> str:
    r"""``value`` as bounded, escaped text: its first :data:`SHOWN_CHARS` characters, and ``…`` when longer.

    Text is taken as it is, an instant or a day as ISO 8601, anything else as canonical JSON. Each control,
    format or separator character becomes ``\uXXXX`` (``\UXXXXXXXX`` beyond the BMP), so the result is one
    printable line whatever the file held.
    """
    if isinstance(value, (datetime, date)):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        try:
            text = canonical_json(value)
        except (TypeError, ValueError, RecursionError):
            text = type(value).__name__
    head = "".join(_escape(c) for c in text[:SHOWN_CHARS])
    return head + "…" if len(text) > SHOWN_CHARS else head


def shown(value: Any) -> str:
    """``value`` as a message echoes it: text in double quotes, nothing as （无）, anything else :func:`clipped`."""
    if value is None:
        return NOTHING
    return f'"{clipped(value)}"' if isinstance(value, str) else clipped(value)


def _escape(char: str) -> str:
    if unicodedata.category(char) not in _ESCAPED:
        return char
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def place(path: Sequence[str | int]) -> str:
    """Where ``path`` (its keys and list indices) is in a document, in words for people, counting from 1.

    An event is ``第 N 个事件`` (``("events", 3, "actor")``: ``第 4 个事件的 actor``), any other item of a list
    ``第 N 项`` (``("seed", "users", 1, "name")``: ``seed.users 第 2 项的 name``; not ``行``, which messages
    keep for a line of the file). Keys are :func:`clipped`.
    """
    words, after_index = "", False
    for at, part in enumerate(path):
        if isinstance(part, int) and not isinstance(part, bool):
            words = f"第 {part + 1} 个事件" if at == 1 and path[0] == "events" else f"{words} 第 {part + 1} 项"
            after_index = True
            continue
        key = clipped(str(part))
        words = f"{words}的 {key}" if after_index else (f"{words}.{key}" if words else key)
        after_index = False
    return words.strip()


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character :func:`clipped` escapes (a control, format or separator character)."""
    return any(unicodedata.category(c) in _ESCAPED for c in text)


def within(part: str, key: str) -> str:
    """The place of field ``key`` in ``part`` (a place from :func:`place`): ``case.title``, ``第 3 个事件的 seq``."""
    key = clipped(key)
    return f"{part}的 {key}" if part.endswith(("事件", "项")) else f"{part}.{key}"
