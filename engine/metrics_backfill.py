"""Backfill the metric facts of cases written before they existed (``cases.facts_version`` is NULL).

``tongban migrate`` runs it after the schema upgrade. Each case's facts are derived from what it recorded:
the channel and 容缺 from its application, the 补正 rounds and 容缺 pauses from its ``ClockPaused`` events,
the acceptance instant from its ``ClocksStarted`` events, the department from its matter version or start
data, and, for a closed case, the working days of its closed clocks with the current calendar. Each batch
is one transaction that locks its case rows, so a command on one of them waits and then reads the facts.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select, update

from .case_clocks import pending_kinds
from .case_metrics import FACTS_VERSION, closing_columns, department_of, visits
from .persistence.models import Application, Case, CaseEvent, MatterVersion
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

_cases, _events, _apps, _matters = (Case.__table__, CaseEvent.__table__, Application.__table__,
                                    MatterVersion.__table__)
_TYPES = ("CaseStarted", "ClocksStarted", "ClockPaused", "ApplicationReceived")


def backfill_case_facts(uow_factory: Callable[[], SqlAlchemyUnitOfWork], calendar: Any, *,
                        batch: int = 500) -> int:
    """Derive and store the facts of every case without them; return how many cases were filled in."""
    done = 0
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


def _facts(conn: Any, row: Any, calendar: Any) -> dict[str, Any]:
    recorded = conn.execute(select(_events.c.event_type, _events.c.occurred_at, _events.c.payload)
                            .where(_events.c.case_id == row.id, _events.c.event_type.in_(_TYPES))
                            .order_by(_events.c.seq)).all()
    app = conn.execute(select(_apps.c.channel, _apps.c.tolerance).where(_apps.c.case_id == row.id)).first()
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

