"""The handlers keep each case's metric facts (acceptance, 补正, 容缺, visits, working days used) current."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import select, update

from engine import (
    CST, CompleteTask, DeployDefinitions, ManualClock, MaterialInput, Party, ReceiveApplication, ResumeClock,
    StartCase, SuspendClock, ensure_calendar_seeded,
)
from engine.case_metrics import FACTS_VERSION
from engine.persistence.models import Case
from tests.conftest import DATA
from tests.helpers import CLERK, ZHUJIAN, deploy_shipped, open_task

FACTS = ("department", "channel", "accepted_at", "corrections", "tolerance", "visits", "legal_used_days",
         "legal_limit_days", "legal_late", "committed_used_days", "committed_limit_days", "committed_late",
         "facts_version")
REVIEWER = ZHUJIAN


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00 CST, the day before the 2026 Spring Festival break (2/15-2/23, 2/14 works)."""
    return ManualClock(datetime(2026, 2, 12, 10, 0, tzinfo=CST))


@pytest.fixture
def accepting(engine):
    ensure_calendar_seeded(engine)
    xml = (DATA / "processes" / "accept_clock.bpmn").read_bytes()
    engine.handle(DeployDefinitions((("accept_clock.bpmn", xml),), ()))
    return engine


def facts(engine, case_id: int) -> dict:
    with engine.database.read_sessions() as session:
        row = session.execute(select(*[getattr(Case, f) for f in FACTS]).where(Case.id == case_id)).one()
    return dict(row._mapping)


def complete(engine, clock, element, when):
    clock.set(when)
    return engine.handle(CompleteTask(open_task(engine, REVIEWER, element)["id"], REVIEWER, {}))


def test_acceptance_corrections_and_working_days_follow_the_case(accepting, clock):
    ref = accepting.handle(StartCase("accept_then_decide", CLERK, {"department": "zhujian"}))
    start = facts(accepting, ref.case_id)
    assert (start["department"], start["accepted_at"], start["visits"], start["facts_version"]) == \
        ("zhujian", None, 0, FACTS_VERSION)
    clock.set(datetime(2026, 2, 12, 11, 0, tzinfo=CST))
    # Before 受理 a 补正 request is the one-time notice: the first 补正 round.
    accepting.handle(SuspendClock(ref.case_id, CLERK, "correction", "一次性告知补正", clocks=("legal",)))
    complete(accepting, clock, "accept", datetime(2026, 2, 13, 10, 0, tzinfo=CST))   # T0 = Fri 2/13
    clock.set(datetime(2026, 2, 24, 10, 0, tzinfo=CST))
    accepting.handle(SuspendClock(ref.case_id, CLERK, "correction", "补正土地证明", clocks=("legal",)))
    clock.set(datetime(2026, 2, 26, 10, 0, tzinfo=CST))
    accepting.handle(ResumeClock(ref.case_id, CLERK, ("legal",)))
    done = complete(accepting, clock, "decide", datetime(2026, 2, 27, 16, 0, tzinfo=CST))
    assert done.status == "completed"
    got = facts(accepting, ref.case_id)
    assert got["accepted_at"] == datetime(2026, 2, 13, 10, 0, tzinfo=CST)
    assert (got["corrections"], got["tolerance"], got["channel"], got["visits"]) == (2, False, None, 2)
    # Working days after T0: Sat 2/14 (调休上班), Tue 2/24 .. Fri 2/27 = 5; the pause kept 2/24 and 2/25 out.
    assert (got["legal_used_days"], got["legal_limit_days"], got["legal_late"]) == (3, 20, False)
    assert got["committed_used_days"] is None


def test_a_case_closed_after_its_due_date_is_late(accepting, clock):
    ref = accepting.handle(StartCase("accept_then_decide", CLERK, {}))
    complete(accepting, clock, "accept", datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    complete(accepting, clock, "decide", datetime(2026, 3, 20, 9, 0, tzinfo=CST))   # due Thu 3/19
    got = facts(accepting, ref.case_id)
    assert (got["legal_used_days"], got["legal_limit_days"], got["legal_late"]) == (21, 20, True)
    assert (got["department"], got["visits"], got["corrections"]) == (None, 0, 0)


def test_intake_at_the_counter_with_tolerance_counts_two_visits(engine, clock):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    pdf = b"%PDF-1.7\n%facts\n"
    materials = (MaterialInput("application_form", io.BytesIO(pdf), "申请表.pdf"),
                 MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
                 MaterialInput("drawing_review", io.BytesIO(pdf + b"d"), "审查合格书.pdf"),
                 MaterialInput("bid_notice", missing=True),
                 MaterialInput("funding_proof", io.BytesIO(pdf + b"f"), "承诺书.pdf", original_verified=True))
    result = engine.handle(ReceiveApplication(
        "11500103MB1D25937B4000117001", CLERK, Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ",
                                                     legal_representative="王五"), "13800138000", materials))
    got = facts(engine, result.case.case_id)
    assert (got["channel"], got["tolerance"], got["corrections"], got["visits"]) == ("counter", True, 0, 2)
    assert got["department"] == "zhujian"  # from the catalog entry
    assert got["accepted_at"] == datetime(2026, 2, 12, 10, 0, tzinfo=CST)  # its clocks start at 收件


def test_the_backfill_derives_the_same_facts_from_the_record(accepting, clock):
    ref = accepting.handle(StartCase("accept_then_decide", CLERK, {"department": "zhujian"}))
    accepting.handle(SuspendClock(ref.case_id, CLERK, "correction", "一次性告知补正", clocks=("legal",)))
    complete(accepting, clock, "accept", datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    complete(accepting, clock, "decide", datetime(2026, 2, 27, 16, 0, tzinfo=CST))
    waiting = accepting.handle(StartCase("accept_then_decide", CLERK, {}))
    before = {i: facts(accepting, i) for i in (ref.case_id, waiting.case_id)}
    with accepting.database.writer.begin() as conn:
        conn.execute(update(Case).values(
            facts_version=None, department=None, channel=None, accepted_at=None, corrections=0, tolerance=False,
            visits=0, legal_used_days=None, legal_limit_days=None, legal_late=None))
    assert accepting.backfill_metric_facts() == 2
    assert {i: facts(accepting, i) for i in before} == before
    assert accepting.backfill_metric_facts() == 0
