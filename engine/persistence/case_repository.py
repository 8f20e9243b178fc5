"""The case repository: cases, their inbox rows, timers and audit events on the hot path.

Hot paths write with one statement per table (multi-row INSERT ... RETURNING, UPDATE ... WHERE IN), so a
task completion stays within a handful of statements whatever the diagram does.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import Integer, and_, bindparam, func, insert, null, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import NotFound
from .calendar_generation import GENERATION
from .compiled import hot
from .case_records import CASE_RECORD_COLUMNS, TASK_RECORD_COLUMNS, CaseRecord, TaskRecord
from .models import NO_DEADLINE, Case, CaseCounter, CaseEvent, TaskCandidate, TaskItem, Timer

cases = Case.__table__
tasks = TaskItem.__table__


# Hot-path statements are built once: constructing and cache-keying a statement per call costs more than
# the database round trip it makes.
# Each lock also reads the committed calendar generation (last column): the command's calendar check costs
# no statement of its own (.calendar_generation).
_LOCK_BY_TASK = hot(select(*TASK_RECORD_COLUMNS, *[c.label(f"c__{c.name}") for c in CASE_RECORD_COLUMNS],
                           GENERATION)
                    .select_from(tasks.join(cases, cases.c.id == tasks.c.case_id))
                    .where(tasks.c.id == bindparam("task_id")).with_for_update(of=(cases, tasks)))
_LOCK_CASE = select(*CASE_RECORD_COLUMNS, GENERATION).where(cases.c.id == bindparam("case_id")).with_for_update()
_SAVE_COLUMNS = ("status", "ended_at", "event_seq", "chain_head", "updated_at", "workflow_state",
                 "serializer_version", "clocks", "legal_due_at", "legal_yellow_at", "committed_due_at",
                 "committed_yellow_at", "deadline_provisional", "channel", "accepted_at", "corrections",
                 "tolerance", "visits", "calendar_generation")
# Set once, when the case ends: written only by a save that changed them (engine/case_metrics.py).
_CLOSING_COLUMNS = ("legal_used_days", "legal_limit_days", "legal_late", "committed_used_days",
                    "committed_limit_days", "committed_late")
# The version check is enforced by the database, so that it holds when the UPDATE is pipelined and its row
# count cannot be read: a stale version becomes NULL, which the NOT NULL column refuses (see .deferred).
_SAVE_CASE = hot(update(cases).where(cases.c.id == bindparam("b_id"))
              .values(version=sql_case((cases.c.version == bindparam("b_version", type_=Integer),
                                        bindparam("b_new_version", type_=Integer)), else_=null()),
                      **{c: bindparam(c) for c in _SAVE_COLUMNS}))
_SAVE_CLOSED_CASE = hot(_SAVE_CASE.values(**{c: bindparam(c) for c in _CLOSING_COLUMNS}))
_UPDATE_TASK = {
    frozenset(cols): hot(update(tasks).where(tasks.c.id == bindparam("b_task_id")).values(
        **{c: bindparam(c) for c in cols}))
    for cols in (("state", "completed_at", "completed_by", "assignee"), ("assignee", "claimed_at"))
}
_TIMERS = Timer.__table__
_CLOSE_TASKS = (update(tasks).where(tasks.c.case_id == bindparam("b_case_id"),
                                    tasks.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)),
                                    tasks.c.state == "open")
                .values(state=bindparam("b_state"), completed_at=bindparam("b_at")))
_OPEN_ROWS = select(tasks.c.id, tasks.c.spiff_task_id).where(
    tasks.c.case_id == bindparam("b_case_id"), tasks.c.state == "open",
    tasks.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)))
_FINISH_TIMERS = (update(_TIMERS).where(_TIMERS.c.case_id == bindparam("b_case_id"),
                                        _TIMERS.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)),
                                        _TIMERS.c.state == "waiting")
                  .values(state="done", fired_at=bindparam("b_at")))
# The inbox's stored instants follow the case's committed clock on open tasks without a budget of their own
# (a budget counted on a case clock is one of their own, undated while that clock stands still).
_FOLLOW_CASE_CLOCK = hot(update(tasks).where(tasks.c.case_id == bindparam("b_case_id"), tasks.c.state == "open",
                                          tasks.c.due_at.is_(None), tasks.c.deadline_clock.is_(None))
                      .values(inbox_due_at=bindparam("b_due"), inbox_yellow_at=bindparam("b_yellow")))
candidates = TaskCandidate.__table__
_FOLLOW_CASE_CLOCK_CANDIDATES = hot(
    update(candidates).where(candidates.c.task_id.in_(
        select(tasks.c.id).where(tasks.c.case_id == bindparam("b_case_id"), tasks.c.state == "open",
                                 tasks.c.due_at.is_(None), tasks.c.deadline_clock.is_(None))))
    .values(inbox_due_at=bindparam("b_due"), inbox_yellow_at=bindparam("b_yellow")))
# An open task's own budget re-counted (a changed calendar, or the case clock it counts on moved): the row and
# its candidates. An undated budget (its clock stands still) sorts last in the inbox.
_MOVE_TASK_DEADLINE = (update(tasks).where(tasks.c.id == bindparam("b_task_id"), tasks.c.state == "open")
                       .values(due_at=bindparam("b_due"), yellow_at=bindparam("b_yellow"),
                               inbox_due_at=bindparam("b_inbox_due"), inbox_yellow_at=bindparam("b_yellow")))
_MOVE_TASK_DEADLINE_CANDIDATES = (update(candidates).where(candidates.c.task_id == bindparam("b_task_id"))
                                  .values(inbox_due_at=bindparam("b_inbox_due"),
                                          inbox_yellow_at=bindparam("b_yellow")))
_SET_AVAILABLE = hot(update(candidates).where(candidates.c.task_id == bindparam("b_task_id"))
                  .values(available=bindparam("b_available")))
_CLOSE_CANDIDATES = (update(candidates).where(candidates.c.task_id.in_(
    select(tasks.c.id).where(tasks.c.case_id == bindparam("b_case_id"),
                             tasks.c.spiff_task_id.in_(bindparam("b_ids", expanding=True)),
                             tasks.c.state == "open")))
    .values(available=False))
# inline(): no implicit RETURNING of the new ids, whose answer a deferred (pipelined) INSERT cannot read.
_INSERT_EVENTS = hot(insert(CaseEvent.__table__).inline())
_INSERT_CANDIDATES = hot(insert(TaskCandidate.__table__).inline())
_INSERT_TIMERS = hot(insert(_TIMERS).inline())
# No sort_by_parameter_order: SQLite cannot promise RETURNING order, and asking for it makes SQLAlchemy insert
# row by row. Rows are matched back by their unique spiff_task_id instead.
_INSERT_TASKS = insert(tasks).returning(tasks.c.id, tasks.c.spiff_task_id)
_INSERT_CASE = hot(insert(cases).returning(cases.c.id), returning=True)
_TASK_BATCH = 16
"""Up to this many new inbox rows go out as one prepared multi-row INSERT (a 会签 of more uses the general one)."""
_INSERT_TASKS_BY_SHAPE: dict[tuple[int, tuple[str, ...]], Any] = {}


def _insert_tasks(count: int, keys: tuple[str, ...]) -> Any:
    """The multi-row INSERT ... RETURNING for ``count`` inbox rows with columns ``keys`` (built once per shape).

    Its parameters are named ``column__row``; each is typed as its column, so values are bound as usual.
    """
    statement = _INSERT_TASKS_BY_SHAPE.get((count, keys))
    if statement is None:
        statement = hot(insert(tasks).values([{key: bindparam(f"{key}__{i}", type_=tasks.c[key].type) for key in keys}
                                              for i in range(count)]).returning(tasks.c.id, tasks.c.spiff_task_id),
                        returning=True)
        _INSERT_TASKS_BY_SHAPE[(count, keys)] = statement
    return statement
_NEXT_NUMBER = {
    name: hot(dialect.insert(CaseCounter).on_conflict_do_update(
        index_elements=[CaseCounter.day], set_={"last": CaseCounter.last + 1}).returning(CaseCounter.last),
        returning=True)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


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
        """Load a task and lock its case row, then the task row (FOR UPDATE OF cases, tasks), with the workflow state.

        Both rows are locked so that a command that waited for the lock re-reads both latest versions (a row
        read but not locked would come back as it was before the wait: two claims of one task would both
        win). The case goes first, as in every command that locks a case by id and then moves or closes its
        open tasks at commit (a suspension, a timer, a sibling's deciding 会签 vote): with the task row first
        the two took the same locks in opposite orders and PostgreSQL broke such pairs as deadlocks
        (tests/integration/test_case_lock_order.py). The unit is told the calendar generation read with them.
        """
        rows = self.uow.deferred.read(_LOCK_BY_TASK, {"task_id": task_id})
        row = rows[0] if rows else None
        if row is None:
            raise NotFound("任务不存在或无权访问", details={"task_id": task_id})
        split = len(TASK_RECORD_COLUMNS)
        self.uow.observe_calendar(row[-1])
        return TaskRecord(*row[:split]), CaseRecord(*row[split:-1])

    def lock(self, case_id: int) -> CaseRecord:
        """Load and lock one case row with its workflow state (and tell the unit the calendar generation)."""
        row = self._conn.execute(_LOCK_CASE, {"case_id": case_id}).one_or_none()
        if row is None:
            raise NotFound("办件不存在或无权访问", details={"case_id": case_id})
        self.uow.observe_calendar(row[-1])
        return CaseRecord(*row[:-1])

    def insert(self, values: dict[str, Any]) -> CaseRecord:
        """Insert a new case row and return it as a record."""
        ((case_id,),) = self.uow.deferred.fetch(_INSERT_CASE, values)
        return CaseRecord(id=case_id, **{c.name: values.get(c.name) for c in CASE_RECORD_COLUMNS if c.name != "id"})

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
        if len(closing) == len(_CLOSING_COLUMNS):
            self.uow.defer(_SAVE_CLOSED_CASE, {**params, **closing})
        else:
            self.uow.defer(_SAVE_CASE.values(**closing) if closing else _SAVE_CASE, params)
        self.uow.deferred.case_id = case.id
        case.version += 1
        case.changes.clear()

    def mark_counted(self, case_id: int, generation: int) -> None:
        """Record that every stored instant of the (locked) case counts with ``generation``'s calendar.

        A recompute that moved nothing writes no event and no new version: only this column, which no replay
        or verification compares.
        """
        self._conn.execute(update(cases).where(cases.c.id == case_id).values(calendar_generation=generation))

    def counted_with_older_calendar(self, *, after: int = 0, limit: int) -> list[int]:
        """Running cases, by id after ``after``, some of whose instants were counted with an older calendar."""
        stmt = (select(cases.c.id).where(cases.c.status == "running", cases.c.calendar_generation < GENERATION,
                                         cases.c.id > after)
                .order_by(cases.c.id).limit(limit))
        return list(self._conn.execute(stmt).scalars())

    def open_budgeted_tasks(self, case_id: int, *, on_case_clock: bool = False) -> list[Any]:
        """The case's open tasks with a budget of their own, oldest first (only those on a case clock, if asked).

        A budget of its own is dated (``due_at`` set) or counted on a case clock (``deadline_clock`` set, and
        undated while that clock stands still). Each row has ``id``, ``element_id``, ``created_at`` (the instant
        the budget counts from), ``due_at``, ``yellow_at`` and ``deadline_clock``.
        """
        own = tasks.c.deadline_clock.is_not(None)
        if not on_case_clock:
            own = or_(own, tasks.c.due_at.is_not(None))
        stmt = (select(tasks.c.id, tasks.c.element_id, tasks.c.created_at, tasks.c.due_at, tasks.c.yellow_at,
                       tasks.c.deadline_clock)
                .where(tasks.c.case_id == case_id, tasks.c.state == "open", own)
                .order_by(tasks.c.created_at, tasks.c.id))
        return list(self._conn.execute(stmt))

    def move_task_deadline(self, task_id: int, due_at: datetime | None, yellow_at: datetime | None) -> None:
        """Give an open task new own due and yellow instants, on its row and its candidate rows (deferred).

        The inbox's light and due order read ``inbox_due_at``/``inbox_yellow_at``, which for a task with its
        own budget are that budget's instants (:func:`engine.handlers.inbox_columns`); ``None`` (a budget on a
        case clock that stands still) has no due instant and sorts last.
        """
        params = {"b_task_id": task_id, "b_due": due_at, "b_yellow": yellow_at,
                  "b_inbox_due": NO_DEADLINE if due_at is None else due_at}
        self.uow.defer(_MOVE_TASK_DEADLINE_CANDIDATES, params)
        self.uow.defer(_MOVE_TASK_DEADLINE, params)

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
        ((last,),) = self.uow.deferred.fetch(_NEXT_NUMBER[self._conn.dialect.name], {"day": day, "last": 1})
        return int(last)

    def insert_tasks(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert inbox rows in one statement; return their ids in the same order."""
        if not rows:
            return []
        keys = tuple(rows[0])
        if len(rows) <= _TASK_BATCH and all(tuple(row) == keys for row in rows):
            params = {f"{key}__{i}": value for i, row in enumerate(rows) for key, value in row.items()}
            answered = self.uow.deferred.fetch(_insert_tasks(len(rows), keys), params)
        else:
            answered = self._conn.execute(_INSERT_TASKS, rows)
        ids = dict((spiff_id, task_id) for task_id, spiff_id in answered)
        return [ids[row["spiff_task_id"]] for row in rows]

    def performed_tasks(self, case_id: int, element_ids: Iterable[str], username: str) -> list[Any]:
        """The case's tasks among ``element_ids`` that ``username`` completed or holds open (职责分离)."""
        return list(self._conn.execute(performed_tasks_statement([case_id], element_ids, username)))

    def first_completion(self, case_id: int, element_ids: Iterable[str]) -> datetime | None:
        """When the case first completed one of ``element_ids`` (the one-time 补正 notice), or None."""
        stmt = select(func.min(tasks.c.completed_at)).where(
            tasks.c.case_id == case_id, tasks.c.element_id.in_(list(element_ids)), tasks.c.state == "completed")
        return self._conn.execute(stmt).scalar()

    def insert_candidates(self, pairs: list[dict[str, Any]]) -> None:
        """Insert candidate rows (task, group, availability and the task's instants) in one statement."""
        if pairs:
            self.uow.defer(_INSERT_CANDIDATES, pairs)

    def open_rows(self, case_id: int, spiff_ids: Iterable[str]) -> dict[str, int]:
        """The case's open inbox row (at most one) of each of these spiff tasks that has one: spiff id -> row id.

        Read it before :meth:`close_tasks` closes them (any read sends the queued writes first); no statement
        when ``spiff_ids`` is empty, as in most steps.
        """
        ids = list(spiff_ids)
        if not ids:
            return {}
        rows = self._conn.execute(_OPEN_ROWS, {"b_case_id": case_id, "b_ids": ids})
        return {spiff_id: task_id for task_id, spiff_id in rows}

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
