"""Failure limits of logins and 办件查询 hold for tries sent together, on SQLite and PostgreSQL.

The count used to be read before the slow check (Argon2, PBKDF2) and the failure written after it, so tries
sent together all saw 0 failures and were all checked. Now each try is recorded before its check and counted
with every try recorded so far (:class:`engine.logins.Attempts`).
"""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from engine import Actor, EngineConfig, TooManyAttempts, bootstrap, ensure_calendar_seeded
from engine.logins import Attempts
from engine.persistence.models import LoginAttempt
from tests.helpers import deploy_shipped
from tests.rating_helpers import food_application

PASSWORD = "correct-horse-9"
CLERK = Actor("race_clerk", ("window_clerk",), "500103", "zwzx")
PARALLEL = 10


@pytest.fixture
def eng(engine):
    """The shipped catalog and calendar and one user with a password."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user(CLERK.username, display_name="窗口", roles=CLERK.roles, district=CLERK.district,
                                department=CLERK.department, password=PASSWORD)
    return engine


def _in_parallel(call) -> tuple[list, list[BaseException]]:
    """Run ``call(n)`` in PARALLEL threads at once; return the results and the exceptions raised."""
    results: list = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            results.append(call(n))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertions
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results, errors


def _slowed(real, checked: list):
    """``real`` held at a barrier that all PARALLEL tries meet once each has passed the limit check (a guard
    that holds lets fewer through: the barrier then times out and they go on)."""
    gate = threading.Barrier(PARALLEL, timeout=3)

    def slow(first: str, second: str):
        checked.append((first, second))
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            pass
        return real(first, second)
    return slow


def test_parallel_wrong_passwords_from_two_processes_cannot_get_past_the_failure_limit(eng, database_url, clock,
                                                                                         tmp_path, monkeypatch):
    """Half the tries go through a second engine on the same database (another web process's pools)."""
    second = bootstrap(EngineConfig(database_url=database_url, materials_dir=tmp_path / "second"), clock=clock)
    try:
        checked: list[str] = []
        for engine in (eng, second):
            monkeypatch.setattr(engine.identity, "actor_for_password",
                                _slowed(engine.identity.actor_for_password, checked))
        engines = (eng, second)
        results, errors = _in_parallel(
            lambda n: engines[n % 2].logins.login(CLERK.username, f"guess-{n}", "203.0.113.9"))
    finally:
        second.close()
    assert all(isinstance(e, TooManyAttempts) for e in errors), errors
    assert len(checked) <= 5, f"{len(checked)} passwords checked against a limit of 5"
    assert results == [None] * len(checked) and len(errors) == PARALLEL - len(checked)
    assert attempts(eng) == len(checked)               # a try refused after it was recorded is deleted again


def test_parallel_wrong_query_codes_cannot_get_past_the_failure_limit(eng, monkeypatch):
    """The same race in 办件查询 (limit 5 per 办件编号 and address)."""
    case = food_application(eng)
    guard = eng.applicants.guard
    checked: list[str] = []
    monkeypatch.setattr(guard, "check", _slowed(guard.check, checked))
    _results, errors = _in_parallel(
        lambda n: eng.applicants.lookup(case.case_no, f"WRONG{n:03d}", "203.0.113.9"))
    assert len(errors) == PARALLEL
    assert len(checked) <= 5, f"{len(checked)} query codes checked against a limit of 5"
    assert sum(isinstance(e, TooManyAttempts) for e in errors) == PARALLEL - len(checked)
    assert attempts(eng) == len(checked)


def test_a_try_counts_every_try_recorded_before_its_count_even_one_still_running(eng):
    """The interleaving the proof rests on, step by step: record, commit, count (limit 2 per pair)."""
    limits = Attempts(eng.logins.attempts.window, 2, 10)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=eng.clock.now().tzinfo)

    def record() -> int:
        with eng.services.uow() as uow:
            attempt = limits.add(uow.connection, "n", "a", now)
            uow.commit()
        return attempt

    def count(attempt: int):
        with eng.database.read_sessions() as session:
            return limits.wait(session.connection(), "n", "a", now, excluding=attempt)

    first, second = record(), record()             # both recorded before either counts
    assert count(first) is None and count(second) is None       # each sees the other: 1 < 2
    third = record()
    assert count(third) is not None                # sees two tries still running: refused
    limits.forget(eng.services.uow, third)
    assert attempts(eng) == 2
    limits.clear(eng.services.uow, second, "n", "a")            # a success clears the pair up to itself
    assert attempts(eng) == 0


def attempts(eng) -> int:
    with eng.database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(LoginAttempt))
