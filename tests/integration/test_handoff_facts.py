"""The owning district's case of an 异地代收代办 counts the application's 窗口收件, 容缺 and visits."""
from __future__ import annotations

from sqlalchemy import select

from engine.persistence.models import Case
from tests.handoff_helpers import complete_handoff


def test_the_owning_case_takes_over_the_counter_intake_and_tolerance_of_the_application(engine):
    """QA: 黔江 received with a 容缺 material (pretreatment_proof); the owning case had channel NULL, tolerance
    0 and visits 0, so 容缺率 was 0 % and 最多跑一次 100 % although the applicant must come back."""
    receiving, owning = complete_handoff(engine)
    with engine.database.read_sessions() as session:
        rows = {c.id: c for c in session.scalars(select(Case))}
    leg, counted = rows[receiving], rows[owning]
    assert (leg.channel, leg.tolerance, leg.visits) == ("counter", True, 2)
    assert (counted.channel, counted.tolerance, counted.corrections, counted.visits) == (
        leg.channel, leg.tolerance, leg.corrections, leg.visits)
