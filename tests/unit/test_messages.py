"""Idempotency keys, envelope signatures, backoff and manifest checks of the message outbox (no database)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from engine.handoffs import ManifestMismatch, verify_manifest
from engine.material_store import MaterialStore
from engine.errors import WorkflowFailed
from engine.messages import (
    MAX_CORRELATION_KEY, MessageSettings, correlation_key, idempotency_key, payload_digest, sign, verify,
)

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


def test_a_manifest_is_checked_file_by_file_against_the_store(tmp_path):
    store = MaterialStore(tmp_path, 1 << 20)
    good = b"%PDF-1.7\nkept\n"
    sha = hashlib.sha256(good).hexdigest()
    store.path_of(sha).parent.mkdir(parents=True)
    store.path_of(sha).write_bytes(good)
    verify_manifest(store, [{"key": "a", "sha256": sha}, {"key": "licence", "sha256": None}])
    store.path_of(sha).write_bytes(b"%PDF-1.7\nswapped\n")
    with pytest.raises(ManifestMismatch) as refused:
        verify_manifest(store, [{"key": "a", "name": "申请表", "sha256": sha}, {"key": "b", "sha256": "f" * 64},
                                {"key": "c", "sha256": "../../etc/passwd"}])
    assert refused.value.code == "MANIFEST_MISMATCH"
    assert [p.split("：")[1] for p in refused.value.details["problems"]] == [
        "文件内容与清单中的 sha256 不符", "材料库中没有该文件", "sha256 格式无效"]
    with pytest.raises(ManifestMismatch):
        verify_manifest(store, {"not": "a list"})


def test_a_correlation_key_is_a_case_number_as_text_or_a_whole_number_that_fits_the_column():
    assert correlation_key("TB20261123000001", "send") == "TB20261123000001"
    assert correlation_key(20261123000001, "send") == "20261123000001"
    assert correlation_key("号" * MAX_CORRELATION_KEY, "send") == "号" * MAX_CORRELATION_KEY


@pytest.mark.parametrize(("value", "says"), [
    (["TB1"], "应得出文本或整数（办件编号），得到 list"),
    (True, "应得出文本或整数（办件编号），得到 bool"),
    (1.5, "应得出文本或整数（办件编号），得到 float"),
    ("a" * (MAX_CORRELATION_KEY + 1), f"过长（{MAX_CORRELATION_KEY + 1} 个字符，上限 {MAX_CORRELATION_KEY}）"),
    (10 ** 400, f"过长（上限 {MAX_CORRELATION_KEY} 个字符）"),
    ("TB\x001", "含有空字符（U+0000），无法保存"),
    ("TB\ud8001", "含有无法保存的字符（单独的代理码位）"),
])
def test_a_correlation_key_no_receiver_could_have_fails_the_step_naming_the_element(value, says):
    with pytest.raises(WorkflowFailed) as info:
        correlation_key(value, "send_handoff")
    assert info.value.message == f"元素 send_handoff 的消息关联键{says}"
    assert info.value.details == {"element_id": "send_handoff"}
