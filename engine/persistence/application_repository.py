"""Applications (办事申请) and the materials received with them, written in the intake transaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from .models import Application, CaseMaterial, User

applications = Application.__table__
case_materials = CaseMaterial.__table__
users = User.__table__


class ApplicationRepository:
    """Core statements on ``applications`` and ``case_materials`` through the unit of work's connection."""

    def __init__(self, uow: Any):
        self.uow = uow

    def insert(self, values: dict[str, Any], materials: list[dict[str, Any]]) -> int:
        """Insert the application and its received materials; return the application id."""
        conn = self.uow.connection
        application_id = conn.execute(insert(applications).returning(applications.c.id), [values]).scalar_one()
        if materials:
            conn.execute(insert(case_materials), materials)
        return int(application_id)

    def references(self, sha256: str) -> bool:
        """Whether any received material points at stored content with this hash."""
        stmt = select(case_materials.c.id).where(case_materials.c.sha256 == sha256).limit(1)
        return self.uow.connection.execute(stmt).first() is not None

    def online_since(self, account: str, since: datetime, *, lock: bool = False) -> int:
        """How many online applications ``account`` made at or after ``since``.

        With ``lock`` the account's user row is locked first (FOR UPDATE on PostgreSQL; SQLite's writing
        transaction already holds the single-writer lock), so two applications of one account count in turn.
        """
        conn = self.uow.connection
        if lock:
            conn.execute(select(users.c.id).where(users.c.username == account).with_for_update())
        stmt = select(func.count()).select_from(applications).where(
            applications.c.account == account, applications.c.received_at >= since)
        return int(conn.execute(stmt).scalar_one())
