"""The inbox-columns revision fills the new columns of rows written before it, on both databases."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import select, text

from engine.migrations import alembic_config
from engine.persistence.models import NO_DEADLINE, TaskCandidate, TaskItem
from tests.migration_helpers import downgraded

BEFORE = "7d4e0b9c2a15"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
COMMITTED = datetime(2026, 12, 4, 16, 0, tzinfo=timezone.utc)
OWN = datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


@pytest.fixture
def old_database(database_url):
    """The database taken back to the revision before the inbox columns (dropping what the tests left)."""
    yield from downgraded(database_url, BEFORE)


def test_rows_written_before_the_revision_get_their_case_facts_and_due_instants(old_database):
    url, engine = old_database
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO process_definitions (id, process_key, version, name, content_hash, bpmn_xml, resources, "
            "form_refs, meta, deployed_at) VALUES (1, 'p', 1, 'p', 'h', '<x/>', '{}', '{}', '{}', :t0)"), {"t0": T0})
        conn.execute(text(
            "INSERT INTO cases (id, case_no, definition_id, process_key, status, stage, started_at, updated_at, "
            "committed_due_at, committed_yellow_at, event_seq, chain_head, serializer_version, workflow_state, "
            "version) VALUES (1, 'TB1', 1, 'p', 'running', '审查', :t0, :t0, :due, :due, 0, 'g', 'v', '', 1)"),
            {"t0": T0, "due": COMMITTED})
        conn.execute(text(
            "INSERT INTO cases (id, case_no, definition_id, process_key, status, started_at, updated_at, "
            "event_seq, chain_head, serializer_version, workflow_state, version) "
            "VALUES (2, 'TB2', 1, 'p', 'running', :t0, :t0, 0, 'g', 'v', '', 1)"), {"t0": T0})
        for task_id, case_id, due, assignee in ((1, 1, None, None), (2, 1, OWN, None), (3, 1, None, "someone"),
                                                (4, 2, None, None)):
            conn.execute(text(
                "INSERT INTO tasks (id, case_id, spiff_task_id, element_id, name, process_key, candidate_groups, "
                "state, assignee, created_at, due_at) VALUES (:id, :case_id, :sid, 'e', 'n', 'p', '[\"g\"]', "
                "'open', :assignee, :t0, :due)"), {"id": task_id, "case_id": case_id, "sid": f"s{task_id}",
                                                   "assignee": assignee, "t0": T0, "due": due})
            conn.execute(text("INSERT INTO task_candidates (task_id, group_key) VALUES (:id, 'g')"), {"id": task_id})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        tasks = {r.id: r for r in conn.execute(select(TaskItem.__table__).order_by(TaskItem.id))}
        candidates = {r.task_id: r for r in conn.execute(select(TaskCandidate.__table__))}
    assert [(t.case_no, t.stage, t.inbox_due_at, t.inbox_yellow_at) for t in tasks.values()] == [
        ("TB1", "审查", COMMITTED, COMMITTED), ("TB1", "审查", OWN, None), ("TB1", "审查", COMMITTED, COMMITTED),
        ("TB2", None, NO_DEADLINE, None)]
    assert [c.inbox_yellow_at for c in candidates.values()] == [COMMITTED, None, COMMITTED, None]
    assert [(c.available, c.inbox_due_at, c.created_at) for c in candidates.values()] == [
        (True, COMMITTED, T0), (True, OWN, T0), (False, COMMITTED, T0), (True, NO_DEADLINE, T0)]
