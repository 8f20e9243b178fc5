"""Users and bearer tokens; a user's district and department must exist in the organisation model.

Passwords are argon2 hashes; tokens are random and only their sha256 is stored, so a database leak does not
leak working tokens. A user may carry an ID number (居民身份证号); the CLI and the API show it masked.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .calendar import business_date
from .clock import Clock
from .commands import Actor
from .errors import Conflict, InvalidInput, NotFound, UnknownDepartment, UnknownDistrict
from .masking import id_number_fault
from .org_file import ROLES, placement_problem
from .org_file import USERNAME as _USERNAME
from .persistence.models import ApiToken, User
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .storable import refuse_unstorable, unstorable

__all__ = ["ROLES", "Identity", "UserInfo"]
_hasher = PasswordHasher()


@dataclass(frozen=True)
class UserInfo:
    """A user as shown by ``tongban users list``."""

    username: str
    display_name: str
    district: str | None
    department: str | None
    roles: tuple[str, ...]
    id_number: str | None = None


class Identity:
    """Create users and tokens, and turn a token or password into an :class:`Actor`."""

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock, sessions: sessionmaker[Session]):
        self.uow = uow
        self.clock = clock
        self.sessions = sessions
        """Read sessions: turning a token, a session's user name or a password into an actor writes nothing."""

    def create_user(self, username: str, *, display_name: str, roles: Iterable[str], district: str | None = None,
                    department: str | None = None, password: str | None = None,
                    id_number: str | None = None, require_placement: bool = False) -> UserInfo:
        """Create a user; refuse bad names, unknown roles, districts and departments, and duplicates.

        Args:
            require_placement: also refuse a user whose roles work per district (window clerks, reviewers,
                department heads, supervisors) without a district and department, as ``tongban users create``
                and ``tongban org load`` do (:func:`~engine.org_file.placement_problem`); callers inside the
                engine may place district-level staff without a department.

        Raises:
            InvalidInput: a bad username, blank display name, role, password or ID number, text no database
                stores (:func:`~engine.storable.refuse_unstorable`), or (with ``require_placement``) a
                district-level role without a district and department.
            UnknownDistrict: ``district`` is not in the districts table.
            UnknownDepartment: ``district`` has no department ``department`` (or no district was given).
            Conflict: the username is taken.
        """
        roles = tuple(roles)
        refuse_unstorable(username=username, name=display_name, roles=roles, district=district,
                          department=department, password=password, id_number=id_number)
        if not _USERNAME.match(username):
            raise InvalidInput("用户名应以小写字母开头，只含小写字母、数字和 _ . -，2 到 64 个字符")
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise InvalidInput(f"角色无效：{', '.join(unknown) or '（空）'}；可选 {', '.join(ROLES)}")
        display_name = display_name.strip()
        if not display_name or len(display_name) > 64:
            raise InvalidInput("姓名不能为空，且不超过 64 个字符", details={"field": "name"})
        if password is not None and len(password) < 8:
            raise InvalidInput("密码至少 8 个字符")
        if id_number is not None:
            id_number = id_number.strip().upper()
            fault = id_number_fault(id_number, today=business_date(self.clock.now()))
            if fault:
                raise InvalidInput(f"身份证号无效：{fault}")
        with self.uow() as uow:
            _check_org(uow, district, department)
            placement = placement_problem(roles, district, department) if require_placement else None
            if placement is not None:
                raise InvalidInput(placement, details={"roles": list(roles), "district": district,
                                                       "department": department})
            if uow.users.by_username(username) is not None:
                raise Conflict(f"用户 {username} 已存在")
            uow.users.add(User(username=username, display_name=display_name, district=district,
                               department=department, roles=list(roles), active=True,
                               password_hash=_hasher.hash(password) if password else None,
                               created_at=self.clock.now(), id_number=id_number))
            uow.commit()
        return UserInfo(username, display_name, district, department, roles, id_number)

    def list_users(self, *, district: str | None = None, role: str | None = None) -> list[UserInfo]:
        """Return every user, or those of one district and/or holding one role.

        Raises:
            InvalidInput: ``district`` or ``role`` holds text no database stores.
            UnknownDistrict: ``district`` is given and not in the districts table.
        """
        refuse_unstorable(district=district, role=role)
        with self.uow() as uow:
            if district is not None and uow.org.district(district) is None:
                raise UnknownDistrict(f"区县代码 {district} 不存在", details={"district": district})
            return [UserInfo(u.username, u.display_name, u.district, u.department, tuple(u.roles),
                             u.id_number) for u in uow.users.list()
                    if (district is None or u.district == district) and (role is None or role in u.roles)]

    def create_token(self, username: str, *, label: str | None = None) -> str:
        """Issue a new bearer token for ``username`` and return it (shown once, stored hashed).

        Raises:
            InvalidInput: ``username`` or ``label`` holds text no database stores.
            NotFound: there is no user ``username``.
        """
        refuse_unstorable(username=username, label=label)
        token = "tb_" + secrets.token_urlsafe(32)
        with self.uow() as uow:
            user = uow.users.by_username(username)
            if user is None:
                raise NotFound(f"用户 {username} 不存在")
            uow.users.add(ApiToken(user_id=user.id, token_hash=_digest(token), label=label,
                                   created_at=self.clock.now()))
            uow.commit()
        return token

    def actor_for_token(self, token: str) -> Actor | None:
        """Return the actor a valid token belongs to, or None.

        Every API request asks this, so it is one prebuilt SELECT in a read session: no write transaction
        (on SQLite ``BEGIN IMMEDIATE`` would queue every request behind the commands for the write lock) and
        no ORM entity. The read session ends with COMMIT, which keeps psycopg's prepared statements.
        """
        with self.sessions() as session:
            row = session.execute(_ACTOR_BY_TOKEN, {"token_hash": _digest(token), "now": self.clock.now()}).first()
        return _actor_from_row(row)

    def actor_for_username(self, username: str) -> Actor | None:
        """Return the actor of an active user (a page session names its user), or None.

        A name no database stores (U+0000, a lone surrogate: a CLI ``--actor`` holding a byte that is not UTF-8)
        is no user's: None, rather than the driver's error.
        """
        if unstorable(username) is not None:
            return None
        with self.sessions() as session:
            row = session.execute(_ACTOR_BY_USERNAME, {"username": username}).first()
        return _actor_from_row(row)

    def session_generation(self, username: str) -> int | None:
        """Return the generation a page session opened now must carry, or None for no active user.

        A page session holds this value from its login; :meth:`actor_for_session` accepts it only while it is
        still the user's, and :meth:`end_sessions` moves it on, so every copy of a logged-out cookie is refused.
        """
        with self.sessions() as session:
            return session.scalar(_GENERATION_BY_USERNAME, {"username": username})

    def actor_for_session(self, username: str, generation: int) -> Actor | None:
        """Return the actor of a page session, or None once the user logged out (or is no longer active).

        Args:
            username: the user the session names.
            generation: the generation the session was given at login (see :meth:`session_generation`).
        """
        with self.sessions() as session:
            row = session.execute(_ACTOR_BY_SESSION, {"username": username, "generation": generation}).first()
        return _actor_from_row(row)

    def end_sessions(self, username: str, generation: int) -> bool:
        """End every page session of ``username`` (logging out), if ``generation`` is still the current one.

        A stale session's copy cannot end the sessions opened since: it no longer holds the current generation.

        Args:
            username: the user logging out.
            generation: the generation of the session that logs out.

        Returns:
            Whether the sessions were ended (False when the generation had already moved on).
        """
        with self.uow() as uow:
            ended = uow.session.execute(
                update(User).where(User.username == username, User.session_generation == generation)
                .values(session_generation=User.session_generation + 1)
                .execution_options(synchronize_session=False)).rowcount
            uow.commit()
        return bool(ended)

    def actor_for_password(self, username: str, password: str) -> Actor | None:
        """Return the actor when the password matches, or None (same work either way).

        The hash is verified after the read session has ended: no transaction stays open for the tens of
        milliseconds Argon2 takes.
        """
        with self.sessions() as session:
            row = session.execute(_PASSWORD_BY_USERNAME, {"username": username}).first()
        stored = row.password_hash if row is not None else None
        try:
            # Verify against a dummy hash for unknown users so timing does not reveal who exists.
            _hasher.verify(stored or _dummy_hash(), password)
        except VerificationError:
            return None
        return _actor_from_row(row) if stored else None


def _check_org(uow: SqlAlchemyUnitOfWork, district: str | None, department: str | None) -> None:
    if district is not None and uow.org.district(district) is None:
        raise UnknownDistrict(f"区县代码 {district} 不存在；可用 tongban org show 查看全部区县",
                              details={"district": district})
    if department is not None and (district is None or uow.org.department(district, department) is None):
        where = f"区县 {district} 没有部门 {department}" if district else f"填写部门 {department} 时必须同时填写区县"
        raise UnknownDepartment(f"{where}；可用 tongban org show {district or ''} 查看部门".rstrip(),
                                details={"district": district, "department": department})


_users, _tokens = User.__table__, ApiToken.__table__
_ACTOR_COLUMNS = (_users.c.username, _users.c.roles, _users.c.district, _users.c.department)
_ACTOR_BY_TOKEN = (
    select(*_ACTOR_COLUMNS).join_from(_users, _tokens, _tokens.c.user_id == _users.c.id)
    .where(_tokens.c.token_hash == bindparam("token_hash"), _tokens.c.revoked_at.is_(None),
           _users.c.active.is_(True), or_(_tokens.c.expires_at.is_(None), _tokens.c.expires_at > bindparam("now")))
    .limit(1))
"""The active user owning an unrevoked, unexpired token with this hash."""
_ACTOR_BY_USERNAME = select(*_ACTOR_COLUMNS).where(_users.c.username == bindparam("username"),
                                                   _users.c.active.is_(True))
_ACTOR_BY_SESSION = select(*_ACTOR_COLUMNS).where(_users.c.username == bindparam("username"),
                                                  _users.c.session_generation == bindparam("generation"),
                                                  _users.c.active.is_(True))
"""The active user a page session names, while the session's generation is still the user's."""
_GENERATION_BY_USERNAME = select(_users.c.session_generation).where(_users.c.username == bindparam("username"),
                                                                    _users.c.active.is_(True))
_PASSWORD_BY_USERNAME = select(*_ACTOR_COLUMNS, _users.c.password_hash).where(
    _users.c.username == bindparam("username"), _users.c.active.is_(True))


def _actor_from_row(row: Any) -> Actor | None:
    return None if row is None else Actor(row.username, tuple(row.roles), row.district, row.department)


_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_hex(16)))
    return _dummy[0]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()



