"""督办 items: found by the sweep, inserted, and locked when a supervisor closes one."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, or_, select

from .models import Case, SupervisionItem

cases = Case.__table__


class SupervisionRepository:
    """督办 items: found by the sweep from the cases' stored due instants, closed by supervisors."""

    def __init__(self, uow: Any):
        self.uow = uow

    def due_case_ids(self, now: datetime, *, after: int = 0, limit: int) -> list[int]:
        """Return running cases, by id after ``after``, with a passed deadline (or legal warning) and no item yet."""
        items = SupervisionItem.__table__

        def missing(kind: str, due: Any) -> Any:
            return ~exists().where(items.c.case_id == cases.c.id, items.c.kind == kind, items.c.due_at == due)
        stmt = (select(cases.c.id).where(cases.c.status == "running", cases.c.id > after, or_(
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
