"""PostgreSQL: a transaction's BEGIN travels with its first statement, in one round trip.

Read off the wire with libpq's protocol trace: the client sends BEGIN and the first statement before its
first Sync, and waits for the server only once. Errors, autocommit, server-side cursors and the commands'
own transactions keep working.
"""
from __future__ import annotations

import tempfile
from typing import Iterator

import pytest
from psycopg import pq
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from engine import CompleteTask, EngineConfig, StartCase, bootstrap
from engine.persistence.db import make_database, make_engine
from tests.conftest import ROOT
from tests.helpers import ACCEPT, APPROVE, CLERK, ZHUJIAN, deploy_shipped


@pytest.fixture
def pg(postgresql_url: str) -> Iterator:
    eng = make_engine(postgresql_url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS begin_probe (id integer PRIMARY KEY)"))
        conn.execute(text("DELETE FROM begin_probe"))
    yield eng
    with eng.begin() as conn:
        conn.execute(text("DROP TABLE begin_probe"))
    eng.dispose()


class WireTrace:
    """libpq's trace of one connection's protocol messages (F: sent by us, B: sent by the server)."""

    def __init__(self, dbapi_connection):
        self.pgconn = dbapi_connection.pgconn
        self.file = tempfile.TemporaryFile("w+")
        self.pgconn.trace(self.file.fileno())
        self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def messages(self) -> list[tuple[str, str, str]]:
        """(direction, message type, rest) of each traced message, in order."""
        self.pgconn.untrace()
        self.file.seek(0)
        text_ = self.file.read()
        self.file.close()
        rows: list[tuple[str, str, str]] = []
        for line in text_.splitlines():
            if line[:2] in ("F\t", "B\t"):
                direction, _length, kind, *rest = line.split("\t")
                rows.append((direction, kind, " ".join(rest).strip()))
            elif rows:  # a statement's text spans lines
                direction, kind, rest = rows[-1]
                rows[-1] = (direction, kind, f"{rest} {line.strip()}")
        return rows


def _exchanges(messages: list[tuple[str, str, str]]) -> list[list[tuple[str, str]]]:
    """What the client sent before each ReadyForQuery: the client waits for one per Sync or simple Query."""
    exchanges: list[list[tuple[str, str]]] = [[]]
    for direction, kind, rest in messages:
        if direction == "F":
            exchanges[-1].append((kind, rest))
        elif kind == "ReadyForQuery":
            exchanges.append([])
    return exchanges[:-1] if not exchanges[-1] else exchanges


def test_begin_and_the_first_statement_share_one_round_trip(pg):
    with pg.connect() as conn:
        trace = WireTrace(conn.connection.driver_connection)
        with conn.begin():
            assert conn.execute(text("SELECT CAST(:x AS integer) + 1"), {"x": 41}).scalar() == 42
            assert conn.execute(text("SELECT count(*) FROM begin_probe")).scalar() == 0
        sent = _exchanges(trace.messages())
    assert sent[0][0] == ("Parse", '"" "BEGIN" 0')
    assert any(kind == "Parse" and "CAST($1 AS integer)" in rest for kind, rest in sent[0])
    assert [kind for kind, _ in sent[0]].count("Sync") == 1
    assert not any(kind == "Query" and "BEGIN" in rest for exchange in sent for kind, rest in exchange)
    assert len(sent) == 3  # BEGIN with the first SELECT, the second SELECT, COMMIT


def test_an_error_in_the_first_statement_is_raised_and_rolled_back(pg):
    with pg.connect() as conn:
        with pytest.raises(ProgrammingError):
            with conn.begin():
                conn.execute(text("SELECT * FROM no_such_table WHERE id = :id"), {"id": 1})
        with conn.begin():
            assert conn.execute(text("SELECT 1")).scalar() == 1
        driver = conn.connection.driver_connection
        assert driver.autocommit is False


def test_a_constraint_violation_in_the_first_statement_leaves_nothing_behind(pg):
    with pg.begin() as conn:
        conn.execute(text("INSERT INTO begin_probe (id) VALUES (:id)"), {"id": 1})
    with pg.connect() as conn:
        with pytest.raises(IntegrityError):
            with conn.begin():
                conn.execute(text("INSERT INTO begin_probe (id) VALUES (:id)"), {"id": 1})
        with conn.begin():
            assert conn.execute(text("SELECT count(*) FROM begin_probe")).scalar() == 1


def test_rollback_undoes_a_transaction_opened_this_way(pg):
    with pg.connect() as conn:
        tx = conn.begin()
        conn.execute(text("INSERT INTO begin_probe (id) VALUES (:id)"), {"id": 7})
        tx.rollback()
        with conn.begin():
            assert conn.execute(text("SELECT count(*) FROM begin_probe WHERE id = 7")).scalar() == 0


def test_autocommit_and_server_side_cursors_run_as_before(pg):
    with pg.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("INSERT INTO begin_probe (id) VALUES (:id)"), {"id": 9})
    with pg.connect() as conn:
        with conn.begin():
            streamed = text("SELECT id FROM begin_probe WHERE id = :id").execution_options(stream_results=True)
            rows = conn.execute(streamed, {"id": 9}).all()
            assert rows == [(9,)]
            conn.execute(text("DELETE FROM begin_probe WHERE id = :id"), {"id": 9})


def test_a_connection_with_an_isolation_level_begins_at_that_level_in_the_same_round_trip(pg):
    """Database.snapshot's REPEATABLE READ is named in our BEGIN; back in the pool, the level is the default."""
    with pg.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        trace = WireTrace(conn.connection.driver_connection)
        with conn.begin():
            assert conn.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        sent = _exchanges(trace.messages())
    assert sent[0][0] == ("Parse", '"" "BEGIN ISOLATION LEVEL REPEATABLE READ" 0')
    assert [kind for kind, _ in sent[0]].count("Sync") == 1
    with pg.connect() as conn:                    # the pool's one connection, reset by SQLAlchemy
        with conn.begin():
            assert conn.execute(text("SHOW transaction_isolation")).scalar() == "read committed"


def test_a_snapshot_session_sees_one_state_and_leaves_the_next_session_read_committed(pg, postgresql_url):
    database = make_database(postgresql_url)
    other = make_engine(postgresql_url)
    try:
        with database.snapshot() as session:
            assert session.execute(text("SELECT count(*) FROM begin_probe")).scalar() == 0
            with other.begin() as conn:
                conn.execute(text("INSERT INTO begin_probe (id) VALUES (5)"))
            assert session.execute(text("SELECT count(*) FROM begin_probe")).scalar() == 0
        with database.read_sessions() as session:
            assert session.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
            assert session.execute(text("SELECT count(*) FROM begin_probe")).scalar() == 1
    finally:
        with other.begin() as conn:
            conn.execute(text("DELETE FROM begin_probe"))
        other.dispose()
        database.dispose()


def test_a_task_completion_is_two_round_trips(postgresql_url, clock, tmp_path):
    """The lock read (carrying BEGIN), then the queued writes with COMMIT: the command waits twice.

    Before, psycopg waited for BEGIN on its own, and COMMIT inside the write pipeline synced once more
    before the pipeline's own exit: four waits.
    """
    eng = bootstrap(EngineConfig(database_url=postgresql_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials",
                                 archives_dir=tmp_path / "archives"), clock=clock)
    traces: list[WireTrace] = []

    def on_checkout(dbapi_connection, _record, _proxy):  # noqa: ANN001
        traces.append(WireTrace(dbapi_connection))
    try:
        deploy_shipped(eng)
        accept = eng.handle(StartCase("parallel_approval", CLERK)).created_task_ids[0]
        review = eng.handle(CompleteTask(accept, CLERK, ACCEPT)).created_task_ids[0]
        event.listen(eng.database.engine, "checkout", on_checkout)
        try:
            done = eng.handle(CompleteTask(review, ZHUJIAN, APPROVE))
        finally:
            event.remove(eng.database.engine, "checkout", on_checkout)
        assert done.status == "running"
        (trace,) = traces
        sent = _exchanges(trace.messages())
        assert len(sent) == 2, sent
        assert sent[0][0] == ("Parse", '"" "BEGIN" 0')
        assert any(kind == "Parse" and "FOR UPDATE" in rest for kind, rest in sent[0])
        assert any("UPDATE cases" in rest for _kind, rest in sent[1])
        assert any("COMMIT" in rest for _kind, rest in sent[1])
    finally:
        eng.close()
