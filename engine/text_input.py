"""Text people must write (a reason, an opinion): what counts as written, and the one refusal when it is not.

The law asks for reasons in writing (延长、补正、转办、退回、督办意见). A text of spaces, of the ideographic space
U+3000, or of invisible format characters (zero-width space U+200B, the byte-order mark U+FEFF, direction marks
and overrides) shows nothing to the person who reads it later, so it is no reason.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import InvalidInput


BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).

They make text display in another order than it is stored ("Trojan Source"): a name or reason holding one
reads differently on a page, in an export and in the audit trail. Chinese and Latin text never needs them;
the implicit marks U+200E/U+200F are not among them.
"""
BIDI_WHAT = "含有改变文字显示方向的控制字符（U+202A–U+202E、U+2066–U+2069），显示的内容会与实际保存的不同"


def bidi_lines(text: str) -> list[int]:
    """The 1-based numbers of the lines of ``text`` holding a bidirectional control (see BIDI_CONTROLS)."""
    if not BIDI_CONTROLS.search(text):
        return []
    return [n for n, line in enumerate(text.splitlines(), 1) if BIDI_CONTROLS.search(line)]


def written(text: Any) -> str:
    """Return ``text`` stripped, or "" when nothing visible is left (or it is not text at all)."""
    if not isinstance(text, str):
        return ""
    stripped = text.strip()
    return stripped if any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in stripped) else ""


def require_written(text: Any, field: str, message: str, *, limit: int | None = None) -> str:
    """Return the stripped text, or refuse it as blank (or longer than ``limit``).

    Raises:
        InvalidInput: ``message`` for a blank text, a length message past ``limit``; either with
            ``details.fields.<field>`` a list of one Chinese word, as the API's own field errors are.
    """
    found = written(text)
    if not found:
        raise InvalidInput(message, details={"fields": {field: ["必填项"]}})
    if limit is not None and len(found) > limit:
        raise InvalidInput(f"不能超过 {limit} 字", details={"fields": {field: [f"最多 {limit} 字"]}})
    return found
