"""Tamper evidence: the database refuses edits of the event log, and `tongban verify` finds what slips past."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from engine import CompleteTask, StartCase, verify_all, verify_case
from tests.helpers import ACCEPT, CLERK, deploy_shipped


@pytest.fixture
def cases(engine) -> list:
    deploy_shipped(engine)
    refs = [engine.handle(StartCase("parallel_approval", CLERK)) for _ in range(3)]
    (accept,) = [t for t in engine.queries.case(CLERK, refs[1].case_id)["tasks"] if t["element_id"] == "accept"]
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    return refs


def raw(database_url: str):
    return create_engine(database_url)


@pytest.mark.parametrize("statement", ["UPDATE case_events SET payload = '{}' WHERE seq = 1",
                                       "DELETE FROM case_events WHERE seq = 2"])
def test_the_database_refuses_to_change_or_delete_audit_events(cases, database_url, statement):
    eng = raw(database_url)
    with pytest.raises(DBAPIError, match="append-only"):
        with eng.begin() as conn:
            conn.execute(text(statement))
    eng.dispose()


def test_verify_reports_intact_chains(cases, runner):
    result = runner.invoke(args=["verify", cases[0].case_no])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"办件 {cases[0].case_no}：完整（")
    result = runner.invoke(args=["verify", "--all"])
    assert result.exit_code == 0 and "已检查 3 个办件" in result.output and "全部完整" in result.output


def test_verify_finds_an_edit_made_with_the_trigger_out_of_the_way(engine, cases, database_url, runner):
    # An attacker with DDL rights can drop the trigger; the hash chain still shows the edit.
    eng = raw(database_url)
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER case_events_no_update"))
        conn.execute(text("UPDATE case_events SET actor = 'someone_else' WHERE case_id = :c AND seq = 2"),
                     {"c": cases[1].case_id})
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events ENABLE TRIGGER case_events_append_only"))
    eng.dispose()
    bad = verify_case(engine, cases[1].case_id)
    assert (bad.ok, bad.broken_seq) == (False, 2) and "内容被修改" in bad.reason
    result = runner.invoke(args=["verify", "--all"])
    assert result.exit_code == 1
    assert f"办件 {cases[1].case_no}：链条断裂于第 2 个事件" in result.output and "1 个办件被篡改" in result.output
    assert verify_case(engine, cases[0].case_no).ok


def test_verify_needs_one_case_or_all(runner, cases):
    assert runner.invoke(args=["verify"]).exit_code == 2
    missing = runner.invoke(args=["verify", "TB00000000000000"])
    assert missing.exit_code == 2 and "NOT_FOUND" in missing.output


def test_verify_finds_a_cut_tail_with_the_head_moved_back_from_the_case_rows_event_count(engine, cases, database_url,
                                                                                        runner):
    """QA: the last event deleted and chain_head set to the one before verified as intact; the case row's
    event_seq still counted the deleted event. Both ``verify CASE`` and ``verify --all`` now see it."""
    case = cases[1]
    count = len(engine.queries.events(case.case_id))
    eng = raw(database_url)
    with eng.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER case_events_no_delete"))
        previous = conn.execute(text("SELECT hash FROM case_events WHERE case_id = :c AND seq = :s"),
                                {"c": case.case_id, "s": count - 1}).scalar_one()
        conn.execute(text("DELETE FROM case_events WHERE case_id = :c AND seq = :s"), {"c": case.case_id, "s": count})
        conn.execute(text("UPDATE cases SET chain_head = :h WHERE id = :c"), {"h": previous, "c": case.case_id})
        if postgres:
            conn.execute(text("ALTER TABLE case_events ENABLE TRIGGER case_events_append_only"))
    eng.dispose()
    bad = verify_case(engine, case.case_id)
    assert (bad.ok, bad.checked, bad.broken_seq) == (False, count - 1, count)
    assert bad.reason == (f"事件数与办件记录不符：记录为 {count} 个，链上只有 {count - 1} 个"
                          "（可能末尾事件被删除后链头被改回，或办件记录被改动）")
    result = runner.invoke(args=["verify", "--all"])
    assert result.exit_code == 1 and "1 个办件被篡改" in result.output


def test_instants_with_microseconds_verify_and_a_one_microsecond_edit_is_found(engine, clock, database_url):
    # PostgreSQL writes each instant as text for the hash (verify's query formats it in SQL); SQLite's rows
    # are formatted in Python. Either way the text must be the chain's, to the microsecond.
    deploy_shipped(engine)
    clock.advance(microseconds=654_321)
    ref = engine.handle(StartCase("parallel_approval", CLERK))
    clock.advance(seconds=1, microseconds=7)
    (accept,) = [t for t in engine.queries.case(CLERK, ref.case_id)["tasks"] if t["element_id"] == "accept"]
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    assert verify_case(engine, ref.case_id).ok
    assert [r.ok for r in verify_all(engine)] == [True]
    eng = raw(database_url)
    with eng.begin() as conn:
        seq = conn.execute(text("SELECT max(seq) FROM case_events WHERE case_id = :c"), {"c": ref.case_id}).scalar()
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
            conn.execute(text("UPDATE case_events SET occurred_at = occurred_at + interval '1 microsecond' "
                              "WHERE case_id = :c AND seq = :s"), {"c": ref.case_id, "s": seq})
            conn.execute(text("ALTER TABLE case_events ENABLE TRIGGER case_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER case_events_no_update"))
            stored = conn.execute(text("SELECT occurred_at FROM case_events WHERE case_id = :c AND seq = :s"),
                                  {"c": ref.case_id, "s": seq}).scalar()
            assert stored.endswith(".654328")     # 0.654321 s + 1 s + 7 µs, stored to the microsecond
            conn.execute(text("UPDATE case_events SET occurred_at = :t WHERE case_id = :c AND seq = :s"),
                         {"t": stored[:-1] + "9", "c": ref.case_id, "s": seq})
    eng.dispose()
    bad = verify_case(engine, ref.case_id)
    assert (bad.ok, bad.broken_seq) == (False, seq) and "内容被修改" in bad.reason
    assert [(r.ok, r.broken_seq) for r in verify_all(engine)] == [(False, seq)]
