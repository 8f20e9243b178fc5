"""Backfill the metric facts of cases written before they existed (``cases.facts_version`` is NULL).

``tongban migrate`` runs it after the schema upgrade. Each case's facts are derived from what it recorded:
the channel and 容缺 from its application, the 补正 rounds and 容缺 pauses from its ``ClockPaused`` events,
the acceptance instant from its ``ClocksStarted`` events (the pauses a 受理 ended, their ``resumed``, are rounds
counted at their ``ClockPaused`` already), the department from its matter version or start
data, and, for a closed case, the working days of its closed clocks with the current calendar. Each batch
is one transaction that locks its case rows, so a command on one of them waits and then reads the facts.

A case started by a handoff (the owning district's case of an 异地代收代办, started by a message with a
materials manifest) counts the application received at the other district's window: its intake facts add the
receiving case's, as :func:`engine.handoffs.take_over_intake` does when it starts. Facts of version 1 predate
that rule: the backfill moves every such case to the current version, recomputing only the intake facts of
cases started by a handoff (the closing columns, computed with the calendar of their day, stay as they are).
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import and_, exists, select, update

from .case_clocks import pending_kinds
from .case_metrics import FACTS_VERSION, closing_columns, department_of, visits
from .persistence.models import Application, Case, CaseEvent, MatterVersion, Message
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

_cases, _events, _apps, _matters, _messages = (Case.__table__, CaseEvent.__table__, Application.__table__,
                                               MatterVersion.__table__, Message.__table__)
_TYPES = ("CaseStarted", "ClocksStarted", "ClockPaused", "ApplicationReceived")


def backfill_case_facts(uow_factory: Callable[[], SqlAlchemyUnitOfWork], calendar: Any, *,
                        batch: int = 500) -> int:
    """Derive and store the facts of every case without them, and bring older facts up to the current version.

    Returns how many cases were filled in or changed.
    """
    done = _upgrade(uow_factory, batch)
    while True:
        with uow_factory() as uow:
            conn = uow.connection
            pick = (select(_cases.c.id, _cases.c.status, _cases.c.ended_at, _cases.c.started_at, _cases.c.clocks,
                           _cases.c.matter_code, _cases.c.matter_version)
                    .where(_cases.c.facts_version.is_(None)).order_by(_cases.c.id).limit(batch))
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            rows = conn.execute(pick).all()
            for row in rows:
                conn.execute(update(_cases).where(_cases.c.id == row.id)
                             .values(facts_version=FACTS_VERSION, **_facts(conn, row, calendar)))
            uow.commit()
        done += len(rows)
        if len(rows) < batch:
            return done


def _upgrade(uow_factory: Callable[[], SqlAlchemyUnitOfWork], batch: int) -> int:
    """Move cases with facts of an older version to the current one; return how many changed."""
    older = and_(_cases.c.facts_version.is_not(None), _cases.c.facts_version < FACTS_VERSION)
    with uow_factory() as uow:
        uow.connection.execute(update(_cases).where(older, ~exists().where(_start_message(_cases.c.id)))
                               .values(facts_version=FACTS_VERSION))
        uow.commit()
    done = 0
    while True:
        with uow_factory() as uow:
            conn = uow.connection
            pick = select(_cases.c.id).where(older).order_by(_cases.c.id).limit(batch)
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = conn.execute(pick).scalars().all()
            for case_id in ids:
                channel, corrections, tolerance = _intake(conn, case_id)[:3]
                conn.execute(update(_cases).where(_cases.c.id == case_id).values(
                    facts_version=FACTS_VERSION, channel=channel, corrections=corrections, tolerance=tolerance,
                    visits=visits(channel, corrections, tolerance)))
            uow.commit()
        done += len(ids)
        if len(ids) < batch:
            return done


def _start_message(receiver: Any) -> Any:
    """The condition on a ``messages`` row: a delivered message from another case that started ``receiver``."""
    return and_(_messages.c.receiver_case_id == receiver, _messages.c.correlation_key.is_(None),
                _messages.c.sender_case_id.is_not(None), _messages.c.state == "delivered")


def _handoff_sender(conn: Any, case_id: int) -> int | None:
    """The receiving case that handed this case over with its materials (a manifest), if it was so started."""
    row = conn.execute(select(_messages.c.sender_case_id, _messages.c.payload).where(_start_message(case_id))
                       .order_by(_messages.c.id).limit(1)).first()
    if row is None or not isinstance((row.payload or {}).get("manifest"), list):
        return None
    return row.sender_case_id


def _intake(conn: Any, case_id: int, *, with_sender: bool = True) -> tuple[Any, ...]:
    """(channel, 补正 rounds, 容缺, start data, acceptance instant) from the case's application and events.

    A case started by a handoff adds the intake of the case that received the application.
    """
    recorded = conn.execute(select(_events.c.event_type, _events.c.occurred_at, _events.c.payload)
                            .where(_events.c.case_id == case_id, _events.c.event_type.in_(_TYPES))
                            .order_by(_events.c.seq)).all()
    app = conn.execute(select(_apps.c.channel, _apps.c.tolerance).where(_apps.c.case_id == case_id)).first()
    channel, tolerance = (app.channel, bool(app.tolerance)) if app is not None else (None, False)
    corrections, started_data, accepted = 0, {}, None
    for event_type, occurred_at, payload in recorded:
        payload = payload or {}
        if event_type == "CaseStarted":
            started_data, accepted = payload.get("data") or {}, occurred_at
        elif event_type == "ClocksStarted":
            accepted = occurred_at  # the last clock to start is the acceptance
        elif event_type == "ClockPaused":
            corrections += payload.get("reason_kind") == "correction"
            tolerance = tolerance or payload.get("reason_kind") == "tolerance"
        elif event_type == "ApplicationReceived":
            channel = payload.get("channel") or channel
            tolerance = tolerance or bool(payload.get("tolerance"))
    sender = _handoff_sender(conn, case_id) if with_sender else None
    if sender is not None:
        their_channel, their_corrections, their_tolerance = _intake(conn, sender, with_sender=False)[:3]
        channel, corrections = channel or their_channel, corrections + their_corrections
        tolerance = tolerance or their_tolerance
    return channel, corrections, tolerance, started_data, accepted


def _facts(conn: Any, row: Any, calendar: Any) -> dict[str, Any]:
    channel, corrections, tolerance, started_data, accepted = _intake(conn, row.id)
    if pending_kinds(row.clocks):
        accepted = None
    doc = None
    if row.matter_code:
        doc = conn.execute(select(_matters.c.doc).where(_matters.c.code == row.matter_code,
                                                        _matters.c.version == row.matter_version)).scalar()
    facts: dict[str, Any] = {
        "department": department_of(doc, started_data), "channel": channel, "accepted_at": accepted,
        "corrections": corrections, "tolerance": tolerance, "visits": visits(channel, corrections, tolerance)}
    if row.status == "completed" and row.ended_at is not None:
        facts.update(closing_columns(row.clocks, row.ended_at, calendar))
    return facts

