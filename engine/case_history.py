"""A case's recorded history with exactly the source rows its replay seeds, read from the database.

:class:`CaseHistory` is what :class:`engine.replay.Replayer` needs to re-run a case, whatever it came from:
the case row, its events exactly as stored (with both hashes), and the rows a scratch database must hold
for the case's commands to read what they read then: the pinned definition versions (BPMN, resources), their
form versions, the matter version and that matter's grants, the users the events name (without password or
ID number), the calendar facts, the case's received materials, and the messages the case received (the
handoff that started it, a result caught later) with their sender's facts. :func:`load_case_history` reads
it from a database; :mod:`engine.history_file` writes it to and reads it from one JSON file.

Read from a database, a history holds every calendar fact: those in force and those a later import replaced
(``calendar_replaced``, each with the instant it stopped counting), so replay gives each command the schedule
in force at its instant; and each schedule replaced before replaced ones were kept (``calendar_lost``), so
replay refuses rather than guess when a command consults it. :func:`trim_calendar` keeps only the whole years
the case can need (:func:`carried_years`: from its first event's year through the year after its last one,
CST) and lists each loaded year it leaves out with the instant it was loaded (``calendar_withheld``), so
replay can refuse, instead of estimate, when a command consults one of them (:mod:`engine.replay_calendar`).
It also holds the whole load log (``calendar_imports``, a few rows a year, never trimmed): a command recorded
with its calendar generation replays with the calendar after that many loads.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select, tuple_

from .audit import AuditEvent, ChainedEvent
from .calendar import business_date
from .replay_case_row import ROW_STATE_COLUMNS
from .persistence.calendar_repository import CalendarRepository, LostVersion
from .persistence.models import (
    CalendarDay, CalendarImport, Case, CaseEvent, CaseMaterial, FormVersion, Grant, MatterVersion, Message,
    ProcessDefinition, User,
)

CASE_COLUMNS = ("id", "case_no", "definition_id", "process_key", "business_key", "title", "status",
                "owning_district", "receiving_district", "deciding_district", "started_by", "started_at",
                "ended_at", "matter_code", "matter_version", "event_seq", "chain_head")
"""The case row's columns a history keeps (no workflow snapshot, no derived metrics), besides the clock columns
replay compares (:data:`engine.replay_case_row.ROW_STATE_COLUMNS`), which a file exported before may lack."""
MATERIAL_COLUMNS = ("material_key", "sha256", "size", "media_type", "original_filename", "license_ref",
                    "verified_by", "verified_at", "received_at")
SENDER_COLUMNS = ("case_no", "title", "matter_code", "owning_district", "receiving_district", "started_at")


@dataclass(frozen=True)
class StoredEvent(AuditEvent):
    """One audit event exactly as stored, hashes included."""

    prev_hash: str
    hash: str

    def chained(self, case_no: str) -> ChainedEvent:
        """The event as :func:`engine.audit.verify_chain` reads it."""
        return ChainedEvent(case_no, **vars(self))


def event_columns(kind: type[AuditEvent]) -> tuple[Any, ...]:
    """The ``case_events`` columns named by the fields of ``kind`` (not :class:`ChainedEvent`), in their order.

    A row selected with them builds ``kind(*row)``.
    """
    return tuple(getattr(CaseEvent, f.name) for f in fields(kind))


@dataclass(frozen=True)
class CaseHistory:
    """Everything one case's replay and chain check read, from a database or a history file."""

    case: dict[str, Any]
    """The case row (:data:`CASE_COLUMNS`)."""
    events: list[StoredEvent]
    """Its audit events in ``seq`` order."""
    definitions: list[dict[str, Any]]
    """``process_definitions`` rows: the pinned version and every version a ``CaseMigrated`` moved it to."""
    forms: list[dict[str, Any]]
    """``form_versions`` rows those definitions (and a bundle's application form) pin."""
    matters: list[dict[str, Any]]
    """The ``matter_versions`` row the case was received under (none for a case without a matter)."""
    grants: list[dict[str, Any]]
    """Every ``grants`` row of that matter."""
    users: list[dict[str, Any]]
    """``users`` rows the events name, with ``password_hash`` and ``id_number`` left out."""
    calendar: list[dict[str, Any]]
    """The ``calendar_days`` rows, oldest load first: every row, or after :func:`trim_calendar` those of the
    carried years."""
    materials: list[dict[str, Any]]
    """The case's ``case_materials`` rows (:data:`MATERIAL_COLUMNS`) in id order."""
    messages: list[dict[str, Any]]
    """Each message the case received: ``idempotency_key``, ``name``, ``correlation_key``, ``payload`` and
    ``sender`` (:data:`SENDER_COLUMNS` of the sending case, or None)."""
    calendar_withheld: dict[int, datetime] = field(default_factory=dict)
    """Each loaded year whose rows were left out (:func:`trim_calendar`), with the instant it was loaded;
    empty when ``calendar`` holds every row."""
    calendar_replaced: list[dict[str, Any]] = field(default_factory=list)
    """The ``calendar_replaced_days`` rows (without ``id``), oldest load first: the facts of schedules a later
    import replaced, each with its ``replaced_at``; after :func:`trim_calendar` those of the carried years."""
    calendar_lost: list[LostVersion] = field(default_factory=list)
    """The schedules replaced before their rows were kept (whatever their year: they are a line each)."""
    calendar_imports: list[dict[str, Any]] = field(default_factory=list)
    """The ``calendar_imports`` rows (the load log, every year) in id order: a command recorded with its
    calendar generation N replays with the calendar after the first N (:mod:`engine.replay_calendar`)."""

    @property
    def case_no(self) -> str:
        """The case's 办件编号."""
        return str(self.case["case_no"])

    def pinned_hashes(self) -> set[str]:
        """Content hashes of every definition version the events name (started on, migrated to)."""
        found = {e.payload.get("content_hash") for e in self.events if e.event_type == "CaseStarted"}
        found |= {e.payload.get("to_hash") for e in self.events if e.event_type == "CaseMigrated"}
        return {h for h in found if isinstance(h, str)}


def carried_years(history: CaseHistory) -> tuple[int, int]:
    """The first and last year (CST) whose calendar the case can need.

    They are its first event's year and the year after its last event's: a deadline computed at the last event
    may end in the next year.
    """
    instants = [e.occurred_at for e in history.events] or [history.case["started_at"]]
    return business_date(min(instants)).year, business_date(max(instants)).year + 1


def trim_calendar(history: CaseHistory) -> CaseHistory:
    """The history with only the calendar rows of :func:`carried_years`; every other loaded year withheld.

    A year is withheld with the earliest ``loaded_at`` of its rows, in force or replaced: before then the case saw
    it as not loaded, which replay reproduces without its rows. Trimming a trimmed history changes nothing.
    """
    first, last = carried_years(history)
    withheld = dict(history.calendar_withheld)

    def carried(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for row in rows:
            if first <= row["year"] <= last:
                kept.append(row)
            elif row["year"] not in withheld or row["loaded_at"] < withheld[row["year"]]:
                withheld[row["year"]] = row["loaded_at"]
        return kept

    return replace(history, calendar=carried(history.calendar), calendar_replaced=carried(history.calendar_replaced),
                   calendar_withheld=dict(sorted(withheld.items())))


def load_case_history(database: Any, case_id: int) -> CaseHistory:
    """Read case ``case_id`` and the rows its replay seeds from ``database`` (the case must exist).

    One snapshot (:meth:`~engine.persistence.db.Database.snapshot`): a calendar import committing meanwhile
    would otherwise leave a version both in force and replaced, or events without the rows they counted with.
    """
    with database.snapshot() as session:
        case = session.execute(select(Case.__table__).where(Case.id == case_id)).one()._asdict()
        events = [StoredEvent(*row) for row in session.execute(
            select(*event_columns(StoredEvent)).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))]
        partial = CaseHistory({k: case[k] for k in CASE_COLUMNS + ROW_STATE_COLUMNS}, events, [], [], [], [], [], [],
                              [], [])
        definitions = _definitions(session, case, partial.pinned_hashes())
        matters, grants = _matter(session, case)
        calendar = CalendarRepository(session)
        return CaseHistory(
            partial.case, events, definitions, _forms(session, definitions), matters, grants,
            _users(session, events), _rows(session, select(CalendarDay.__table__), key="loaded_at"),
            _materials(session, case_id), _messages(session, events),
            calendar_replaced=calendar.replaced_rows(), calendar_lost=calendar.lost_versions(),
            calendar_imports=_rows(session, select(CalendarImport.__table__).order_by(CalendarImport.id)))


def _rows(session: Any, stmt: Any, key: str | None = None) -> list[dict[str, Any]]:
    rows = [r._asdict() for r in session.execute(stmt)]
    return sorted(rows, key=lambda row: row[key]) if key else rows


def _definitions(session: Any, case: dict[str, Any], pinned: set[str]) -> list[dict[str, Any]]:
    table = ProcessDefinition.__table__
    return _rows(session, select(table).where(
        (table.c.id == case["definition_id"])
        | ((table.c.process_key == case["process_key"]) & table.c.content_hash.in_(sorted(pinned))))
        .order_by(table.c.id))


def _forms(session: Any, definitions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = set()
    for definition in definitions:
        wanted |= set((definition["form_refs"] or {}).items())
        bundle = (definition["meta"] or {}).get("bundle")
        if bundle is not None:
            wanted.add((bundle["form"], bundle["form_hash"]))
    if not wanted:
        return []
    return _rows(session, select(FormVersion.__table__).where(
        tuple_(FormVersion.form_key, FormVersion.content_hash).in_(sorted(wanted))).order_by(FormVersion.id))


def _matter(session: Any, case: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if case["matter_code"] is None:
        return [], []
    matters = _rows(session, select(MatterVersion.__table__).where(
        MatterVersion.code == case["matter_code"], MatterVersion.version == case["matter_version"]))
    grants = _rows(session, select(Grant.__table__).where(Grant.matter_code == case["matter_code"])
                   .order_by(Grant.id))
    return matters, grants


def _users(session: Any, events: list[StoredEvent]) -> list[dict[str, Any]]:
    names = {e.actor for e in events if e.actor}
    names |= {e.payload.get(k) for e in events for k in ("approved_by", "to_user") if e.payload.get(k)}
    if not names:
        return []
    return [{**row, "password_hash": None, "id_number": None} for row in _rows(
        session, select(User.__table__).where(User.username.in_(sorted(names))).order_by(User.id))]


def _materials(session: Any, case_id: int) -> list[dict[str, Any]]:
    table = CaseMaterial.__table__
    columns = [table.c[name] for name in MATERIAL_COLUMNS]
    return _rows(session, select(*columns).where(table.c.case_id == case_id).order_by(table.c.id))


def _messages(session: Any, events: list[StoredEvent]) -> list[dict[str, Any]]:
    keys = [e.payload.get("idempotency_key") for e in events if e.event_type == "MessageReceived"]
    if not keys:
        return []
    table, cases = Message.__table__, Case.__table__
    found = {row.idempotency_key: row for row in session.execute(
        select(table.c.idempotency_key, table.c.name, table.c.correlation_key, table.c.payload,
               table.c.sender_case_id).where(table.c.idempotency_key.in_(sorted(k for k in keys if k))))}
    out = []
    for key in keys:
        row = found.get(key)
        if row is None:
            continue     # a message row that is gone: replay reports the catch it cannot issue
        sender = session.execute(select(*(cases.c[name] for name in SENDER_COLUMNS)).where(
            cases.c.id == row.sender_case_id)).one_or_none() if row.sender_case_id else None
        out.append({"idempotency_key": key, "name": row.name, "correlation_key": row.correlation_key,
                    "payload": row.payload, "sender": sender._asdict() if sender is not None else None})
    return out
