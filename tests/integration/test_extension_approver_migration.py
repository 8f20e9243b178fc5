"""The approver-role revision gives the requests made before it the approver they had: a department head."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from engine.migrations import alembic_config
from engine.persistence.models import ExtensionRequest
from tests.migration_helpers import downgraded

BEFORE = "5e2b7d4c9a18"
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def old_database(database_url):
    """The database taken back to the revision before ``approver_role`` (dropping what the tests left)."""
    yield from downgraded(database_url, BEFORE)


def test_requests_made_before_the_revision_stay_with_the_department_head(old_database):
    url, engine = old_database
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO process_definitions (id, process_key, version, name, content_hash, bpmn_xml, resources, "
            "form_refs, meta, deployed_at) VALUES (1, 'gongcheng', 1, 'p', 'h', '<x/>', '{}', '{}', '{}', :t0)"),
            {"t0": T0})
        conn.execute(text(
            "INSERT INTO cases (id, case_no, definition_id, process_key, status, started_at, updated_at, "
            "event_seq, chain_head, serializer_version, workflow_state, version) "
            "VALUES (1, 'TB1', 1, 'gongcheng', 'running', :t0, :t0, 0, 'g', 'v', '', 1)"), {"t0": T0})
        for request_id, clock, state in ((1, "legal", "open"), (2, "committed", "approved")):
            conn.execute(text(
                "INSERT INTO extension_requests (id, case_id, clock, days, reason, told_to_applicant, district, "
                "state, requested_by, requested_at) VALUES (:id, 1, :clock, 15, '需专家论证', :told, '500103', "
                ":state, 'window_yz', :t0)"), {"id": request_id, "clock": clock, "state": state, "t0": T0,
                                                "told": True})
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        rows = conn.execute(select(ExtensionRequest.id, ExtensionRequest.approver_role)
                            .order_by(ExtensionRequest.id)).all()
    assert [tuple(r) for r in rows] == [(1, "department_head"), (2, "department_head")]
    with pytest.raises(IntegrityError):      # a request made now must name its approver
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO extension_requests (id, case_id, clock, days, reason, told_to_applicant, district, "
                "state, requested_by, requested_at) VALUES (3, 1, 'legal', 5, 'x', :told, '500103', 'withdrawn', "
                "'window_yz', :t0)"), {"t0": T0, "told": False})
