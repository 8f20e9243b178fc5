"""Commands on one case take its locks in one order, and a lock error in the middle of a command is a Conflict.

A command on a task (claim, complete, 退回, 转办) locks the case row, then the task row; a command on the case
(a suspension, a timer, a sibling's deciding 会签 vote) locks the case and writes its tasks at commit. When the
task row went first, PostgreSQL broke such pairs as deadlocks, a 500 over HTTP. And a deadlock or lock timeout
raised by a statement between BEGIN and COMMIT surfaced as a bare database error; it is now a Conflict (409).
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from engine import ClaimTask, CompleteTask, Conflict, StartCase, SuspendClock, ensure_calendar_seeded
from tests.helpers import ACCEPT, CLERK, ZHUJIAN, deploy_shipped, open_task


@pytest.fixture
def in_review(engine) -> int:
    """A parallel approval after 受理: its three reviews are open and follow the case's 承诺 clock."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user(ZHUJIAN.username, display_name="渝中住建审查", roles=ZHUJIAN.roles,
                                district=ZHUJIAN.district, department=ZHUJIAN.department)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return case_id


def test_a_claim_that_meets_a_clock_suspension_waits_instead_of_dying_in_a_deadlock(engine, database_url, in_review):
    """A reviewer's claim arriving while the window records a 补正 pause on the case either succeeds or is a 409.

    The suspension locks the case row, then (at commit) moves the open reviews' inbox instants; a claim locks
    the task row, then the case row. Whatever the order, exactly one command goes first and the other waits or
    gets a precise ``Conflict``: a database deadlock surfacing as an ``OperationalError`` is a 500 over HTTP,
    and a bulk claim loses the outcomes of the ids before it. (The hook only holds the suspension between its
    case lock and its commit, as a slow request would; the statements are the commands' own.) PostgreSQL only:
    SQLite serializes writers with ``BEGIN IMMEDIATE`` and has no row locks to take in two orders.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks taken in two orders exist on PostgreSQL only")
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    locked, release = threading.Event(), threading.Event()
    backend: dict[str, int] = {}

    def hold(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if threading.current_thread().name == "suspend" and "FOR UPDATE" in statement and not locked.is_set():
            backend["pid"] = conn.connection.dbapi_connection.info.backend_pid
            locked.set()
            release.wait(20)

    outcomes: dict[str, object] = {}

    def run(name: str, command: object) -> None:
        try:
            outcomes[name] = engine.handle(command)
        except Exception as exc:  # noqa: BLE001 - the test inspects what came out
            outcomes[name] = exc

    event.listen(engine.database.engine, "after_cursor_execute", hold)
    try:
        suspend = threading.Thread(target=run, name="suspend",
                                   args=("suspend", SuspendClock(in_review, CLERK, "correction", "补正材料")))
        suspend.start()
        assert locked.wait(20)
        claimer = threading.Thread(target=run, name="claim", args=("claim", ClaimTask(review["id"], ZHUJIAN)))
        claimer.start()
        with engine.database.engine.connect() as conn:
            for _ in range(200):   # until the claim waits for the suspension's lock
                if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                                {"pid": backend["pid"]}).scalar():
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the claim never waited for the case lock")
        release.set()
        suspend.join(30)
        claimer.join(30)
    finally:
        release.set()
        event.remove(engine.database.engine, "after_cursor_execute", hold)
    claimed = outcomes["claim"]
    assert not isinstance(claimed, Exception) or isinstance(claimed, Conflict), repr(claimed)
    assert not isinstance(outcomes["suspend"], Exception), repr(outcomes["suspend"])


class _Orig(Exception):
    """A driver error carrying a PostgreSQL SQLSTATE, as psycopg's do."""

    def __init__(self, sqlstate: str):
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["40P01", "55P03", "40001"])
def test_a_deadlock_or_lock_timeout_in_the_middle_of_a_command_is_a_conflict_and_rolls_back(engine, sqlstate):
    """BEGIN and COMMIT translated their own lock errors; one raised by a statement in between was a 500."""
    with pytest.raises(Conflict, match="并发操作冲突"):
        with engine.services.uow() as uow:
            uow.connection.execute(text("SELECT 1"))
            raise OperationalError("SELECT 1", {}, _Orig(sqlstate))


def test_other_database_errors_in_a_command_are_not_called_conflicts(engine):
    with pytest.raises(OperationalError):
        with engine.services.uow():
            raise OperationalError("SELECT 1", {}, _Orig("42P01"))
