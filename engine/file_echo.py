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

import json
import unicodedata
from datetime import date, datetime
from typing import Any, Iterator, Sequence

from .audit import canonical_json

SHOWN_CHARS = 40
"""How many characters of a value from a file a message echoes (then ``…``)."""
NOTHING = "（无）"
"""How a missing value (JSON null) is shown to people, never as Python's ``None``."""
SHOWN_ITEMS = 30
"""How many entries of an object or items of a list :func:`shown_json` shows (then how many more there are)."""
SHOWN_JSON_CHARS = 2000
"""How many characters :func:`shown_json` writes at most in all (then ``…``)."""
_SHOWN_DEPTH = 20
"""How deep :func:`shown_json` follows nested objects and lists (deeper ones are ``…``)."""
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Unicode categories echoed as escapes: controls (C0, DEL, C1), format characters (direction overrides,
zero-width ones), lone surrogates and the line and paragraph separators."""


def clipped(value: Any, limit: int = SHOWN_CHARS) -> str:
    r"""``value`` as bounded, escaped text: its first ``limit`` characters (:data:`SHOWN_CHARS`), ``…`` when longer.

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
    head = "".join(_escape(c) for c in text[:limit])
    return head + "…" if len(text) > limit else head


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


def shown_json(value: Any, limit: int = SHOWN_CHARS) -> str:
    r"""``value`` (a document from a file, or made from one) as one bounded line of JSON for people.

    Keys are sorted; each text (key or value) and each number is cut after ``limit`` characters (``…`` inside
    the quotes); an object or a list shows its first :data:`SHOWN_ITEMS` entries and then ``…（另有 N 项）``;
    the whole line stops after :data:`SHOWN_JSON_CHARS` characters with ``…``. Every control, format or separator
    character in a text is a JSON escape (``\u001b``, ``\u202e``; C1 and direction controls too, which
    ``json.dumps`` leaves as they are), so the line cannot clear, recolour or reorder the terminal.
    """
    written: list[str] = []
    size = 0
    for piece in _json_pieces(value, limit, 0):
        written.append(piece)
        size += len(piece)
        if size > SHOWN_JSON_CHARS:
            return "".join(written)[:SHOWN_JSON_CHARS] + "…"
    return "".join(written)


def _json_pieces(value: Any, limit: int, depth: int) -> Iterator[str]:
    if isinstance(value, (dict, list, tuple)) and depth >= _SHOWN_DEPTH:
        yield "…"
    elif isinstance(value, dict):
        yield "{"
        entries = sorted(value.items(), key=lambda entry: str(entry[0]))
        for at, (key, item) in enumerate(entries[:SHOWN_ITEMS]):
            yield f"{', ' if at else ''}{_json_text(str(key), limit)}: "
            yield from _json_pieces(item, limit, depth + 1)
        yield _more(len(entries)) + "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for at, item in enumerate(value[:SHOWN_ITEMS]):
            yield ", " if at else ""
            yield from _json_pieces(item, limit, depth + 1)
        yield _more(len(value)) + "]"
    elif isinstance(value, str):
        yield _json_text(value, limit)
    elif isinstance(value, (datetime, date)):
        yield _json_text(value.isoformat(), limit)
    elif value is None or isinstance(value, (bool, int, float)):
        yield clipped(json.dumps(value), limit)
    else:
        yield _json_text(type(value).__name__, limit)


def _more(count: int) -> str:
    return f", …（另有 {count - SHOWN_ITEMS} 项）" if count > SHOWN_ITEMS else ""


def _json_text(text: str, limit: int) -> str:
    """``text`` as a JSON string of at most ``limit`` characters, every escaped character a JSON escape."""
    quoted = json.dumps(text[:limit], ensure_ascii=False)
    escaped = "".join(_json_escape(c) for c in quoted)
    return escaped[:-1] + '…"' if len(text) > limit else escaped


def _json_escape(char: str) -> str:
    if unicodedata.category(char) not in _ESCAPED:
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
