"""The read side: inbox and case queries straight from the tables, never deserializing a workflow.

Every view leaves here through :func:`engine.masking.mask_for_roles`: ID numbers in it (case titles,
business keys, any data added to a view later) are masked unless the actor's role needs them in full.
:class:`Queries` takes its extension request listings from :mod:`engine.extension_queries` and its catalog
reads from :mod:`engine.matter_queries` (mixins), so callers keep one ``queries`` object.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from . import inbox
from .bundle import progress, provided
from .case_clocks import clock_district
from .clock import Clock
from .commands import Actor
from .errors import NotFound
from .inbox import InboxQuery
from .inbox_separation import SeparationMarks
from .legal_clock import Budget
from .legal_clock import Clock as LegalClock
from .extension_approval import extension_approver_role
from .extension_queries import ExtensionReads, _asked
from .masking import mask_for_roles
from .matter_queries import MatterReads
from .project_targets import TargetTable
from .task_rights import mark_former_candidates
from .persistence.models import (
    NO_DEADLINE, Case, CaseEvent, CaseLink, ExtensionRequest, MatterVersion, ProcessDefinition, SupervisionItem,
    TaskCandidate, TaskItem, Timer,
)

_OVERSEERS = {"admin", "auditor"}
"""Roles that read every case. A supervisor reads every case only at city level (:func:`_supervises_case`)."""


@dataclass(frozen=True)
class TaskPage:
    """One page of an inbox listing; ``next_cursor`` is None on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class _CaseColumns:
    """The case facts of a flat inbox row, under the names ``task_view`` reads from a case."""

    def __init__(self, row: Any):
        self.id, self.case_no, self.title = row.case_id, row.case_no, row.case_title
        self.committed_due_at, self.legal_due_at = row.case_committed_due_at, row.case_legal_due_at


class _TaskOfCase:
    """An inbox task row with its case's definition id, as :class:`SeparationMarks` reads rows."""

    def __init__(self, task: TaskItem, case: Case):
        self._task, self.case_definition_id = task, case.definition_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)


def task_view(task: Any, case: Any, light: str | None = None) -> dict[str, Any]:
    """Return the API shape of one inbox row (``light`` as computed by the query, when it was)."""
    return {
        "id": task.id, "case_id": case.id, "case_no": case.case_no, "process_key": task.process_key,
        "element_id": task.element_id, "name": task.name, "lane": task.lane, "form_key": task.form_key,
        "state": task.state, "assignee": task.assignee, "candidate_groups": list(task.candidate_groups),
        "district": task.district, "created_at": task.created_at, "claimed_at": task.claimed_at,
        "completed_at": task.completed_at, "completed_by": task.completed_by, "due_at": task.due_at,
        "light": light, "case_title": case.title, "applicant_name": task.applicant_name, "stage": task.stage,
        "yellow_at": task.yellow_at, "deadline_clock": task.deadline_clock,
        "case_committed_due_at": case.committed_due_at,
        "case_legal_due_at": case.legal_due_at,
        "inbox_due_at": None if task.inbox_due_at >= NO_DEADLINE else task.inbox_due_at,
    }


class Queries(ExtensionReads, MatterReads):
    """Inbox and case reads for one actor at a time; visibility is part of every query."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, calendar: Any = None,
                 separation: SeparationMarks | None = None, targets: TargetTable | None = None):
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar
        self.separation = separation
        self.targets = targets
        """The 工改 project category targets, for committed limits set per category (None: none loaded)."""

    def _now(self) -> datetime:
        return self.clock.now()

    def tasks(self, actor: Actor, query: InboxQuery | None = None, **filters: Any) -> TaskPage:
        """List tasks visible to ``actor``, filtered and keyset-paginated as :class:`InboxQuery` describes.

        Pass an :class:`InboxQuery` or its fields as keywords (``process_key`` is an alias of ``matter``).
        """
        if query is None:
            if "process_key" in filters:
                filters["matter"] = filters.pop("process_key")
            query = InboxQuery(**filters)
        now = self._now()
        stmt = inbox.statement(actor, query, now)
        with self.sessions() as session:
            rows = session.execute(stmt).all()
            # Flat rows, not ORM entities: building 2 x 51 mapped objects cost more than the query itself.
            items = [mask_for_roles(actor.roles, task_view(row, _CaseColumns(row), row.light_now))
                     for row in rows[:query.limit]]
            _mark_clock_lights(session, rows[:query.limit], items)
            mark_former_candidates(actor, rows[:query.limit], items)
            if self.separation is not None and query.scope != "completed":
                self.separation.annotate(session, actor.username, rows[:query.limit], items)
        if len(rows) <= query.limit:
            return TaskPage(items, None)
        return TaskPage(items, inbox.cursor_for(rows[query.limit - 1], query, now))

    def task_counts(self, actor: Actor, query: InboxQuery | None = None) -> dict[str, int]:
        """Count the inbox tabs for ``actor``: all, mine, available, completed, and red/yellow among the open."""
        query = query or InboxQuery()
        now = self._now()
        with self.sessions() as session:
            (mine, mine_red, mine_yellow), (available, red, yellow) = [
                session.execute(stmt).one() for stmt in inbox.counts_statements(actor, query, now)]
            completed = session.execute(inbox.completed_count_statement(actor, query, now)).scalar_one()
        return {"all": int(mine + available), "mine": int(mine), "available": int(available),
                "completed": int(completed), "red": int(mine_red + red), "yellow": int(mine_yellow + yellow)}

    def task(self, actor: Actor, task_id: int) -> dict[str, Any]:
        """Return one task the actor may see (404 otherwise)."""
        stmt = select(TaskItem, Case).join(Case, Case.id == TaskItem.case_id).where(TaskItem.id == task_id)
        with self.sessions() as session:
            row = session.execute(stmt).one_or_none()
        if row is None or not _sees_task(actor, row[0]):
            raise NotFound("任务不存在或无权访问", details={"task_id": task_id})
        view = task_view(row[0], row[1], _light_at(row[0], row[1], self._now()))
        mark_former_candidates(actor, [row[0]], [view])
        with self.sessions() as session:
            if self.separation is not None:
                self.separation.annotate(session, actor.username, [_TaskOfCase(row[0], row[1])], [view])
            bundle = _bundle_of(session, row[1])
            if bundle is not None:
                view["bundle"] = provided(bundle, row[0].element_id, _application(session, row[1].id))
        return mask_for_roles(actor.roles, view)

    def openable_tasks(self, actor: Actor, task_ids: Iterable[int]) -> set[int]:
        """Return the ids among ``task_ids`` that :meth:`task` shows ``actor`` (the others are 404 there).

        The same rule as :meth:`task`, for a whole list at once (e.g. a case page's tasks) in one query.
        """
        wanted = sorted(set(task_ids))
        if not wanted:
            return set()
        with self.sessions() as session:
            tasks = session.scalars(select(TaskItem).where(TaskItem.id.in_(wanted))).all()
        return {t.id for t in tasks if _sees_task(actor, t)}

    def case(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """Return a case with its open tasks and event count, if the actor may see it."""
        with self.sessions() as session:
            case = session.get(Case, case_id)
            if case is None or not self._sees_case(session, actor, case):
                raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
            tasks = session.scalars(select(TaskItem).where(TaskItem.case_id == case_id)
                                    .order_by(TaskItem.created_at, TaskItem.id)).all()
            bundle = _bundle_of(session, case)
            partners = _partners(session, case.id)
            extra: dict[str, Any] = {"partners": partners} if partners else {}
            extra.update({} if bundle is None else {"bundle": {
                "code": bundle["code"], "name": bundle["name"],
                "matters": progress(bundle, [{"element_id": t.element_id, "state": t.state} for t in tasks],
                                    _passed(session, case.id))}})
            return mask_for_roles(actor.roles, {**extra,
                "id": case.id, "case_no": case.case_no, "process_key": case.process_key,
                "definition_version": session.scalar(select(ProcessDefinition.version)
                                                     .where(ProcessDefinition.id == case.definition_id)),
                "matter_code": case.matter_code, "matter_version": case.matter_version,
                "matter_name": session.scalar(select(MatterVersion.name).where(
                    MatterVersion.code == case.matter_code, MatterVersion.version == case.matter_version))
                if case.matter_code else None,
                "business_key": case.business_key, "title": case.title, "status": case.status,
                "stage": case.stage, "owning_district": case.owning_district,
                "receiving_district": case.receiving_district, "deciding_district": case.deciding_district,
                "clock_district": clock_district(case.owning_district, case.deciding_district),
                "started_by": case.started_by,
                "started_at": case.started_at, "updated_at": case.updated_at, "ended_at": case.ended_at,
                "version": case.version, "event_count": case.event_seq, "chain_head": case.chain_head,
                "legal_due_at": case.legal_due_at, "committed_due_at": case.committed_due_at,
                "clocks": self._clock_summary(case.clocks, session, case.definition_id),
                "tasks": [task_view(t, case, _light_at(t, case, self._now()) if t.state == "open" else None)
                          for t in tasks],
            })

    def _clock_summary(self, doc: dict[str, Any] | None, session: Session,
                       definition_id: int) -> list[dict[str, Any]]:
        if not doc or self.calendar is None:
            return []
        from .case_clocks import summary
        meta = session.scalar(select(ProcessDefinition.meta).where(ProcessDefinition.id == definition_id)) or {}
        names = {key: task.get("name") or key for key, task in (meta.get("user_tasks") or {}).items()}
        rows = summary(doc, self.calendar.get(), self._now(), names)
        for row in rows:
            # Who approves an extension of the clock (第四十二条): the government head for a joint procedure.
            entry = doc.get(row["kind"]) or {}
            budget = (entry.get("clock") if row["t0"] else None) or entry.get("pending") or {}
            row["extension_approver_role"] = (extension_approver_role(row["kind"], Budget.from_dict(budget["budget"]))
                                              if "budget" in budget else None)
        return rows

    def cases_with_clocks(self, *, provisional_only: bool = False,
                          with_timers: bool = False) -> list[dict[str, Any]]:
        """Return running cases that carry clocks (only those with a provisional deadline, if asked).

        With ``with_timers``, running cases with a waiting timer or an open task with a budget of its own are
        included too: their due times may come from the working-day calendar as well.
        """
        has_timer = exists().where(Timer.case_id == Case.id, Timer.state == "waiting")
        has_budget = exists().where(TaskItem.case_id == Case.id, TaskItem.state == "open", TaskItem.due_at.is_not(None))
        scope = or_(Case.clocks.is_not(None), has_timer, has_budget) if with_timers else Case.clocks.is_not(None)
        stmt = select(Case.id, Case.case_no, Case.version, Case.legal_due_at, Case.committed_due_at,
                      Case.deadline_provisional).where(Case.status == "running", scope)
        if provisional_only:
            stmt = stmt.where(Case.deadline_provisional.is_(True))
        with self.sessions() as session:
            return [dict(row._mapping) for row in session.execute(stmt.order_by(Case.id))]

    def supervision(self, actor: Actor, *, state: str = "open", kind: str | None = None,
                    limit: int = 100) -> list[dict[str, Any]]:
        """Return the 督办 items of the districts ``actor`` supervises, newest first (404-free: none else)."""
        from .supervision import CITY
        if "supervisor" not in actor.roles or not actor.district:
            return []
        stmt = (select(SupervisionItem, Case.case_no, Case.title, Case.process_key)
                .join(Case, Case.id == SupervisionItem.case_id)
                .order_by(SupervisionItem.raised_at.desc(), SupervisionItem.id.desc()).limit(limit))
        if actor.district != CITY:
            stmt = stmt.where(SupervisionItem.district == actor.district)
        if state != "all":
            stmt = stmt.where(SupervisionItem.state == state)
        if kind:
            stmt = stmt.where(SupervisionItem.kind == kind)
        with self.sessions() as session:
            return [{"id": item.id, "case_id": item.case_id, "case_no": case_no, "title": title,
                     "process_key": process_key, "kind": item.kind, "clock": item.clock, "due_at": item.due_at,
                     "district": item.district, "state": item.state, "raised_at": item.raised_at,
                     "closed_by": item.closed_by, "closed_at": item.closed_at, "opinion": item.opinion}
                    for item, case_no, title, process_key in session.execute(stmt)]

    def definitions(self, process_key: str | None = None) -> list[dict[str, Any]]:
        """Return deployed definition versions, newest first per key."""
        stmt = select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
        if process_key:
            stmt = stmt.where(ProcessDefinition.process_key == process_key)
        with self.sessions() as session:
            return [{"id": d.id, "process_key": d.process_key, "version": d.version, "name": d.name,
                     "content_hash": d.content_hash, "deployed_at": d.deployed_at, "deployed_by": d.deployed_by}
                    for d in session.scalars(stmt)]

    def events(self, case_id: int) -> Sequence[CaseEvent]:
        """Return a case's audit events in order (for verification and history)."""
        with self.sessions() as session:
            return session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                   .order_by(CaseEvent.seq)).all()

    @staticmethod
    def sees_case(session: Session, actor: Actor, case: Any) -> bool:
        """Whether ``actor`` may see ``case``, as :meth:`case` decides.

        ``case`` is a row with ``id``, ``started_by`` and the three districts (``owning_district``,
        ``receiving_district``, ``deciding_district``).
        """
        return Queries._sees_case(session, actor, case)

    @staticmethod
    def _sees_case(session: Session, actor: Actor, case: Case) -> bool:
        if _OVERSEERS.intersection(actor.roles) or case.started_by == actor.username:
            return True
        if _supervises_case(actor, case):
            return True
        # Linked cases (异地代收代办) are one application: whoever works on one side sees the other too.
        linked = select(CaseLink.partner_case_id).where(CaseLink.case_id == case.id)
        involved = select(TaskItem.id).where(or_(TaskItem.case_id == case.id, TaskItem.case_id.in_(linked))).where(
            or_(TaskItem.assignee == actor.username, TaskItem.completed_by == actor.username,
                exists().where(TaskCandidate.task_id == TaskItem.id,
                               TaskCandidate.group_key.in_(sorted(actor.groups))))).limit(1)
        if session.scalar(involved) is not None:
            return True
        starters = select(Case.id).where(Case.id.in_(linked), Case.started_by == actor.username).limit(1)
        if session.scalar(starters) is not None:
            return True
        # The approver a request asks for (a head of the department handling the case, or the government head
        # for a joint procedure), in the district it asks (the owning one, or the deciding one under 就地批办), is
        # asked to decide it: they read the case.
        asked = _asked(actor)
        if asked is not None and actor.district:
            found = (select(ExtensionRequest.id).join(Case, Case.id == ExtensionRequest.case_id)
                     .where(ExtensionRequest.case_id == case.id, ExtensionRequest.district == actor.district, asked)
                     .limit(1))
            return session.scalar(found) is not None
        return False


def _supervises_case(actor: Actor, case: Any) -> bool:
    """Whether a supervisor (电子监察) reads ``case``.

    A district's supervisors read their district's cases, whichever side of a handoff it is on (owning,
    receiving or deciding); a city-level supervisor reads every case.
    """
    from .supervision import supervises
    return bool(actor.district) and any(supervises(actor, district) for district in (
        case.owning_district, case.receiving_district, case.deciding_district))


def _bundle_of(session: Session, case: Case) -> dict[str, Any] | None:
    meta = session.scalar(select(ProcessDefinition.meta).where(ProcessDefinition.id == case.definition_id))
    return (meta or {}).get("bundle")


def _application(session: Session, case_id: int) -> dict[str, Any]:
    """The data the case was started with (the 一表申报 application), from its CaseStarted event."""
    payload = session.scalar(select(CaseEvent.payload).where(CaseEvent.case_id == case_id,
                                                             CaseEvent.event_type == "CaseStarted"))
    return dict((payload or {}).get("data") or {})


def _passed(session: Session, case_id: int) -> set[str]:
    """Every element the engine passed in the case (subprocesses appear once they ended)."""
    payloads = session.scalars(select(CaseEvent.payload).where(CaseEvent.case_id == case_id,
                                                               CaseEvent.event_type == "FlowAdvanced"))
    return {element for payload in payloads for element in (payload or {}).get("elements", ())}


_OTHER_SIDE = {"receiving": "owning", "owning": "receiving", "sender": "started", "started": "sender"}


def _partners(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The linked cases (异地代收代办's other side) with their state and open tasks, for both sides to see."""
    rows = session.execute(select(CaseLink, Case).join(Case, Case.id == CaseLink.partner_case_id)
                           .where(CaseLink.case_id == case_id).order_by(CaseLink.id)).all()
    out = []
    for link, partner in rows:
        open_tasks = session.scalars(select(TaskItem.name).where(TaskItem.case_id == partner.id,
                                                                 TaskItem.state == "open")
                                     .order_by(TaskItem.id)).all()
        out.append({"case_id": partner.id, "case_no": partner.case_no, "relation": link.relation,
                    "role": _OTHER_SIDE.get(link.role, link.role), "process_key": partner.process_key,
                    "status": partner.status,
                    "owning_district": partner.owning_district, "receiving_district": partner.receiving_district,
                    "legal_due_at": partner.legal_due_at, "committed_due_at": partner.committed_due_at,
                    "open_tasks": list(open_tasks)})
    return out


def _mark_clock_lights(session: Any, rows: Sequence[Any], items: list[dict[str, Any]]) -> None:
    """Give the page's undated rows whose clock stands still or has not started their light (:func:`_clock_light`).

    The light is computed in SQL from the stored instants, which such a clock does not have; the clocks of
    the (few) cases with open undated rows following a clock that has no due instant are read in one query.
    """
    undated = {row.case_id for row in rows
               if row.light_now is None and row.state == "open" and row.due_at is None
               and (row.deadline_clock is not None or row.case_committed_due_at is None)}
    if not undated:
        return
    clocks = dict(session.execute(select(Case.id, Case.clocks).where(Case.id.in_(undated))).all())
    for row, item in zip(rows, items):
        if row.case_id in clocks and row.light_now is None and row.state == "open":
            item["light"] = _clock_light(row, clocks[row.case_id])


def _sees_task(actor: Actor, task: TaskItem) -> bool:
    return (task.assignee == actor.username or task.completed_by == actor.username
            or bool(actor.groups.intersection(task.candidate_groups)))


def _light_at(task: TaskItem, case: Case, now: datetime) -> str | None:
    # The same comparisons as inbox.light_expression, on a row already loaded.
    if task.state != "open":
        return None
    if task.inbox_due_at >= NO_DEADLINE:
        return _clock_light(task, case.clocks)
    if task.inbox_due_at <= now:
        return "red"
    return "yellow" if task.inbox_yellow_at is not None and task.inbox_yellow_at <= now else "green"


def _clock_light(task: Any, clocks: Mapping[str, Any] | None) -> str | None:
    """Return the light of an undated open task that takes it from a case clock: paused, not_started or None.

    The clock is the one its own budget counts on (``<tb:deadline clock=>``), else the case's 承诺 clock. Such
    a task has no due instant while the clock is paused (its deadline moves as long as the pause lasts), so its
    row would read as having no time limit at all: it reads 已暂停 instead. A budget on a clock still waiting
    for 受理 (or for the next 工改 stage) reads 未起算; a task without a budget of its own just has no light
    then, as it has no time limit of its own.
    """
    if task.due_at is not None:
        return None                   # dated: its light comes from its instants
    entry = (clocks or {}).get(task.deadline_clock or "committed") or {}
    if "clock" in entry:
        return "paused" if LegalClock.from_dict(entry["clock"]).paused else None
    return "not_started" if task.deadline_clock is not None and entry.get("pending") else None
