"""The deemed acceptance of 《行政许可法》第三十二条 taking effect when its window passes, not only at 受理.

"逾期不告知的，自收到申请材料之日起即为受理": once 5 working days after the receipt date (the receipt day not
counted) have passed with neither a one-time 补正 notice nor 受理, the application is accepted by law on its
receipt date (DOMAIN.md 1.1, 1.3). Its clocks run from then, whether or not anyone ever completes the 受理 task,
so the 法定 clock of an application left on a desk turns yellow and red, and raises its 督办, like any other.

The worker's sweep finds such cases (:func:`deemed_case_ids`) and issues ``RecomputeDeadlines`` with the reason
:data:`DEEMED_REASON` for each; that recompute starts the waiting clocks with T0 = the receipt date
(:func:`start_deemed`) and records ``DeadlinesRecomputed`` (the input, with the new due instants in ``after``)
followed by ``ClocksStarted`` (``deemed`` true, the explanation, no 受理 task), so replay re-issues it and verify
checks it like any recompute. A later 受理 finds no clock waiting and starts nothing. Only a recompute with this
reason deems: a recount after a calendar import records what it always did, so older histories still replay.

Idempotent: a case whose clocks started is accepted (``cases.accepted_at`` is set by that ``ClocksStarted``, to
the receipt instant: :func:`deemed_received_at`) and no longer picked, and a second recompute with the reason
finds nothing due and writes nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import select

from .calendar import WorkCalendar, business_date
from .case_clocks import started_entry
from .legal_clock_rules import NOTICE_WINDOW_DAYS, deemed_acceptance
from .persistence.models import Case
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

DEEMED_REASON = "逾期未一次性告知补正，依《行政许可法》第三十二条自收件之日起视为受理"
"""The ``DeadlinesRecomputed`` reason of the recompute that starts the clocks of an application deemed accepted."""

_SCAN = 200
"""Candidate rows read per query while picking (each is checked against the calendar in Python)."""


def deemed_due(doc: Mapping[str, Any] | None, at: datetime, calendar: WorkCalendar) -> bool:
    """Whether the application waiting for 受理 is accepted by law at ``at`` (第三十二条第一款第（四）项).

    That is when clocks wait for the first 受理 (not a later 工改 stage's: its application was accepted long
    ago), no one-time 补正 notice has been given, and the window after the receipt date has passed
    (:func:`~engine.legal_clock_rules.deemed_acceptance`).
    """
    waiting = [entry["pending"] for entry in (doc or {}).values()
               if entry.get("pending") and not entry["pending"].get("next_period")]
    if not waiting or any(pending["notice_at"] for pending in waiting):
        return False
    received = min(datetime.fromisoformat(pending["received_at"]) for pending in waiting)
    return deemed_acceptance(received, None, None, calendar, at=at).deemed


def deemed_received_at(doc: Mapping[str, Any] | None) -> datetime | None:
    """The instant an application accepted by law (:func:`deemed_due`) is accepted: its receipt (收件), or None.

    "自收到申请材料之日起即为受理": the case's ``accepted_at`` (metrics, exports) is the receipt its clocks' T0
    comes from, not the sweep that noticed the window had passed. Read from the waiting clocks, before they start.
    """
    waiting = [entry["pending"] for entry in (doc or {}).values()
               if entry.get("pending") and not entry["pending"].get("next_period")]
    return min((datetime.fromisoformat(pending["received_at"]) for pending in waiting), default=None)


def start_deemed(doc: Mapping[str, Any], at: datetime, calendar: WorkCalendar, actor: str,
                 data: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start at ``at`` the clocks of an application accepted by law (:func:`deemed_due`), T0 = the receipt date.

    Returns the doc and the ``ClocksStarted`` payload of each started clock, shaped as at 受理
    (:func:`~engine.case_clocks.start_pending`: ``kind``, ``t0``, ``budget``, ``deemed`` true, ``explanation``,
    ``amount_from``); a clock declared with ``amountFrom`` takes its length from that variable of ``data`` (the
    case data). Nothing starts when nothing is due: the doc comes back as it is, with no payload.

    Raises:
        WorkflowFailed: an ``amountFrom`` variable is missing or not a whole number of 1 to 3650.
    """
    new = dict(doc)
    if not deemed_due(doc, at, calendar):
        return new, []
    started = []
    for kind, entry in doc.items():
        pending = entry.get("pending")
        if not pending or pending.get("next_period"):
            continue
        outcome = deemed_acceptance(datetime.fromisoformat(pending["received_at"]), None, None, calendar, at=at)
        new[kind], payload = started_entry(kind, entry, outcome.t0 or business_date(at), outcome, at, actor, data)
        started.append(payload)
    return new, started


def deemed_case_ids(uow: SqlAlchemyUnitOfWork, now: datetime, calendar: WorkCalendar | None, *, after: int = 0,
                    limit: int) -> list[int]:
    """Return up to ``limit`` running cases, by id after ``after``, whose application is accepted by law now.

    The worker's pick for its per-case loop (``TimerWorker._each_case``), with ``RecomputeDeadlines(case_id,
    DEEMED_REASON)`` as the command. The query reads only cases not accepted yet (``accepted_at`` NULL), never
    told to correct (``corrections`` 0) and received at least :data:`NOTICE_WINDOW_DAYS` days ago (the window is
    that many working days, so never shorter); :func:`deemed_due` decides each with the calendar. A case told to
    correct only after its window had passed is left to its 受理, which back-dates T0 as before.
    """
    if calendar is None:
        return []
    received_by = now - timedelta(days=NOTICE_WINDOW_DAYS)
    found: list[int] = []
    while len(found) < limit:
        rows = uow.connection.execute(
            select(Case.id, Case.clocks).where(Case.status == "running", Case.accepted_at.is_(None),
                                               Case.clocks.is_not(None), Case.corrections == 0,
                                               Case.started_at <= received_by, Case.id > after)
            .order_by(Case.id).limit(_SCAN)).all()
        found += [case_id for case_id, doc in rows if deemed_due(doc, now, calendar)]
        if len(rows) < _SCAN:
            break
        after = rows[-1][0]
    return found[:limit]
