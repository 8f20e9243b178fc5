"""The audit chain's hashing: the fast paths give byte for byte the hash of the documented canonical form."""
from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from engine.audit import GENESIS, ChainedEvent, canonical_json, check_state, event_hash, verify_chain, verify_rows
from engine.clock import CST

PAYLOADS = [{}, {"data": {"round": 3, "done": False, "opinion": "需补正\n第二行"}},
            {"b": [1.5, 1e16, -0.0, None, True, 2 ** 70], "a": "重庆\u0000\"\\", "é": {"z": {}, "a": []}},
            {"elements": ["start", "work"]}]


def reference_hash(prev: str, case_no: str, seq: int, event_type: str, at: datetime, actor, element_id,
                   task_id, payload) -> str:
    """The definition: sha256 over the previous hash and json.dumps of the event, sorted and compact."""
    body = json.dumps({"case_no": case_no, "seq": seq, "type": event_type,
                       "at": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor": actor,
                       "element_id": element_id, "task_id": task_id, "payload": payload},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def random_event(rng: random.Random) -> tuple:
    at = datetime(2026, 1, 1, tzinfo=rng.choice([timezone.utc, CST])) + timedelta(
        microseconds=rng.randrange(10 ** 14) if rng.random() < 0.8 else rng.randrange(10 ** 8) * 10 ** 6)
    return ("f" * 64, rng.choice(["TB20261123000001", "办件\"\\\n\t", "x\u2028y"]), rng.randrange(1, 10 ** 6),
            rng.choice(["TaskCompleted", "类型"]), at, rng.choice([None, "rv", "张\x01三"]),
            rng.choice([None, "work", 'e"l']), rng.choice([None, 0, 7, 2 ** 40]), rng.choice(PAYLOADS))


def test_event_hash_equals_the_reference_definition_on_varied_events():
    rng = random.Random(7)
    for _ in range(3000):
        prev, case_no, seq, kind, at, actor, element, task, payload = random_event(rng)
        assert event_hash(prev, case_no=case_no, seq=seq, event_type=kind, occurred_at=at, actor=actor,
                          element_id=element, task_id=task, payload=payload) == \
            reference_hash(prev, case_no, seq, kind, at, actor, element, task, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_canonical_json_is_sorted_compact_and_keeps_utf8(payload):
    assert canonical_json(payload) == json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain(case_no: str, payloads: list[dict]) -> list[ChainedEvent]:
    events, prev = [], GENESIS
    at = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
    for seq, payload in enumerate(payloads, start=1):
        digest = event_hash(prev, case_no=case_no, seq=seq, event_type="E", occurred_at=at, actor="rv",
                            element_id=None, task_id=seq, payload=payload)
        events.append(ChainedEvent(case_no, seq, "E", at, "rv", None, seq, payload, prev, digest))
        prev = digest
    return events


def as_rows(events: list[ChainedEvent], dumps=json.dumps) -> list[tuple]:
    """The rows as read from the log: case id first, the payload as stored JSON text (any spacing)."""
    return [(42, e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id, dumps(e.payload),
             e.prev_hash, e.hash) for e in events]


def test_rows_with_stored_json_text_verify_like_chained_events_and_break_at_the_same_place():
    events = chain("TB20261123000001", PAYLOADS * 3)
    head = events[-1].hash
    for dumps in (json.dumps, lambda v: json.dumps(v, ensure_ascii=False, indent=1)):
        assert verify_rows("TB20261123000001", as_rows(events, dumps), expected_head=head) == \
            verify_chain(events, expected_head=head) and verify_chain(events).ok
    edited = as_rows(events)
    edited[4] = (*edited[4][:7], json.dumps({"data": {"round": 4}}), *edited[4][8:])
    assert verify_rows("TB20261123000001", edited).broken_seq == 5
    assert verify_rows("TB20261123000002", as_rows(events)).broken_seq == 1     # another case's number
    cut = verify_rows("TB20261123000001", as_rows(events)[:-1], expected_head=head)
    assert (cut.ok, cut.broken_seq, cut.reason) == (False, 12, "chain head differs from the case's recorded head")


def test_the_last_snapshot_digest_on_the_chain_is_found_in_dicts_and_stored_text_alike():
    digest, older = "d" * 64, "0" * 64
    payloads = [{"elements": ["start"], "state_sha256": older},
                {"data": {"state_sha256": "typed into a form"}},       # a form field of that name is data
                {"elements": ["work"], "state_sha256": digest},
                {"data": {"opinion": "同意"}}]                          # no new snapshot: claim, refusal ...
    events = chain("TB20261123000001", payloads)
    for check in (verify_chain(events), verify_rows("TB20261123000001", as_rows(events)),
                  verify_rows("TB20261123000001", as_rows(events, lambda v: json.dumps(v, indent=1)))):
        assert (check.ok, check.state_seq, check.state_digest) == (True, 3, digest)
    nested_only = chain("TB20261123000001", payloads[1:2])
    assert verify_rows("TB20261123000001", as_rows(nested_only)).state_digest is None
    assert check_state(verify_chain(events), digest).ok
    differs = check_state(verify_chain(events), older)
    assert (differs.ok, differs.broken_seq, differs.checked) == (False, 3, 4)
    assert differs.reason == "workflow snapshot differs from the digest recorded at event 3"
