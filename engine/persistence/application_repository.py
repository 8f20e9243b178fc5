"""Applications (办事申请) and the materials received with them, written in the intake transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from .models import Application, CaseMaterial

applications = Application.__table__
case_materials = CaseMaterial.__table__


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
