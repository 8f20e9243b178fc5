"""Opaque page cursors: a small JSON document in URL-safe base64 without padding.

The inbox (:mod:`engine.inbox`) and the access log (:mod:`engine.access_log`) page by keyset; each puts in
the document what its pages continue (sort, direction, filters, the last row's key) and checks it when the
cursor comes back. This module only packs and unpacks, so both read and refuse cursors alike.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

from .errors import InvalidInput

INVALID = "分页游标无效"
EARLIEST_KEY = datetime(2000, 1, 1, tzinfo=timezone.utc)
"""No row holds a time before 2000: an earlier time in a cursor was edited by hand."""


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


def instant(value: Any, latest: datetime) -> datetime:
    """The time a cursor key holds, in UTC; ``ValueError`` unless it is an aware ISO 8601 time in range.

    An edited cursor must not reach the database with a time its columns cannot take: a naive time (the
    column type refuses it) or one near the ends of the calendar (converting it to UTC overflows). Only
    times from :data:`EARLIEST_KEY` to ``latest`` (the listing's largest key) are accepted.
    """
    if not isinstance(value, str):
        raise ValueError("a cursor time is ISO 8601 text")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a cursor time has an offset")
    try:
        utc = when.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("a cursor time outside the calendar") from None
    if not EARLIEST_KEY <= utc <= latest:
        raise ValueError("a cursor time outside the range of the listing")
    return utc
