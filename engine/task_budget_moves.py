"""Re-counting the open tasks' own budgets of a locked case: after a calendar change, or when a case clock moves.

A budget counted on its own (``clock="task"``) moves only when the calendar changes (``RecomputeDeadlines``);
one counted on a case clock (``clock="legal"``/``"committed"``, :mod:`engine.task_budgets`) also moves whenever
that clock starts, pauses, resumes, is extended or ends a period. Either way the new instants go on the task's
inbox row and its candidate rows, so its light and due order follow. What moved is derived from the events
already recorded (the clock's change, or the calendar's), so it is written without an event of its own, except
in ``DeadlinesRecomputed``, which records every instant a calendar change moved.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import and_, or_, select

from .deployment import LoadedDefinition
from .persistence.case_records import CaseRecord
from .persistence.models import CaseEvent
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .task_budgets import budget_instants

Moved = tuple[Any, "datetime | None", "datetime | None"]
"""(task row, new due_at, new yellow_at) of one open task whose budget moved."""


def moved_task_deadlines(uow: SqlAlchemyUnitOfWork, svc: Any, case: CaseRecord, definition: LoadedDefinition, *,
                         on_case_clock: bool = False, skip: Iterable[int] = ()) -> list[Moved]:
    """The case's open tasks with their own budget whose (due, yellow) moved, with the new ones.

    The budget is counted with the current calendar and the case's clocks as they now stand (``case.clocks``),
    on the clock the task's row names (``deadline_clock``, NULL: its own).
    With ``on_case_clock`` only budgets on a case clock are looked at; ``skip`` leaves out tasks by id (the one
    being completed). The budget is the ``<tb:deadline>`` of the definition the task was created under: a
    migration moves the case, not the budgets of its open tasks (:mod:`engine.case_migration`), so a task
    created before a ``CaseMigrated`` keeps the budget of the version it was created on.
    """
    if svc.calendar is None:
        return []
    skipped = set(skip)
    rows = [row for row in uow.cases.open_budgeted_tasks(case.id, on_case_clock=on_case_clock)
            if row.id not in skipped]
    if not rows:
        return []
    calendar = svc.calendar.get()
    created_on = _created_on(uow, svc, case, definition, [row.id for row in rows])
    moved = []
    for row in rows:
        info = created_on.get(row.id, definition).user_tasks.get(row.element_id)
        if info is None or info.deadline is None:
            continue
        # The row says on which clock its budget counts: a row written before budgets counted on case clocks
        # (deadline_clock NULL) keeps counting on its own, whatever its diagram says.
        deadline = replace(info.deadline, clock=row.deadline_clock or "task")
        due_at, yellow_at = budget_instants(deadline, row.created_at, case.clocks, calendar)
        if (iso_utc(due_at), iso_utc(yellow_at)) != (iso_utc(row.due_at), iso_utc(row.yellow_at)):
            moved.append((row, due_at, yellow_at))
    return moved


def follow_case_clocks(uow: SqlAlchemyUnitOfWork, svc: Any, case: CaseRecord, definition: LoadedDefinition,
                       skip: Iterable[int] = ()) -> None:
    """After the case's clocks changed in this command: move the open tasks whose budget counts on one of them.

    Only tasks created with a ``<tb:deadline clock="legal|committed">`` are read (one indexed query on the
    case's open tasks), and only those whose instants moved are written.
    """
    for row, due_at, yellow_at in moved_task_deadlines(uow, svc, case, definition, on_case_clock=True, skip=skip):
        uow.cases.move_task_deadline(row.id, due_at, yellow_at)


def iso_utc(value: Any) -> Any:
    """Return an instant as an ISO string in UTC, anything else as it is.

    The database hands instants back in UTC and the calendar computes them in CST: this is the form in which
    stored and computed instants are compared and recorded.
    """
    return value.astimezone(timezone.utc).isoformat() if hasattr(value, "astimezone") else value


def _created_on(uow: SqlAlchemyUnitOfWork, svc: Any, case: CaseRecord, definition: LoadedDefinition,
                task_ids: list[int]) -> dict[int, LoadedDefinition]:
    """The definitions tasks were created on where that is not the case's current one (after a migration)."""
    stmt = (select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.task_id, CaseEvent.payload)
            .where(CaseEvent.case_id == case.id,
                   or_(CaseEvent.event_type == "CaseMigrated",
                       and_(CaseEvent.event_type == "TaskCreated", CaseEvent.task_id.in_(task_ids))))
            .order_by(CaseEvent.seq))
    found = list(uow.session.execute(stmt))
    migrations = [(seq, payload["from_hash"]) for seq, kind, _t, payload in found if kind == "CaseMigrated"]
    if not migrations:
        return {}
    out: dict[int, LoadedDefinition] = {}
    for seq, kind, task_id, _p in found:
        later = next((from_hash for at, from_hash in migrations if at > seq), None)
        if kind == "TaskCreated" and later is not None:
            row = uow.definitions.by_hash(case.process_key, later)
            if row is not None:
                out[task_id] = svc.catalog.get(uow, row.id)
    return out
