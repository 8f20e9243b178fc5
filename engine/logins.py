"""Page logins: password check with throttling of failures per user name and source address.

Failures are rows in ``login_attempts`` (not process memory), so every web process sees the same count; the
window is measured on the engine clock, so tests move time with the manual clock.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock
from .commands import Actor
from .errors import TooManyAttempts
from .identity import Identity
from .persistence.models import LoginAttempt
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

MAX_FAILURES = 5
"""Failed logins allowed per user name and address within :data:`WINDOW` before further tries are refused."""
WINDOW = timedelta(minutes=15)


class LoginGuard:
    """Check a user name and password, refusing further tries after repeated failures.

    Args:
        uow: unit-of-work factory (recording a failure, clearing them on success).
        sessions: read sessions (counting recent failures writes nothing, so it needs no write lock).
        clock: the engine clock (every "now" of the window).
        identity: verifies passwords (argon2, same work for unknown users).
        max_failures: failures allowed in ``window``.
        window: how long a failure counts.
    """

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], sessions: sessionmaker[Session], clock: Clock,
                 identity: Identity, *, max_failures: int = MAX_FAILURES, window: timedelta = WINDOW):
        self.uow = uow
        self.sessions = sessions
        self.clock = clock
        self.identity = identity
        self.max_failures = max_failures
        self.window = window

    def login(self, username: str, password: str, source: str) -> Actor | None:
        """Return the actor when the password matches, None when it does not.

        Args:
            username: the login name as typed (trimmed, at most 64 characters are kept).
            password: the password as typed.
            source: where the attempt comes from (the client's address).

        Raises:
            TooManyAttempts: when this name and address already failed ``max_failures`` times within the
                window; the password is not even checked then.
        """
        username, source = username.strip()[:64], (source or "unknown")[:64]
        now = self.clock.now()
        since = now - self.window
        with self.sessions() as session:
            recent = session.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.username == username, LoginAttempt.source == source, LoginAttempt.at > since))
        if recent >= self.max_failures:
            minutes = int(self.window.total_seconds() // 60)
            raise TooManyAttempts(f"登录失败次数过多，请 {minutes} 分钟后再试",
                                  details={"retry_after": int(self.window.total_seconds())})
        actor = self.identity.actor_for_password(username, password)
        with self.uow() as uow:
            if actor is None:
                uow.session.add(LoginAttempt(username=username, source=source, at=now))
            else:
                uow.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username,
                                                               LoginAttempt.source == source))
            # Old rows of anyone are dead weight once out of the window.
            uow.session.execute(delete(LoginAttempt).where(LoginAttempt.at <= since))
            uow.commit()
        return actor
