"""Idempotency keys, envelope signatures and backoff of the message outbox (no database)."""
from __future__ import annotations

from datetime import timedelta

from engine.messages import MessageSettings, idempotency_key, payload_digest, sign, verify

SECRET = b"k" * 32
ENVELOPE = {"idempotency_key": "TB20261123000001/send_handoff/1", "name": "yidi_handoff", "correlation_key": None,
            "payload": {"applicant": "黔江某公司", "manifest": [{"key": "a", "sha256": "ab" * 32}]},
            "sender": "TB20261123000001"}


def test_an_idempotency_key_is_the_sender_case_the_element_and_the_occurrence():
    assert idempotency_key("TB20261123000001", "send_handoff", 1) == "TB20261123000001/send_handoff/1"
    assert idempotency_key("TB20261123000001", "send_handoff", 2) != idempotency_key("TB20261123000001",
                                                                                     "send_handoff", 1)
    assert idempotency_key("TB1", "a", 1) != idempotency_key("TB2", "a", 1)


def test_a_signature_verifies_only_the_same_envelope_under_the_same_secret():
    signature = sign(SECRET, ENVELOPE)
    assert verify(SECRET, ENVELOPE, signature)
    assert not verify(b"x" * 32, ENVELOPE, signature)
    assert not verify(SECRET, ENVELOPE, None) and not verify(SECRET, ENVELOPE, "")
    for key, value in (("payload", {**ENVELOPE["payload"], "applicant": "别人"}), ("correlation_key", "TB9"),
                       ("name", "yidi_result"), ("sender", "TB20261123000002"),
                       ("idempotency_key", "TB20261123000001/send_handoff/2")):
        assert not verify(SECRET, {**ENVELOPE, key: value}, signature), key


def test_a_signature_ignores_key_order_and_unsigned_fields():
    reordered = dict(reversed(list(ENVELOPE.items())))
    reordered["payload"] = dict(reversed(list(ENVELOPE["payload"].items())))
    assert sign(SECRET, reordered) == sign(SECRET, ENVELOPE)
    assert sign(SECRET, {**ENVELOPE, "signature": "whatever", "state": "pending"}) == sign(SECRET, ENVELOPE)


def test_the_payload_digest_is_stable_and_content_bound():
    assert payload_digest({"a": 1, "b": "二"}) == payload_digest({"b": "二", "a": 1})
    assert payload_digest({"a": 1}) != payload_digest({"a": 2})


def test_retries_back_off_exponentially_up_to_the_cap():
    settings = MessageSettings(SECRET, backoff=timedelta(seconds=5), backoff_cap=timedelta(minutes=1))
    assert [settings.retry_delay(n).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 60]
    assert settings.retry_delay(30) == timedelta(minutes=1)
