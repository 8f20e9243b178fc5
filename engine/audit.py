"""The append-only audit log's hash chain: pure hashing, no I/O.

Each event's hash covers the previous event's hash and the event's canonical JSON, so editing, inserting or
deleting any event (except a tail cut, which the per-district chain heads of the audit issue detect) breaks
every later link. The same function verifies a chain from the database or from an offline archive.
"""
from __future__ import annotations

import json
from hashlib import sha256
from operator import attrgetter
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64
"""The ``prev_hash`` of a case's first event."""
STATE_DIGEST = "state_sha256"
"""Payload key of the last event a command writes with a new workflow snapshot: the snapshot's sha256.

The snapshot (``cases.workflow_state``) is what the case runs on next, yet it is not an event: this key puts
its digest on the chain, so that verification finds a snapshot edited outside the engine.
"""
CALENDAR_GENERATION = "calendar_generation"
"""Payload key of the first event a command writes to a case: the calendar generation it counted days with.

A generation is a number of calendar loads (:mod:`engine.persistence.calendar_generation`); replay seeds the
command with the calendar as it stood after that many loads, so it counts with the schedule the command did,
whatever the hosts' clocks said or however the command and an import overlapped. On the chain, so an edited
generation is found by verification, not taken for a replay difference.
"""


def state_digest(snapshot: str) -> str:
    """The sha256 hex digest of a workflow snapshot as stored (its UTF-8 text)."""
    return sha256(snapshot.encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Serialize ``value`` deterministically: sorted keys, no whitespace, UTF-8 text kept as is."""
    return _ENCODER.encode(value)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _instant(value)
    raise TypeError(f"{type(value).__name__} is not allowed in an audit event")


# What json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default) builds
# on every call, built once: verifying a million events spent a fifth of its time constructing encoders.
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default)


def _instant(value: datetime) -> str:
    # The same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ") for years 1000-9999, at a third of the cost.
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"     # without "+00:00"


@dataclass(frozen=True)
class AuditEvent:
    """The fields of one audit event that every reader of the log sees, in this order.

    Each is the ``case_events`` column of the same name. :class:`engine.replay_results.RecordedEvent`,
    :class:`engine.case_history.StoredEvent` and :class:`ChainedEvent` extend it, keeping these fields in this
    order (the first two build from a row of :func:`engine.case_history.event_columns`).
    """

    seq: int
    event_type: str
    occurred_at: datetime
    actor: str | None
    element_id: str | None
    task_id: int | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class _OfCase:
    case_no: str
    """The case's 办件编号: the hash covers it, though no ``case_events`` column holds it."""


@dataclass(frozen=True)
class ChainedEvent(AuditEvent, _OfCase):
    """The fields of one audit event that the hash covers, plus the two hashes.

    A dataclass takes its bases' fields from the last base to the first, so ``case_no`` comes first:
    ``ChainedEvent(case_no, seq, event_type, occurred_at, actor, element_id, task_id, payload, prev_hash, hash)``.
    """

    prev_hash: str
    hash: str


_CHAINED_ROW = attrgetter(*(f.name for f in fields(ChainedEvent)))
"""A chained event as the row :func:`_check` reads."""


def event_hash(prev_hash: str, *, case_no: str, seq: int, event_type: str, occurred_at: datetime,
               actor: str | None, element_id: str | None, task_id: int | None, payload: Mapping[str, Any]) -> str:
    """Return the sha256 hex digest linking this event to ``prev_hash``."""
    return _hash(prev_hash, case_no, seq, event_type, occurred_at, actor, element_id, task_id, payload)


def _hash(prev_hash: str, case_no: str, seq: int, event_type: str, occurred_at: datetime, actor: str | None,
          element_id: str | None, task_id: int | None, payload: Mapping[str, Any]) -> str:
    return _link(prev_hash, case_no, seq, event_type, occurred_at, actor, element_id, task_id, _ENCODER.encode(payload))


def _link(prev_hash: str, case_no: str, seq: int, event_type: str, occurred_at: datetime | str,
          actor: str | None, element_id: str | None, task_id: int | None, payload_json: str) -> str:
    # canonical_json of {"case_no", "seq", "type", "at", "actor", "element_id", "task_id", "payload"}, written
    # out in its sorted key order: byte for byte the same text (a unit test holds the two together).
    # occurred_at may come already written as _instant writes it (PostgreSQL's verify query formats it).
    string = _STRING
    at = occurred_at if type(occurred_at) is str else _instant(occurred_at)
    body = (f'{{"actor":{string(actor) if type(actor) is str else _scalar(actor)},'
            f'"at":"{at}","case_no":{string(case_no) if type(case_no) is str else _scalar(case_no)},'
            f'"element_id":{string(element_id) if type(element_id) is str else _scalar(element_id)},'
            f'"payload":{payload_json},"seq":{_scalar(seq)},"task_id":{_scalar(task_id)},'
            f'"type":{string(event_type) if type(event_type) is str else _scalar(event_type)}}}')
    return sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if kind is int:
        return int.__repr__(value)
    return "null" if value is None else _ENCODER.encode(value)


_STRING = json.encoder.encode_basestring   # the function the encoder itself uses with ensure_ascii=False
_PAYLOADS: dict[str, str] = {}
_PAYLOADS_KEPT = 20_000


def _payload_text(stored: str) -> str:
    """The canonical JSON of a payload stored as JSON text; repeated texts (most are) are parsed once."""
    found = _PAYLOADS.get(stored)
    if found is None:
        found = _ENCODER.encode(json.loads(stored))
        if len(_PAYLOADS) >= _PAYLOADS_KEPT:
            _PAYLOADS.clear()       # bounded memory: start afresh rather than track recency
        _PAYLOADS[stored] = found
    return found


COUNT_DIFFERS = "event count differs from the case's recorded count"
"""How a :class:`ChainCheck` reason starts when the chain is intact but shorter or longer than the case row says."""


@dataclass(frozen=True)
class ChainCheck:
    """Result of verifying one case's chain.

    Attributes:
        ok: True when every link holds.
        checked: number of events examined.
        broken_seq: sequence number of the first event that does not verify, when not ok.
        reason: what is wrong there (English, for operators), when not ok.
        state_seq: the last event carrying a snapshot digest (:data:`STATE_DIGEST`), if any.
        state_digest: that digest.
        digests_expected: the chain was written by an engine that digests every snapshot it writes (its first
            event records the calendar generation, which came later), so it must carry one.
    """

    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    state_seq: int | None = None
    state_digest: str | None = None
    digests_expected: bool = False


def verify_chain(events: Iterable[ChainedEvent], *, expected_head: str | None = None) -> ChainCheck:
    """Check seq continuity, each prev_hash link and each recomputed hash; optionally the final head."""
    return _check(map(_CHAINED_ROW, events), expected_head)


def verify_rows(case_no: str, rows: Iterable[tuple[Any, ...]], *, expected_head: str | None = None,
                expected_count: int | None = None) -> ChainCheck:
    """Like :func:`verify_chain`, for one case's rows as read from ``case_events``, in ``seq`` order.

    Each row is ``(case_id, seq, event_type, occurred_at, actor, element_id, task_id, payload, prev_hash,
    hash)`` with the payload as its stored JSON text: no :class:`ChainedEvent` is built and a payload text
    seen before is not parsed again, which together make a short case about three times cheaper to verify.
    ``occurred_at`` is a datetime, or its UTC text in the chain's format (``2026-03-02T01:00:00.000000Z``).
    ``expected_count`` is the number of events the case row says it has (``cases.event_seq``).
    """
    check = _check(rows, expected_head, case_no=case_no)
    if check.ok and expected_count is not None and check.checked != expected_count:
        return ChainCheck(False, check.checked, check.checked + 1, f"{COUNT_DIFFERS}: recorded {expected_count}, "
                          f"found {check.checked}")
    return check


STATE_DIFFERS = "workflow snapshot differs from the digest recorded at event"
"""How a reason starts when the chain holds but the case's snapshot is not the one its last command wrote."""
STATE_MISSING = "no snapshot digest on a chain whose engine records them"
"""The reason when a chain that must carry a snapshot digest carries none (its digest-carrying tail was cut)."""


def check_state(check: ChainCheck, snapshot_digest: str | None) -> ChainCheck:
    """``check`` failed at its last digest-carrying event when the stored snapshot's digest differs from it.

    A chain with no such event is left as it is when it was written before snapshots were digested (nothing
    to compare), and fails when its engine digests every snapshot (:attr:`ChainCheck.digests_expected`): the
    case's first command wrote one, so only a cut tail can have taken every digest away.
    """
    if check.ok and check.state_digest is None and check.digests_expected:
        return replace(check, ok=False, broken_seq=check.checked + 1, reason=STATE_MISSING)
    if not check.ok or check.state_digest is None or check.state_digest == snapshot_digest:
        return check
    return ChainCheck(False, check.checked, check.state_seq, f"{STATE_DIFFERS} {check.state_seq}",
                      check.state_seq, check.state_digest)


def _check(rows: Iterable[tuple[Any, ...]], expected_head: str | None, *, case_no: str | None = None) -> ChainCheck:
    """Verify rows led by the case number (``case_no`` None) or by anything else (the given ``case_no``)."""
    prev, count, expected_seq = GENESIS, 0, 1
    state_seq = state = None
    expected = False
    canonical = _ENCODER.encode if case_no is None else _payload_text
    for lead, seq, event_type, occurred_at, actor, element_id, task_id, payload, prev_hash, digest in rows:
        count += 1
        if STATE_DIGEST in payload:   # a key of the dict, or (cheaply, before parsing) a word of the text
            stamped = payload if isinstance(payload, Mapping) else json.loads(payload)
            if isinstance(stamped, Mapping) and STATE_DIGEST in stamped:
                state_seq, state = seq, stamped[STATE_DIGEST]
            # Parsed once, and kept out of the payload cache: a digest makes each such payload unique, and
            # caching them would evict the repeating payloads the cache is for.
            payload_json = _ENCODER.encode(stamped)
        else:
            payload_json = canonical(payload)
        if seq == 1 and CALENDAR_GENERATION in payload:
            first = payload if isinstance(payload, Mapping) else json.loads(payload)
            expected = isinstance(first, Mapping) and CALENDAR_GENERATION in first
        if seq != expected_seq:
            return ChainCheck(False, count, seq, f"expected seq {expected_seq}, found {seq}")
        if prev_hash != prev:
            return ChainCheck(False, count, seq, "prev_hash does not match the previous event")
        if _link(prev, case_no or lead, seq, event_type, occurred_at, actor, element_id, task_id,
                 payload_json) != digest:
            return ChainCheck(False, count, seq, "content does not match its hash")
        prev, expected_seq = digest, expected_seq + 1
    if expected_head is not None and prev != expected_head:
        return ChainCheck(False, count, expected_seq, "chain head differs from the case's recorded head")
    return ChainCheck(True, count, state_seq=state_seq, state_digest=state, digests_expected=expected)
