"""A case's history for auditors (DESIGN §8): every event, the path through the diagram, the state at any event.

The timeline is read from ``case_events`` a page at a time (keyset on ``seq``), with a fixed number of
queries per page whatever its size: the page, the clock events up to its end, the users it names. Each
event shows who acted (name and district), the BPMN element and both clocks as they stood right after it
(:mod:`engine.history_clocks`), counted with the calendar the command that wrote it counted with (its recorded
calendar generation, else the holiday schedules in force at its instant) and with a note of what they cannot
show as it stood (:mod:`engine.history_calendar`); form data is masked for roles that do not
see full ID numbers (:func:`engine.masking.mask_for_roles`). The path counts how often each element was
entered, so loops (退回 and review again) show their rounds. The state as of an event is rebuilt by replay
(:mod:`engine.history_state`), and the integrity of the record is :func:`engine.verification.verify_case`.

Who may read it: auditors and admins, supervisors of a district the case belongs to (or of the city), and
staff (window, reviewer, department head) who may see the case under the usual rules
(:meth:`engine.queries.Queries.sees_case`). Other roles get 403; a case
that does not exist or that the reader may not see is 404, the same answer for both.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import select

from .audit import CALENDAR_GENERATION, STATE_DIGEST
from .commands import Actor
from .errors import Forbidden, InvalidInput, NotFound
from .history_calendar import CalendarAt, CalendarNotes, HistoryCalendars, command_generations, recorded_generation
from .history_clocks import CLOCK_EVENTS, ClockTracks, clocks_now, resumed_clocks
from .history_state import StateReplayer
from .masking import mask_for_roles
from .persistence.models import Case, CaseEvent, ProcessDefinition, User
from .queries import Queries
from .spiff.elements import element_names
from .verification import CaseVerification, verify_case

HISTORY_ROLES = frozenset({"auditor", "supervisor", "admin", "window_clerk", "reviewer", "department_head"})
"""Roles that may read case histories (staff only of the cases they may see)."""
MAX_PAGE = 500
"""The most events one timeline page holds."""
_DATA_EVENTS = frozenset({"CaseStarted", "TaskCompleted"})
_CASE_COLUMNS = (Case.id, Case.case_no, Case.title, Case.process_key, Case.status, Case.definition_id,
                 Case.event_seq, Case.chain_head, Case.clocks, Case.started_by, Case.started_at, Case.ended_at,
                 Case.owning_district, Case.receiving_district, Case.deciding_district, Case.department,
                 ProcessDefinition.version.label("definition_version"),
                 ProcessDefinition.content_hash.label("content_hash"))


def path_taken(events: Iterable[tuple[str, str | None, Mapping[str, Any] | None]]) -> dict[str, int]:
    """Count how often each BPMN element was entered, in the order first entered.

    ``events`` are ``(event_type, element_id, payload)`` in log order: a ``TaskCreated`` enters its user
    task (a task reopened by 退回 enters it again), a ``FlowAdvanced`` lists the elements the engine passed.
    """
    counts: dict[str, int] = {}
    for event_type, element_id, payload in events:
        if event_type == "TaskCreated" and element_id:
            counts[element_id] = counts.get(element_id, 0) + 1
        elif event_type == "FlowAdvanced":
            for element in (payload or {}).get("elements") or ():
                counts[element] = counts.get(element, 0) + 1
    return counts


@dataclass(frozen=True)
class TimelinePage:
    """One page of a case's timeline.

    Attributes:
        case: the case's facts (number, title, status, event count, pinned definition version and hash).
        events: the page's events in order, each with actor, element, both clocks and the submitted data, and
            the clocks a 受理 resumed in words (``resumed``, :func:`~engine.history_clocks.resumed_clocks`), and
            ``calendar_note`` (:func:`~engine.history_calendar.calendar_note`); ``calendar_generation``, the one
            the event records (the first event of a command; :data:`~engine.audit.CALENDAR_GENERATION`).
        next_after: the ``after`` that reads the next page, None on the last page.
    """

    case: dict[str, Any]
    events: list[dict[str, Any]]
    next_after: int | None


@dataclass(frozen=True)
class HistoryOverview:
    """What a history shows above its timeline: the case, whether its record is intact, the path taken."""

    case: dict[str, Any]
    integrity: CaseVerification
    path: list[dict[str, Any]] = field(default_factory=list)
    """Each element entered, in the order first entered: ``element_id``, ``name``, ``count``."""


class CaseHistory:
    """Histories of the cases an actor may read; built once per engine (``engine.history``)."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.sessions = engine.database.read_sessions
        self.states = StateReplayer(engine)
        self.calendars = HistoryCalendars(engine.calendar, engine.database)
        self._names: dict[int, dict[str, str]] = {}
        self._lock = threading.Lock()

    def find(self, case_ref: str | int) -> int:
        """Return the id of the case named by its id or its 办件编号; NotFound (``NOT_FOUND``) otherwise.

        ``NOT_FOUND`` as every command that names a case says of an unknown one (``tongban history``, ``verify``,
        ``replay``); the history's reads keep ``CASE_NOT_FOUND`` for a case the reader may not see.
        """
        stmt = select(Case.id)
        stmt = stmt.where(Case.id == int(case_ref)) if str(case_ref).isdigit() else stmt.where(
            Case.case_no == str(case_ref))
        with self.sessions() as session:
            found = session.execute(stmt).scalar()
        if found is None:
            raise NotFound(f"办件 {case_ref} 不存在", details={"case": str(case_ref)})
        return int(found)

    def overview(self, actor: Actor, case_id: int) -> HistoryOverview:
        """Return the case, the verification of its hash chain and the path its events took."""
        with self.sessions() as session:
            case = self._open(session, actor, case_id)
            rows = session.execute(select(CaseEvent.event_type, CaseEvent.element_id, CaseEvent.payload)
                                   .where(CaseEvent.case_id == case_id,
                                          CaseEvent.event_type.in_(("TaskCreated", "FlowAdvanced")))
                                   .order_by(CaseEvent.seq)).all()
        names = self.element_names(case.definition_id)
        path = [{"element_id": element, "name": names.get(element, ""), "count": count}
                for element, count in path_taken(rows).items()]
        integrity = verify_case(self.engine, case_id)
        return HistoryOverview(mask_for_roles(actor.roles, _case_view(case)), integrity, path)

    def timeline(self, actor: Actor, case_id: int, *, after: int = 0, limit: int = 100) -> TimelinePage:
        """Return the events after event ``after`` (at most ``limit``), oldest first."""
        if after < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"分页参数无效：after 不能小于 0，limit 应在 1 到 {MAX_PAGE} 之间",
                               details={"after": after, "limit": limit})
        with self.sessions() as session:
            case = self._open(session, actor, case_id)
            rows = session.execute(select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.occurred_at,
                                          CaseEvent.actor, CaseEvent.element_id, CaseEvent.task_id,
                                          CaseEvent.payload)
                                   .where(CaseEvent.case_id == case_id, CaseEvent.seq > after)
                                   .order_by(CaseEvent.seq).limit(limit + 1)).all()
            page = rows[:limit]
            clock_rows = session.execute(
                select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.payload)
                .where(CaseEvent.case_id == case_id, CaseEvent.event_type.in_(CLOCK_EVENTS),
                       CaseEvent.seq <= page[-1].seq).order_by(CaseEvent.seq)).all() if page and case.clocks else []
            users = _users(session, {row.actor for row in page if row.actor})
            before = _command_before(session, case_id, after, page[0]) if page and case.clocks else None
        at = self.calendars.reader() if case.clocks else None
        tracks = ClockTracks(case.clocks, clock_rows)
        names = self.element_names(case.definition_id)
        notes = CalendarNotes(at, case.started_at) if at else None
        generations = command_generations(((row.seq, row.occurred_at, row.payload) for row in page), before)
        events = [_event_view(row, users, names, tracks, at, notes, generation)
                  for row, generation in zip(page, generations)]
        return TimelinePage(mask_for_roles(actor.roles, _case_view(case)), mask_for_roles(actor.roles, events),
                            page[-1].seq if len(rows) > limit else None)

    def state_at(self, actor: Actor, case_id: int, seq: int) -> dict[str, Any]:
        """Return the case as of event ``seq``: the event, the tasks, the data and both clocks.

        Raises:
            NotFound: ``EVENT_NOT_FOUND`` when the case has no event ``seq``.
            Conflict: ``STATE_UNAVAILABLE`` when replaying the case diverges from its record before it.
        """
        with self.sessions() as session:
            case = self._open(session, actor, case_id)
            if not 1 <= seq <= case.event_seq:
                raise NotFound(f"办件 {case.case_no} 共有 {case.event_seq} 条事件，没有第 {seq} 条",
                               code="EVENT_NOT_FOUND", details={"seq": seq, "event_count": case.event_seq})
            # The event, and those its command wrote before it (one instant): the command's calendar generation.
            instant = select(CaseEvent.occurred_at).where(CaseEvent.case_id == case_id, CaseEvent.seq == seq)
            rows = session.execute(select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.occurred_at,
                                          CaseEvent.element_id, CaseEvent.payload)
                                   .where(CaseEvent.case_id == case_id, CaseEvent.seq <= seq,
                                          CaseEvent.occurred_at == instant.scalar_subquery())
                                   .order_by(CaseEvent.seq)).all()
            event = rows[-1]
        generation = command_generations((row.seq, row.occurred_at, row.payload) for row in rows)[-1]
        replayed = self.states.state(case.id, case.chain_head, seq)
        names = self.element_names(case.definition_id)
        with self.sessions() as session:
            users = _users(session, {t[k] for t in replayed.tasks for k in ("assignee", "completed_by") if t[k]})
        clocks, note = self._clocks_then(replayed.clocks, case.started_at, event.occurred_at, generation)
        view = {
            "seq": seq, "through_seq": replayed.through_seq, "event_type": event.event_type,
            "occurred_at": event.occurred_at, "element_id": event.element_id,
            "element_name": names.get(event.element_id or "", None), "status": replayed.status,
            "tasks": [{**task, "element_name": names.get(task["element_id"], task["name"]),
                       "assignee_name": _display(users, task["assignee"]),
                       "completed_by_name": _display(users, task["completed_by"])} for task in replayed.tasks],
            "data": replayed.data,
            "clocks": clocks, "calendar_note": note,
        }
        return mask_for_roles(actor.roles, view)

    def _clocks_then(self, doc: Mapping[str, Any] | None, started: datetime, instant: datetime,
                     generation: int | None) -> tuple[list[dict[str, Any]], str | None]:
        """Every clock of ``doc`` at ``instant``, counted with the command's calendar, and its note.

        ``generation``: the calendar generation the command counted with; None: the calendar in force at ``instant``.
        """
        if not doc:
            return [], None
        at = self.calendars.reader()
        found = at(instant, generation)
        clocks = [c.to_dict() for c in clocks_now(doc, found.calendar, instant)]
        return clocks, CalendarNotes(at, started)(instant, [c["due_date"] for c in clocks], found)

    def element_names(self, definition_id: int) -> dict[str, str]:
        """Return ``{element id: name}`` of a deployed definition version (parsed once per process)."""
        with self._lock:
            if definition_id in self._names:
                return self._names[definition_id]
        svc = self.engine.services
        with svc.uow() as uow:
            loaded = svc.catalog.get(uow, definition_id)
        names = element_names(loaded.spec, loaded.subprocess_specs)
        with self._lock:
            self._names[definition_id] = names
        return names

    def close(self) -> None:
        """Release the replay scratch space."""
        self.states.close()

    @staticmethod
    def _open(session: Any, actor: Actor, case_id: int) -> Any:
        if not HISTORY_ROLES.intersection(actor.roles):
            raise Forbidden("办理历史仅供审计、电子监察、管理员及经办人员查看", code="HISTORY_FORBIDDEN")
        case = session.execute(select(*_CASE_COLUMNS).join(ProcessDefinition, ProcessDefinition.id
                                                           == Case.definition_id).where(Case.id == case_id)).first()
        if case is None or not Queries.sees_case(session, actor, case):
            raise NotFound("办件不存在或无权访问", code="CASE_NOT_FOUND", details={"case_id": case_id})
        return case


def _users(session: Any, usernames: set[str]) -> dict[str, Any]:
    if not usernames:
        return {}
    rows = session.execute(select(User.username, User.display_name, User.district)
                           .where(User.username.in_(sorted(usernames)))).all()
    return {row.username: row for row in rows}


def _display(users: Mapping[str, Any], username: str | None) -> str | None:
    user = users.get(username or "")
    return user.display_name if user is not None else username


def _case_view(case: Any) -> dict[str, Any]:
    return {"id": case.id, "case_no": case.case_no, "title": case.title, "process_key": case.process_key,
            "status": case.status, "event_count": case.event_seq, "definition_version": case.definition_version,
            "content_hash": case.content_hash, "started_at": case.started_at, "ended_at": case.ended_at}


def _command_before(session: Any, case_id: int, after: int, first: Any) -> tuple[int, datetime, int | None] | None:
    """For a page starting after event ``after``: that event, with the calendar generation of its command.

    Needed only when the page's ``first`` event records none: it may be an effect of a command begun earlier,
    whose events share one instant (:func:`~engine.history_calendar.command_generations`).
    """
    if after < 1 or recorded_generation(first.payload) is not None:
        return None
    rows = session.execute(select(CaseEvent.seq, CaseEvent.occurred_at, CaseEvent.payload)
                           .where(CaseEvent.case_id == case_id, CaseEvent.seq <= after,
                                  CaseEvent.occurred_at == first.occurred_at).order_by(CaseEvent.seq)).all()
    if not rows or rows[-1].seq != after:
        return None
    return after, first.occurred_at, command_generations((r.seq, r.occurred_at, r.payload) for r in rows)[-1]


def _event_view(row: Any, users: Mapping[str, Any], names: Mapping[str, str], tracks: ClockTracks,
                at: CalendarAt | None, notes: CalendarNotes | None, generation: int | None) -> dict[str, Any]:
    payload = dict(row.payload or {})
    data = payload.pop("data", None) if row.event_type in _DATA_EVENTS else None
    snapshot = payload.pop(STATE_DIGEST, None)   # the chain's record of the snapshot, not a detail of the event
    recorded = payload.pop(CALENDAR_GENERATION, None)   # the calendar the command counted with, likewise
    user = users.get(row.actor or "")
    occurred: datetime = row.occurred_at
    found = at(occurred, generation) if at is not None else None
    clocks = [c.to_dict() for c in tracks.at(row.seq, occurred, (found.key, found.calendar) if found else None)]
    return {
        "seq": row.seq, "event_type": row.event_type, "occurred_at": occurred,
        "actor": None if row.actor is None else {"username": row.actor,
                                                 "display_name": user.display_name if user else None,
                                                 "district": user.district if user else None},
        "element_id": row.element_id, "element_name": names.get(row.element_id) if row.element_id else None,
        "task_id": row.task_id, "data": data, "details": payload, "state_sha256": snapshot,
        "calendar_generation": recorded,
        "passed": [{"element_id": e, "name": names.get(e, "")} for e in payload.get("elements") or ()]
        if row.event_type == "FlowAdvanced" else [],
        "clocks": clocks,
        "calendar_note": notes(occurred, [c["due_date"] for c in clocks], found) if notes else None,
        "resumed": resumed_clocks(row.event_type, payload),
    }
