"""Due timers as the workers claim, release, reschedule and set aside them."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from .models import Case, Timer

_TIMERS = Timer.__table__
_RESCHEDULE = (update(_TIMERS).where(_TIMERS.c.case_id == bindparam("b_case_id"),
                                     _TIMERS.c.spiff_task_id == bindparam("b_spiff_id"),
                                     _TIMERS.c.state == "waiting")
               .values(due_at=bindparam("b_due_at"), locked_by=None, locked_until=None, attempts=0, last_error=None))
"""Move a waiting timer to its next instant and end its lease: it fired (a cycle) or was re-armed."""

FAILED = "failed"
"""The state of a timer set aside after :data:`MAX_ATTEMPTS` failed firings; ``tongban timers retry`` revives it."""
MAX_ATTEMPTS = 10
"""Failed firings after which a timer is set aside (state :data:`FAILED`) for an administrator to look at."""
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def retry_delay(attempts: int, *, first: timedelta = FIRST_RETRY, cap: timedelta = MAX_RETRY) -> timedelta:
    """The wait after the ``attempts``-th failed firing: ``first``, doubling each time, at most ``cap``."""
    return min(cap, first * (2 ** min(max(attempts - 1, 0), 20)))


class TimerRepository:
    """Due timers: claimed by workers with a lease, SKIP LOCKED on PostgreSQL so workers never collide."""

    def __init__(self, uow: Any):
        self.uow = uow

    def claim_due(self, now: datetime, *, worker: str, lease_until: datetime, limit: int) -> list[int]:
        """Lease up to ``limit`` due timers to ``worker``; return the distinct case ids they belong to."""
        table = _TIMERS
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

    def release(self, case_id: int, *, error: str, now: datetime, first: timedelta = FIRST_RETRY,
                cap: timedelta = MAX_RETRY, max_attempts: int = MAX_ATTEMPTS) -> tuple[datetime | None, int]:
        """Record a failed firing of the case's timers; back off by their ``attempts``, set aside past the cap.

        Each waiting timer of the case that was due (the firing failed on it) becomes claimable again after
        :func:`retry_delay` of its attempts (every claim counted one); one that has failed ``max_attempts``
        times becomes :data:`FAILED`, out of the workers' way until an administrator retries it. Returns (the
        earliest retry, timers set aside).
        """
        table = _TIMERS
        conn = self.uow.connection
        # Only the timers that were due: the firing failed on them. A later one (one not due for days, or on
        # the far-future "never" instant of a clock that stands still) did not fail and is not marked.
        rows = conn.execute(select(table.c.id, table.c.attempts)
                            .where(table.c.case_id == case_id, table.c.state == "waiting",
                                   table.c.due_at < now)).all()
        retry_at: datetime | None = None
        failed = 0
        for timer_id, attempts in rows:
            values: dict[str, Any] = {"last_error": error[:2000], "locked_by": None}
            if attempts >= max_attempts:
                values.update(state=FAILED, locked_until=None)
                failed += 1
            else:
                values["locked_until"] = at = now + retry_delay(attempts, first=first, cap=cap)
                retry_at = at if retry_at is None else min(retry_at, at)
            conn.execute(update(table).where(table.c.id == timer_id).values(**values))
        return retry_at, failed

    def reschedule(self, case_id: int, moves: dict[str, datetime]) -> None:
        """Move waiting timers (spiff task id -> new due instant) and end their leases (deferred, one statement)."""
        if moves:
            self.uow.defer(_RESCHEDULE, [{"b_case_id": case_id, "b_spiff_id": sid, "b_due_at": due}
                                         for sid, due in moves.items()])

    def failing(self, *, set_aside_only: bool, limit: int = 100) -> list[dict[str, Any]]:
        """Timers set aside, and unless ``set_aside_only`` those waiting after a failed firing (backing off).

        Oldest due first, with the case's number and status; ``retry_at`` is when a waiting one is tried next.
        """
        return failing_rows(self.uow.connection, set_aside_only=set_aside_only, limit=limit)

    def state_of(self, timer_id: int) -> tuple[str, str] | None:
        """The timer's state and its case's status, or None when there is no such timer."""
        table = _TIMERS
        row = self.uow.connection.execute(select(table.c.state, Case.status).join(Case, Case.id == table.c.case_id)
                                          .where(table.c.id == timer_id)).first()
        return None if row is None else (row[0], row[1])

    def find(self, timer_id: int) -> dict[str, Any] | None:
        """The timer's ``case_id``, ``element_id``, ``state``, ``due_at``, ``attempts`` (None: no such timer)."""
        table = _TIMERS
        row = self.uow.connection.execute(
            select(table.c.case_id, table.c.element_id, table.c.state, table.c.due_at, table.c.attempts)
            .where(table.c.id == timer_id)).first()
        return None if row is None else dict(row._mapping)

    def retry(self, timer_id: int, *, close: bool = False) -> bool:
        """Put a timer set aside back to waiting, or with ``close`` mark it done; False when it is not set aside.

        Back to waiting, its attempts start over and its due instant has passed: the next wake-up fires it.
        ``close`` is for a timer whose case has ended, with nothing left to fire.
        """
        table = _TIMERS
        values: dict[str, Any] = {"state": "done"} if close else {"state": "waiting", "attempts": 0}
        result = self.uow.connection.execute(
            update(table).where(table.c.id == timer_id, table.c.state == FAILED)
            .values(locked_by=None, locked_until=None, **values))
        return bool(result.rowcount)

    def next_due(self) -> datetime | None:
        """Return the earliest due time of any waiting timer."""
        table = _TIMERS
        return self.uow.connection.execute(select(func.min(table.c.due_at)).where(table.c.state == "waiting")).scalar()


def failing_rows(connection: Any, *, set_aside_only: bool = False, case_id: int | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Timers set aside and (unless ``set_aside_only``) those waiting after a failed firing, due first.

    On any connection (a unit of work's, or a read session's for the case page). With ``case_id``, only that
    case's. Each: ``id``, ``state``, ``case_id``, ``case_no``, ``case_status``, ``element_id``, ``kind``,
    ``due_at``, ``attempts``, ``retry_at`` (when a waiting one is tried next) and ``last_error``.
    """
    table = _TIMERS
    which = table.c.state == FAILED
    if not set_aside_only:
        which = which | ((table.c.state == "waiting") & table.c.last_error.is_not(None))
    query = (select(table.c.id, table.c.state, table.c.case_id, Case.case_no, Case.status.label("case_status"),
                    table.c.element_id, table.c.kind, table.c.due_at, table.c.attempts,
                    table.c.locked_until.label("retry_at"), table.c.last_error)
             .join(Case, Case.id == table.c.case_id).where(which))
    if case_id is not None:
        query = query.where(table.c.case_id == case_id)
    rows = connection.execute(query.order_by(table.c.due_at, table.c.id).limit(limit))
    return [dict(row._mapping) for row in rows]
