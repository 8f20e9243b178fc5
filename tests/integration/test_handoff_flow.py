"""异地代收代办 end to end through the engine, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

from engine import MessageWorker
from engine.persistence.models import Case, CaseEvent, CaseLink, CaseMaterial, Message
from tests.handoff_helpers import (
    ARRIVED, DELIVERED, GRANTED, REVIEWED, HEAD_YZ, LICENSE, QIANJIANG, REVIEWER_YZ, WINDOW_QJ, WINDOW_YZ, YUZHONG, do,
    receive, setup, verify_at_qianjiang,
)


def test_a_handoff_runs_in_both_districts_and_closes_both_cases(engine):
    setup(engine)
    ref = receive(engine).case
    verify_at_qianjiang(engine, ref.case_id)
    worker = MessageWorker(engine)
    assert worker.sweep().delivered == 1
    with engine.database.read_sessions() as session:
        owning = session.scalars(select(Case).where(Case.id != ref.case_id)).one()
        message = session.scalars(select(Message)).one()
    assert (owning.process_key, owning.owning_district, owning.receiving_district) == ("yidi_banli", YUZHONG,
                                                                                       QIANJIANG)
    assert message.state == "delivered" and message.receiver_case_id == owning.id
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, owning.id)
    do(engine, REVIEWER_YZ, "review", REVIEWED, owning.id)
    do(engine, HEAD_YZ, "decide", GRANTED, owning.id)
    do(engine, REVIEWER_YZ, "issue_license", LICENSE, owning.id)
    assert worker.sweep().delivered == 1
    do(engine, WINDOW_QJ, "deliver", DELIVERED, ref.case_id)
    with engine.database.read_sessions() as session:
        statuses = {c.id: c.status for c in session.scalars(select(Case))}
        links = session.scalars(select(CaseLink)).all()
        copied = session.scalars(select(CaseMaterial).where(CaseMaterial.case_id == owning.id)).all()
        types = [e.event_type for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == ref.case_id))]
    assert set(statuses.values()) == {"completed"}
    assert {(link.case_id, link.role) for link in links} == {(ref.case_id, "receiving"), (owning.id, "owning")}
    assert {m.material_key for m in copied} >= {"application_form", "water_quality_report"}
    assert "MessageSent" in types and "MessageReceived" in types and "GrantExercised" in types
