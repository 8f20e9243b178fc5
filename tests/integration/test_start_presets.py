"""StartCase may not preset what the process fills in itself, on SQLite and PostgreSQL.

``POST /api/v1/cases`` (``StartCase``) took any start data: a preset ``design_opinions`` (工改's 设计方案会审
votes) wedged the case, as it did through 网上申报 before intake refused such keys
(``engine.intake_checks.process_fields``). A person's StartCase is now refused the same way
(``APPLICATION_INVALID``, ``details.fields`` naming ``data.<key>``) and writes nothing; what the engine starts
itself with data it made or recorded (a dry run, replay of a case recorded before) is not asked.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import ApplicationInvalid, Replayer, StartCase, ensure_calendar_seeded
from engine.case_start import start_as_given
from engine.intake_checks import PROCESS_FIELD
from engine.persistence.models import Case, CaseEvent
from tests.helpers import CLERK, deploy_shipped

PROJECT = {"project_name": "渝中区某综合楼", "project_category": "small_social"}
GONGCHENG = "GC500000-LHBL-0001"


@pytest.fixture
def eng(engine):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    return engine


def counts(engine) -> tuple[int, int]:
    with engine.database.read_sessions() as session:
        return (session.scalar(select(func.count()).select_from(Case)),
                session.scalar(select(func.count()).select_from(CaseEvent)))


def test_a_preset_of_what_the_process_writes_is_refused_naming_every_key(eng):
    data = {**PROJECT, "design_opinions": ["approve", "approve"], "s1_join": "ANY", "accept_note": "已受理"}
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(StartCase("gongcheng", CLERK, data))
    assert refused.value.code == "APPLICATION_INVALID" and refused.value.http_status == 422
    assert refused.value.details["fields"] == {f"data.{key}": [PROCESS_FIELD]
                                               for key in ("accept_note", "design_opinions", "s1_join")}
    assert "design_opinions" in refused.value.message
    assert counts(eng) == (0, 0)


def test_a_start_by_matter_is_checked_against_the_matters_process(eng):
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(StartCase(None, CLERK, {**PROJECT, "design_opinions": ["approve"]}, matter_code=GONGCHENG))
    assert refused.value.details["fields"] == {"data.design_opinions": [PROCESS_FIELD]}
    assert counts(eng) == (0, 0)


def test_what_the_process_only_reads_is_still_the_callers(eng):
    ref = eng.handle(StartCase("gongcheng", CLERK, {**PROJECT, "subject": "综合楼报建"}))
    assert ref.status == "running" and len(ref.created_task_ids) == 1
    ref = eng.handle(StartCase(None, CLERK, dict(PROJECT), matter_code=GONGCHENG))
    assert ref.status == "running"


def test_the_engine_starting_a_case_itself_is_not_asked_and_such_a_case_still_replays(eng):
    """A case recorded before the check with a preset (here through the dry run's path) replays as recorded."""
    ref = start_as_given(StartCase("gongcheng", CLERK, {**PROJECT, "accept_note": "预置"}), eng.services)
    with eng.database.read_sessions() as session:
        started = session.scalars(select(CaseEvent).where(CaseEvent.case_id == ref.case_id,
                                                          CaseEvent.event_type == "CaseStarted")).one()
    assert started.payload["data"]["accept_note"] == "预置"
    with Replayer(eng) as replayer:
        result = replayer.replay_case(ref.case_id)
    assert result.identical, result.divergence
