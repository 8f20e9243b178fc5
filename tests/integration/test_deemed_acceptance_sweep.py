"""The deemed acceptance of 行政许可法第三十二条 takes effect when its window passes, on both databases.

"逾期不告知的，自收到申请材料之日起即为受理" (DOMAIN.md 1.1, 1.3): received Monday 2026-03-02, the one-time 补正
notice could come until Monday 03-09 (5 working days, the receipt day not counted); from 03-10 on the application
is accepted by law on 03-02 and its 20-working-day 法定 clock, due 03-30, runs whether or not anyone completes the
受理 task. The worker's sweep picks such cases (``deemed_case_ids``) and issues ``RecomputeDeadlines`` with
``DEEMED_REASON`` for each: :func:`sweep` does what it does.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, ManualClock, RaiseSupervision, Replayer, StartCase, SuspendClock,
    TimerWorker, ensure_calendar_seeded, list_archives, verify_archive, verify_case,
)
from engine.acceptance_deemed import DEEMED_REASON, deemed_case_ids
from engine.commands import RecomputeDeadlines
from engine.persistence.unit_of_work import SqlAlchemyUnitOfWork
from tests.helpers import CLERK, deploy_shipped, open_task

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
REVIEWER_FG = Actor("reviewer_fg", ("reviewer",), "500103", "fagai")
AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
WORKER = Actor.system("timer-worker")
DATA = Path(__file__).resolve().parent.parent / "data" / "processes"


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(3, 2))


def picked(engine) -> list[int]:
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        return deemed_case_ids(uow, engine.clock.now(), engine.services.calendar.get(), limit=50)


def sweep(engine) -> list[int]:
    """What the worker's wake-up does for deemed acceptances: pick the cases, recompute each with the reason."""
    ids = picked(engine)
    for case_id in ids:
        engine.handle(RecomputeDeadlines(case_id, DEEMED_REASON, actor=WORKER))
    return ids


def clocks(engine, case_id: int) -> dict:
    return {c["kind"]: c for c in engine.queries.case(REVIEWER, case_id)["clocks"]}


def events(engine, case_id: int) -> list:
    return engine.queries.events(case_id)


@pytest.fixture
def waiting(engine) -> int:
    """An application received Monday 03-02 whose 20-working-day 法定 clock waits for 受理 (accept_clock.bpmn)."""
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("ac.bpmn", (DATA / "accept_clock.bpmn").read_bytes()),)))
    return engine.handle(StartCase("accept_then_decide", REVIEWER)).case_id


def test_an_application_neither_accepted_nor_told_to_correct_runs_its_legal_clock_from_receipt(engine, clock,
                                                                                              waiting):
    """Once the window has passed with neither 受理 nor a one-time 补正 notice, the application *is* accepted on
    its receipt date, so its 法定 clock runs from then: on 04-01 it is overdue (red), with ``legal_due_at`` stored
    so that the 督办 sweep raises 法定时限已超期. Before, the clock stayed 未起算 (``not_started``, no due instant)
    for as long as the application sat there: the breach 第三十二条 guards against was invisible to the case page,
    the inbox and 电子监察.
    """
    clock.set(at(4, 1))
    assert sweep(engine) == [waiting]
    engine.handle(RaiseSupervision(waiting))
    legal = clocks(engine, waiting)["legal"]
    assert (legal["status"], legal["t0"], legal["due_date"], legal["light"]) == (
        "confirmed", "2026-03-02", "2026-03-30", "red")
    assert engine.queries.case(REVIEWER, waiting)["legal_due_at"] == datetime(2026, 3, 31, tzinfo=CST)
    raised = [e.payload["kind"] for e in events(engine, waiting) if e.event_type == "SupervisionRaised"]
    assert "legal_overdue" in raised


def test_the_clock_starts_the_day_after_the_window_as_an_audited_event(engine, clock, waiting):
    clock.set(at(3, 9, 23))                                    # the 5th working day: a notice is still in time
    assert sweep(engine) == [] and clocks(engine, waiting)["legal"]["status"] == "not_started"
    clock.set(at(3, 10, 0))
    assert sweep(engine) == [waiting]
    recomputed, started = events(engine, waiting)[-2:]
    assert (recomputed.event_type, recomputed.payload["reason"], recomputed.actor) == (
        "DeadlinesRecomputed", DEEMED_REASON, "timer-worker")
    assert (recomputed.payload["before"]["legal_due_at"], recomputed.payload["after"]["legal_due_at"]) == (
        None, "2026-03-30T16:00:00+00:00")                   # 03-31 00:00 in Beijing, in UTC
    assert (started.event_type, started.element_id, started.occurred_at) == ("ClocksStarted", None, at(3, 10, 0))
    entry = started.payload["clocks"]["legal"]
    assert (entry["t0"], entry["deemed"], entry["budget"]) == ("2026-03-02", True, {"amount": 20, "unit": "workday"})
    assert "自收到申请材料之日（2026-03-02）起即为受理" in entry["explanation"]
    # Yellow from 03-24 00:00 in Beijing, with 4 working days left (20 % of 20).
    assert recomputed.payload["after"]["legal_yellow_at"] == "2026-03-23T16:00:00+00:00"
    assert engine.queries.case(REVIEWER, waiting)["legal_due_at"] == datetime(2026, 3, 31, tzinfo=CST)


def test_the_sweep_is_idempotent_and_a_later_acceptance_leaves_the_clock_alone(engine, clock, waiting):
    clock.set(at(3, 10))
    assert sweep(engine) == [waiting]
    written = engine.queries.case(REVIEWER, waiting)["event_count"]
    assert picked(engine) == []                                # accepted: no longer a candidate
    engine.handle(RecomputeDeadlines(waiting, DEEMED_REASON, actor=WORKER))   # a second worker, late
    assert engine.queries.case(REVIEWER, waiting)["event_count"] == written
    clock.set(at(3, 12))
    engine.handle(CompleteTask(open_task(engine, REVIEWER, "accept")["id"], REVIEWER, {}))
    assert [e.event_type for e in events(engine, waiting)].count("ClocksStarted") == 1
    legal = clocks(engine, waiting)["legal"]
    assert (legal["t0"], legal["due_date"]) == ("2026-03-02", "2026-03-30")
    clock.set(at(3, 20))
    engine.handle(CompleteTask(open_task(engine, REVIEWER, "decide")["id"], REVIEWER, {}))
    assert engine.queries.case(REVIEWER, waiting)["status"] == "completed"
    with Replayer(engine) as replayer:
        result = replayer.replay_case(waiting)
    assert result.identical, result.divergence
    assert verify_case(engine, waiting).ok
    TimerWorker(engine).build_archives()
    (info,) = list_archives(engine)
    assert info.state == "built", info.last_error
    assert verify_archive(engine.config.archives_dir / info.path).ok
    page = engine.history.timeline(AUDITOR, waiting, limit=100)
    (shown,) = [e for e in page.events if e["event_type"] == "ClocksStarted"]
    assert {c["kind"]: c["state"] for c in shown["clocks"]} == {"legal": "running"}


def test_an_application_told_to_correct_in_time_is_not_deemed_accepted(engine, clock, waiting):
    clock.set(at(3, 5))
    engine.handle(SuspendClock(waiting, REVIEWER, "correction", "一次性告知：缺土地证明", ("legal",)))
    clock.set(at(4, 1))
    assert sweep(engine) == []
    engine.handle(RecomputeDeadlines(waiting, DEEMED_REASON, actor=WORKER))
    assert clocks(engine, waiting)["legal"]["status"] == "not_started"


def test_a_gongcheng_application_deemed_accepted_starts_both_clocks_with_the_committed_length_from_its_data(
        engine, clock):
    """工改: the 45-working-day 法定 clock (stage 1) and the 承诺 clock whose length is the project category's
    target (``amountFrom``, computed at intake) start from the receipt date; stage 1's later 受理 starts nothing."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("gongcheng", CLERK, {"project_name": "渝中区某综合楼",
                                                           "project_category": "social",
                                                           "department": "zhujian"})).case_id
    clock.set(at(3, 10))
    assert sweep(engine) == [case_id]
    (started,) = [e for e in events(engine, case_id) if e.event_type == "ClocksStarted"]
    entries = started.payload["clocks"]
    assert (entries["legal"]["t0"], entries["legal"]["budget"]) == ("2026-03-02", {"amount": 45, "unit": "workday"})
    assert entries["committed"]["t0"] == "2026-03-02" and entries["committed"]["amount_from"] == "target_workdays"
    engine.handle(CompleteTask(open_task(engine, REVIEWER_FG, "s1_accept")["id"], REVIEWER_FG,
                               {"materials_complete": True, "accept_note": "材料齐全，予以受理"}))
    assert [e.event_type for e in events(engine, case_id)].count("ClocksStarted") == 1
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def test_the_worker_starts_the_clock_of_an_application_deemed_accepted(engine, clock, waiting):
    """The worker's wake-up starts the clock (T0 the receipt date) and, in the same wake-up, raises its 督办."""
    clock.set(at(4, 1))
    result = TimerWorker(engine).sweep()
    assert result.deemed == 1
    legal = clocks(engine, waiting)["legal"]
    assert (legal["t0"], legal["light"]) == ("2026-03-02", "red")
    assert "legal_overdue" in [e.payload["kind"] for e in events(engine, waiting)
                               if e.event_type == "SupervisionRaised"]
    assert TimerWorker(engine).sweep().deemed == 0          # accepted now: never picked again


def test_a_worker_looks_for_deemed_acceptances_at_most_once_a_minute(engine, clock, waiting):
    """The scan reads every running case not accepted yet, so one worker runs it once a minute, not every second."""
    worker = TimerWorker(engine)
    clock.set(datetime(2026, 3, 9, 23, 59, 30, tzinfo=CST))     # the window's last day: nothing yet
    assert worker.sweep().deemed == 0
    clock.set(datetime(2026, 3, 10, 0, 0, 10, tzinfo=CST))      # due now, but 40 s after the last look
    assert worker.sweep().deemed == 0
    assert clocks(engine, waiting)["legal"]["status"] == "not_started"
    clock.set(datetime(2026, 3, 10, 0, 0, 30, tzinfo=CST))      # a minute after the last look
    assert worker.sweep().deemed == 1
    assert clocks(engine, waiting)["legal"]["t0"] == "2026-03-02"
