"""Replay of message inputs (issue 6): a case started by a handoff message, a result caught, a link recorded.

The audit log keeps a received message only by its sha256 (``MessageReceived.payload_sha256``), so replay
takes the payload from the history (the ``messages`` of :class:`engine.case_history.CaseHistory`) and
delivers it again through the same engine functions the worker uses; the ``MessageReceived`` event replay
writes carries the sha256 of what it delivered, so a message edited in a history file shows as a divergence.
The sending case is not in the scratch database: its facts (number, title, matter, districts) come with the
message, the links between the two cases are not written again, and the manifest's files are not checked
against a material store (the recorded delivery checked them; the files are not part of a history).
A ``CaseLinked`` event that the partner's start wrote into this case is appended again as recorded, and so is
what became of a message this case sent (``MessageExpired``, ``MessageUndeliverable`` by the worker,
``MessageResolved`` by an administrator): no input of the workflow, but the replayed case must have sent it.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable

from . import events as ev
from .errors import Conflict, NotFound
from .handlers import _record
from .message_delivery import catch_message, open_from_message, record_link
from .messages import payload_digest

RECEIPT_OF_MESSAGE = frozenset({"MessageReceived", "CaseLinked"})
"""Events a message start writes right after ``CaseStarted`` (with ``MatterReceived``)."""


def _message(run: Any, key: str | None) -> dict[str, Any]:
    found = run.messages.get(key or "")
    if found is None:
        raise NotFound(f"历史中没有消息 {key} 的内容，无法重放其投递", details={"idempotency_key": key})
    return found


def _received(message: dict[str, Any]) -> ev.MessageReceived:
    sender = message["sender"]
    return ev.MessageReceived(name=message["name"], idempotency_key=message["idempotency_key"],
                              sender_case_no=sender["case_no"] if sender else None,
                              payload_sha256=payload_digest(message["payload"]))


def start_from_message(run: Any, received: Any, actor: Any) -> tuple[Any, Any]:
    """Open the case at its message start event from the recorded message; return (case, workflow)."""
    message = _message(run, received.payload.get("idempotency_key"))
    svc = run.engine.services
    with svc.uow() as uow:
        opened = open_from_message(uow, svc, message["name"], dict(message["payload"]), message["sender"],
                                   _received(message), actor, svc.clock.now())
        if opened is None:
            raise NotFound(f"重放中没有以消息 {message['name']} 启动的流程")
        uow.commit()
    return opened


def catch(run: Any, event: Any, actor: Any) -> None:
    """Deliver the recorded message to the replayed case, which must be waiting for it."""
    message = _message(run, event.payload.get("idempotency_key"))
    svc = run.engine.services
    row = {"name": message["name"], "correlation_key": run.source_case.case_no, "payload": message["payload"]}
    with svc.uow() as uow:
        done = catch_message(uow, svc, row, _received(message), actor, svc.clock.now())
        if done is None:
            raise Conflict(f"重放中的办件未在等待消息 {message['name']}")
        case, workflow = done
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)


def link(run: Any, event: Any, actor: Any) -> None:
    """Append the recorded ``CaseLinked`` (written by the partner case's start) to the replayed case."""
    p, svc = event.payload, run.engine.services
    with svc.uow() as uow:
        record_link(uow, run.case_id, ev.CaseLinked(partner_case_no=p["partner_case_no"], relation=p["relation"],
                                                    role=p["role"]), actor, svc.clock.now())
        uow.commit()


def _outcome(kind: type[ev.Event]) -> Callable[[Any, Any, Any], None]:
    """Append the recorded outcome of a message the replayed case sent (``kind``: its event class)."""
    def record(run: Any, event: Any, actor: Any) -> None:
        p, svc = event.payload, run.engine.services
        outcome = kind(element_id=event.element_id, **{f.name: p[f.name] for f in fields(kind)
                                                         if f.name not in ("element_id", "task_id")})
        with svc.uow() as uow:
            if not uow.messages.key_exists(p["idempotency_key"]):
                raise Conflict(f"重放中的办件没有发送过消息 {p['idempotency_key']}",
                               details={"idempotency_key": p["idempotency_key"]})
            case = uow.cases.lock(run.case_id)
            uow.cases.save(case, events=_record(case, [outcome], actor, svc.clock.now()))
            uow.commit()
    return record


MESSAGE_INPUTS: dict[str, Callable[[Any, Any, Any], None]] = {
    "MessageReceived": catch, "CaseLinked": link, **{kind.event_type: _outcome(kind) for kind in (
        ev.MessageExpired, ev.MessageUndeliverable, ev.MessageResolved)}}
"""Message inputs replay issues after the case has started, by event type."""
