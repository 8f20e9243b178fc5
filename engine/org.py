"""The organisation model: districts, their departments, and loading both (with users) from a file.

``Organisation.load`` validates the whole file against itself and the database before writing anything,
then upserts every row in one transaction: districts and departments by code, users by username (their
password, tokens and active flag are never touched). ``dry_run`` reports the same changes and writes none.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .clock import Clock
from .errors import OrgFileInvalid, UnknownDistrict
from .org_file import OrgFile, reference_org, reference_problems
from .persistence.models import Department, District, User
from .persistence.org_repository import insert_missing_reference_rows
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .storable import refuse_unstorable

Action = Literal["create", "update", "unchanged"]
_ACTIONS_ZH = {"create": "新增", "update": "更新", "unchanged": "未变化"}
_KINDS_ZH = {"district": "区县", "department": "部门", "user": "用户"}


@dataclass(frozen=True)
class OrgChange:
    """What loading one row does.

    Attributes:
        action: ``create``, ``update`` or ``unchanged``.
        kind: ``district``, ``department`` or ``user``.
        key: the district code, ``district/department`` or the username.
        fields: the columns an update changes (empty otherwise).
    """

    action: Action
    kind: str
    key: str
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return one Chinese line for the CLI, e.g. ``更新 用户 reviewer_zj（roles、department）``."""
        changed = f"（{'、'.join(self.fields)}）" if self.fields else ""
        return f"{_ACTIONS_ZH[self.action]} {_KINDS_ZH[self.kind]} {self.key}{changed}"


@dataclass(frozen=True)
class DistrictInfo:
    """A district as listed, with its departments and how many users each holds."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    region: str | None
    departments: tuple[tuple[str, str, int], ...]


class Organisation:
    """Read and change districts and departments; load organisation files."""

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock):
        self.uow = uow
        self.clock = clock

    def load(self, org: OrgFile, *, dry_run: bool = False) -> list[OrgChange]:
        """Upsert every row of ``org`` in one transaction and return the changes (none written if dry run).

        Raises:
            InvalidInput: a row holds text no database stores (``INVALID_INPUT`` naming it, e.g.
                ``users.0.display_name``; :func:`~engine.org_file.parse_org_file` refuses a file's by line).
            OrgFileInvalid: a row points at a district or department that neither exists nor is in the file.
        """
        refuse_unstorable(**{kind: [asdict(row) for row in getattr(org, kind)]
                             for kind in ("districts", "departments", "users")})
        with self.uow() as uow:
            repo = uow.org
            problems = reference_problems(org, [d.code for d in repo.districts()],
                                          [(d.district_code, d.code) for d in repo.departments()])
            if problems:
                raise OrgFileInvalid(f"组织机构文件有 {len(problems)} 处错误，未写入任何数据：{problems[0]}",
                                     details={"problems": problems})
            changes = [self._district(repo, row) for row in _parents_first(org.districts)]
            repo.flush()
            changes += [self._department(repo, row) for row in org.departments]
            changes += [self._user(uow, row) for row in org.users]
            if not dry_run:
                uow.commit()
        return changes

    def district_names(self) -> dict[str, str]:
        """Return every district's name by code (one query; pages label codes with it)."""
        with self.uow() as uow:
            return {row.code: row.name for row in uow.org.districts()}

    def districts(self, code: str | None = None) -> list[DistrictInfo]:
        """Return every district (or only ``code``) with its departments and user counts.

        Raises:
            InvalidInput: ``code`` holds text no database stores.
            UnknownDistrict: ``code`` is given and not a district.
        """
        refuse_unstorable(district=code)
        with self.uow() as uow:
            repo = uow.org
            rows = repo.districts()
            if code is not None:
                rows = [d for d in rows if d.code == code]
                if not rows:
                    raise UnknownDistrict(f"区县代码 {code} 不存在", details={"district": code})
            counts = repo.user_counts()
            by_district: dict[str, list[tuple[str, str, int]]] = {}
            for dept in repo.departments(code):
                by_district.setdefault(dept.district_code, []).append(
                    (dept.code, dept.name, counts.get((dept.district_code, dept.code), 0)))
            return [DistrictInfo(d.code, d.name, d.kind, d.parent_code, d.region,
                                 tuple(by_district.get(d.code, []))) for d in rows]

    def ensure_seeded(self) -> int:
        """Insert the shipped districts and departments the database lacks; return how many were added."""
        with self.uow() as uow:
            assert uow.connection is not None
            added = insert_missing_reference_rows(uow.connection, reference_org())
            uow.commit()
        return added

    @staticmethod
    def _district(repo: Any, row: Any) -> OrgChange:
        found = repo.district(row.code)
        if found is None:
            repo.add(District(code=row.code, name=row.name, kind=row.kind, parent_code=row.parent_code,
                              region=row.region))
            return OrgChange("create", "district", row.code)
        wanted = {"name": row.name, "kind": row.kind, "parent_code": row.parent_code}
        if row.region is not None:
            wanted["region"] = row.region
        return _update(found, wanted, "district", row.code)

    @staticmethod
    def _department(repo: Any, row: Any) -> OrgChange:
        key = f"{row.district_code}/{row.code}"
        found = repo.department(row.district_code, row.code)
        if found is None:
            repo.add(Department(district_code=row.district_code, code=row.code, name=row.name))
            return OrgChange("create", "department", key)
        return _update(found, {"name": row.name}, "department", key)

    def _user(self, uow: Any, row: Any) -> OrgChange:
        found = uow.users.by_username(row.username)
        if found is None:
            uow.users.add(User(username=row.username, display_name=row.display_name, district=row.district,
                               department=row.department, roles=list(row.roles), id_number=row.id_number,
                               active=True, password_hash=None, created_at=self.clock.now()))
            return OrgChange("create", "user", row.username)
        wanted = {"display_name": row.display_name, "district": row.district, "department": row.department,
                  "roles": list(row.roles)}
        if row.id_number is not None:
            wanted["id_number"] = row.id_number
        return _update(found, wanted, "user", row.username)


def _update(found: Any, wanted: dict[str, Any], kind: str, key: str) -> OrgChange:
    changed = tuple(name for name, value in wanted.items() if getattr(found, name) != value)
    for name in changed:
        setattr(found, name, wanted[name])
    return OrgChange("update" if changed else "unchanged", kind, key, changed)


def _parents_first(rows: tuple[Any, ...]) -> list[Any]:
    inside = {row.code for row in rows}
    return sorted(rows, key=lambda row: row.parent_code in inside)

