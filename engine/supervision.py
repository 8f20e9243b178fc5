"""督办: supervisors follow up cases whose deadlines are missed or about to be.

The worker's sweep finds running cases whose stored instants have passed (``committed_due_at``: the
承诺 deadline missed; ``legal_yellow_at``: the 法定 deadline near; ``legal_due_at``: missed) and opens one
item per case, kind and deadline for the supervisors of the owning district (业务属地). Each item is an
audited event on the case's chain; a supervisor closes it with an opinion, also audited. The rule reads only
the case row, so the sweep is one indexed query however many cases run.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from . import events as ev
from .commands import Actor, CloseSupervision, RaiseSupervision
from .errors import Conflict, NotFound
from .handlers import CaseRef, Services, _record
from .persistence.case_records import CaseRecord
from .text_input import require_written

CITY = "500000"
"""The district code of city-level supervisors (重庆市), who follow every district."""

KINDS = {
    "committed_overdue": ("committed", "承诺时限已超期"),
    "legal_warning": ("legal", "法定时限即将届满"),
    "legal_overdue": ("legal", "法定时限已超期"),
}
MAX_OPINION = 2000


def items_due(case: CaseRecord, now: datetime) -> list[tuple[str, str, datetime]]:
    """Return (kind, clock, deadline) of every item the case's stored instants call for at ``now``."""
    due = []
    if case.committed_due_at is not None and case.committed_due_at <= now:
        due.append(("committed_overdue", "committed", case.committed_due_at))
    if case.legal_due_at is not None and case.legal_yellow_at is not None and case.legal_yellow_at <= now:
        due.append(("legal_warning", "legal", case.legal_due_at))
    if case.legal_due_at is not None and case.legal_due_at <= now:
        due.append(("legal_overdue", "legal", case.legal_due_at))
    return due


def supervises(actor: Actor, district: str | None) -> bool:
    """Whether ``actor`` is a supervisor of ``district`` (or of the whole city)."""
    return "supervisor" in actor.roles and actor.district in (district, CITY)


def raise_supervision(cmd: RaiseSupervision, svc: Services) -> CaseRef:
    """Open the items the case calls for now and has not got yet; nothing when it has them all."""
    now = svc.clock.now()
    with svc.uow() as uow:
        case = uow.cases.lock(cmd.case_id)
        if case.status != "running":
            return CaseRef(case.id, case.case_no, case.status, case.version)
        have = uow.supervision.keys(case.id)
        new = [(kind, clock, due) for kind, clock, due in items_due(case, now) if (kind, due) not in have]
        if not new:
            return CaseRef(case.id, case.case_no, case.status, case.version)
        ids = uow.supervision.insert([
            {"case_id": case.id, "kind": kind, "clock": clock, "due_at": due, "district": case.owning_district,
             "state": "open", "raised_at": now} for kind, clock, due in new])
        raised = [ev.SupervisionRaised(item_id=item_id, kind=kind, clock=clock, due_at=due.isoformat())
                  for item_id, (kind, clock, due) in zip(ids, new)]
        workflow = svc.runner.cache.take(case.id, case.version, case.definition_id)
        uow.cases.save(case, events=_record(case, list(raised), cmd.actor, now))
        uow.commit()
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version)


def close_supervision(cmd: CloseSupervision, svc: Services) -> dict[str, Any]:
    """Close an open item of a district the actor supervises, with a non-empty opinion."""
    opinion = require_written(cmd.opinion, "opinion", "办结督办须填写督办意见", limit=MAX_OPINION)
    now = svc.clock.now()
    with svc.uow() as uow:
        found = uow.supervision.lock(cmd.item_id)
        if found is None or not supervises(cmd.actor, found.district):
            raise NotFound("督办事项不存在或无权访问", details={"item_id": cmd.item_id})
        case, item = uow.cases.lock(found.case_id), found
        if item.state != "open":
            raise Conflict(f"该督办事项已由 {item.closed_by} 办结", details={"item_id": item.id})
        item.state, item.closed_by, item.closed_at, item.opinion = "closed", cmd.actor.username, now, opinion
        closed = ev.SupervisionClosed(item_id=item.id, kind=item.kind, opinion=opinion)
        workflow = svc.runner.cache.take(case.id, case.version, case.definition_id)
        uow.flush()
        uow.cases.save(case, events=_record(case, [closed], cmd.actor, now))
        uow.commit()
        result = {"id": item.id, "case_id": case.id, "case_no": case.case_no, "state": item.state,
                  "closed_by": item.closed_by, "closed_at": item.closed_at}
    if workflow is not None:
        svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return result
