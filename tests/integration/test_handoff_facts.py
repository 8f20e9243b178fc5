"""The owning district's case of an 异地代收代办 counts the application's 窗口收件, 容缺 and visits."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.case_metrics import FACTS_VERSION
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


@pytest.mark.parametrize("written_as", ["before_the_facts", "version_1"])
def test_the_backfill_gives_an_owning_case_the_intake_of_its_receiving_case(engine, written_as):
    """A case written before the facts (NULL) is derived whole; one of version 1, written before the owning case
    took over the receiving window's intake, gets that intake and nothing else recomputed."""
    receiving, owning = complete_handoff(engine)
    columns = ("channel", "corrections", "tolerance", "visits", "accepted_at", "department", "facts_version")
    with engine.database.read_sessions() as session:
        before = {c.id: {k: getattr(c, k) for k in columns} for c in session.scalars(select(Case))}
    assert before[owning]["channel"] == "counter" and before[owning]["facts_version"] == FACTS_VERSION
    old = ({"facts_version": None, "department": None, "accepted_at": None} if written_as == "before_the_facts"
           else {"facts_version": 1})
    with engine.database.writer.begin() as conn:
        conn.execute(update(Case).values(**old))
        conn.execute(update(Case).where(Case.id == owning).values(channel=None, corrections=0, tolerance=False,
                                                                  visits=0))
    assert engine.backfill_metric_facts() == (2 if written_as == "before_the_facts" else 1)
    with engine.database.read_sessions() as session:
        after = {c.id: {k: getattr(c, k) for k in columns} for c in session.scalars(select(Case))}
    assert after == before
    assert engine.backfill_metric_facts() == 0
