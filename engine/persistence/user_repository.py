"""Users and API tokens (ORM, off the hot path)."""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import User


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

    def add(self, row: Any) -> None:
        """Stage a new user or token."""
        self.session.add(row)
        self.session.flush()

    def list(self) -> Sequence[User]:
        """Return every user by name."""
        return self.session.scalars(select(User).order_by(User.username)).all()
