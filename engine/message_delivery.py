"""Deliver one message in the receiver's transaction, exactly once.

:func:`deliver_message` locks the message row, checks its signature, then either correlates it by name and
correlation key (the receiving case's number) to the catch event or receive task waiting for it, or starts a
new case of the process whose message start event catches it. The receiver's new state and the row's
``delivered`` mark commit together: a crash anywhere before the commit leaves the row ``pending`` and the
receiver untouched, and a retry after the commit finds the row no longer pending. A receiver that is not
ready (not waiting for this message yet, no process starts on it yet) keeps the message buffered until its
time to live runs out; then it expires and the sender's case records the alert (``MessageExpired``). A
receiving case that has ended, or a case number no case has, can never receive it: the first attempt sets
it ``undeliverable`` and the sender's case records why (``MessageUndeliverable``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select

from . import events as ev
from .calendar_functions import case_clocks_bound
from .case_clocks import note_notice_before_receipt, pending_kinds
from .clock import CST
from .case_opening import Opening
from .commands import Actor, StartCase
from .errors import NotFound
from .case_start import open_case
from .handlers import Services, _apply_step, _record
from .handoffs import ManifestMismatch, clocks_from, copy_materials, notice_at, verify_manifest
from .messages import payload_digest, verify
from .persistence.models import Case, ProcessDefinition
from .spiff.message_steps import catchable_messages

cases = Case.__table__
WORKER = Actor.system("message-worker")


class WorkerKilled(BaseException):
    """Raised by a fault-injection hook: the worker process dies here (no failure bookkeeping runs)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did: delivered, buffered, expired, undeliverable, rejected or skipped."""

    message_id: int
    state: str
    receiver_case_id: int | None = None
    detail: str | None = None


def deliver_message(message_id: int, svc: Services, *, actor: Actor = WORKER,
                    fault: Callable[[str], None] | None = None) -> DeliveryOutcome:
    """Deliver one pending message (see the module docstring). ``fault(point)`` is for fault-injection tests."""
    fault = fault or (lambda point: None)
    now = svc.clock.now()
    with svc.uow() as uow:
        row = uow.messages.lock(message_id)
        if row is None:
            raise NotFound("消息不存在", details={"message_id": message_id})
        if row["state"] != "pending":
            return DeliveryOutcome(message_id, "skipped", row["receiver_case_id"])
        sender = uow.messages.case_facts(row["sender_case_id"]) if row["sender_case_id"] else None
        envelope = {"idempotency_key": row["idempotency_key"], "name": row["name"],
                    "correlation_key": row["correlation_key"], "payload": row["payload"],
                    "sender": sender["case_no"] if sender else None}
        if not verify(svc.messages.secret, envelope, row["signature"]):
            detail = "签名校验失败：消息内容与签名不符（可能被篡改或伪造），已拒收"
            uow.messages.defer(message_id, until=now, error=detail, state="rejected")
            uow.messages.reject({"idempotency_key": row["idempotency_key"], "name": row["name"], "reason": "forged",
                                 "detail": detail, "source": "delivery", "envelope": envelope, "rejected_at": now})
            uow.commit()
            return DeliveryOutcome(message_id, "rejected", detail=detail)
        received = ev.MessageReceived(name=row["name"], idempotency_key=row["idempotency_key"],
                                      sender_case_no=envelope["sender"], payload_sha256=payload_digest(row["payload"]))
        if row["correlation_key"]:
            _receiver, gone = receiver_gone(uow, row["correlation_key"])
            if gone is not None:
                return _undeliverable(uow, row, sender, gone, actor, now)
            done = catch_message(uow, svc, row, received, actor, now)
        else:
            done = _start(uow, svc, row, sender, received, actor, now)
        if done is None:
            return _not_ready(uow, svc, row, sender, actor, now)
        case, workflow = done
        fault("receiver_written")
        uow.messages.mark_delivered(message_id, case.id, now)
        fault("marked_delivered")
        uow.commit()
    fault("committed")
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return DeliveryOutcome(message_id, "delivered", case.id)


def record_failure(message_id: int, svc: Services, error: BaseException) -> str:
    """Count a failed attempt in a transaction of its own: retry later with backoff, or mark it ``poison``.

    A manifest that does not match the material store will not match on a retry either: poison at once.
    Returns the message's new state.
    """
    now = svc.clock.now()
    with svc.uow() as uow:
        row = uow.messages.lock(message_id)
        if row is None or row["state"] != "pending":
            return row["state"] if row is not None else "missing"
        attempts = row["attempts"] + 1
        text = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        permanent = isinstance(error, ManifestMismatch) or attempts >= svc.messages.max_attempts
        state = "poison" if permanent else "pending"
        uow.messages.defer(message_id, until=now + svc.messages.retry_delay(attempts), error=text, failed=True,
                           state=state)
        uow.commit()
    return state


def catch_message(uow: Any, svc: Services, row: Any, received: ev.Event, actor: Actor, now: datetime) -> Any:
    """Give the message ``row`` (name, correlation key, payload) to the case waiting for it; None: none waits."""
    case_id = uow.messages.case_by_no(row["correlation_key"])
    if case_id is None:
        return None
    case = uow.cases.lock(case_id)
    if case.status != "running":
        return None
    definition = svc.catalog.get(uow, case.definition_id)
    workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                   definition.spec, definition.subprocess_specs)
    if row["name"] not in svc.runner.waiting_messages(workflow):
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)  # untouched: keep it cached
        return None
    before = {t.spiff_task_id: t for t in svc.runner.waiting_timers(workflow)}
    with case_clocks_bound(case.clocks):
        step = svc.runner.catch_message(workflow, row["name"], row["payload"])
    _created, rows = _apply_step(uow, svc, case, definition, workflow, step, [received], actor, now, before)
    uow.cases.save(case, events=rows)
    return case, workflow


def _start(uow: Any, svc: Services, row: Any, sender: Any, received: ev.Event, actor: Actor,
           now: datetime) -> Any:
    payload = dict(row["payload"])
    if "manifest" in payload:
        verify_manifest(svc.materials, payload["manifest"])
    opened = open_from_message(uow, svc, row["name"], payload, sender, received, actor, now)
    if opened is None or sender is None:
        return opened
    case, _workflow = opened
    relation, mine, theirs = _relation(sender)
    uow.messages.link([{"case_id": case.id, "partner_case_id": sender["id"], "relation": relation, "role": mine,
                        "created_at": now},
                       {"case_id": sender["id"], "partner_case_id": case.id, "relation": relation, "role": theirs,
                        "created_at": now}])
    record_link(uow, sender["id"], ev.CaseLinked(partner_case_no=case.case_no, relation=relation, role=theirs),
                actor, now)
    return opened


def open_from_message(uow: Any, svc: Services, name: str, payload: dict[str, Any], sender: Any,
                      received: ev.Event, actor: Actor, now: datetime) -> tuple[Any, Any] | None:
    """Start the case whose process starts on message ``name`` (None: no process does), materials copied.

    ``sender`` holds the sending case's number, title, matter and districts (None for an outside message);
    the caller has checked the manifest. Delivery links both cases afterwards; replay (which has no sender
    case in its scratch database) issues only this.
    """
    process_key = _starting_process(uow, name)
    if process_key is None:
        return None

    def begin(spec: Any, subs: dict[str, Any], data: dict[str, Any]) -> tuple[Any, Any]:
        return svc.runner.start_at_message(spec, subs, data, name, payload)

    def after(case: Any, _matter: Any) -> list[ev.Event]:
        if sender is None:
            return [received]
        relation, mine, _theirs = _relation(sender)
        return [received, ev.CaseLinked(partner_case_no=sender["case_no"], relation=relation, role=mine)]

    command = StartCase(process_key, actor, {}, title=sender["title"] if sender else None,
                        matter_code=sender["matter_code"] if sender else None,
                        owning_district=sender["owning_district"] if sender else None,
                        receiving_district=sender["receiving_district"] if sender else None)
    opening = Opening(process_key=process_key, begin=begin, clocks_from=clocks_from(payload, sender),
                      check_grant=False)
    case, _created, workflow = open_case(uow, svc, command, {}, now, inputs_after=after, opening=opening)
    _note_notice_given(uow, case, payload, sender)
    if isinstance(payload.get("manifest"), list):
        copy_materials(uow, case.id, payload["manifest"], now)
    return case, workflow


def _note_notice_given(uow: Any, case: Any, payload: dict[str, Any], sender: Any) -> None:
    """Mark on the new case's clocks waiting for 受理 the one-time 补正 notice the receiving window gave.

    The notice is given once per application (行政许可法 第三十二条第一款第四项), and the receiving window gave it
    for the owning district: the owning case refuses a second one (409 ``NOTICE_ALREADY_GIVEN``) as if it had
    given it itself. The notice comes from the handoff's verification record and the receipt it answered from
    the sender (its ``started_at``; the notice's instant without a sender), so replay rebuilds the same clocks.
    """
    given = notice_at(payload)
    if given is None or not pending_kinds(case.clocks):
        return
    received = sender["started_at"] if sender is not None and sender["started_at"] else given
    doc = note_notice_before_receipt(case.clocks, received.astimezone(CST), given.astimezone(CST))
    uow.connection.execute(cases.update().where(cases.c.id == case.id).values(clocks=doc))
    case.clocks = doc


def record_link(uow: Any, case_id: int, linked: ev.Event, actor: Actor, now: datetime) -> None:
    """Append a ``CaseLinked`` event to case ``case_id``'s log (its partner was opened by another command)."""
    case = uow.cases.lock(case_id)
    uow.cases.save(case, events=_record(case, [linked], actor, now))


def _relation(sender: Any) -> tuple[str, str, str]:
    """The link's relation, the started case's role and the sender's: a handoff across districts or not."""
    if sender["owning_district"] != sender["receiving_district"]:
        return "handoff", "owning", "receiving"
    return "message", "started", "sender"


def _not_ready(uow: Any, svc: Services, row: Any, sender: Any, actor: Actor, now: datetime) -> DeliveryOutcome:
    """Keep a message whose receiver is not ready buffered, or expire it once its time to live is over."""
    where = f"办件 {row['correlation_key']}" if row["correlation_key"] else "可由该消息启动的流程"
    if row["expires_at"] is not None and now >= row["expires_at"]:
        return _end(uow, row, sender, "expired", f"接收方（{where}）在存活期限内始终未就绪，消息已过期",
                    ev.MessageExpired, {}, actor, now)
    detail = f"接收方（{where}）尚未就绪（未在等待消息 {row['name']}），已缓存待重试"
    uow.messages.defer(row["id"], until=now + svc.messages.not_ready_retry, error=detail)
    uow.commit()
    return DeliveryOutcome(row["id"], "buffered", detail=detail)


def _undeliverable(uow: Any, row: Any, sender: Any, reason: str, actor: Actor, now: datetime) -> DeliveryOutcome:
    """End a message whose receiving case is gone for good, and tell the sender's case why."""
    return _end(uow, row, sender, "undeliverable", f"{reason}，消息无法投递", ev.MessageUndeliverable,
                {"reason": reason}, actor, now)


def _end(uow: Any, row: Any, sender: Any, state: str, detail: str, event: Any, extra: dict[str, Any],
         actor: Actor, now: datetime) -> DeliveryOutcome:
    """Put the message in the final ``state`` and record ``event`` on the sender's case, in one transaction."""
    uow.messages.defer(row["id"], until=now, error=detail, state=state)
    if sender is not None:
        case = uow.cases.lock(sender["id"])
        uow.cases.save(case, events=_record(case, [event(
            element_id=row["sender_element"], name=row["name"], idempotency_key=row["idempotency_key"],
            correlation_key=row["correlation_key"], **extra)], actor, now))
    uow.commit()
    return DeliveryOutcome(row["id"], state, detail=detail)


def receiver_gone(uow: Any, correlation_key: str) -> tuple[Any, str | None]:
    """The case a correlation key names (definition id and status) and why it can never receive a message.

    The reason is None while the case runs; an ended case never runs again, and case numbers are given out
    when a case is opened, so neither answer changes later.
    """
    row = uow.connection.execute(select(cases.c.definition_id, cases.c.status)
                                 .where(cases.c.case_no == correlation_key)).first()
    if row is None:
        return None, f"接收方办件 {correlation_key} 不存在"
    if row.status != "running":
        return row, f"接收方办件 {correlation_key} 已结束"
    return row, None


def receiver_problem(uow: Any, name: str, correlation_key: str | None, *, catalog: Any) -> str | None:
    """Why no case could ever receive message ``name`` (None when one can), checked when an envelope arrives.

    Without a correlation key the message starts a case, so the newest version of some process must start
    at a message start event catching ``name``. With one, the key is the receiving case's number: that case
    must exist, still run, and its process must have a catch event or receive task for ``name``. Whether it
    waits for it right now is not asked: a message may come before its receiver is ready, and is buffered.
    """
    if not correlation_key:
        if _starting_process(uow, name) is None:
            return f"没有流程以消息“{name}”启动，该消息无人接收"
        return None
    row, gone = receiver_gone(uow, correlation_key)
    if gone is not None:
        return f"{gone}，不再接收消息" if row is not None else gone
    definition = catalog.get(uow, row.definition_id)
    if name not in catchable_messages(definition.spec, definition.subprocess_specs):
        return f"接收方办件 {correlation_key} 的流程中没有接收消息“{name}”的环节"
    return None


def _starting_process(uow: Any, name: str) -> str | None:
    """The process key whose newest version starts at a message start event catching ``name``."""
    table = ProcessDefinition.__table__
    newest: dict[str, tuple[int, Any]] = {}
    for key, version, meta in uow.connection.execute(
            ProcessDefinition.__table__.select().with_only_columns(table.c.process_key, table.c.version,
                                                                   table.c.meta)):
        if key not in newest or version > newest[key][0]:
            newest[key] = (version, meta)
    found = sorted(key for key, (_v, meta) in newest.items() if name in (meta or {}).get("message_starts", ()))
    return found[0] if found else None
