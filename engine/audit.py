"""The append-only audit log's hash chain: pure hashing, no I/O.

Each event's hash covers the previous event's hash and the event's canonical JSON, so editing, inserting or
deleting any event (except a tail cut, which the per-district chain heads of the audit issue detect) breaks
every later link. The same function verifies a chain from the database or from an offline archive.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64
"""The ``prev_hash`` of a case's first event."""


def canonical_json(value: Any) -> str:
    """Serialize ``value`` deterministically: sorted keys, no whitespace, UTF-8 text kept as is."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _instant(value)
    raise TypeError(f"{type(value).__name__} is not allowed in an audit event")


def _instant(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ChainedEvent:
    """The fields of one audit event that the hash covers, plus the two hashes."""

    case_no: str
    seq: int
    event_type: str
    occurred_at: datetime
    actor: str | None
    element_id: str | None
    task_id: int | None
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


def event_hash(prev_hash: str, *, case_no: str, seq: int, event_type: str, occurred_at: datetime,
               actor: str | None, element_id: str | None, task_id: int | None, payload: Mapping[str, Any]) -> str:
    """Return the sha256 hex digest linking this event to ``prev_hash``."""
    body = canonical_json({
        "case_no": case_no, "seq": seq, "type": event_type, "at": _instant(occurred_at), "actor": actor,
        "element_id": element_id, "task_id": task_id, "payload": payload,
    })
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """Result of verifying one case's chain.

    Attributes:
        ok: True when every link holds.
        checked: number of events examined.
        broken_seq: sequence number of the first event that does not verify, when not ok.
        reason: what is wrong there (English, for operators), when not ok.
    """

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(events: Iterable[ChainedEvent], *, expected_head: str | None = None) -> ChainCheck:
    """Check seq continuity, each prev_hash link and each recomputed hash; optionally the final head."""
    prev, count, expected_seq = GENESIS, 0, 1
    for event in events:
        count += 1
        if event.seq != expected_seq:
            return ChainCheck(False, count, event.seq, f"expected seq {expected_seq}, found {event.seq}")
        if event.prev_hash != prev:
            return ChainCheck(False, count, event.seq, "prev_hash does not match the previous event")
        recomputed = event_hash(prev, case_no=event.case_no, seq=event.seq, event_type=event.event_type,
                                occurred_at=event.occurred_at, actor=event.actor, element_id=event.element_id,
                                task_id=event.task_id, payload=event.payload)
        if recomputed != event.hash:
            return ChainCheck(False, count, event.seq, "content does not match its hash")
        prev, expected_seq = event.hash, expected_seq + 1
    if expected_head is not None and prev != expected_head:
        return ChainCheck(False, count, expected_seq, "chain head differs from the case's recorded head")
    return ChainCheck(True, count)
