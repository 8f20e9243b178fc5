"""Page logins: password check with throttling of tries per user name and address and per user name.

Tries are rows in ``login_attempts`` (not process memory), so every web process sees the same count; the
window is measured on the engine clock, so tests move time with the manual clock.

:class:`Attempts` is the counting, shared with 办件查询 (:class:`engine.applicant_access.QueryGuard`). A try
is recorded (a committed row) *before* the slow check and then counted with every try recorded so far,
finished or still running, its own excepted. Each try's row is committed before it counts, so the k-th try
to count sees at least the k-1 that counted before it: of tries sent together, at most the limit are
checked, on SQLite and PostgreSQL, from any number of processes. A failure's row simply stays; a success
deletes its pair's rows; a try refused at the count deletes its own row again (a refused try never counts).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Connection, delete, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock
from .commands import Actor
from .errors import TooManyAttempts
from .identity import Identity
from .persistence.models import LoginAttempt
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

MAX_FAILURES = 5
"""Failed logins allowed per user name and address within :data:`WINDOW` before that pair is refused."""
MAX_NAME_FAILURES = 20
"""Failed logins allowed per user name from any addresses within :data:`WINDOW` before that name is refused."""
WINDOW = timedelta(minutes=15)
_attempts = LoginAttempt.__table__


class Attempts:
    """Limits on tries recorded in ``login_attempts``, each counted within ``window``.

    Args:
        window: how long a try counts.
        per_pair: tries allowed for one name from one address.
        per_name: tries allowed for one name from any addresses.
        per_source: tries allowed from one address over every name that starts with ``prefix`` (None: no
            such limit).
        prefix: the names ``per_source`` counts.
    """

    def __init__(self, window: timedelta, per_pair: int, per_name: int, per_source: int | None = None,
                 prefix: str = ""):
        self.window, self.per_pair, self.per_name, self.per_source, self.prefix = (
            window, per_pair, per_name, per_source, prefix)

    def wait(self, connection: Connection, name: str, source: str, now: datetime, *,
             excluding: int | None = None) -> timedelta | None:
        """How long until every limit is below its count again; None when no limit is reached.

        Args:
            excluding: the id of the caller's own recorded try, which does not count against itself.
        """
        match = _attempts.c.username == name
        if self.per_source is not None:
            match = or_(match, (_attempts.c.source == source) & _attempts.c.username.startswith(self.prefix))
        query = select(_attempts.c.username, _attempts.c.source, _attempts.c.at).where(
            _attempts.c.at > now - self.window, match)
        if excluding is not None:
            query = query.where(_attempts.c.id != excluding)
        rows = connection.execute(query).all()
        groups = [(self.per_pair, [r.at for r in rows if r.username == name and r.source == source]),
                  (self.per_name, [r.at for r in rows if r.username == name])]
        if self.per_source is not None:
            groups.append((self.per_source, [r.at for r in rows
                                             if r.source == source and r.username.startswith(self.prefix)]))
        waits = [sorted(times)[len(times) - limit] + self.window - now for limit, times in groups
                 if len(times) >= limit]
        return max(waits) if waits else None

    def add(self, connection: Connection, name: str, source: str, now: datetime) -> int:
        """Record a try (the caller commits it before counting) and drop every row out of the window."""
        attempt = connection.execute(insert(_attempts).values(username=name, source=source, at=now))
        connection.execute(delete(_attempts).where(_attempts.c.at <= now - self.window))
        return int(attempt.inserted_primary_key[0])

    def forget(self, uow: Callable[[], SqlAlchemyUnitOfWork], attempt: int) -> None:
        """Delete a try refused after it was recorded."""
        with uow() as unit:
            unit.connection.execute(delete(_attempts).where(_attempts.c.id == attempt))
            unit.commit()

    def clear(self, uow: Callable[[], SqlAlchemyUnitOfWork], attempt: int, name: str, source: str) -> None:
        """After a success: delete the pair's tries up to this one (its own included)."""
        with uow() as unit:
            unit.connection.execute(delete(_attempts).where(
                _attempts.c.username == name, _attempts.c.source == source, _attempts.c.id <= attempt))
            unit.commit()


def refusal(what: str, wait: timedelta) -> TooManyAttempts:
    """The 429 refusal: ``what`` (登录, 查询) failed too often; ``details.retry_after`` in seconds."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    return TooManyAttempts(f"{what}失败次数过多，请 {math.ceil(seconds / 60)} 分钟后再试",
                           details={"retry_after": seconds})


class LoginGuard:
    """Check a user name and password, refusing further tries after repeated failures.

    Args:
        uow: unit-of-work factory (recording a try, clearing the pair's tries on success).
        sessions: read sessions (a refused try only reads, so it never waits for the write lock).
        clock: the engine clock (every "now" of the window).
        identity: verifies passwords (argon2, same work for unknown users).
        max_failures: failures allowed per user name and address in ``window``.
        max_name_failures: failures allowed per user name from any addresses in ``window``.
        window: how long a failure counts.
    """

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], sessions: sessionmaker[Session], clock: Clock,
                 identity: Identity, *, max_failures: int = MAX_FAILURES,
                 max_name_failures: int = MAX_NAME_FAILURES, window: timedelta = WINDOW):
        self.uow = uow
        self.sessions = sessions
        self.clock = clock
        self.identity = identity
        self.attempts = Attempts(window, max_failures, max_name_failures)

    def login(self, username: str, password: str, source: str) -> Actor | None:
        """Return the actor when the password matches, None when it does not.

        Args:
            username: the login name as typed (trimmed, at most 64 characters are kept).
            password: the password as typed.
            source: where the attempt comes from (the client's address).

        Raises:
            TooManyAttempts: when, within the window, this name and address already failed
                ``max_failures`` times or this name ``max_name_failures`` times from any addresses (tries
                still being checked count as failures); the password is not checked then.
        """
        username, source = username.strip()[:64], (source or "unknown")[:64]
        now = self.clock.now()
        with self.sessions() as session:
            wait = self.attempts.wait(session.connection(), username, source, now)
        if wait is not None:
            raise refusal("登录", wait)
        with self.uow() as uow:
            attempt = self.attempts.add(uow.connection, username, source, now)
            uow.commit()
        with self.sessions() as session:
            wait = self.attempts.wait(session.connection(), username, source, now, excluding=attempt)
        if wait is not None:
            self.attempts.forget(self.uow, attempt)
            raise refusal("登录", wait)
        actor = self.identity.actor_for_password(username, password)
        if actor is not None:
            self.attempts.clear(self.uow, attempt, username, source)
        return actor
