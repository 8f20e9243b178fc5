"""Grants (授权): which 全渝通办 rights an owning district (业务属地) delegates to a receiving district (收件地).

渝府办发〔2022〕25号 names the rights a receiving window may be given: 异地收件权、形式审查权、原件核验权、
一次性告知权、审批结果送达权, "不改变原有审批层级和权限"; 就地批办 goes further and delegates the decision
itself (DOMAIN §3.7). A grant names one matter, the owning district, the receiving district (or ``all``), the
rights and the dates it is in force. Administrators add and revoke grants; revoking keeps the row, so the
audit can always show under whose authority a receiving district acted. :meth:`Grants.authority` is what the
engine asks before a receiving district acts on another district's matter.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from sqlalchemy import or_, select

from .calendar import business_date
from .clock import Clock
from .errors import Conflict, Forbidden, InvalidInput, NotFound, UnknownDistrict
from .persistence.models import Grant, MatterVersion
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .storable import refuse_unstorable
from .text_input import require_written

RIGHTS = {
    "receive": "异地收件",
    "formal_review": "形式审查",
    "verify_original": "原件核验",
    "notify": "一次性告知",
    "deliver": "审批结果送达",
    "decide": "就地批办（审批决定）",
}
ALL = "all"
MAX_TEXT = 500
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
"""The dates a grant may name (a typo such as 0026 or 9999 is refused rather than stored)."""


class GrantMissing(Forbidden):
    """A receiving district acted on another district's matter without a grant for that right."""

    code = "GRANT_MISSING"


@dataclass(frozen=True)
class GrantInfo:
    """A grant as listed and as recorded in the audit of an action it authorised."""

    id: int
    matter_code: str
    owning_district: str
    receiving_district: str
    rights: tuple[str, ...]
    valid_from: date
    valid_to: date | None
    basis: str | None
    created_by: str
    revoked: bool
    in_force: bool | None = field(default=None, compare=False)
    expired: bool | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (dates stay dates; the API schema and the CLI format them).

        ``in_force`` says whether the grant authorises anything on today's business date (not revoked and
        within its dates); ``expired`` whether its last day has passed. Both are None where the grant was not
        read against a day.
        """
        return {"id": self.id, "matter_code": self.matter_code, "owning_district": self.owning_district,
                "receiving_district": self.receiving_district, "rights": list(self.rights),
                "valid_from": self.valid_from, "valid_to": self.valid_to, "basis": self.basis,
                "created_by": self.created_by, "revoked": self.revoked, "in_force": self.in_force,
                "expired": self.expired}


class Grants:
    """Add, list and revoke grants; answer whether a receiving district may exercise a right.

    Args:
        uow: unit-of-work factory.
        clock: the engine clock (today's business date decides which grants are in force).
    """

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock):
        self.uow = uow
        self.clock = clock

    def add(self, *, matter_code: str, owning: str, receiving: str, rights: Iterable[str], actor: str,
            valid_from: date | None = None, valid_to: date | None = None, basis: str | None = None) -> GrantInfo:
        """Record a grant after checking its text, the matter, both districts, the rights and the dates."""
        rights = tuple(dict.fromkeys(rights))
        refuse_unstorable(matter_code=matter_code, owning=owning, receiving=receiving, rights=rights, actor=actor,
                          basis=basis)
        unknown = [r for r in rights if r not in RIGHTS]
        if not rights or unknown:
            raise InvalidInput(f"授权事项无效：{'、'.join(unknown) or '（空）'}；可选 "
                               + "、".join(f"{k}（{v}）" for k, v in RIGHTS.items()), details={"rights": unknown})
        start = valid_from or business_date(self.clock.now())
        for name, day in (("valid_from", start), ("valid_to", valid_to)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                message = f"授权日期 {day} 超出范围：应在 {FIRST_DAY} 至 {LAST_DAY} 之间"
                raise InvalidInput(message, details={"fields": {name: [message]}})
        if valid_to is not None and valid_to < start:
            raise InvalidInput(f"有效期结束日 {valid_to} 早于开始日 {start}")
        if basis is not None and len(basis) > MAX_TEXT:
            raise InvalidInput(f"授权依据不能超过 {MAX_TEXT} 字")
        if receiving == owning:
            raise InvalidInput("收件地与业务属地相同，无需授权")
        with self.uow() as uow:
            matter = uow.session.scalar(select(MatterVersion).where(MatterVersion.code == matter_code)
                                        .order_by(MatterVersion.version.desc()).limit(1))
            if matter is None:
                raise NotFound(f"事项 {matter_code} 不存在", details={"matter_code": matter_code})
            if "decide" in rights and "local" not in (matter.doc or {}).get("modes", ()):
                raise InvalidInput(f"事项 {matter_code} 的办理模式不含就地批办（local），不能授予审批决定权",
                                   code="GRANT_MODE_UNSUPPORTED", details={"matter_code": matter_code})
            for code in (owning, receiving):
                if code != ALL and uow.org.district(code) is None:
                    raise UnknownDistrict(f"区县代码 {code} 不存在", details={"district": code})
            if owning == ALL:
                raise InvalidInput("业务属地须为具体区县")
            offered = (matter.doc or {}).get("districts", ALL)
            if offered != ALL and owning not in offered:
                raise InvalidInput(f"事项 {matter_code} 不在 {_district(uow, owning)} 办理，该区县不能授权他地代办",
                                   code="GRANT_NOT_OFFERED", details={"matter_code": matter_code, "district": owning})
            covering = _covering(uow, matter_code, owning, receiving, rights, start, valid_to)
            if covering is not None:
                whom = "所有区县" if receiving == ALL else _district(uow, receiving)
                raise Conflict(f"已有授权 #{covering.id} 在这段日期内给了{whom}这些权限，"
                               "新授权不会多授予任何权限", code="GRANT_DUPLICATE",
                               details={"grant_id": covering.id})
            row = Grant(matter_code=matter_code, owning_district=owning, receiving_district=receiving,
                        rights=list(rights), valid_from=start, valid_to=valid_to, basis=basis, created_by=actor,
                        created_at=self.clock.now())
            uow.session.add(row)
            uow.flush()
            info = _info(row, business_date(self.clock.now()))
            uow.commit()
        return info

    def revoke(self, grant_id: int, *, actor: str, reason: str) -> GrantInfo:
        """Revoke a grant (it stays listed as revoked); a reason people can read is required."""
        refuse_unstorable(reason=reason, actor=actor)
        reason = require_written(reason, "reason", "撤销授权须写明理由", limit=MAX_TEXT)
        with self.uow() as uow:
            row = uow.session.get(Grant, grant_id, with_for_update=True)
            if row is None:
                raise NotFound(f"授权 {grant_id} 不存在", details={"grant_id": grant_id})
            if row.revoked_at is not None:
                raise Conflict(f"授权 {grant_id} 已于 {business_date(row.revoked_at)} 由 {row.revoked_by} 撤销")
            row.revoked_by, row.revoked_at, row.revoke_reason = actor, self.clock.now(), reason
            uow.flush()
            info = _info(row, business_date(self.clock.now()))
            uow.commit()
        return info

    def list(self, *, matter_code: str | None = None, district: str | None = None,
             include_revoked: bool = False) -> list[GrantInfo]:
        """List grants, optionally of one matter or touching one district (owning or receiving).

        Without ``include_revoked`` only the grants in force on today's business date (Beijing time) are
        listed: not revoked, already begun and not yet expired. With it every grant is listed, each marked
        ``in_force`` and ``expired``.

        Raises:
            InvalidInput: ``matter_code`` or ``district`` holds text no database stores.
            UnknownDistrict: for a ``district`` that is not in the districts table.
        """
        refuse_unstorable(matter_code=matter_code, district=district)
        day = business_date(self.clock.now())
        stmt = select(Grant).order_by(Grant.matter_code, Grant.owning_district, Grant.id)
        if matter_code:
            stmt = stmt.where(Grant.matter_code == matter_code)
        if district:
            stmt = stmt.where(or_(Grant.owning_district == district, Grant.receiving_district == district))
        if not include_revoked:
            stmt = stmt.where(Grant.revoked_at.is_(None), Grant.valid_from <= day,
                              or_(Grant.valid_to.is_(None), Grant.valid_to >= day))
        with self.uow() as uow:
            if district and district != ALL and uow.org.district(district) is None:
                raise UnknownDistrict(f"区县代码 {district} 不存在", details={"district": district})
            return [_info(row, day) for row in uow.session.scalars(stmt)]

    def receivable(self, receiving: str) -> list[GrantInfo]:
        """Grants in force today that let ``receiving`` receive (异地收件) another district's matter."""
        day = business_date(self.clock.now())
        stmt = (select(Grant).where(Grant.receiving_district.in_([receiving, ALL]), Grant.owning_district != receiving,
                                    Grant.revoked_at.is_(None), Grant.valid_from <= day,
                                    or_(Grant.valid_to.is_(None), Grant.valid_to >= day))
                .order_by(Grant.matter_code, Grant.owning_district, Grant.id))
        with self.uow() as uow:
            return [_info(row) for row in uow.session.scalars(stmt) if "receive" in row.rights]

    def authority(self, uow: SqlAlchemyUnitOfWork, *, matter_code: str, owning: str, receiving: str,
                  right: str, on: date | None = None) -> GrantInfo | None:
        """Return the grant in force that lets ``receiving`` exercise ``right`` on ``owning``'s matter, or None."""
        return authority(uow, matter_code=matter_code, owning=owning, receiving=receiving, right=right,
                         on=on or business_date(self.clock.now()))

    def require(self, uow: SqlAlchemyUnitOfWork, *, matter_code: str, owning: str, receiving: str,
                right: str) -> GrantInfo:
        """Like :meth:`authority`, but refuse with :class:`GrantMissing` (403, Chinese) when there is none."""
        return require_grant(uow, matter_code=matter_code, owning=owning, receiving=receiving, right=right,
                             on=business_date(self.clock.now()))


def authority(uow: SqlAlchemyUnitOfWork, *, matter_code: str, owning: str, receiving: str, right: str,
              on: date) -> GrantInfo | None:
    """Return the grant in force on ``on`` that gives ``receiving`` the ``right``, or None.

    It is read inside the caller's unit of work, so the check and the action it allows commit together; a
    grant to the receiving district itself wins over one to ``all``.
    """
    if right not in RIGHTS:
        raise ValueError(f"unknown right {right!r}")
    stmt = (select(Grant).where(*_in_force(matter_code, owning, receiving, on))
            .order_by(Grant.receiving_district == ALL, Grant.id))
    for row in uow.session.scalars(stmt):
        if right in row.rights:
            return _info(row)
    return None


def rights_in_force(uow: SqlAlchemyUnitOfWork, *, matter_code: str, owning: str, receiving: str,
                    on: date) -> list[str]:
    """Every right ``receiving`` holds on ``on`` for ``owning``'s matter, in the order of :data:`RIGHTS`.

    The rights :func:`authority` would find a grant for, read in one query.
    """
    held: set[str] = set()
    for rights in uow.session.scalars(select(Grant.rights).where(*_in_force(matter_code, owning, receiving, on))):
        held.update(rights)
    return [r for r in RIGHTS if r in held]


def _in_force(matter_code: str, owning: str, receiving: str, on: date) -> tuple[Any, ...]:
    """The conditions on a grant of the matter from ``owning`` to ``receiving`` (or to all) in force on ``on``."""
    return (Grant.matter_code == matter_code, Grant.owning_district == owning,
            Grant.receiving_district.in_([receiving, ALL]), Grant.revoked_at.is_(None), Grant.valid_from <= on,
            or_(Grant.valid_to.is_(None), Grant.valid_to >= on))


def local_decision(uow: SqlAlchemyUnitOfWork, matter: MatterVersion, owning: str, receiving: str,
                   at: Any) -> GrantInfo | None:
    """The 就地批办 grant that lets ``receiving`` decide ``owning``'s matter, if the matter allows it.

    Only a matter whose catalog entry lists the ``local`` mode (就地批办) can be decided where it was
    received; otherwise the decision stays with the owning district whatever the grants say.
    """
    if "local" not in (matter.doc or {}).get("modes", ()):
        return None
    return authority(uow, matter_code=matter.code, owning=owning, receiving=receiving, right="decide",
                     on=business_date(at))


def require_grant(uow: SqlAlchemyUnitOfWork, *, matter_code: str, owning: str, receiving: str, right: str,
                  on: date) -> GrantInfo:
    """Return the grant that authorises the action, or refuse it with :class:`GrantMissing`."""
    found = authority(uow, matter_code=matter_code, owning=owning, receiving=receiving, right=right, on=on)
    if found is None:
        matter = uow.definitions.matter(matter_code)
        name = f"“{matter.doc.get('name') or matter_code}”（{matter_code}）" if matter is not None else matter_code
        raise GrantMissing(f"{_district(uow, receiving)}未获{_district(uow, owning)}授予事项{name}的"
                           f"{RIGHTS[right]}权限",
                           details={"matter_code": matter_code, "owning_district": owning,
                                    "receiving_district": receiving, "right": right})
    return found


def _covering(uow: SqlAlchemyUnitOfWork, matter_code: str, owning: str, receiving: str, rights: tuple[str, ...],
              start: date, end: date | None) -> Grant | None:
    """An unrevoked grant that makes a new one add nothing, or None.

    That is one giving ``receiving`` (or every district) all of ``rights`` on every day from ``start`` to
    ``end`` (None: for ever).
    """
    rows = uow.session.scalars(select(Grant).where(
        Grant.matter_code == matter_code, Grant.owning_district == owning, Grant.revoked_at.is_(None),
        Grant.receiving_district.in_((receiving, ALL)), Grant.valid_from <= start).order_by(Grant.id))
    for row in rows:
        lasts = row.valid_to is None or (end is not None and end <= row.valid_to)
        if lasts and set(rights) <= set(row.rights):
            return row
    return None


def _district(uow: SqlAlchemyUnitOfWork, code: str) -> str:
    """A district as people name it, with its code: 黔江区（500114）; the code alone if unknown."""
    row = uow.org.district(code)
    return f"{row.name}（{code}）" if row is not None and row.name else code


def _info(row: Grant, day: date | None = None) -> GrantInfo:
    revoked = row.revoked_at is not None
    expired = None if day is None else row.valid_to is not None and row.valid_to < day
    in_force = None if day is None else not revoked and not expired and row.valid_from <= day
    return GrantInfo(row.id, row.matter_code, row.owning_district, row.receiving_district, tuple(row.rights),
                     row.valid_from, row.valid_to, row.basis, row.created_by, revoked, in_force, expired)
