"""Users and bearer tokens: enough identity for the API until the inbox issue's organisation model.

Passwords are argon2 hashes; tokens are random and only their sha256 is stored, so a database leak does not
leak working tokens.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Callable, Iterable

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from .clock import Clock
from .commands import Actor
from .errors import Conflict, InvalidInput, NotFound
from .persistence.models import ApiToken, User
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

ROLES = ("window_clerk", "reviewer", "department_head", "supervisor", "designer", "auditor", "admin")
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class UserInfo:
    """A user as shown by ``tongban users list``."""

    username: str
    display_name: str
    district: str | None
    department: str | None
    roles: tuple[str, ...]


class Identity:
    """Create users and tokens, and turn a token or password into an :class:`Actor`."""

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock):
        self.uow = uow
        self.clock = clock

    def create_user(self, username: str, *, display_name: str, roles: Iterable[str], district: str | None = None,
                    department: str | None = None, password: str | None = None) -> UserInfo:
        """Create a user; refuse bad names, unknown roles and duplicates."""
        roles = tuple(roles)
        if not _USERNAME.match(username):
            raise InvalidInput("用户名应以小写字母开头，只含小写字母、数字和 _ . -，2 到 64 个字符")
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise InvalidInput(f"角色无效：{', '.join(unknown) or '（空）'}；可选 {', '.join(ROLES)}")
        if password is not None and len(password) < 8:
            raise InvalidInput("密码至少 8 个字符")
        with self.uow() as uow:
            if uow.users.by_username(username) is not None:
                raise Conflict(f"用户 {username} 已存在")
            uow.users.add(User(username=username, display_name=display_name, district=district,
                               department=department, roles=list(roles), active=True,
                               password_hash=_hasher.hash(password) if password else None,
                               created_at=self.clock.now()))
            uow.commit()
        return UserInfo(username, display_name, district, department, roles)

    def list_users(self) -> list[UserInfo]:
        """Return every user."""
        with self.uow() as uow:
            return [UserInfo(u.username, u.display_name, u.district, u.department, tuple(u.roles))
                    for u in uow.users.list()]

    def create_token(self, username: str, *, label: str | None = None) -> str:
        """Issue a new bearer token for ``username`` and return it (shown once, stored hashed)."""
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
        """Return the actor a valid token belongs to, or None."""
        with self.uow() as uow:
            user = uow.users.by_token_hash(_digest(token), self.clock.now())
            return _actor(user) if user is not None else None

    def actor_for_username(self, username: str) -> Actor | None:
        """Return the actor of an active user (a page session names its user), or None."""
        with self.uow() as uow:
            user = uow.users.by_username(username)
            return _actor(user) if user is not None and user.active else None

    def actor_for_password(self, username: str, password: str) -> Actor | None:
        """Return the actor when the password matches, or None (same work either way)."""
        with self.uow() as uow:
            user = uow.users.by_username(username)
            stored = user.password_hash if user is not None and user.active else None
            try:
                # Verify against a dummy hash for unknown users so timing does not reveal who exists.
                _hasher.verify(stored or _dummy_hash(), password)
            except VerificationError:
                return None
            return _actor(user) if stored else None


def _actor(user: User) -> Actor:
    return Actor(user.username, tuple(user.roles), user.district, user.department)


_dummy: list[str] = []


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_hex(16)))
    return _dummy[0]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()



