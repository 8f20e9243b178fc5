"""What administrators do with messages: list them, retry or discard the ones set aside, accept envelopes.

Poison (failed too often), expired (no receiver within the time to live), undeliverable (the receiving case
has ended or does not exist) and rejected (bad signature) messages are never dropped silently: they wait
here. Retrying puts a poison or expired one back in the queue with a fresh attempt count (an undeliverable
one would only fail again: its receiver can never take it); discarding closes it. Both are recorded on the
sender's case (``MessageResolved``) and on the row (``resolved_by``). :meth:`Messages.submit` accepts an
envelope from outside (another deployment, a re-sent export): a bad signature (forged) or a known idempotency
key (replayed) is refused and recorded.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from .clock import Clock
from .commands import Actor
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .events import MessageResolved
from .messages import STATES, MessageRejected, MessageSettings, verify
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .storable import refuse_unstorable

ADMIN_ROLES = ("admin",)
RESOLVABLE = {"retry": ("poison", "expired"), "discard": ("poison", "expired", "undeliverable", "rejected")}


class Messages:
    """Admin operations on the outbox; every write is its own transaction."""

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock, settings: MessageSettings,
                 record: Callable[..., list[dict[str, Any]]],
                 receiver_problem: Callable[[SqlAlchemyUnitOfWork, str, str | None], str | None]):
        self.uow, self.clock, self.settings, self._record = uow, clock, settings, record
        self._receiver_problem = receiver_problem
        """Why no case could receive a message (name, correlation key); None when one can."""

    def list(self, *, states: tuple[str, ...] | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Messages newest first (optionally in ``states``), with case numbers and the state in Chinese."""
        unknown = [s for s in states or () if s not in STATES]
        if unknown:
            raise InvalidInput(f"未知的消息状态：{'、'.join(unknown)}；可选 {'、'.join(STATES)}")
        with self.uow() as uow:
            rows = uow.messages.list(states=states, limit=limit)
        return [{**row, "state_label": STATES.get(row["state"], row["state"])} for row in rows]

    def get(self, message_id: int) -> dict[str, Any]:
        """One message as listed (404 when there is none)."""
        with self.uow() as uow:
            rows = uow.messages.list(message_id=message_id, limit=1)
        if not rows:
            raise NotFound(f"消息 {message_id} 不存在", details={"message_id": message_id})
        return {**rows[0], "state_label": STATES.get(rows[0]["state"], rows[0]["state"])}

    def rejections(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Refused envelopes (forged or replayed), newest first."""
        with self.uow() as uow:
            return uow.messages.rejections(limit=limit)

    def counts(self) -> dict[str, int]:
        """Messages per state."""
        with self.uow() as uow:
            return uow.messages.counts()

    def retry(self, message_id: int, actor: Actor, reason: str) -> dict[str, Any]:
        """Put a poison or expired message back in the queue (attempts reset, no expiry)."""
        return self._resolve(message_id, actor, reason, "retry")

    def discard(self, message_id: int, actor: Actor, reason: str) -> dict[str, Any]:
        """Close a poison, expired, undeliverable or rejected message for good."""
        return self._resolve(message_id, actor, reason, "discard")

    def submit(self, envelope: Mapping[str, Any], *, source: str) -> int:
        """Accept a signed envelope from outside into the queue; return its id.

        Forged or replayed: refused (409) and recorded. A genuine envelope that no case could ever receive
        (no process starts at its message; the receiving case is unknown, ended, or has no step catching it)
        is refused with ``MESSAGE_NO_RECEIVER`` (422) and not queued: it would wait out its time to live. Text no
        database stores anywhere in the envelope (or in ``source``) is refused first (``INVALID_INPUT`` naming
        ``envelope.<key>``), neither queued nor recorded as a rejection.
        """
        refuse_unstorable(envelope=dict(envelope), source=source)
        fields = {"idempotency_key": str, "name": str, "payload": dict, "signature": str}
        bad = [k for k, kind in fields.items() if not isinstance(envelope.get(k), kind) or not envelope.get(k)]
        if bad or len(str(envelope.get("idempotency_key"))) > 128 or len(str(envelope.get("name"))) > 128:
            raise InvalidInput(f"消息信封缺少或写错字段：{'、'.join(bad) or '长度超限'}",
                               details={"fields": bad})
        now = self.clock.now()
        reason = None
        with self.uow() as uow:
            if not verify(self.settings.secret, envelope, envelope.get("signature")):
                reason = ("forged", "签名校验失败：消息内容与签名不符（伪造或被篡改），已拒收并记录")
            elif uow.messages.key_exists(envelope["idempotency_key"]):
                reason = ("replayed", "幂等键已存在：该消息已接收过（重放），已拒收并记录")
            if reason is None:
                problem = self._receiver_problem(uow, envelope["name"], envelope.get("correlation_key"))
                if problem is not None:
                    raise InvalidInput(problem, code="MESSAGE_NO_RECEIVER",
                                       details={"name": envelope["name"],
                                                "correlation_key": envelope.get("correlation_key")})
                sender_id = uow.messages.case_by_no(envelope["sender"]) if envelope.get("sender") else None
                new_id = uow.messages.insert_one({
                    "idempotency_key": envelope["idempotency_key"], "name": envelope["name"],
                    "correlation_key": envelope.get("correlation_key"), "payload": envelope["payload"],
                    "sender_case_id": sender_id, "state": "pending", "created_at": now, "available_at": now,
                    "expires_at": now + self.settings.ttl, "attempts": 0, "signature": envelope["signature"]})
                try:
                    uow.commit()
                except Conflict:
                    reason = ("replayed", "幂等键已存在：该消息已接收过（重放），已拒收并记录")
                else:
                    return new_id
        with self.uow() as uow:
            uow.messages.reject({"idempotency_key": str(envelope["idempotency_key"]), "name": envelope["name"],
                                 "reason": reason[0], "detail": reason[1], "source": source[:64],
                                 "envelope": dict(envelope), "rejected_at": now})
            uow.commit()
        raise MessageRejected(reason[1], details={"reason": reason[0],
                                                  "idempotency_key": envelope["idempotency_key"]})

    def _resolve(self, message_id: int, actor: Actor, reason: str, action: str) -> dict[str, Any]:
        refuse_unstorable(reason=reason)
        if not set(ADMIN_ROLES).intersection(actor.roles):
            raise Forbidden("只有管理员可以处理消息")
        if not reason.strip():
            raise InvalidInput("请写明处理理由")
        now = self.clock.now()
        with self.uow() as uow:
            row = uow.messages.lock(message_id)
            if row is None:
                raise NotFound(f"消息 {message_id} 不存在", details={"message_id": message_id})
            if row["state"] not in RESOLVABLE[action]:
                raise Conflict(f"消息当前状态为“{STATES.get(row['state'], row['state'])}”，不能"
                               f"{'重试' if action == 'retry' else '丢弃'}",
                               details={"state": row["state"]})
            uow.messages.resolve(message_id, state="pending" if action == "retry" else "discarded",
                                 by=actor.username, now=now)
            if row["sender_case_id"] is not None:
                case = uow.cases.lock(row["sender_case_id"])
                event = MessageResolved(element_id=row["sender_element"], action=action, name=row["name"],
                                        idempotency_key=row["idempotency_key"], reason=reason.strip()[:500])
                uow.cases.save(case, events=self._record(case, [event], actor, now))
            result = dict(uow.messages.get(message_id) or {})
            uow.commit()
        return result
