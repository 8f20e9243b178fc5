"""Deferred writes: sent before the next statement or with COMMIT (one pipeline on PostgreSQL), never lost.

The case row's version check travels with them, enforced by the database, so a stale write is refused
even when its row count cannot be read.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from engine import CompleteTask, Conflict, StartCase
from engine.persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task


@pytest.fixture
def started(engine):
    deploy_shipped(engine)
    return engine.handle(StartCase("parallel_approval", CLERK))


def _case_row(engine, case_id):
    with engine.database.engine.connect() as conn:
        return conn.execute(text("SELECT version, event_seq, chain_head, status FROM cases WHERE id = :id"),
                            {"id": case_id}).one()


def _event_count(engine, case_id):
    with engine.database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM case_events WHERE case_id = :id"), {"id": case_id}).scalar()


def test_a_stale_case_version_is_refused_with_conflict_and_nothing_is_written(engine, started):
    before, events = _case_row(engine, started.case_id), _event_count(engine, started.case_id)
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        case = uow.cases.lock(started.case_id)
        # Another writer got there first: the row's version moved after this command read it.
        uow.connection.execute(text("UPDATE cases SET version = version + 1 WHERE id = :id"), {"id": case.id})
        case.set(status="suspended")
        uow.cases.save(case, events=[{
            "case_id": case.id, "seq": case.event_seq + 1, "event_type": "Probe", "occurred_at": case.updated_at,
            "actor": "probe", "element_id": None, "task_id": None, "payload": {}, "prev_hash": case.chain_head,
            "hash": "f" * 64}])
        with pytest.raises(Conflict) as exc:
            uow.commit()
    assert exc.value.message == "办件已被其他操作更新，请刷新后重试"
    assert exc.value.details == {"case_id": started.case_id}
    assert _case_row(engine, started.case_id) == before
    assert _event_count(engine, started.case_id) == events


def test_a_read_in_the_same_transaction_sees_the_writes_still_queued(engine, started):
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        case = uow.cases.lock(started.case_id)
        case.set(status="suspended")
        uow.cases.save(case)
        seen = uow.connection.execute(text("SELECT status, version FROM cases WHERE id = :id"),
                                      {"id": case.id}).one()
        uow.commit()
    assert tuple(seen) == ("suspended", started.version + 1)
    assert _case_row(engine, started.case_id).status == "suspended"


def test_queued_writes_are_dropped_when_the_command_does_not_commit(engine, started):
    before, events = _case_row(engine, started.case_id), _event_count(engine, started.case_id)
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        case = uow.cases.lock(started.case_id)
        case.set(status="suspended")
        uow.cases.save(case)
    assert _case_row(engine, started.case_id) == before
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        # The pooled connection comes back with an empty queue: this read sends nothing left over.
        assert uow.cases.lock(started.case_id).status == "running"
        uow.commit()
    assert _case_row(engine, started.case_id) == before
    assert _event_count(engine, started.case_id) == events


def test_a_failing_queued_write_rolls_the_whole_command_back(engine, started):
    before, events = _case_row(engine, started.case_id), _event_count(engine, started.case_id)
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        case = uow.cases.lock(started.case_id)
        duplicate = {"case_id": case.id, "seq": 1, "event_type": "Probe", "occurred_at": case.updated_at,
                     "actor": "probe", "element_id": None, "task_id": None, "payload": {}, "prev_hash": "0" * 64,
                     "hash": "e" * 64}
        uow.cases.save(case, events=[duplicate])  # seq 1 exists: the unique (case, seq) key refuses it
        with pytest.raises(Conflict):
            uow.commit()
    assert _case_row(engine, started.case_id) == before
    assert _event_count(engine, started.case_id) == events


def test_a_queued_write_that_fails_when_a_read_sends_it_raises_there_as_a_database_error(engine, started):
    events = _event_count(engine, started.case_id)
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        case = uow.cases.lock(started.case_id)
        uow.cases.append_events([{"case_id": case.id, "seq": 1, "event_type": "Probe", "occurred_at": case.updated_at,
                                  "actor": "probe", "element_id": None, "task_id": None, "payload": {},
                                  "prev_hash": "0" * 64, "hash": "d" * 64}])
        with pytest.raises(IntegrityError):
            uow.connection.execute(text("SELECT count(*) FROM case_events"))
    assert _event_count(engine, started.case_id) == events


def test_a_completion_sends_its_last_writes_with_the_commit_in_one_pipeline_on_postgresql(engine, started):
    accept = open_task(engine, CLERK, "accept")
    driver_states: list[tuple[str, bool]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        pipeline = getattr(conn.connection.driver_connection, "_pipeline", None) is not None
        driver_states.append((statement.split()[0] + " " + statement.split()[2 if statement.startswith("INSERT")
                                                                              else 1], pipeline))
    event.listen(engine.database.engine, "before_cursor_execute", note)
    try:
        engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    finally:
        event.remove(engine.database.engine, "before_cursor_execute", note)
    in_pipeline = {name for name, piped in driver_states if piped}
    pipelined = engine.database.dialect == "postgresql"
    deferred = {"INSERT case_events", "INSERT task_candidates", "UPDATE tasks", "UPDATE task_candidates",
                "UPDATE cases"}
    assert in_pipeline == (deferred if pipelined else set())
    # The lock read and the INSERT whose new ids the command needs are answered at once, never pipelined.
    assert ("SELECT tasks.id,", False) in driver_states and ("INSERT tasks", False) in driver_states
    assert [name for name, _ in driver_states][-1] == "UPDATE cases"



def test_a_read_session_ends_with_commit_so_postgresql_keeps_the_prepared_statements(engine, started):
    # psycopg drops every prepared statement of a connection on ROLLBACK; a read must not send one.
    ends: list[str] = []
    listeners = {"commit": lambda conn: ends.append("commit"), "rollback": lambda conn: ends.append("rollback")}
    for name, fn in listeners.items():
        event.listen(engine.database.engine, name, fn)
    try:
        with engine.database.read_sessions() as session:
            for _ in range(6):  # past psycopg's prepare threshold (5)
                session.execute(text("SELECT status FROM cases WHERE id = :id"), {"id": started.case_id}).one()
            raw = session.connection().connection.driver_connection
    finally:
        for name, fn in listeners.items():
            event.remove(engine.database.engine, name, fn)
    assert ends == ["commit"]
    if engine.database.dialect == "postgresql":
        # The session has ended and its connection went back to the pool: the statement is still prepared.
        try:
            prepared = raw.execute("SELECT count(*) FROM pg_prepared_statements "
                                   "WHERE statement LIKE 'SELECT status FROM cases%'").fetchone()[0]
        finally:
            raw.rollback()
        assert prepared == 1


def test_a_read_session_whose_block_raised_rolls_back(engine, started):
    ends: list[str] = []

    def note(conn):
        ends.append("rollback")
    event.listen(engine.database.engine, "rollback", note)
    try:
        with pytest.raises(RuntimeError):
            with engine.database.read_sessions() as session:
                session.execute(text("SELECT 1")).one()
                raise RuntimeError("the reader failed")
    finally:
        event.remove(engine.database.engine, "rollback", note)
    assert ends == ["rollback"]


def _rows(engine, table, case_id, leave_out):
    key = "id" if table == "cases" else "case_id"
    with engine.database.engine.connect() as conn:
        result = conn.execute(text(f"SELECT * FROM {table} WHERE {key} = :id ORDER BY 1"), {"id": case_id})
        keys = [k for k in result.keys() if k not in leave_out]
        return [{k: row._mapping[k] for k in keys} for row in result]


def _candidates(engine, case_id):
    with engine.database.engine.connect() as conn:
        result = conn.execute(text("SELECT c.group_key, c.available, c.inbox_due_at, c.inbox_yellow_at, c.created_at "
                                   "FROM task_candidates c JOIN tasks t ON t.id = c.task_id "
                                   "WHERE t.case_id = :id ORDER BY t.element_id, c.group_key"), {"id": case_id})
        return [tuple(row) for row in result]


def _drive_to_the_end(engine):
    ref = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant_name": "张三"}, title="对照"))
    engine.handle(CompleteTask(ref.created_task_ids[0], CLERK, ACCEPT))
    return ref.case_id


def test_hot_writes_on_the_cursor_store_exactly_what_connection_execute_stores(engine, monkeypatch):
    """The compiled path binds dates, JSON, booleans and literals as SQLAlchemy does, on both databases."""
    from engine.persistence import compiled
    deploy_shipped(engine)
    sent: list[str] = []
    compiled_run = compiled.CompiledWrite.run

    def spy(self, connection, cursor, parameters):
        sent.append(self.sql.split()[0] + " " + self.sql.split()[2 if self.sql.startswith("INSERT") else 1])
        return compiled_run(self, connection, cursor, parameters)
    monkeypatch.setattr(compiled.CompiledWrite, "run", spy)
    fast = _drive_to_the_end(engine)
    assert {"SELECT tasks.id,", "INSERT case_events", "INSERT task_candidates", "INSERT tasks", "INSERT cases",
            "UPDATE cases", "UPDATE tasks", "UPDATE task_candidates"} <= set(sent)
    sent.clear()
    monkeypatch.setattr(compiled, "_HOT", {})  # nothing registered: every hot statement goes through SQLAlchemy
    slow = _drive_to_the_end(engine)
    assert sent == []
    identity = {"id", "case_id", "case_no", "hash", "prev_hash", "chain_head", "workflow_state", "task_id",
                "spiff_task_id", "activation"}
    fast_case, slow_case = _rows(engine, "cases", fast, identity), _rows(engine, "cases", slow, identity)
    assert fast_case == slow_case and fast_case[0]["version"] == 3
    fast_events = _rows(engine, "case_events", fast, identity)
    slow_events = _rows(engine, "case_events", slow, identity)
    stamped = {}
    for row in fast_events + slow_events:
        # text() hands JSON back as a string on SQLite; what differs between the two cases is left out:
        payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        stamped.setdefault(id(row) in map(id, fast_events), []).append("state_sha256" in payload)
        # ids, and the digest of the snapshot (whose task ids differ like workflow_state itself)
        row["payload"] = {k: v for k, v in payload.items() if k not in ("task_id", "case_no", "state_sha256")}
    assert stamped[True] == stamped[False] and any(stamped[True])   # digests on the same events either way
    assert fast_events == slow_events and len(fast_events) >= 4
    fast_tasks, slow_tasks = _rows(engine, "tasks", fast, identity), _rows(engine, "tasks", slow, identity)
    assert [{k: (a[k], b[k]) for k in a if a[k] != b[k]} for a, b in zip(fast_tasks, slow_tasks)] == [{}] * len(fast_tasks)
    assert _candidates(engine, fast) == _candidates(engine, slow)


def test_only_plain_registered_statements_take_the_compiled_path(engine):
    from sqlalchemy import bindparam, insert, update

    from engine.persistence import compiled as deferred
    from engine.persistence.models import CaseEvent, TaskItem
    tasks = TaskItem.__table__
    plain = deferred.hot(update(tasks).where(tasks.c.id == bindparam("b_id")).values(name=bindparam("b_name")))
    unregistered = update(tasks).where(tasks.c.id == bindparam("b_id")).values(name=bindparam("b_name"))
    expanding = deferred.hot(update(tasks).where(tasks.c.id.in_(bindparam("b_ids", expanding=True)))
                             .values(name="x"))
    returning = deferred.hot(insert(CaseEvent.__table__).returning(CaseEvent.__table__.c.id))
    events = deferred.hot(insert(CaseEvent.__table__).inline())
    with engine.database.engine.connect() as conn:
        ok = deferred.CompiledWrite.for_statement(conn, plain, {"b_id": 1, "b_name": "n"})
        assert ok is not None and ok.sql.startswith("UPDATE tasks SET name=")
        assert deferred.CompiledWrite.for_statement(conn, unregistered, {"b_id": 1, "b_name": "n"}) is None
        assert deferred.CompiledWrite.for_statement(conn, expanding, {"b_ids": [1, 2]}) is None
        assert deferred.CompiledWrite.for_statement(conn, returning, {"case_id": 1, "seq": 1}) is None
        assert deferred.CompiledWrite.for_statement(conn, plain, {"b_id": 1}) is None  # b_name is required
        # executemany rows must share one shape, as SQLAlchemy requires
        assert deferred.CompiledWrite.for_statement(conn, events, [{"case_id": 1}, {"seq": 2}]) is None
        assert deferred.CompiledWrite.for_statement(conn, events, [{"case_id": 1}, {"case_id": 2}]) is not None


def test_sql_echo_shows_the_compiled_writes_too(engine, started, caplog):
    engine.database.engine.echo = True
    try:
        with caplog.at_level("INFO", logger="sqlalchemy.engine"):
            engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    finally:
        engine.database.engine.echo = False
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert any(m.startswith("INSERT INTO case_events") for m in logged)
    assert any(m.startswith("[compiled write]") for m in logged)


def test_the_compiled_lock_read_returns_the_records_sqlalchemy_returns(engine, started, monkeypatch):
    from engine.persistence import compiled
    task_id = started.created_task_ids[0]
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        fast = uow.cases.lock_by_task(task_id)
        uow.commit()
    monkeypatch.setattr(compiled, "_HOT", {})
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        slow = uow.cases.lock_by_task(task_id)
        uow.commit()
    assert fast == slow
    task, case = fast
    # converted as SQLAlchemy converts: aware UTC instants, JSON documents, booleans
    assert case.updated_at.utcoffset() is not None and isinstance(case.clocks, dict)
    assert isinstance(task.candidate_groups, list) and isinstance(case.tolerance, bool)


def test_a_release_whose_compiler_internals_differ_falls_back_to_sqlalchemy(engine, monkeypatch, caplog):
    """A patch release renaming a private compiler attribute costs speed, never a command."""
    from engine.persistence import compiled
    deploy_shipped(engine)
    # Fresh shape caches, and a compiler without the private attribute the compiled path reads.
    monkeypatch.setattr(compiled, "_HOT", {k: (s, {}, r) for k, (s, _c, r) in compiled._HOT.items()})

    def renamed(self, compiled_statement):
        raise AttributeError("'SQLCompiler' object has no attribute '_bind_processors'")
    monkeypatch.setattr(compiled.CompiledWrite, "__init__", renamed)
    ran: list[str] = []
    monkeypatch.setattr(compiled.CompiledWrite, "run", lambda *a: ran.append("compiled"))
    with caplog.at_level("WARNING", logger="engine.persistence.compiled"):
        case_id = _drive_to_the_end(engine)
    assert ran == []
    assert any("hot statement not compiled" in r.getMessage() and "_bind_processors" in r.getMessage()
               for r in caplog.records)
    with engine.database.engine.connect() as conn:
        version, = conn.execute(text("SELECT version FROM cases WHERE id = :id"), {"id": case_id}).one()
        events = conn.execute(text("SELECT count(*) FROM case_events WHERE case_id = :id"), {"id": case_id}).scalar()
    assert version == 3 and events >= 4
