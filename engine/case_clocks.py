"""A case's two clocks (法定 and 承诺) as stored on the case row, and the columns derived from them.

The clocks themselves are :class:`engine.legal_clock.Clock` values kept in ``cases.clocks`` (JSON). Each
write also stores, per clock, the instant it turns yellow and the instant it turns red (``*_yellow_at``,
``*_due_at``), computed here with the working-day calendar, so the inbox colours and sorts with plain
comparisons against "now" and never computes a deadline per row at query time. A paused clock stores
neither (its due date moves while it stands still; its light is "paused" until it resumes), except one whose
deadline had passed before the pause began: that pause moves nothing, so the clock keeps its due and yellow
instants and stays red (overdue) in every derived column and inbox row (行政许可法第七十四条).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any, Mapping

from .calendar import ONE_DAY, WorkCalendar, business_date, period_end
from .definitions import ClockSpec, element_ids
from .errors import Conflict, WorkflowFailed
from .legal_clock import Budget, Clock
from .legal_clock_records import UNIT_ZH
from .legal_clock_rules import AcceptanceOutcome, deemed_acceptance

KINDS = ("legal", "committed")


def clock_district(owning_district: str | None, deciding_district: str | None) -> str | None:
    """The district whose staff act on a case's clocks (pause for 补正, resume, ask for or approve an extension).

    It is the deciding one under a 就地批办 grant (it reviews and decides, so it asks for 补正 and its 负责人
    approves extensions), else the owning one (业务属地).
    """
    return deciding_district or owning_district


def catalog_clock_specs(specs: tuple[ClockSpec, ...], limits: Mapping[str, tuple[int, str]],
                        lights: Mapping[str, Any] | None = None) -> tuple[ClockSpec, ...]:
    """Return the diagram's clocks with their amounts (and light thresholds) taken from the matter catalog.

    ``limits`` maps a kind (``legal``, ``committed``) to ``(amount, unit)`` from the catalog. The diagram
    still says which clocks exist and when they start (``startsAt``); the catalog says how long they run.
    ``lights`` (the matter's ``yellow_days``/``yellow_ratio``) replaces the diagram's thresholds where given.
    A kind the catalog gives and the diagram does not declare gets a clock that starts with the case (收件).
    """
    override = {k: v for k, v in (lights or {}).items() if k in ("yellow_days", "yellow_ratio")}
    out = [replace(spec, amount=limits[spec.kind][0], unit=limits[spec.kind][1]) if spec.kind in limits else spec
           for spec in specs]
    declared = {spec.kind for spec in specs}
    out += [ClockSpec(kind, amount, unit) for kind, (amount, unit) in limits.items() if kind not in declared]
    return tuple(replace(spec, **override) for spec in out)


def start_clocks(specs: tuple[ClockSpec, ...], at: datetime, actor: str,
                 data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Start every clock a definition declares at intake (T0 = the business date of ``at``).

    A clock with ``starts_at`` waits for that task (受理) instead: it is stored as pending with the receipt
    instant, so the 5-working-day rule of 第三十二条 can back-date its T0 when it starts. A clock that starts
    now with ``amount_from`` takes its length from that variable of the start ``data``.

    Raises:
        WorkflowFailed: an ``amountFrom`` variable is missing or not a whole number of 1 to 3650.
    """
    doc: dict[str, Any] = {}
    for spec in specs:
        entry: dict[str, Any] = {"yellow_days": spec.yellow_days, "yellow_ratio": spec.yellow_ratio}
        if spec.starts_at:
            entry.update(pending={"budget": Budget(spec.amount, spec.unit).to_dict(), "starts_at": spec.starts_at,
                                  "received_at": at.isoformat(), "notice_at": None})
            if spec.notice_at:
                entry["pending"]["notice_by"] = spec.notice_at
            if spec.amount_from:
                entry["pending"]["amount_from"] = spec.amount_from
            if spec.stops_at:
                entry.update(starts_at=spec.starts_at, stops_at=spec.stops_at)
                if spec.notice_at:
                    entry["notice_by"] = spec.notice_at     # each later period has its own notice task
        else:
            amount = _amount(spec.amount_from, data or {}) if spec.amount_from else spec.amount
            entry["clock"] = Clock.start(spec.kind, Budget(amount, spec.unit), business_date(at), at,
                                         actor).to_dict()
        doc[spec.kind] = entry
    return doc


def start_pending(doc: Mapping[str, Any], element_id: str, at: datetime, calendar: WorkCalendar,
                  actor: str, data: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start the clocks waiting for ``element_id`` (受理 completed at ``at``); return the doc and what started.

    T0 is the acceptance date, or the receipt date when neither an acceptance nor a one-time 补正 notice
    came within 5 working days of receipt (deemed acceptance, audited with its explanation). A clock
    declared with ``amountFrom`` takes its length from that variable of ``data`` (the task's data).

    What started is the ``ClocksStarted`` payload of each clock: ``kind``, ``t0``, ``budget``, ``deemed`` and
    ``explanation`` (and ``amount_from`` when the length came from the case data). With the event's instant
    and actor they rebuild the period exactly, so an archive's budget is checked against the event
    (:mod:`engine.archive_clocks`). Events recorded before every clock carried ``budget`` lack it unless
    ``amount_from`` is set; replay compares those without it (:mod:`engine.replay_shapes`).

    Raises:
        WorkflowFailed: an ``amountFrom`` variable is missing or not a whole number of 1 to 3650.
    """
    new, started = dict(doc), []
    for kind, entry in doc.items():
        pending = entry.get("pending")
        if not pending or element_id not in element_ids(pending["starts_at"]):
            continue
        notice = datetime.fromisoformat(pending["notice_at"]) if pending["notice_at"] else None
        if pending.get("next_period"):
            # A later stage starts at its own 受理; 第三十二条's deemed acceptance is about the first receipt.
            outcome = deemed_acceptance(at, None, at, calendar)
        else:
            outcome = deemed_acceptance(datetime.fromisoformat(pending["received_at"]), notice, at, calendar)
        t0 = outcome.t0 or business_date(at)
        new[kind], payload = started_entry(kind, entry, t0, outcome, at, actor, data)
        started.append(payload)
    return new, started


def started_entry(kind: str, entry: Mapping[str, Any], t0: date, outcome: AcceptanceOutcome, at: datetime,
                  actor: str, data: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The entry of a pending clock started at ``at`` from ``t0``, and its ``ClocksStarted`` payload.

    ``outcome`` is the :class:`~engine.legal_clock_rules.AcceptanceOutcome` that chose ``t0`` (its ``deemed``
    and ``explanation`` go on the payload); the budget's length comes from ``data`` for an ``amountFrom`` clock.

    Raises:
        WorkflowFailed: an ``amountFrom`` variable is missing or not a whole number of 1 to 3650.
    """
    pending = entry["pending"]
    budget = Budget.from_dict(pending["budget"])
    if pending.get("amount_from"):
        budget = Budget(_amount(pending["amount_from"], data or {}), budget.unit)
    clock = Clock.start(kind, budget, t0, at, actor)
    # The budget is on the event whatever chose it (diagram, catalog, a catalog category, the case data).
    started = {"kind": kind, "t0": t0.isoformat(), "budget": budget.to_dict(), "deemed": outcome.deemed,
               "explanation": outcome.explanation}
    if pending.get("amount_from"):
        # The length came from the case data: the audit also says which variable held it.
        started["amount_from"] = pending["amount_from"]
    return {k: v for k, v in entry.items() if k != "pending"} | {"clock": clock.to_dict()}, started


ENDED_BY_ACCEPTANCE = ("correction",)
"""The pauses 受理 ends: a 补正 is over once the applicant has brought everything asked for (第三十二条第一款
第五项: then the application is accepted). A 容缺 pause is not: 容缺受理 accepts while materials are still owed,
and whether that wait counts against the 承诺时限 is a local rule (DOMAIN §2.2), so it ends when the window
resumes the clock. A 特别程序 (第四十五条) has its own end and goes on."""


def resume_at_acceptance(doc: Mapping[str, Any], at: datetime, actor: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Resume every started clock paused for 补正 at ``at`` (a 受理 that started other clocks).

    Returns the doc and, per resumed kind, the reason kind of the pause that ended: the ``resumed`` of the
    ``ClocksStarted`` event, from which history and archive checks rebuild the new running segment (it starts
    at the event's instant, by its actor, as :meth:`~engine.legal_clock.Clock.resume` writes it). A clock
    paused for 容缺 or a 特别程序, running, closed or still waiting for 受理 is left as it is.
    """
    new, resumed = dict(doc), {}
    for kind, clock in clocks_of(doc).items():
        pause = clock.segments[-1]
        if clock.paused and pause.reason_kind is not None and pause.reason_kind.value in ENDED_BY_ACCEPTANCE:
            new = with_clock(new, kind, clock.resume(at, actor))
            resumed[kind] = pause.reason_kind.value
    return new, resumed


def stops_clocks(doc: Mapping[str, Any] | None, element_id: str) -> tuple[str, ...]:
    """Kinds of running clocks whose current period ends when ``element_id`` completes (``stopsAt``)."""
    return tuple(kind for kind, entry in (doc or {}).items()
                 if "clock" in entry and element_id in element_ids(entry.get("stops_at"))
                 and not Clock.from_dict(entry["clock"]).closed)


def stop_periods(doc: Mapping[str, Any], kinds: tuple[str, ...], at: datetime) -> tuple[dict[str, Any],
                                                                                          dict[str, Any]]:
    """End the current period of each clock in ``kinds`` at ``at``; it waits for its next ``starts_at``.

    The closed period is kept in the entry's ``periods`` (what it used is still shown); the clock goes back
    to pending with the same budget, its next T0 being the next 受理. Returns the doc and, per kind, what
    the audit records of the period that ended.
    """
    new, stopped = dict(doc), {}
    for kind in kinds:
        entry = doc[kind]
        clock = Clock.from_dict(entry["clock"]).close(at)
        pending = {"budget": clock.budget.to_dict(), "starts_at": entry["starts_at"], "received_at": at.isoformat(),
                   "notice_at": None, "next_period": True}
        if entry.get("notice_by"):
            pending["notice_by"] = entry["notice_by"]
        rest = {k: v for k, v in entry.items() if k not in ("clock", "periods")}
        new[kind] = rest | {"pending": pending, "periods": [*entry.get("periods", ()), clock.to_dict()]}
        stopped[kind] = {"t0": clock.t0.isoformat(), "period": len(new[kind]["periods"])}
    return new, stopped


def close_all(doc: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """Close every clock when the case ends; a clock between periods keeps its last period as its record."""
    closed = {}
    for kind, entry in doc.items():
        if "clock" in entry:
            closed[kind] = {**entry, "clock": Clock.from_dict(entry["clock"]).close(at).to_dict()}
        elif entry.get("periods"):
            closed[kind] = {k: v for k, v in entry.items() if k != "pending"} | {
                "clock": entry["periods"][-1], "periods": entry["periods"][:-1]}
        else:
            closed[kind] = entry
    return closed


def _amount(name: str, data: Mapping[str, Any]) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 3650:
        raise WorkflowFailed(f"时限取自办件变量 {name}，但其值 {value!r} 不是 1 到 3650 的整数",
                             details={"variable": name})
    return value


class NoticeAlreadyGiven(Conflict):
    """A second one-time 补正 notice before 受理: 第三十二条 requires telling everything to correct at once."""

    code = "NOTICE_ALREADY_GIVEN"


def notice_given(doc: Mapping[str, Any] | None) -> datetime | None:
    """When the one-time 补正 notice of the application now waiting for 受理 was given, or None.

    The notice belongs to a clock period, as the 5-working-day window does: a 工改 stage whose period ended
    (``stopsAt``) waits for the next stage's 受理 with no notice, and that stage's application (its own
    materials, received anew) may be told once of its own 补正. After 受理 no clock waits: a 补正 then is a
    pause of a running clock, not this notice.
    """
    given = [datetime.fromisoformat(entry["pending"]["notice_at"]) for entry in (doc or {}).values()
             if entry.get("pending") and entry["pending"].get("notice_at")]
    return min(given, default=None)


def refuse_second_notice(doc: Mapping[str, Any] | None, hint: str = "") -> None:
    """Refuse a one-time 补正 notice when this period's application already had one; ``hint`` ends the message.

    Raises:
        NoticeAlreadyGiven: 409, naming the day (Beijing time) the notice was given.
    """
    given = notice_given(doc)
    if given is not None:
        raise notice_refused(given, hint)


def notice_refused(given: datetime, hint: str = "") -> NoticeAlreadyGiven:
    """The 409 for a second one-time 补正 notice, the first having been given at ``given``."""
    day = business_date(given).isoformat()
    return NoticeAlreadyGiven(f"已于 {day} 一次性告知补正内容，不得再次告知；申请人补正后，材料齐全的予以受理，"
                              f"仍不齐全的依法不予受理（《行政许可法》第三十二条第一款第（四）项）{hint}",
                              details={"notice_at": given.isoformat(), "notice_date": day})


def is_notice_task(doc: Mapping[str, Any] | None, element_id: str) -> bool:
    """Whether completing ``element_id`` is the one-time 补正 notice (``noticeAt``) of a clock waiting for 受理."""
    return any(element_id in element_ids(entry["pending"].get("notice_by"))
               for entry in (doc or {}).values() if entry.get("pending"))


def note_correction_notice(doc: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """Record the first one-time 补正 notice on clocks that have not started yet."""
    new = dict(doc)
    for kind, entry in doc.items():
        pending = entry.get("pending")
        if pending and not pending["notice_at"]:
            new[kind] = {**entry, "pending": {**pending, "notice_at": at.isoformat()}}
    return new


def note_notice_before_receipt(doc: Mapping[str, Any], received_at: datetime, at: datetime) -> dict[str, Any]:
    """Record on the clocks waiting for the first 受理 a one-time 补正 notice given before this case opened.

    异地代收代办: the receiving window received the application at ``received_at`` and gave the notice at ``at``
    under its 一次性告知权, for the owning district, whose case opens when the handoff arrives. The application
    has had its one notice (a second one is 409 ``NOTICE_ALREADY_GIVEN``), and 第三十二条 counts the notice
    window from the receipt that notice answered: both instants replace the case's own on the waiting clocks
    (a receipt after the notice is taken as the notice's instant), so a notice in time keeps the application
    from being deemed accepted and its clocks start at the owning district's 受理.
    """
    received = min(received_at, at)
    new = dict(doc)
    for kind, entry in doc.items():
        pending = entry.get("pending")
        if pending and not pending["notice_at"] and not pending.get("next_period"):
            new[kind] = {**entry, "pending": {**pending, "received_at": received.isoformat(),
                                              "notice_at": at.isoformat()}}
    return new


def starts_clocks(doc: Mapping[str, Any] | None, element_id: str) -> bool:
    """Whether completing ``element_id`` starts a clock that waits for 受理."""
    return any(element_id in element_ids(entry["pending"]["starts_at"])
               for entry in (doc or {}).values() if entry.get("pending"))


def notice_kinds(doc: Mapping[str, Any] | None, element_id: str) -> tuple[str, ...]:
    """Kinds of waiting clocks for which completing ``element_id`` is the first one-time 补正 notice."""
    waiting = {kind: entry["pending"] for kind, entry in (doc or {}).items() if entry.get("pending")}
    return tuple(kind for kind, pending in waiting.items()
                 if not pending["notice_at"] and element_id in element_ids(pending.get("notice_by")))


def pending_kinds(doc: Mapping[str, Any] | None) -> set[str]:
    """Return the kinds of clocks still waiting to start."""
    return {kind for kind, entry in (doc or {}).items() if entry.get("pending")}


def clocks_of(doc: Mapping[str, Any] | None) -> dict[str, Clock]:
    """Return the started clocks by kind (pending ones are left out)."""
    return {kind: Clock.from_dict(entry["clock"]) for kind, entry in (doc or {}).items() if "clock" in entry}


def with_clock(doc: Mapping[str, Any], kind: str, clock: Clock) -> dict[str, Any]:
    """Return a copy of ``doc`` with one clock replaced."""
    return {**doc, kind: {**doc[kind], "clock": clock.to_dict()}}


def derived_columns(doc: Mapping[str, Any] | None, calendar: WorkCalendar) -> dict[str, Any]:
    """Return ``{legal,committed}_{due,yellow}_at`` (None where absent or paused) and ``deadline_provisional``.

    ``*_yellow_at`` is the midnight that starts :meth:`~engine.legal_clock.Clock.yellow_from`'s day, the day the
    clock's light turns yellow on the case page: the inbox, 督办 and the dashboard turn with it.

    A clock paused after its deadline had passed keeps its instants: the pause moves nothing and the
    breach stays visible (:meth:`~engine.legal_clock.Clock.expired_before_pause`).

    ``deadline_provisional`` is True while any running clock's due date reaches a year whose holidays are
    not loaded yet; ``tongban calendar provisional`` lists those cases and an import recomputes them.
    """
    columns: dict[str, Any] = {f"{k}_{c}_at": None for k in KINDS for c in ("due", "yellow")}
    columns["deadline_provisional"] = False if doc else None
    for kind, clock in clocks_of(doc).items():
        if clock.closed or (clock.paused and not clock.expired_before_pause(calendar)):
            continue
        entry = (doc or {})[kind]
        due = clock.due(calendar)
        columns["deadline_provisional"] = columns["deadline_provisional"] or not due.confirmed
        columns[f"{kind}_due_at"] = period_end(due.date)
        # The instant the case page's light turns yellow (Clock.light): one rule, in the budget's unit.
        yellow = clock.yellow_from(calendar, yellow_days=int(entry["yellow_days"]),
                                   yellow_ratio=float(entry["yellow_ratio"]))
        columns[f"{kind}_yellow_at"] = period_end(yellow - ONE_DAY)
    return columns


def summary(doc: Mapping[str, Any] | None, calendar: WorkCalendar, at: datetime,
            names: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Return each clock as people read it: due date, confirmed or provisional, days left, light, why.

    ``names`` gives the steps' names (element id -> name), so that a clock waiting for 受理 names the steps
    that start it (受理（当场受理、补正后受理）后起算); without them the rule says 受理后起算.
    """
    rows = [{"kind": kind, "budget": str(Budget.from_dict(entry["pending"]["budget"])),
             **_unit(Budget.from_dict(entry["pending"]["budget"])), "t0": None,
             "due_date": None, "status": "between_periods" if entry.get("periods") else "not_started",
             "left": None, "used": None, "light": "not_started", "paused": False, "extended_days": 0,
             "extension_reason": None, "periods": len(entry.get("periods", ())),
             "rule": _starting_rule(entry["pending"]["starts_at"], names)
             + ("；上一时段已结束，待下一阶段受理" if entry.get("periods") else "")}
            for kind, entry in (doc or {}).items()
            if entry.get("pending")]
    for kind, clock in clocks_of(doc).items():
        entry = (doc or {})[kind]
        due = clock.due(calendar, at)
        rows.append({
            "kind": kind, "budget": str(clock.budget), **_unit(clock.budget), "t0": clock.t0.isoformat(),
            "due_date": due.date.isoformat(),
            "status": due.status, "left": clock.left(calendar, at), "used": clock.used(calendar, at),
            "light": clock.light(calendar, at, yellow_days=int(entry["yellow_days"]),
                                 yellow_ratio=float(entry["yellow_ratio"])),
            "paused": clock.paused, "extended_days": sum(e.days for e in clock.extensions),
            "extension_reason": clock.extensions[-1].reason if clock.extensions else None, "rule": due.rule,
            "periods": len(entry.get("periods", ())) + (1 if entry.get("stops_at") else 0),
        })
    return rows


def _unit(budget: Budget) -> dict[str, str]:
    """The unit ``left`` and ``used`` count in (``unit``) and its Chinese words for pages (``unit_zh``: 日, 个工作日).

    An extension's ``extended_days`` are working days whatever this unit (:mod:`engine.legal_clock_counting`).
    """
    return {"unit": budget.unit, "unit_zh": UNIT_ZH[budget.unit]}


def _starting_rule(starts_at: Any, names: Mapping[str, str] | None) -> str:
    """受理（<the starting steps by name>）后起算, or 受理后起算 when the names are not known."""
    if names is None:
        return "受理后起算"
    steps = list(dict.fromkeys(names.get(e) or e for e in element_ids(starts_at)))
    return f"受理（{'、'.join(steps)}）后起算" if steps else "受理后起算"
