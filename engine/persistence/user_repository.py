"""Users and API tokens (ORM, off the hot path)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken, User


class UserRepository:
    """Users and API tokens (ORM, off the hot path)."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def session(self) -> Session:
        """The unit of work's ORM session."""
        return self.uow.session

    def by_username(self, username: str) -> User | None:
        """Return the user with this login name."""
        return self.session.scalars(select(User).where(User.username == username)).first()

    def by_token_hash(self, token_hash: str, now: datetime) -> User | None:
        """Return the active user owning an unrevoked, unexpired token with this hash."""
        stmt = (select(User).join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.active.is_(True))
                .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now)))
        return self.session.scalars(stmt).first()

    def add(self, row: Any) -> None:
        """Stage a new user or token."""
        self.session.add(row)
        self.session.flush()

    def list(self) -> Sequence[User]:
        """Return every user by name."""
        return self.session.scalars(select(User).order_by(User.username)).all()
