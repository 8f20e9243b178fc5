"""Timers whose firing failed, as their case's readers and its administrators meet them (both databases).

``tongban timers retry ID --by USER`` takes an active administrator and records the retry on the timer's case
(``TimerRetried`` on its hash chain, naming the administrator); ``tongban replay`` and ``tongban verify`` of such a
case still pass: replay records the administrative event again and changes no workflow state. A failed firing
marks only the timers that were due, so a case's later timers are not told as failing. A calendar year not loaded
never makes a timer fail: its instant is counted on an estimate (weekends only) and fires.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import pytest
from sqlalchemy import select

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, FireDueTimers, RateCase, StartCase, TimerWorker, WorkflowFailed,
)
from engine.persistence.models import Timer
from tests.conftest import DATA
from tests.integration.test_cli import failed, ok

PROCESSES = DATA / "processes"
REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
ID_NUMBER = "500103198506120317"

TWO_TIMERS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_two" targetNamespace="http://tongban.test">
  <bpmn:process id="two_timers" name="two timers" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="review">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="soon" name="soon" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="later" name="later" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P30D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="soon" targetRef="end_soon"/>
    <bpmn:sequenceFlow id="f3" sourceRef="later" targetRef="end_later"/>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="end_soon"/>
    <bpmn:endEvent id="end_later"/>
  </bpmn:process>
</bpmn:definitions>
"""


def timer_rows(engine, case_id: int) -> list[Timer]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(Timer).where(Timer.case_id == case_id).order_by(Timer.id)))


def event_rows(engine, case_id: int) -> list:
    return list(engine.queries.events(case_id))


@contextmanager
def firing_fails(engine, monkeypatch, message: str = "定时器后的环节出错") -> Iterator[None]:
    """Every firing of due timers fails with ``message`` (an engine error, as a broken diagram step raises)."""
    real = engine.handle

    def failing(command):
        if isinstance(command, FireDueTimers):
            raise WorkflowFailed(message)
        return real(command)
    with monkeypatch.context() as patch:
        patch.setattr(engine, "handle", failing)
        yield


def timed_case(engine) -> int:
    engine.handle(DeployDefinitions((("timer.bpmn", (PROCESSES / "timer.bpmn").read_bytes()),)))
    return engine.handle(StartCase("timed_review", REVIEWER)).case_id


def set_aside(engine, monkeypatch, message: str = "定时器后的环节出错") -> None:
    """Ten failed firings, each past the back-off: the due timer ends set aside (state ``failed``)."""
    worker = TimerWorker(engine)
    with firing_fails(engine, monkeypatch, message):
        engine.clock.advance(minutes=1)
        results = []
        for _ in range(10):
            engine.clock.advance(hours=2)
            results.append(worker.sweep())
    assert results[-1].set_aside == 1, results


def users(engine) -> None:
    engine.identity.create_user("ops_admin", display_name="运维管理员", roles=("admin",), district="500000")
    engine.identity.create_user("reviewer_yz", display_name="渝中审查", roles=("reviewer",), district="500103",
                                department="zhujian")


def test_a_retry_takes_an_active_administrator_and_is_recorded_on_the_case_which_still_replays(
        engine, runner, monkeypatch):
    case_id = timed_case(engine)
    users(engine)
    set_aside(engine, monkeypatch)
    (row,) = timer_rows(engine, case_id)
    assert (row.state, row.attempts) == ("failed", 10)
    before = len(event_rows(engine, case_id))

    assert "缺少选项 --by" in failed(runner.invoke(args=["timers", "retry", str(row.id)]))
    assert "UNKNOWN_USER" in failed(runner.invoke(args=["timers", "retry", str(row.id), "--by", "nobody"]))
    refused = failed(runner.invoke(args=["timers", "retry", str(row.id), "--by", "reviewer_yz"]))
    assert "FORBIDDEN" in refused and "管理员" in refused
    assert "TIMER_NOT_FOUND" in failed(runner.invoke(args=["timers", "retry", str(row.id + 1000), "--by",
                                                           "ops_admin"]))
    assert timer_rows(engine, case_id)[0].state == "failed"
    assert len(event_rows(engine, case_id)) == before          # refusals change nothing, record nothing

    done = ok(runner.invoke(args=["timers", "retry", str(row.id), "--by", "ops_admin"]))
    assert "已重新排队" in done and "ops_admin" in done
    (again,) = timer_rows(engine, case_id)
    assert (again.state, again.attempts) == ("waiting", 0)
    events = event_rows(engine, case_id)
    assert len(events) == before + 1
    retried = events[-1]
    assert (retried.event_type, retried.actor, retried.element_id) == ("TimerRetried", "ops_admin", "overdue_timer")
    assert {k: retried.payload[k] for k in ("timer_id", "action", "attempts")} == \
        {"timer_id": row.id, "action": "requeued", "attempts": 10}
    assert datetime.fromisoformat(retried.payload["due_at"]) == row.due_at
    assert "TIMER_NOT_FAILED" in failed(runner.invoke(args=["timers", "retry", str(row.id), "--by", "ops_admin"]))
    assert len(event_rows(engine, case_id)) == before + 1

    result = TimerWorker(engine).sweep()     # the cause is gone: the timer fires, the case moves on
    assert (result.cases, result.failed) == (1, 0)
    assert [e.event_type for e in event_rows(engine, case_id)][before:before + 2] == ["TimerRetried", "TimersFired"]
    assert timer_rows(engine, case_id)[0].state == "done"
    ok(runner.invoke(args=["replay", str(case_id)]))
    ok(runner.invoke(args=["verify", str(case_id)]))


@pytest.mark.parametrize("rated", [False, True], ids=["ended", "ended and rated"])
def test_closing_a_timer_set_aside_on_an_ended_case_is_recorded_and_the_case_still_replays(
        engine, runner, monkeypatch, rated):
    """The case ended (its task completed) while its timer stood set aside: the retry closes the timer.

    Replay records the event again after the case's end; after a 好差评 it stops before both, as for ratings.
    """
    case_id = timed_case(engine)
    users(engine)
    set_aside(engine, monkeypatch)
    (task,) = [t for t in engine.queries.case(REVIEWER, case_id)["tasks"] if t["state"] == "open"]
    engine.handle(CompleteTask(task["id"], REVIEWER, {}))
    assert engine.queries.case(REVIEWER, case_id)["status"] == "completed"
    if rated:
        engine.handle(RateCase(case_id, Actor("window_yz", ("window_clerk",), "500103", "zwzx"), 1, "1", "满意"))
    (row,) = timer_rows(engine, case_id)
    assert row.state == "failed"
    assert "已关闭" in ok(runner.invoke(args=["timers", "retry", str(row.id), "--by", "ops_admin"]))
    assert timer_rows(engine, case_id)[0].state == "done"
    types = [e.event_type for e in event_rows(engine, case_id)]
    assert types[-2:] == (["CaseRated", "TimerRetried"] if rated else ["CaseCompleted", "TimerRetried"])
    closed = event_rows(engine, case_id)[-1]
    assert (closed.actor, closed.payload["action"]) == ("ops_admin", "closed")
    ok(runner.invoke(args=["replay", str(case_id)]))
    ok(runner.invoke(args=["verify", str(case_id)]))


def test_a_failed_firing_marks_only_the_timers_that_were_due(engine, monkeypatch):
    """It used to stamp every waiting timer of the case, so one due in a month was told as failing too."""
    engine.handle(DeployDefinitions((("two.bpmn", TWO_TIMERS),)))
    case_id = engine.handle(StartCase("two_timers", REVIEWER)).case_id
    engine.clock.advance(hours=2, minutes=1)
    with firing_fails(engine, monkeypatch):
        assert TimerWorker(engine).sweep().failed == 1
    rows = {r.element_id: r for r in timer_rows(engine, case_id)}
    assert rows["soon"].last_error.endswith("定时器后的环节出错") and rows["soon"].attempts == 1
    assert (rows["later"].last_error, rows["later"].locked_until) == (None, None)
    assert [t["element_id"] for t in TimerWorker.case_failing_timers(engine, case_id)] == ["soon"]
    assert [t["element_id"] for t in TimerWorker.failing_timers(engine)] == ["soon"]


def test_a_case_readers_list_of_failing_timers_masks_numbers_and_is_bounded(engine, monkeypatch):
    case_id = timed_case(engine)
    other = engine.handle(StartCase("timed_review", REVIEWER)).case_id
    message = f"表达式求值失败：申请人 {ID_NUMBER}，电话 13812345678；" + "细节" * 1000
    engine.clock.advance(hours=2, minutes=1)
    with firing_fails(engine, monkeypatch, message):
        TimerWorker(engine).sweep()
    (shown,) = TimerWorker.case_failing_timers(engine, case_id)
    assert {k: shown[k] for k in ("element_id", "name", "state", "attempts")} == \
        {"element_id": "overdue_timer", "name": "超期", "state": "waiting", "attempts": 1}
    assert shown["retry_at"] > engine.clock.now() and shown["due_at"] < engine.clock.now()
    assert len(shown["last_error"]) <= 300 and shown["last_error"].endswith("…")
    assert ID_NUMBER not in shown["last_error"] and "5001**********0317" in shown["last_error"]
    assert "13812345678" not in shown["last_error"] and "138****5678" in shown["last_error"]
    assert [t["case_id"] for t in TimerWorker.failing_timers(engine)] == [case_id, other]
    assert TimerWorker.case_failing_timers(engine, case_id + other + 1) == []


def test_a_timer_counted_into_a_year_not_loaded_fires_on_its_estimate_and_is_never_set_aside(engine):
    """Why ``tongban calendar import`` has no set-aside timers to re-arm: a calendar gap is no firing error.

    The engine's calendar is never strict: a year not loaded is counted on weekends only (暂定), and the import's
    recompute re-arms the timers so counted (``test_timer_worker``). Here the import never comes.
    """
    engine.clock.set(datetime(2026, 12, 25, 10, 0, tzinfo=CST))  # 2027 is not loaded
    engine.handle(DeployDefinitions((("wd.bpmn", (PROCESSES / "workday_timer.bpmn").read_bytes()),)))
    case_id = engine.handle(StartCase("workday_deadline", REVIEWER, data={"received_on": "2026-12-25"})).case_id
    (row,) = timer_rows(engine, case_id)
    assert row.due_at == datetime(2027, 1, 2, 0, 0, tzinfo=CST)       # the estimate: 元旦 unknown
    engine.clock.set(datetime(2027, 1, 2, 0, 0, 1, tzinfo=CST))
    result = TimerWorker(engine).sweep()
    assert (result.cases, result.failed, result.set_aside) == (1, 0, 0)
    assert timer_rows(engine, case_id)[0].state == "done" and TimerWorker.failing_timers(engine) == []
