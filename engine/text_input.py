"""Text people must write (a reason, an opinion): what counts as written, and the one refusal when it is not.

The law asks for reasons in writing (延长、补正、转办、退回、督办意见). A text of spaces, of the ideographic space
U+3000, or of invisible format characters (zero-width space U+200B, the byte-order mark U+FEFF, direction marks
and overrides) shows nothing to the person who reads it later, so it is no reason.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from .errors import InvalidInput


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
