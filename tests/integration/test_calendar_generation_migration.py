"""The revision adding ``cases.calendar_generation`` marks the running cases that count days as counted now.

The worker recounts running cases below the committed calendar generation. After an upgrade no case has a mark
yet; the revision takes the running cases that count days (clocks, a waiting timer or an open task with a due
instant) as counted with the calendar in force, which the import's own recompute saw to, so the upgrade starts no
mass recount. Cases that count nothing, and finished ones, stay unmarked.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import select, text

from engine.migrations import alembic_config
from engine.persistence.models import Case
from tests.migration_helpers import downgraded

BEFORE = "6a1f3c8e2b95"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
CLOCKS = '{"legal": {"clock": {}}}'
# id: (status, clocks, a waiting timer, an open task with a due instant, an open task without one)
CASES = {
    1: ("running", CLOCKS, False, False, False),
    2: ("running", None, True, False, False),
    3: ("running", None, False, True, False),
    4: ("running", None, False, False, True),     # counts nothing
    5: ("completed", CLOCKS, False, False, False),
    6: ("running", None, False, False, False),
}


@pytest.fixture
def old_database(database_url):
    """The database at the revision before ``calendar_generation`` (emptied first)."""
    yield from downgraded(database_url, BEFORE)


def insert_cases(conn) -> None:
    conn.execute(text(
        "INSERT INTO process_definitions (id, process_key, version, name, content_hash, bpmn_xml, resources, "
        "form_refs, meta, deployed_at) VALUES (1, 'parallel_approval', 1, 'p', 'h', '<x/>', '{}', '{}', '{}', :t0)"),
        {"t0": T0})
    for case_id, (status, clocks, timer, due_task, plain_task) in CASES.items():
        conn.execute(text(
            "INSERT INTO cases (id, case_no, definition_id, process_key, status, started_at, updated_at, event_seq, "
            "chain_head, serializer_version, workflow_state, version, clocks) VALUES (:id, :no, 1, "
            "'parallel_approval', :status, :t0, :t0, 0, 'g', 'v', '', 1, :clocks)"),
            {"id": case_id, "no": f"TB{case_id}", "status": status, "t0": T0, "clocks": clocks})
        if timer:
            conn.execute(text(
                "INSERT INTO timers (case_id, spiff_task_id, element_id, kind, due_at, state, created_at, attempts) "
                "VALUES (:id, :spiff, 'remind', 'duration', :t0, 'waiting', :t0, 0)"),
                {"id": case_id, "spiff": f"00000000-0000-0000-0000-00000000000{case_id}", "t0": T0})
        for due in ([T0] if due_task else []) + ([None] if plain_task else []):
            conn.execute(text(
                "INSERT INTO tasks (case_id, spiff_task_id, element_id, name, process_key, candidate_groups, state, "
                "created_at, inbox_due_at, due_at) VALUES (:id, :spiff, 'accept', '受理', 'parallel_approval', "
                "'[]', 'open', :t0, :t0, :due)"),
                {"id": case_id, "spiff": f"10000000-0000-0000-0000-00000000000{case_id}", "t0": T0, "due": due})


def test_running_cases_that_count_days_are_marked_with_the_committed_generation(old_database):
    url, engine = old_database
    with engine.begin() as conn:
        insert_cases(conn)
        # A timer that already fired counts nothing any more: case 6 stays unmarked with one.
        conn.execute(text(
            "INSERT INTO timers (case_id, spiff_task_id, element_id, kind, due_at, state, created_at, attempts) "
            "VALUES (6, '20000000-0000-0000-0000-000000000006', 'remind', 'duration', :t0, 'fired', :t0, 0)"),
            {"t0": T0})
        for year, action in ((2026, "created"), (2027, "created"), (2026, "replaced")):
            conn.execute(text(
                "INSERT INTO calendar_imports (year, action, content_hash, source, actor, at) "
                "VALUES (:year, :action, 'h', '国务院办公厅通知', 'admin', :t0)"),
                {"year": year, "action": action, "t0": T0})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        marks = dict(conn.execute(select(Case.id, Case.calendar_generation)).all())
    assert marks == {1: 3, 2: 3, 3: 3, 4: None, 5: None, 6: None}


def test_with_no_calendar_loaded_yet_the_cases_that_count_days_are_marked_generation_zero(old_database):
    url, engine = old_database
    with engine.begin() as conn:
        insert_cases(conn)
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        marks = dict(conn.execute(select(Case.id, Case.calendar_generation)).all())
    assert marks == {1: 0, 2: 0, 3: 0, 4: None, 5: None, 6: None}
