"""Turning a token, a user name or a password into an actor: the rules, and that it is a read.

Every API request authenticates, so these lookups run in read sessions: on SQLite a write transaction
(``BEGIN IMMEDIATE``) would queue each request behind the commands for the database's one write lock.
"""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from engine import Actor
from engine.errors import TooManyAttempts
from engine.persistence.models import ApiToken, User
from engine.persistence.unit_of_work import SqlAlchemyUnitOfWork

CLERK = Actor("id_clerk", ("window_clerk",), "500103", "zwzx")


def _user(engine, password=None):
    engine.identity.create_user(CLERK.username, display_name="窗口", roles=CLERK.roles, district=CLERK.district,
                                department=CLERK.department, password=password)


def test_a_valid_token_gives_the_users_actor_and_anything_else_none(engine):
    _user(engine)
    token = engine.identity.create_token(CLERK.username, label="t")
    assert engine.identity.actor_for_token(token) == CLERK
    assert engine.identity.actor_for_token(token[:-2] + "xx") is None
    assert engine.identity.actor_for_token("") is None


def test_a_revoked_or_expired_token_and_an_inactive_user_give_none(engine, clock):
    _user(engine)
    revoked = engine.identity.create_token(CLERK.username, label="revoked")
    expiring = engine.identity.create_token(CLERK.username, label="expiring")
    with engine.database.engine.begin() as conn:
        conn.execute(update(ApiToken).where(ApiToken.label == "revoked").values(revoked_at=clock.now()))
        conn.execute(update(ApiToken).where(ApiToken.label == "expiring")
                     .values(expires_at=clock.now() + timedelta(minutes=1)))
    assert engine.identity.actor_for_token(revoked) is None
    assert engine.identity.actor_for_token(expiring) == CLERK
    clock.advance(timedelta(minutes=1))   # expires_at == now: expired
    assert engine.identity.actor_for_token(expiring) is None

    fresh = engine.identity.create_token(CLERK.username, label="fresh")
    assert engine.identity.actor_for_username(CLERK.username) == CLERK
    with engine.database.engine.begin() as conn:
        conn.execute(update(User).where(User.username == CLERK.username).values(active=False))
    assert engine.identity.actor_for_token(fresh) is None
    assert engine.identity.actor_for_username(CLERK.username) is None
    assert engine.identity.actor_for_username("nobody") is None


def test_a_password_gives_the_actor_only_when_it_matches_an_active_user(engine):
    _user(engine, password="正确的密码-2026")
    assert engine.identity.actor_for_password(CLERK.username, "正确的密码-2026") == CLERK
    assert engine.identity.actor_for_password(CLERK.username, "错误的密码-2026") is None
    assert engine.identity.actor_for_password("nobody", "正确的密码-2026") is None
    with engine.database.engine.begin() as conn:
        conn.execute(update(User).where(User.username == CLERK.username).values(active=False))
    assert engine.identity.actor_for_password(CLERK.username, "正确的密码-2026") is None


def test_authenticating_does_not_wait_for_a_command_holding_the_write_lock(engine):
    _user(engine, password="正确的密码-2026")
    token = engine.identity.create_token(CLERK.username, label="t")
    answers: list[object] = []

    def authenticate() -> None:
        answers.append(engine.identity.actor_for_token(token))
        answers.append(engine.identity.actor_for_username(CLERK.username))
        answers.append(engine.identity.actor_for_password(CLERK.username, "正确的密码-2026"))

    assert finishes_while_a_command_holds_the_write_lock(engine, authenticate), \
        "authentication waited for the write lock of a running command"
    assert answers == [CLERK, CLERK, CLERK]


def test_a_throttled_login_is_refused_without_waiting_for_the_write_lock(engine):
    """Counting recent failures is a read: a name and address already at the limit are refused at once."""
    _user(engine, password="正确的密码-2026")
    for _ in range(5):
        assert engine.logins.login(CLERK.username, "错误", "10.0.0.9") is None
    outcomes: list[str] = []

    def try_again() -> None:
        try:
            engine.logins.login(CLERK.username, "正确的密码-2026", "10.0.0.9")
            outcomes.append("accepted")
        except TooManyAttempts as refused:
            outcomes.append(refused.code)

    assert finishes_while_a_command_holds_the_write_lock(engine, try_again), \
        "the throttle check waited for the write lock of a running command"
    assert outcomes == [TooManyAttempts.code]


def finishes_while_a_command_holds_the_write_lock(engine, work) -> bool:
    """Run ``work`` in a thread while a command's unit of work is open (on SQLite BEGIN IMMEDIATE, the
    database's one write lock); True when it finished within 10 s without the lock being released."""
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        uow.connection.exec_driver_sql("SELECT 1")
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        thread.join(timeout=10)
        finished_while_locked = not thread.is_alive()
    thread.join(timeout=60)
    return finished_while_locked


def test_a_page_session_is_valid_only_while_its_generation_is_the_users(engine):
    _user(engine)
    generation = engine.identity.session_generation(CLERK.username)
    assert engine.identity.actor_for_session(CLERK.username, generation) == CLERK
    assert engine.identity.end_sessions(CLERK.username, generation) is True
    assert engine.identity.actor_for_session(CLERK.username, generation) is None
    assert engine.identity.end_sessions(CLERK.username, generation) is False   # a stale copy ends nothing
    fresh = engine.identity.session_generation(CLERK.username)
    assert fresh != generation and engine.identity.actor_for_session(CLERK.username, fresh) == CLERK
    assert engine.identity.session_generation("nobody") is None
