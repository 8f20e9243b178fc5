"""Districts and departments: reads for validation and listings, writes for ``tongban org load`` and seeding."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from ..org_file import OrgFile
from .models import Department, District, User


class OrgRepository:
    """The organisation tables through the unit of work's ORM session (off the hot path)."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def session(self) -> Session:
        """The unit of work's ORM session."""
        return self.uow.session

    def district(self, code: str) -> District | None:
        """Return one district by code, or None."""
        return self.session.get(District, code)

    def districts(self) -> Sequence[District]:
        """Return every district ordered by code (the municipality first, functional zones last)."""
        return self.session.scalars(select(District).order_by(District.code)).all()

    def department(self, district_code: str, code: str) -> Department | None:
        """Return one department of one district, or None."""
        return self.session.scalars(select(Department).where(
            Department.district_code == district_code, Department.code == code)).one_or_none()

    def departments(self, district_code: str | None = None) -> Sequence[Department]:
        """Return every department, or those of one district, ordered by district and code."""
        stmt = select(Department).order_by(Department.district_code, Department.code)
        if district_code is not None:
            stmt = stmt.where(Department.district_code == district_code)
        return self.session.scalars(stmt).all()

    def user_counts(self) -> dict[tuple[str | None, str | None], int]:
        """Return how many users each (district, department) holds."""
        rows = self.session.execute(select(User.district, User.department, func.count())
                                    .group_by(User.district, User.department))
        return {(district, department): count for district, department, count in rows}

    def add(self, row: Any) -> None:
        """Stage a new district, department or user."""
        self.session.add(row)

    def flush(self) -> None:
        """Write staged rows now (departments refer to districts added in the same load)."""
        self.session.flush()


def insert_missing_reference_rows(connection: Connection, org: OrgFile) -> int:
    """Insert the seed districts and departments the database lacks; never change existing rows.

    Runs on the caller's connection and transaction; returns how many rows were inserted.
    """
    districts, departments = District.__table__, Department.__table__
    have = set(connection.execute(select(districts.c.code)).scalars())
    new_districts = [{"code": d.code, "name": d.name, "kind": d.kind, "parent_code": d.parent_code,
                      "region": d.region} for d in org.districts if d.code not in have]
    # Parents first: a functional zone may name a district inserted in the same batch.
    new_districts.sort(key=lambda row: row["parent_code"] is not None)
    if new_districts:
        connection.execute(insert(districts), new_districts)
    have_departments = {tuple(row) for row in connection.execute(select(departments.c.district_code,
                                                                             departments.c.code))}
    new_departments = [{"district_code": d.district_code, "code": d.code, "name": d.name}
                       for d in org.departments if (d.district_code, d.code) not in have_departments]
    if new_departments:
        connection.execute(insert(departments), new_departments)
    return len(new_districts) + len(new_departments)
