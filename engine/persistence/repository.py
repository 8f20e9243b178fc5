"""Repositories: the SQL the handlers need, select() only, with row locks where state changes.

Hot paths write with one statement per table (multi-row INSERT ... RETURNING, UPDATE ... WHERE IN), so a
task completion stays within a handful of statements whatever the diagram does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Integer, and_, bindparam, exists, func, insert, null, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, undefer

from ..errors import NotFound
from .models import (
    NO_DEADLINE, ApiToken, Case, CaseCounter, CaseEvent, FormVersion, MatterVersion, ProcessDefinition,
    SupervisionItem, TaskCandidate, TaskItem,
    Timer, User,
)

cases = Case.__table__
tasks = TaskItem.__table__


class DefinitionRepository:
    """Process definitions and form versions (ORM, off the hot path)."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def session(self) -> Session:
        """The unit of work's ORM session."""
        return self.uow.session

    def by_id(self, definition_id: int, *, with_source: bool = False) -> ProcessDefinition:
        """Return one definition; with its XML when ``with_source``."""
        stmt = select(ProcessDefinition).where(ProcessDefinition.id == definition_id)
        if with_source:
            stmt = stmt.options(undefer(ProcessDefinition.bpmn_xml), undefer(ProcessDefinition.resources))
        found = self.session.scalars(stmt).one_or_none()
        if found is None:
            raise NotFound(f"流程定义 {definition_id} 不存在")
        return found

    def latest_id(self, process_key: str, version: int | None = None) -> int:
        """Return the id of the newest version of ``process_key`` (or of the given version)."""
        if version:
            found = self.uow.connection.execute(_DEFINITION_VERSION, {"key": process_key, "version": version}).scalar()
        else:
            found = self.uow.connection.execute(_LATEST_DEFINITION, {"key": process_key}).scalar()
        if found is None:
            suffix = f" 的第 {version} 版" if version else ""
            raise NotFound(f"流程 {process_key}{suffix} 尚未部署", details={"process_key": process_key})
        return int(found)

    def by_hash(self, process_key: str, content_hash: str) -> ProcessDefinition | None:
        """Return the version of ``process_key`` with exactly this content, if deployed."""
        return self.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_key == process_key, ProcessDefinition.content_hash == content_hash)).first()

    def matter(self, code: str, content_hash: str | None = None) -> MatterVersion | None:
        """Return the newest version of matter ``code`` (or the version with this content)."""
        stmt = select(MatterVersion).where(MatterVersion.code == code)
        if content_hash is not None:
            stmt = stmt.where(MatterVersion.content_hash == content_hash)
        return self.session.scalars(stmt.order_by(MatterVersion.version.desc()).limit(1)).first()

    def process_exists(self, process_key: str) -> bool:
        """Whether any version of ``process_key`` is deployed."""
        table = ProcessDefinition.__table__
        stmt = select(table.c.id).where(table.c.process_key == process_key).limit(1)
        return self.uow.connection.execute(stmt).scalar() is not None

    def next_version(self, model: Any, key_column: Any, key: str) -> int:
        """Return the version number the next deploy of ``key`` gets."""
        current = self.session.scalar(select(func.max(model.version)).where(key_column == key))
        return (current or 0) + 1

    def list(self, process_key: str | None = None) -> Sequence[ProcessDefinition]:
        """Return definitions, newest first, optionally for one key."""
        stmt = select(ProcessDefinition).order_by(ProcessDefinition.process_key, ProcessDefinition.version.desc())
        if process_key:
            stmt = stmt.where(ProcessDefinition.process_key == process_key)
        return self.session.scalars(stmt).all()

    def form(self, form_key: str, content_hash: str | None = None) -> FormVersion | None:
        """Return a form version by hash, or the latest version of ``form_key``."""
        stmt = select(FormVersion).options(undefer(FormVersion.source)).where(FormVersion.form_key == form_key)
        if content_hash:
            stmt = stmt.where(FormVersion.content_hash == content_hash)
        return self.session.scalars(stmt.order_by(FormVersion.version.desc()).limit(1)).first()

    def add(self, row: Any) -> None:
        """Stage a new definition or form version."""
        self.session.add(row)


@dataclass
class CaseRecord:
    """The case row as a command sees it: read under lock, changed in memory, written back once."""

    id: int
    case_no: str
    definition_id: int
    process_key: str
    status: str
    owning_district: str | None
    receiving_district: str | None
    event_seq: int
    chain_head: str
    version: int
    workflow_state: str
    ended_at: datetime | None
    updated_at: datetime
    serializer_version: str
    clocks: dict[str, Any] | None = None
    legal_due_at: datetime | None = None
    legal_yellow_at: datetime | None = None
    committed_due_at: datetime | None = None
    committed_yellow_at: datetime | None = None
    deadline_provisional: bool | None = None
    stage: str | None = None
    deciding_district: str | None = None
    channel: str | None = None
    accepted_at: datetime | None = None
    corrections: int = 0
    tolerance: bool = False
    visits: int = 0
    changes: dict[str, Any] = field(default_factory=dict)

    def set(self, **values: Any) -> None:
        """Change columns (applied to this record now and written by ``CaseRepository.save``)."""
        for key, value in values.items():
            setattr(self, key, value)
        self.changes.update(values)


@dataclass(frozen=True)
class TaskRecord:
    """An inbox row as read under lock."""

    id: int
    case_id: int
    spiff_task_id: str
    element_id: str
    form_key: str | None
    candidate_groups: list[str]
    state: str
    assignee: str | None
    activation: str | None = None


_CASE_COLUMNS = [cases.c[name] for name in (
    "id", "case_no", "definition_id", "process_key", "status", "owning_district", "receiving_district",
    "event_seq", "chain_head", "version", "workflow_state", "ended_at", "updated_at", "serializer_version",
    "clocks", "legal_due_at", "legal_yellow_at", "committed_due_at", "committed_yellow_at",
    "deadline_provisional", "stage", "deciding_district", "channel", "accepted_at", "corrections", "tolerance",
    "visits")]
_TASK_COLUMNS = [tasks.c[name] for name in (
    "id", "case_id", "spiff_task_id", "element_id", "form_key", "candidate_groups", "state", "assignee",
    "activation")]


# Hot-path statements are built once: constructing and cache-keying a statement per call costs more than
# the database round trip it makes.
_LOCK_BY_TASK = (select(*_TASK_COLUMNS, *[c.label(f"c__{c.name}") for c in _CASE_COLUMNS])
                 .select_from(tasks.join(cases, cases.c.id == tasks.c.case_id))
                 .where(tasks.c.id == bindparam("task_id")).with_for_update())
_LOCK_CASE = select(*_CASE_COLUMNS).where(cases.c.id == bindparam("case_id")).with_for_update()
_SAVE_COLUMNS = ("status", "ended_at", "event_seq", "chain_head", "updated_at", "workflow_state",
                 "serializer_version", "clocks", "legal_due_at", "legal_yellow_at", "committed_due_at",
                 "committed_yellow_at", "deadline_provisional", "channel", "accepted_at", "corrections",
                 "tolerance", "visits")
# Set once, when the case ends: written only by a save that changed them (engine/case_metrics.py).
_CLOSING_COLUMNS = ("legal_used_days", "legal_limit_days", "legal_late", "committed_used_days",
                    "committed_limit_days", "committed_late")
# The version check is enforced by the database, so that it holds when the UPDATE is pipelined and its row
# count cannot be read: a stale version becomes NULL, which the NOT NULL column refuses (see .deferred).
_SAVE_CASE = (update(cases).where(cases.c.id == bindparam("b_id"))
              .values(version=sql_case((cases.c.version == bindparam("b_version", type_=Integer),
                                        bindparam("b_new_version", type_=Integer)), else_=null()),
                      **{c: bindparam(c) for c in _SAVE_COLUMNS}))
_UPDATE_TASK = {
    frozenset(cols): update(tasks).where(tasks.c.id == bindparam("b_task_id")).values(
        **{c: bindparam(c) for c in cols})
    for cols in (("state", "completed_at", "completed_by", "assignee"), ("assignee", "claimed_at"))
}
_TIMERS = Timer.__table__
_CLOSE_TASKS = (update(tasks).where(tasks.c.case_id == bindparam("b_case_id"),
                                    tasks.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)),
                                    tasks.c.state == "open")
                .values(state=bindparam("b_state"), completed_at=bindparam("b_at")))
_FINISH_TIMERS = (update(_TIMERS).where(_TIMERS.c.case_id == bindparam("b_case_id"),
                                        _TIMERS.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)),
                                        _TIMERS.c.state == "waiting")
                  .values(state="done", fired_at=bindparam("b_at")))
# The inbox's stored instants follow the case's committed clock on open tasks without a budget of their own.
_FOLLOW_CASE_CLOCK = (update(tasks).where(tasks.c.case_id == bindparam("b_case_id"), tasks.c.state == "open",
                                          tasks.c.due_at.is_(None))
                      .values(inbox_due_at=bindparam("b_due"), inbox_yellow_at=bindparam("b_yellow")))
candidates = TaskCandidate.__table__
_FOLLOW_CASE_CLOCK_CANDIDATES = (
    update(candidates).where(candidates.c.task_id.in_(
        select(tasks.c.id).where(tasks.c.case_id == bindparam("b_case_id"), tasks.c.state == "open",
                                 tasks.c.due_at.is_(None))))
    .values(inbox_due_at=bindparam("b_due"), inbox_yellow_at=bindparam("b_yellow")))
_SET_AVAILABLE = (update(candidates).where(candidates.c.task_id == bindparam("b_task_id"))
                  .values(available=bindparam("b_available")))
_CLOSE_CANDIDATES = (update(candidates).where(candidates.c.task_id.in_(
    select(tasks.c.id).where(tasks.c.case_id == bindparam("b_case_id"),
                             tasks.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)),
                             tasks.c.state == "open")))
    .values(available=False))
# inline(): no implicit RETURNING of the new ids, whose answer a deferred (pipelined) INSERT cannot read.
_INSERT_EVENTS = insert(CaseEvent.__table__).inline()
_INSERT_CANDIDATES = insert(TaskCandidate.__table__).inline()
_INSERT_TIMERS = insert(_TIMERS).inline()
# No sort_by_parameter_order: SQLite cannot promise RETURNING order, and asking for it makes SQLAlchemy insert
# row by row. Rows are matched back by their unique spiff_task_id instead.
_INSERT_TASKS = insert(tasks).returning(tasks.c.id, tasks.c.spiff_task_id)
_INSERT_CASE = insert(cases).returning(cases.c.id)
_NEXT_NUMBER = {
    name: dialect.insert(CaseCounter).on_conflict_do_update(
        index_elements=[CaseCounter.day], set_={"last": CaseCounter.last + 1}).returning(CaseCounter.last)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_DEFINITIONS = ProcessDefinition.__table__
_LATEST_DEFINITION = (select(_DEFINITIONS.c.id).where(_DEFINITIONS.c.process_key == bindparam("key"))
                      .order_by(_DEFINITIONS.c.version.desc()).limit(1))
_DEFINITION_VERSION = select(_DEFINITIONS.c.id).where(_DEFINITIONS.c.process_key == bindparam("key"),
                                                      _DEFINITIONS.c.version == bindparam("version"))


def performed_tasks_statement(case_ids: Iterable[int], element_ids: Iterable[str], username: str) -> Any:
    """The tasks of ``case_ids`` among ``element_ids`` that ``username`` completed or holds open (职责分离)."""
    acted = or_(and_(tasks.c.state == "completed", tasks.c.completed_by == username),
                and_(tasks.c.state == "open", tasks.c.assignee == username))
    return (select(tasks.c.id, tasks.c.case_id, tasks.c.spiff_task_id, tasks.c.element_id, tasks.c.state,
                   tasks.c.activation)
            .where(tasks.c.case_id.in_(sorted(set(case_ids))), tasks.c.element_id.in_(sorted(set(element_ids))),
                   acted)
            .order_by(tasks.c.id))


class CaseRepository:
    """Cases, their inbox rows, timers and audit events, written with Core statements.

    The hot path avoids the ORM unit of work: each command reads the rows it locks, then writes each table
    once. The case row's ``version`` is checked on write (optimistic lock on top of the row lock).
    """

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def _conn(self) -> Any:
        return self.uow.connection

    def lock_by_task(self, task_id: int) -> tuple[TaskRecord, CaseRecord]:
        """Load a task and lock it with its case row (FOR UPDATE on PostgreSQL), with the workflow state.

        Both rows are locked so that a command that waited for the lock re-reads both latest versions.
        """
        row = self._conn.execute(_LOCK_BY_TASK, {"task_id": task_id}).one_or_none()
        if row is None:
            raise NotFound("任务不存在或无权访问", details={"task_id": task_id})
        split = len(_TASK_COLUMNS)
        return TaskRecord(*row[:split]), CaseRecord(*row[split:])

    def lock(self, case_id: int) -> CaseRecord:
        """Load and lock one case row with its workflow state."""
        row = self._conn.execute(_LOCK_CASE, {"case_id": case_id}).one_or_none()
        if row is None:
            raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
        return CaseRecord(*row)

    def insert(self, values: dict[str, Any]) -> CaseRecord:
        """Insert a new case row and return it as a record."""
        case_id = self._conn.execute(_INSERT_CASE, [values]).scalar_one()
        return CaseRecord(id=case_id, **{c.name: values.get(c.name) for c in _CASE_COLUMNS if c.name != "id"})

    def save(self, case: CaseRecord, *, events: list[dict[str, Any]] = (),  # type: ignore[assignment]
             task_update: tuple[int, dict[str, Any]] | None = None) -> None:
        """Queue the case's new audit events, one inbox-row change and the case row (bumping its version).

        The writes are deferred (:mod:`.deferred`): on PostgreSQL they go out with the COMMIT in one round
        trip. The version check travels with them: a stale version makes the database refuse the update and
        the commit raises Conflict. (Folding the event INSERT and task UPDATE into the case UPDATE as
        data-modifying CTEs on PostgreSQL was measured: it made commands about 30% slower, because the
        multi-row VALUES statement is rebuilt and planned on every call.)
        """
        self.append_events(list(events))
        if events and case.status == "completed":
            # 办结即归档: the closing transaction (and any later event on a closed case) queues the package.
            self.uow.archives.enqueue(case.id, case.case_no, events[-1]["occurred_at"])
        if {"committed_due_at", "committed_yellow_at"} & case.changes.keys():
            due = case.committed_due_at or NO_DEADLINE
            self.uow.defer(_FOLLOW_CASE_CLOCK_CANDIDATES, {"b_case_id": case.id, "b_due": due,
                                                           "b_yellow": case.committed_yellow_at})
            self.uow.defer(_FOLLOW_CASE_CLOCK, {"b_case_id": case.id, "b_yellow": case.committed_yellow_at,
                                                "b_due": due})
        if task_update is not None:
            self.update_task(task_update[0], **task_update[1])
        params = {c: getattr(case, c) for c in _SAVE_COLUMNS}
        params.update(b_id=case.id, b_version=case.version, b_new_version=case.version + 1)
        closing = {c: case.changes[c] for c in _CLOSING_COLUMNS if c in case.changes}
        self.uow.defer(_SAVE_CASE.values(**closing) if closing else _SAVE_CASE, params)
        self.uow.deferred.case_id = case.id
        case.version += 1
        case.changes.clear()

    def update_task(self, task_id: int, **values: Any) -> None:
        """Change columns of one inbox row (and whether its candidate rows count as available); deferred."""
        stmt = _UPDATE_TASK.get(frozenset(values))
        if stmt is None:
            self.uow.defer(update(tasks).where(tasks.c.id == task_id).values(**values), {})
        else:
            self.uow.defer(stmt, {"b_task_id": task_id, **values})
        if values.get("state", "open") != "open":
            self.uow.defer(_SET_AVAILABLE, {"b_task_id": task_id, "b_available": False})
        elif "assignee" in values:
            self.uow.defer(_SET_AVAILABLE, {"b_task_id": task_id, "b_available": values["assignee"] is None})

    def next_number(self, day: str) -> int:
        """Atomically increment and return the per-day case counter."""
        stmt = _NEXT_NUMBER[self._conn.dialect.name]
        return int(self._conn.execute(stmt, {"day": day, "last": 1}).scalar_one())

    def insert_tasks(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert inbox rows in one statement; return their ids in the same order."""
        if not rows:
            return []
        ids = dict((spiff_id, task_id) for task_id, spiff_id in self._conn.execute(_INSERT_TASKS, rows))
        return [ids[row["spiff_task_id"]] for row in rows]

    def performed_tasks(self, case_id: int, element_ids: Iterable[str], username: str) -> list[Any]:
        """The case's tasks among ``element_ids`` that ``username`` completed or holds open (职责分离)."""
        return list(self._conn.execute(performed_tasks_statement([case_id], element_ids, username)))

    def insert_candidates(self, pairs: list[dict[str, Any]]) -> None:
        """Insert candidate rows (task, group, availability and the task's instants) in one statement."""
        if pairs:
            self.uow.defer(_INSERT_CANDIDATES, pairs)

    def close_tasks(self, case_id: int, spiff_ids: Iterable[str], *, state: str, at: datetime) -> None:
        """Mark the open tasks with these spiff ids as ``state`` (cancelled), in one statement."""
        ids = list(spiff_ids)
        if ids:
            self.uow.defer(_CLOSE_CANDIDATES, {"b_case_id": case_id, "b_ids": ids})
            self.uow.defer(_CLOSE_TASKS, {"b_case_id": case_id, "b_ids": ids, "b_state": state, "b_at": at})

    def insert_timers(self, rows: list[dict[str, Any]]) -> None:
        """Insert waiting timers (deferred)."""
        if rows:
            self.uow.defer(_INSERT_TIMERS, rows)

    def finish_timers(self, case_id: int, spiff_ids: Iterable[str], *, at: datetime) -> None:
        """Mark timers that no longer wait (fired or withdrawn with their activity)."""
        ids = list(spiff_ids)
        if ids:
            self.uow.defer(_FINISH_TIMERS, {"b_case_id": case_id, "b_ids": ids, "b_at": at})

    def waiting_timer_ids(self, case_id: int) -> set[str]:
        """Return the spiff task ids of the case's timers still marked waiting."""
        table = Timer.__table__
        rows = self._conn.execute(select(table.c.spiff_task_id).where(table.c.case_id == case_id,
                                                                      table.c.state == "waiting"))
        return set(rows.scalars())

    def reschedule_timer(self, case_id: int, spiff_id: str, due_at: datetime) -> None:
        """Move a waiting timer to a new due time (its expression was re-evaluated)."""
        table = Timer.__table__
        self._conn.execute(update(table).where(table.c.case_id == case_id, table.c.spiff_task_id == spiff_id,
                                               table.c.state == "waiting").values(due_at=due_at))

    def append_events(self, rows: list[dict[str, Any]]) -> None:
        """Append audit events in one statement (deferred: sent with the next statement or COMMIT)."""
        if rows:
            self.uow.defer(_INSERT_EVENTS, rows)


class TimerRepository:
    """Due timers: claimed by workers with a lease, SKIP LOCKED on PostgreSQL so workers never collide."""

    def __init__(self, uow: Any):
        self.uow = uow

    def claim_due(self, now: datetime, *, worker: str, lease_until: datetime, limit: int) -> list[int]:
        """Lease up to ``limit`` due timers to ``worker``; return the distinct case ids they belong to."""
        table = Timer.__table__
        conn = self.uow.connection
        due = (select(table.c.id).where(table.c.state == "waiting", table.c.due_at < now,
                                        (table.c.locked_until.is_(None)) | (table.c.locked_until < now))
               .order_by(table.c.due_at).limit(limit))
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(conn.execute(due).scalars())
        if not ids:
            return []
        rows = conn.execute(update(table).where(table.c.id.in_(ids))
                            .values(locked_by=worker, locked_until=lease_until, attempts=table.c.attempts + 1)
                            .returning(table.c.case_id))
        return sorted(set(rows.scalars()))

    def release(self, case_id: int, *, error: str, retry_at: datetime) -> None:
        """Record a failed firing and make the case's timers claimable again at ``retry_at``."""
        table = Timer.__table__
        self.uow.connection.execute(update(table).where(table.c.case_id == case_id, table.c.state == "waiting")
                                    .values(last_error=error[:2000], locked_until=retry_at, locked_by=None))

    def next_due(self) -> datetime | None:
        """Return the earliest due time of any waiting timer."""
        table = Timer.__table__
        return self.uow.connection.execute(select(func.min(table.c.due_at)).where(table.c.state == "waiting")).scalar()


class SupervisionRepository:
    """督办 items: found by the sweep from the cases' stored due instants, closed by supervisors."""

    def __init__(self, uow: Any):
        self.uow = uow

    def due_case_ids(self, now: datetime, *, limit: int) -> list[int]:
        """Return running cases with a passed deadline (or legal warning instant) that has no item yet."""
        items = SupervisionItem.__table__

        def missing(kind: str, due: Any) -> Any:
            return ~exists().where(items.c.case_id == cases.c.id, items.c.kind == kind, items.c.due_at == due)
        stmt = (select(cases.c.id).where(cases.c.status == "running", or_(
            and_(cases.c.committed_due_at <= now, missing("committed_overdue", cases.c.committed_due_at)),
            and_(cases.c.legal_yellow_at <= now, missing("legal_warning", cases.c.legal_due_at)),
            and_(cases.c.legal_due_at <= now, missing("legal_overdue", cases.c.legal_due_at)),
        )).order_by(cases.c.id).limit(limit))
        return list(self.uow.connection.execute(stmt).scalars())

    def keys(self, case_id: int) -> set[tuple[str, datetime]]:
        """Return (kind, due_at) of every item the case already has."""
        items = SupervisionItem.__table__
        rows = self.uow.connection.execute(select(items.c.kind, items.c.due_at).where(items.c.case_id == case_id))
        return {(kind, due) for kind, due in rows}

    def insert(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert items; return their ids in order."""
        table = SupervisionItem.__table__
        return [self.uow.connection.execute(insert(table).returning(table.c.id), [row]).scalar_one()
                for row in rows]

    def lock(self, item_id: int) -> SupervisionItem | None:
        """Load one item for update."""
        return self.uow.session.scalars(select(SupervisionItem).where(SupervisionItem.id == item_id)
                                        .with_for_update()).one_or_none()


class UserRepository:
    """Users and API tokens (ORM, off the hot path)."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def session(self) -> Session:
        """The unit of work's ORM session."""
        return self.uow.session

    def by_username(self, username: str) -> User | None:
        """Return the user with this login name."""
        return self.session.scalars(select(User).where(User.username == username)).first()

    def by_token_hash(self, token_hash: str, now: datetime) -> User | None:
        """Return the active user owning an unrevoked, unexpired token with this hash."""
        stmt = (select(User).join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.active.is_(True))
                .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now)))
        return self.session.scalars(stmt).first()

    def add(self, row: Any) -> None:
        """Stage a new user or token."""
        self.session.add(row)
        self.session.flush()

    def list(self) -> Sequence[User]:
        """Return every user by name."""
        return self.session.scalars(select(User).order_by(User.username)).all()
