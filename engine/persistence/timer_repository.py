"""Due timers as the workers claim, release and schedule them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from .models import Timer


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
