"""The events of BPMN messages between cases: sent, received, expired, undeliverable, resolved, and links.

Re-exported by :mod:`engine.events`, the module the rest of the engine imports events from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .case_events import Event


@dataclass(frozen=True)
class MessageSent(Event):
    """The case threw a message: an outbox row was written in the same transaction (an effect).

    The payload itself stays in the ``messages`` row; the log keeps its sha256.
    """

    event_type: ClassVar[str] = "MessageSent"
    name: str = ""
    idempotency_key: str = ""
    correlation_key: str | None = None
    payload_sha256: str = ""


@dataclass(frozen=True)
class MessageReceived(Event):
    """A message was delivered to this case: a catch event caught it, or the case started on it (an input)."""

    event_type: ClassVar[str] = "MessageReceived"
    name: str = ""
    idempotency_key: str = ""
    sender_case_no: str | None = None
    payload_sha256: str = ""


@dataclass(frozen=True)
class MessageExpired(Event):
    """A message this case sent found no receiver within its time to live (an alert on the sender)."""

    event_type: ClassVar[str] = "MessageExpired"
    name: str = ""
    idempotency_key: str = ""
    correlation_key: str | None = None


@dataclass(frozen=True)
class MessageUndeliverable(Event):
    """A message this case sent can never be delivered: its receiving case has ended or does not exist.

    Recorded on the sender at the first delivery attempt (an alert, like :class:`MessageExpired`), with the
    reason in Chinese (接收方办件 … 已结束); the message is not kept waiting out its time to live.
    """

    event_type: ClassVar[str] = "MessageUndeliverable"
    name: str = ""
    idempotency_key: str = ""
    correlation_key: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class CaseLinked(Event):
    """This case was linked to its partner case (异地代收代办: receiving and owning district)."""

    event_type: ClassVar[str] = "CaseLinked"
    partner_case_no: str = ""
    relation: str = ""
    role: str = ""


@dataclass(frozen=True)
class MessageResolved(Event):
    """An administrator retried or discarded a message this case sent, with the reason (an input)."""

    event_type: ClassVar[str] = "MessageResolved"
    action: str = ""
    name: str = ""
    idempotency_key: str = ""
    reason: str = ""
