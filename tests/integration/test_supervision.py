"""督办: missed and near deadlines open items for the owning district's supervisors, once, audited."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import (
    CST, Actor, CloseSupervision, Conflict, DecideExtension, InvalidInput, ManualClock, NotFound, RequestExtension,
    StartCase, TimerWorker, ensure_calendar_seeded,
)
from engine.audit import ChainedEvent, verify_chain
from tests.helpers import CLERK, deploy_shipped

SUPERVISOR_YZ = Actor("super_yz", ("supervisor",), "500103", None)
SUPERVISOR_WZ = Actor("super_wz", ("supervisor",), "500101", None)
SUPERVISOR_CITY = Actor("super_city", ("supervisor",), "500000", None)
REVIEWER_YZ = Actor("reviewer_zj", ("reviewer",), "500103", "zhujian")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00: committed (10 WD) ends 03-04, legal (20 WD) ends 03-18, yellow from 03-12."""
    return ManualClock(cst(2026, 2, 12, 10, 0))


@pytest.fixture
def case_id(engine) -> int:
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    return engine.handle(StartCase("parallel_approval", CLERK)).case_id


def kinds(engine, actor, state="open") -> list[str]:
    return sorted(item["kind"] for item in engine.queries.supervision(actor, state=state))


def test_items_open_when_the_stored_instants_pass_and_only_once(engine, clock, case_id):
    worker = TimerWorker(engine)
    clock.set(cst(2026, 3, 4, 23, 59))
    assert worker.sweep().supervised == 0 and kinds(engine, SUPERVISOR_YZ) == []
    clock.set(cst(2026, 3, 5, 0, 0, 1))
    assert worker.sweep().supervised == 1
    assert kinds(engine, SUPERVISOR_YZ) == ["committed_overdue"]
    assert worker.sweep().supervised == 0
    clock.set(cst(2026, 3, 12, 0, 0, 1))
    worker.sweep()
    assert kinds(engine, SUPERVISOR_YZ) == ["committed_overdue", "legal_warning"]
    clock.set(cst(2026, 3, 19, 0, 0, 1))
    worker.sweep()
    worker.sweep()
    assert kinds(engine, SUPERVISOR_YZ) == ["committed_overdue", "legal_overdue", "legal_warning"]
    (overdue,) = [i for i in engine.queries.supervision(SUPERVISOR_YZ) if i["kind"] == "legal_overdue"]
    assert overdue["due_at"] == cst(2026, 3, 19) and overdue["district"] == "500103"
    raised = [e.payload["kind"] for e in engine.queries.events(case_id) if e.event_type == "SupervisionRaised"]
    assert raised == ["committed_overdue", "legal_warning", "legal_overdue"]
    case = engine.queries.case(SUPERVISOR_YZ, case_id)
    chained = [ChainedEvent(case["case_no"], e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id,
                            e.payload, e.prev_hash, e.hash) for e in engine.queries.events(case_id)]
    assert verify_chain(chained, expected_head=case["chain_head"]).ok


def test_only_supervisors_of_the_owning_district_or_the_city_see_the_items(engine, clock, case_id):
    clock.set(cst(2026, 3, 5, 9, 0))
    TimerWorker(engine).sweep()
    assert kinds(engine, SUPERVISOR_CITY) == ["committed_overdue"]
    assert kinds(engine, SUPERVISOR_WZ) == []
    assert kinds(engine, REVIEWER_YZ) == []


def test_a_supervisor_closes_an_item_with_an_opinion_once(engine, clock, case_id):
    clock.set(cst(2026, 3, 5, 9, 0))
    TimerWorker(engine).sweep()
    (item,) = engine.queries.supervision(SUPERVISOR_YZ)
    with pytest.raises(InvalidInput):
        engine.handle(CloseSupervision(item["id"], SUPERVISOR_YZ, "   "))
    with pytest.raises(NotFound):
        engine.handle(CloseSupervision(item["id"], SUPERVISOR_WZ, "已督促"))
    with pytest.raises(NotFound):
        engine.handle(CloseSupervision(item["id"] + 100, SUPERVISOR_YZ, "已督促"))
    closed = engine.handle(CloseSupervision(item["id"], SUPERVISOR_YZ, "已电话督促住建科三日内办结"))
    assert closed["state"] == "closed" and closed["closed_by"] == "super_yz"
    with pytest.raises(Conflict):
        engine.handle(CloseSupervision(item["id"], SUPERVISOR_CITY, "再次办结"))
    assert kinds(engine, SUPERVISOR_YZ) == [] and kinds(engine, SUPERVISOR_YZ, state="closed") == ["committed_overdue"]
    (event,) = [e for e in engine.queries.events(case_id) if e.event_type == "SupervisionClosed"]
    assert (event.actor, event.payload["opinion"]) == ("super_yz", "已电话督促住建科三日内办结")


def test_an_extended_deadline_gets_its_own_items_when_it_nears_and_passes(engine, clock, case_id):
    engine.identity.create_user("head_yz", display_name="科长", roles=("department_head",), district="500103")
    clock.set(cst(2026, 3, 16, 9, 0))
    TimerWorker(engine).sweep()
    assert kinds(engine, SUPERVISOR_YZ) == ["committed_overdue", "legal_warning"]
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "需组织听证", told_to_applicant=True))
    engine.handle(DecideExtension(request["id"], Actor("head_yz", ("department_head",), "500103", None), True))
    clock.set(cst(2026, 3, 19, 9, 0))                 # the old legal deadline passed: no longer overdue
    TimerWorker(engine).sweep()
    assert kinds(engine, SUPERVISOR_YZ) == ["committed_overdue", "legal_warning"]
    clock.set(cst(2026, 4, 2, 0, 0, 1))               # 03-18 + 10 WD = 04-01, missed
    TimerWorker(engine).sweep()
    assert kinds(engine, SUPERVISOR_YZ) == ["committed_overdue", "legal_overdue", "legal_warning", "legal_warning"]
    due = {(i["kind"], i["due_at"]) for i in engine.queries.supervision(SUPERVISOR_YZ)}
    assert ("legal_overdue", cst(2026, 4, 2)) in due and ("legal_warning", cst(2026, 3, 19)) in due
