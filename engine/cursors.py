"""Opaque page cursors: a small JSON document in URL-safe base64 without padding.

The inbox (:mod:`engine.inbox`) and the access log (:mod:`engine.access_log`) page by keyset; each puts in
the document what its pages continue (sort, direction, filters, the last row's key) and checks it when the
cursor comes back. This module only packs and unpacks, so both read and refuse cursors alike.
"""
from __future__ import annotations

import base64
import json
from typing import Any

from .errors import InvalidInput

INVALID = "分页游标无效"


def pack(doc: dict[str, Any]) -> str:
    """The opaque, URL-safe cursor for ``doc``."""
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(cursor: str) -> dict[str, Any]:
    """The document in ``cursor``; INVALID_INPUT when it is not one :func:`pack` could have made."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):   # bad base64 (binascii.Error), bad UTF-8 and bad JSON are ValueErrors
        raise InvalidInput(INVALID) from None
    if not isinstance(doc, dict):
        raise InvalidInput(INVALID)
    return doc
