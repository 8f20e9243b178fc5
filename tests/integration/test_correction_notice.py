"""The one-time 补正 notice of 行政许可法第三十二条, on both databases: a second one is refused, changing nothing.

The fixture process loops back from its notice task (一次性告知补正) to 形式审查, and its clock runs per stage
(``stopsAt``), as 工改's does: each stage's application waits for its own 受理 and may have its own notice.
Receipt is Thursday 2026-02-12 (the clock fixture of test_case_clocks).
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import (
    CST, CompleteTask, Conflict, DeployDefinitions, Replayer, ReturnTask, StartCase, SuspendClock,
    ensure_calendar_seeded,
)
from tests.conftest import DATA
from tests.helpers import open_task

from .test_case_clocks import REVIEWER, clock  # noqa: F401 - clock: the fixture

MESSAGE = "已于 2026-02-13 一次性告知补正内容，不得再次告知；"


@pytest.fixture
def case_id(engine):
    ensure_calendar_seeded(engine)
    xml = (DATA / "processes" / "notice_loop_clock.bpmn").read_bytes()
    engine.handle(DeployDefinitions((("notice_loop.bpmn", xml),)))
    return engine.handle(StartCase("notice_loop", REVIEWER)).case_id


def complete(engine, element: str, data: dict | None = None, **kw):
    return engine.handle(CompleteTask(open_task(engine, REVIEWER, element)["id"], REVIEWER, data or {}, **kw))


def suspend(engine, case_id: int, **kw):
    return engine.handle(SuspendClock(case_id, REVIEWER, "correction", "一次性告知：缺土地证明", ("legal",), **kw))


def written(engine, case_id: int):
    case = engine.queries.case(REVIEWER, case_id)
    return case["version"], case["event_count"], case["clocks"], case["legal_due_at"]


def notices(engine, case_id: int) -> list:
    return [e for e in engine.queries.events(case_id) if e.event_type == "ClockPaused"]


def give(engine, case_id: int, how: str) -> None:
    """The window tells the applicant what to correct: by the notice task, or by a 补正 request."""
    if how == "task":
        complete(engine, "review", {"path": "notice"})
        complete(engine, "notice")
    else:
        suspend(engine, case_id)


@pytest.mark.parametrize("first, second", [("task", "task"), ("task", "suspend"), ("suspend", "task"),
                                           ("suspend", "suspend")])
def test_a_second_one_time_notice_before_acceptance_is_refused_and_changes_nothing(engine, clock, case_id,
                                                                                   first, second):
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    give(engine, case_id, first)
    assert len(notices(engine, case_id)) == 1
    clock.set(datetime(2026, 2, 24, 10, 0, tzinfo=CST))
    if second == "task":
        complete(engine, "review", {"path": "notice"})        # the loop reaches the notice task again
    before = written(engine, case_id)
    with pytest.raises(Conflict) as refused:
        complete(engine, "notice") if second == "task" else suspend(engine, case_id)
    assert (refused.value.code, refused.value.http_status) == ("NOTICE_ALREADY_GIVEN", 409)
    assert refused.value.message.startswith(MESSAGE) and "第三十二条" in refused.value.message
    assert refused.value.details["notice_date"] == "2026-02-13"
    assert written(engine, case_id) == before                 # no event, no version, the clock as it was


def test_the_refused_notice_task_is_returned_and_the_case_accepted_on_the_first_notice(engine, clock, case_id):
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    give(engine, case_id, "task")
    complete(engine, "review", {"path": "notice"})
    with pytest.raises(Conflict) as refused:
        complete(engine, "notice")
    assert "退回" in refused.value.message
    engine.handle(ReturnTask(open_task(engine, REVIEWER, "notice")["id"], REVIEWER, "已一次性告知，退回形式审查"))
    clock.set(datetime(2026, 3, 9, 10, 0, tzinfo=CST))       # 补正 arrives long after the 5-day window
    complete(engine, "review", {"path": "accept"})
    complete(engine, "accept")
    legal = {c["kind"]: c for c in engine.queries.case(REVIEWER, case_id)["clocks"]}["legal"]
    assert legal["t0"] == "2026-03-09"                        # the first, timely notice stopped the window


def test_after_acceptance_a_correction_pauses_the_clock_and_is_no_second_notice(engine, clock, case_id):
    give(engine, case_id, "task")
    complete(engine, "review", {"path": "accept"})
    complete(engine, "accept")
    suspend(engine, case_id)
    [legal] = engine.queries.case(REVIEWER, case_id)["clocks"]
    assert legal["paused"] is True and len(notices(engine, case_id)) == 2


def test_each_stage_period_has_its_own_one_time_notice(engine, clock, case_id):
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    give(engine, case_id, "task")
    complete(engine, "review", {"path": "accept"})
    complete(engine, "accept")
    clock.set(datetime(2026, 2, 26, 10, 0, tzinfo=CST))
    complete(engine, "conclude", {"more": "again"})          # stage 1 ends; stage 2's application comes in
    give(engine, case_id, "task")                            # stage 2's own notice (the task, carried over)
    assert [(n.element_id, n.occurred_at.astimezone(CST).date().isoformat()) for n in notices(engine, case_id)] \
        == [("notice", "2026-02-13"), ("notice", "2026-02-26")]
    with pytest.raises(Conflict) as refused:
        suspend(engine, case_id)
    assert refused.value.message.startswith("已于 2026-02-26 一次性告知补正内容，不得再次告知；")


def test_a_second_notice_recorded_before_the_rule_still_replays(engine, clock, case_id):
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    give(engine, case_id, "task")
    clock.set(datetime(2026, 2, 16, 10, 0, tzinfo=CST))
    complete(engine, "review", {"path": "notice"})
    complete(engine, "notice", on_record=True)                # what the engine accepted before the rule
    suspend(engine, case_id, on_record=True)
    complete(engine, "review", {"path": "accept"})
    complete(engine, "accept")
    case_no = engine.queries.case(REVIEWER, case_id)["case_no"]
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_no)
    assert result.identical, result.divergence


def test_a_return_into_the_notice_task_after_the_notice_is_refused_and_changes_nothing(engine, clock, case_id):
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    give(engine, case_id, "task")                            # notice done: 形式审查 is open again
    clock.set(datetime(2026, 2, 16, 10, 0, tzinfo=CST))
    before = written(engine, case_id)
    with pytest.raises(Conflict) as refused:
        engine.handle(ReturnTask(open_task(engine, REVIEWER, "review")["id"], REVIEWER, "告知书漏列一项"))
    assert (refused.value.code, refused.value.http_status) == ("NOTICE_ALREADY_GIVEN", 409)
    assert refused.value.message.startswith(MESSAGE)
    assert written(engine, case_id) == before
    assert open_task(engine, REVIEWER, "review")              # still where it was
    complete(engine, "review", {"path": "accept"})
    complete(engine, "accept")
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def test_a_return_into_the_notice_task_recorded_before_the_rule_still_replays(engine, clock, case_id):
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=CST))
    give(engine, case_id, "task")
    engine.handle(ReturnTask(open_task(engine, REVIEWER, "review")["id"], REVIEWER, "重新告知", on_record=True))
    complete(engine, "notice", on_record=True)                # the notice given again, as recorded then
    complete(engine, "review", {"path": "accept"})
    complete(engine, "accept")
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence
