"""异地代收代办 end to end through the engine, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import APPLICANT, Conflict, MessageWorker, RateCase, Replayer
from engine.persistence.models import Case, CaseEvent, CaseLink, CaseMaterial, Message, Rating
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


def test_a_handoff_application_is_rated_once_and_its_bad_rating_goes_to_the_deciding_department(engine):
    """QA: the receiving and the owning case were rated separately (two ratings for one application), and a
    差评 on the receiving case went to 渝中's 政务服务中心, which never touched it."""
    setup(engine)
    ref = receive(engine).case
    verify_at_qianjiang(engine, ref.case_id)
    worker = MessageWorker(engine)
    worker.sweep()
    with engine.database.read_sessions() as session:
        owning = session.scalars(select(Case).where(Case.id != ref.case_id)).one()
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, owning.id)
    do(engine, REVIEWER_YZ, "review", REVIEWED, owning.id)
    do(engine, HEAD_YZ, "decide", GRANTED, owning.id)
    do(engine, REVIEWER_YZ, "issue_license", LICENSE, owning.id)
    worker.sweep()
    do(engine, WINDOW_QJ, "deliver", DELIVERED, ref.case_id)

    with Replayer(engine) as replayer:                  # both sides replay: the message-started one too
        for case_id in (ref.case_id, owning.id):
            result = replayer.replay_case(case_id)
            assert result.identical, (case_id, result.divergence)
    engine.handle(RateCase(ref.case_id, APPLICANT, 4, "1", "送达太慢"))     # the applicant rates where they applied
    with engine.database.read_sessions() as session:
        (rating,) = session.scalars(select(Rating)).all()
    assert (rating.case_id, rating.district, rating.department) == (ref.case_id, YUZHONG, "zhujian")
    with pytest.raises(Conflict) as again:
        engine.handle(RateCase(owning.id, WINDOW_YZ, 1, "4"))
    assert again.value.code == "ALREADY_RATED" and again.value.details["rated_case_no"] == ref.case_no
