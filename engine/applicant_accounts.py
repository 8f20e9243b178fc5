"""Applicant accounts (全程网办): a natural person who applies online under a verified real-name identity.

An applicant account is a user with the single role ``applicant``, no district and no department, and a
real-name identity: name, 证件类型 (GA/T 2000.156) and number. The identity is verified once, by the member
of staff who creates the account after checking the document (a window clerk at the counter, or an
administrator importing from the 统一身份认证 platform); who and when is kept on the row. Self-registration
is not offered: tongban has no way to verify a real-name identity online, and an unverified account would let
anyone apply in someone else's name.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from argon2 import PasswordHasher
from sqlalchemy import select

from .calendar import business_date
from .clock import Clock
from .commands import Actor
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .identifiers import ID_TYPES, id_number_problem, normalise_id_number
from .masking import mask_id_number
from .org_file import USERNAME
from .persistence.models import User
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .storable import refuse_unstorable

APPLICANT_ROLE = "applicant"
VERIFIER_ROLES = frozenset({"window_clerk", "admin"})
"""Who may verify an identity document and open an account: the counter, or an administrator."""
MAX_NAME = 64
_hasher = PasswordHasher()


def is_applicant(actor: Actor) -> bool:
    """Whether ``actor`` is an applicant account (and so sees none of the staff's work)."""
    return APPLICANT_ROLE in actor.roles


@dataclass(frozen=True)
class ApplicantIdentity:
    """An applicant account's verified real-name identity."""

    username: str
    name: str
    id_type: str
    id_number: str
    verified_by: str | None
    verified_at: datetime | None

    def to_dict(self, *, masked: bool = True) -> dict[str, object]:
        """JSON shape; the ID number masked unless ``masked`` is False."""
        return {"username": self.username, "name": self.name, "id_type": self.id_type,
                "id_type_name": ID_TYPES.get(self.id_type, self.id_type),
                "id_number": mask_id_number(self.id_number) if masked else self.id_number,
                "verified_by": self.verified_by, "verified_at": self.verified_at}


class ApplicantAccounts:
    """Create applicant accounts and read their identity."""

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock):
        self.uow = uow
        self.clock = clock

    def add(self, username: str, *, name: str, id_type: str, id_number: str, verified_by: str,
            password: str | None = None) -> ApplicantIdentity:
        """Create an applicant account whose identity ``verified_by`` checked on the document.

        Raises:
            InvalidInput: ``INVALID_INPUT`` naming the first field holding text no database stores
                (:func:`~engine.storable.refuse_unstorable`); else ``APPLICANT_INVALID`` with every bad field in
                ``details.fields``.
            Forbidden: ``VERIFIER_INVALID``: ``verified_by`` is not an active window clerk or administrator.
            Conflict: ``USER_EXISTS`` (the username is taken) or ``APPLICANT_EXISTS`` (an account already
                holds this identity document).
        """
        refuse_unstorable(username=username, name=name, id_type=id_type, id_number=id_number,
                          verified_by=verified_by, password=password)
        name, number = (name or "").strip(), normalise_id_number(id_number or "")
        now = self.clock.now()
        fields = _problems(username, name, id_type, number, password, today=business_date(now))
        if fields:
            raise InvalidInput(f"申请人账号有 {len(fields)} 处需要修改", code="APPLICANT_INVALID",
                               details={"fields": fields})
        with self.uow() as uow:
            verifier = uow.users.by_username(verified_by)
            if verifier is None or not verifier.active or not VERIFIER_ROLES.intersection(verifier.roles):
                raise Forbidden("实名核验须由在岗的窗口人员或管理员完成", code="VERIFIER_INVALID",
                                details={"verified_by": verified_by})
            if uow.users.by_username(username) is not None:
                raise Conflict(f"用户 {username} 已存在", code="USER_EXISTS")
            holders = uow.users.session.scalars(select(User).where(User.id_type == id_type,
                                                                   User.id_number == number))
            if any(APPLICANT_ROLE in u.roles for u in holders):
                raise Conflict("该证件已开通申请人账号", code="APPLICANT_EXISTS",
                               details={"id_number": mask_id_number(number)})
            uow.users.add(User(username=username, display_name=name, district=None, department=None,
                               roles=[APPLICANT_ROLE], active=True, created_at=now, id_number=number,
                               id_type=id_type, id_verified_by=verifier.username, id_verified_at=now,
                               password_hash=_hasher.hash(password) if password else None))
            uow.commit()
        return ApplicantIdentity(username, name, id_type, number, verifier.username, now)

    def identity(self, username: str) -> ApplicantIdentity:
        """Return the verified identity of applicant account ``username``.

        Raises:
            NotFound: there is no active applicant account by that name.
        """
        with self.uow() as uow:
            user = uow.users.by_username(username)
            if user is None or not user.active or APPLICANT_ROLE not in user.roles:
                raise NotFound("申请人账号不存在", code="APPLICANT_NOT_FOUND", details={"username": username})
            return _identity(user)

    def list(self) -> list[ApplicantIdentity]:
        """Every applicant account, by username."""
        with self.uow() as uow:
            rows = uow.users.session.scalars(select(User).where(User.id_verified_at.is_not(None))
                                             .order_by(User.username))
            return [_identity(u) for u in rows if APPLICANT_ROLE in u.roles]


def _identity(user: User) -> ApplicantIdentity:
    return ApplicantIdentity(user.username, user.display_name, user.id_type or "", user.id_number or "",
                             user.id_verified_by, user.id_verified_at)


def _problems(username: str, name: str, id_type: str, number: str, password: str | None, *,
              today: date) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if not USERNAME.match(username or ""):
        fields["username"] = ["用户名应以小写字母开头，只含小写字母、数字和 _ . -，2 到 64 个字符"]
    if not name:
        fields["name"] = ["请填写证件上的姓名"]
    elif len(name) > MAX_NAME:
        fields["name"] = ["姓名过长"]
    if id_type not in ID_TYPES:
        fields["id_type"] = [f"证件类型应为：{'、'.join(f'{k} {v}' for k, v in ID_TYPES.items())}"]
    else:
        problem = id_number_problem(id_type, number, today=today) if number else "请填写证件号码"
        if problem:
            fields["id_number"] = [problem]
        elif len(number) > 18:
            fields["id_number"] = ["证件号码过长"]
    if password is not None and len(password) < 8:
        fields["password"] = ["密码至少 8 个字符"]
    return fields
