"""Page logins on SQLite and PostgreSQL: a user name's failures are capped over every address as well.

5 failures per user name and address lock that pair; 20 failures of one user name from any addresses within
15 minutes lock the name from every address for the rest of the window, so guessing one account's password
from ever new addresses stops there too.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Actor
from engine.errors import TooManyAttempts

PASSWORD = "正确的密码-2026"
CLERK = Actor("limit_clerk", ("window_clerk",), "500103", "zwzx")


@pytest.fixture
def eng(engine):
    """The shared engine with one user who has a password."""
    engine.identity.create_user(CLERK.username, display_name="窗口", roles=CLERK.roles, district=CLERK.district,
                                department=CLERK.department, password=PASSWORD)
    engine.identity.create_user("other_clerk", display_name="窗口二", roles=CLERK.roles, district=CLERK.district,
                                department=CLERK.department, password=PASSWORD)
    return engine


def refused(eng, username: str, password: str, source: str) -> dict:
    """Log in expecting the throttle; return the refusal's details."""
    with pytest.raises(TooManyAttempts) as refusal:
        eng.logins.login(username, password, source)
    return refusal.value.details


def test_password_guesses_against_one_account_from_many_addresses_are_limited(eng):
    """From a new address every few guesses, a password could once be guessed without end."""
    for n in range(30):
        try:
            eng.logins.login(CLERK.username, f"guess-{n}", f"203.0.113.{n}")
        except TooManyAttempts:
            return
    with pytest.raises(TooManyAttempts):
        eng.logins.login(CLERK.username, PASSWORD, "203.0.113.250")


def test_twenty_failures_from_any_addresses_lock_the_name_everywhere_for_the_rest_of_the_window(eng, clock):
    for n in range(20):
        assert eng.logins.login(CLERK.username, f"guess-{n}", f"203.0.113.{n}") is None
    for address in ("203.0.113.250", "198.51.100.1"):       # the right password, from a fresh address
        assert refused(eng, CLERK.username, PASSWORD, address) == {"retry_after": 900}
    assert eng.logins.login("other_clerk", PASSWORD, "203.0.113.1") is not None   # other names are not held
    clock.advance(timedelta(minutes=5))
    assert refused(eng, CLERK.username, PASSWORD, "198.51.100.1") == {"retry_after": 600}
    clock.advance(timedelta(minutes=10, seconds=1))
    assert eng.logins.login(CLERK.username, PASSWORD, "198.51.100.1") == CLERK


def test_the_name_limit_counts_failures_spread_under_the_pair_limit(eng):
    """Four failures from each of five addresses: no pair is locked, the name is."""
    for n in range(19):
        assert eng.logins.login(CLERK.username, "wrong", f"10.0.0.{n // 4}") is None
    assert eng.logins.login(CLERK.username, PASSWORD, "10.0.0.9") == CLERK        # 19: still open
    assert eng.logins.login(CLERK.username, "wrong", "10.0.0.4") is None          # the 20th failure
    assert refused(eng, CLERK.username, PASSWORD, "10.0.0.9")["retry_after"] == 900


def test_the_pair_limit_still_locks_one_address_after_five_failures(eng):
    for _ in range(5):
        assert eng.logins.login(CLERK.username, "wrong", "10.0.1.1") is None
    assert refused(eng, CLERK.username, PASSWORD, "10.0.1.1") == {"retry_after": 900}
    assert eng.logins.login(CLERK.username, PASSWORD, "10.0.1.2") == CLERK
