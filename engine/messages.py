"""Durable, exactly-once BPMN messages between cases: the envelope, its signature and the outbox writer.

A case that throws a message (intermediate throw event, message end event, send task) writes a ``messages``
row in the same transaction as the step that threw it (DESIGN §5). The row is an *envelope*:

* ``idempotency_key``: ``<sender case no>/<element>/<occurrence>``, deterministic, so a transaction that is
  rolled back and run again writes the same key, and a second row with it is refused by the unique index;
* ``name`` and ``correlation_key`` (the receiver's case number, or none to start a case at a message start);
* ``payload``: the value of the throw event's ``tb:message payload`` expression over the thrower's data, plus
  what ``attach`` asks the engine to add (:mod:`engine.handoffs`);
* ``signature``: HMAC-SHA256 with the deployment's message secret over the canonical JSON of the fields
  above and the sender, checked before delivery, so an envelope changed or made up outside the engine is
  refused (forged) and recorded.

Delivery (:mod:`engine.message_delivery`) and the worker (:mod:`engine.message_worker`) do the rest.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from . import events as ev
from .audit import canonical_json
from .errors import EngineError, WorkflowFailed
from .storable import unstorable
from .variables import check_variables

STATES = {
    "pending": "待投递",
    "delivered": "已投递",
    "poison": "投递失败（待处理）",
    "expired": "已过期（接收方未就绪）",
    "undeliverable": "无法投递（接收方办件已结束或不存在）",
    "rejected": "已拒收（签名无效）",
    "discarded": "已丢弃",
}
SIGNED_FIELDS = ("idempotency_key", "name", "correlation_key", "payload", "sender")
MAX_CORRELATION_KEY = 256
"""Longest correlation key a message may carry, in characters (``messages.correlation_key``'s length)."""
_UNSTORABLE_KEY = {"nul": "含有空字符（U+0000），无法保存", "unicode": "含有无法保存的字符（单独的代理码位）"}


class MessageRejected(EngineError):
    """An envelope was refused: its signature does not match (forged) or its key was seen before (replayed)."""

    code = "MESSAGE_REJECTED"
    http_status = 409


@dataclass(frozen=True)
class MessageSettings:
    """How messages are signed, buffered and retried.

    Attributes:
        secret: the deployment's HMAC key (``TONGBAN_MESSAGE_SECRET``); the same on every process.
        ttl: how long a message whose receiver is not ready yet stays buffered before it expires.
        max_attempts: failed deliveries before a message becomes ``poison`` (listed for an administrator).
        backoff: the wait after the first failure; it doubles per failure up to ``backoff_cap``.
        not_ready_retry: how soon a buffered message is tried again.
    """

    secret: bytes
    ttl: timedelta = timedelta(days=7)
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=5)
    backoff_cap: timedelta = timedelta(hours=1)
    not_ready_retry: timedelta = timedelta(seconds=30)

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential backoff after ``attempts`` failures (1 -> backoff, 2 -> 2x, ...), capped."""
        return min(self.backoff * (2 ** max(attempts - 1, 0)), self.backoff_cap)


def correlation_key(value: Any, element_id: str) -> str:
    """The correlation key a ``tb:message correlation`` evaluated to, as stored; a bad one fails the step.

    It names the receiving case (its 办件编号), so it must be text or a whole number, at most
    :data:`MAX_CORRELATION_KEY` characters, storable on both databases (:mod:`engine.storable`). Anything else
    (a list, a number whose digits alone exceed the column) is refused before it is turned into text.
    """
    def refused(reason: str) -> WorkflowFailed:
        return WorkflowFailed(f"元素 {element_id} 的消息关联键{reason}", details={"element_id": element_id})
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise refused(f"应得出文本或整数（办件编号），得到 {type(value).__name__}")
    if isinstance(value, int) and value.bit_length() > 4 * MAX_CORRELATION_KEY:
        raise refused(f"过长（上限 {MAX_CORRELATION_KEY} 个字符）")
    text = str(value)
    if len(text) > MAX_CORRELATION_KEY:
        raise refused(f"过长（{len(text)} 个字符，上限 {MAX_CORRELATION_KEY}）")
    bad = unstorable(text)
    if bad is not None:
        raise refused(_UNSTORABLE_KEY[bad.reason])
    return text


def idempotency_key(sender_case_no: str, element_id: str, occurrence: int) -> str:
    """The key of the ``occurrence``-th message thrown by ``element_id`` of a case (1-based)."""
    return f"{sender_case_no}/{element_id}/{occurrence}"


def sign(secret: bytes, envelope: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON of the envelope's signed fields."""
    body = canonical_json({k: envelope.get(k) for k in SIGNED_FIELDS}).encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, envelope: Mapping[str, Any], signature: str | None) -> bool:
    """Whether ``signature`` is the envelope's HMAC under ``secret`` (constant-time compare)."""
    return bool(signature) and hmac.compare_digest(sign(secret, envelope), str(signature))


def payload_digest(payload: Mapping[str, Any]) -> str:
    """sha256 of the payload's canonical JSON (what the audit log keeps instead of the payload)."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def write_outbox(uow: Any, svc: Any, case: Any, definition: Any, thrown: list[Any], now: datetime,
                 attach: Any = None) -> list[ev.Event]:
    """Write the messages a step threw as outbox rows in the caller's transaction; return the audit events.

    ``attach(uow, case, parts, now)`` builds the engine-provided parts a ``tb:message attach`` names.
    """
    if not thrown:
        return []
    settings: MessageSettings | None = getattr(svc, "messages", None)
    if settings is None:
        raise WorkflowFailed("未配置消息签名密钥（TONGBAN_MESSAGE_SECRET），不能发送消息")
    seen: dict[str, int] = {}
    rows, events = [], []
    for item in thrown:
        spec = definition.messages.get(item.element_id)
        payload: dict[str, Any] = {}
        correlation = None
        if spec is not None:
            value = svc.catalog.evaluator.evaluate(spec.payload, dict(item.data))
            if not isinstance(value, Mapping):
                raise WorkflowFailed(f"元素 {item.element_id} 的消息内容表达式应得出一个对象（字典）",
                                     details={"element_id": item.element_id})
            payload = check_variables(dict(value), what="消息内容")
            if spec.correlation:
                correlation = correlation_key(
                    svc.catalog.evaluator.evaluate(spec.correlation, dict(item.data)), item.element_id)
            if spec.attach and attach is not None:
                payload.update(attach(uow, case, spec.attach, now))
        if item.element_id not in seen:
            seen[item.element_id] = uow.messages.sent_count(case.id, item.element_id)
        seen[item.element_id] += 1
        envelope = {"idempotency_key": idempotency_key(case.case_no, item.element_id, seen[item.element_id]),
                    "name": item.name, "correlation_key": correlation, "payload": payload, "sender": case.case_no}
        rows.append({**{k: envelope[k] for k in SIGNED_FIELDS if k != "sender"}, "sender_case_id": case.id,
                     "sender_element": item.element_id, "state": "pending", "created_at": now, "available_at": now,
                     "expires_at": now + settings.ttl, "attempts": 0, "signature": sign(settings.secret, envelope)})
        events.append(ev.MessageSent(element_id=item.element_id, name=item.name,
                                     idempotency_key=envelope["idempotency_key"], correlation_key=correlation,
                                     payload_sha256=payload_digest(payload)))
    uow.messages.insert(rows)
    return events
