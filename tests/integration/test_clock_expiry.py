"""Clocks past their deadline, on both databases: a late pause keeps the breach red, a late extension is refused.

And a 特别程序 pause must be one of 第四十五条's procedures with a bounded expected time. The parallel_approval
case starts Thursday 2026-02-12: its committed clock is due 2026-03-04, its legal clock 2026-03-18.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import (
    CST, CompleteTask, Conflict, DecideExtension, ExtendDeadline, InvalidInput, RequestExtension,
    ResumeClock, SuspendClock,
)
from tests.helpers import ACCEPT, CLERK, open_task

from .test_case_clocks import HEAD, clock, started_case  # noqa: F401 - clock: the fixture


@pytest.fixture
def case_id(engine):
    """test_case_clocks' case (its head created), accepted: the head now reviews it."""
    case_id = started_case(engine)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return case_id


def clocks(engine, case_id):
    return {c["kind"]: c for c in engine.queries.case(CLERK, case_id)["clocks"]}


def tasks(engine, case_id, actor):
    return {t["id"]: (t["light"], t["inbox_due_at"]) for t in engine.queries.tasks(actor, limit=200).items
            if t["case_id"] == case_id}


def written(engine, case_id):
    case = engine.queries.case(CLERK, case_id)
    return case["version"], case["event_count"]


def test_pausing_an_overdue_case_keeps_it_red_in_the_case_the_clocks_and_the_inbox(engine, clock, case_id):
    """QA F7: the pause nulled both due instants, showed 'paused' and took the tasks off the red list."""
    clock.set(datetime(2026, 3, 19, 10, 0, tzinfo=CST))                      # both clocks overdue
    before = engine.queries.case(CLERK, case_id)
    assert {c["light"] for c in before["clocks"]} == {"red"}
    inbox = {who.username: tasks(engine, case_id, who) for who in (CLERK, HEAD)}
    counts = {who.username: engine.queries.task_counts(who) for who in (CLERK, HEAD)}
    assert "red" in {light for rows in inbox.values() for light, _ in rows.values()}

    engine.handle(SuspendClock(case_id, CLERK, "correction", "补正"))
    clock.set(datetime(2026, 3, 24, 10, 0, tzinfo=CST))
    after = engine.queries.case(CLERK, case_id)
    assert (after["legal_due_at"], after["committed_due_at"]) == (before["legal_due_at"], before["committed_due_at"])
    assert after["legal_due_at"] is not None
    now = clocks(engine, case_id)
    assert {c["light"] for c in now.values()} == {"red"} and {c["paused"] for c in now.values()} == {True}
    assert now["legal"]["due_date"] == "2026-03-18"                         # the late pause moves nothing
    assert {who.username: tasks(engine, case_id, who) for who in (CLERK, HEAD)} == inbox
    assert {who.username: engine.queries.task_counts(who) for who in (CLERK, HEAD)} == counts

    engine.handle(ResumeClock(case_id, CLERK))                               # and on resume nothing moved either
    assert clocks(engine, case_id)["legal"]["due_date"] == "2026-03-18"


def test_a_pause_before_the_due_date_still_parks_the_clock(engine, clock, case_id):
    clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=CST))                      # committed overdue, legal not
    engine.handle(SuspendClock(case_id, CLERK, "correction", "补正"))
    case = engine.queries.case(CLERK, case_id)
    assert case["legal_due_at"] is None and case["committed_due_at"] is not None
    assert {k: c["light"] for k, c in clocks(engine, case_id).items()} == {"legal": "paused", "committed": "red"}


def test_a_pause_in_time_makes_the_inbox_rows_and_the_task_read_paused_until_resume(engine, clock, case_id):
    """The rows following the case's 承诺 clock lost their instants on a pause and read 「无时限」."""
    clock.set(datetime(2026, 2, 24, 10, 0, tzinfo=CST))                      # both clocks running, in time
    before = tasks(engine, case_id, HEAD)
    assert before and {light for light, _ in before.values()} == {"green"}
    engine.handle(SuspendClock(case_id, CLERK, "correction", "补正"))
    assert {light for light, _ in tasks(engine, case_id, HEAD).values()} == {"paused"}
    assert {t["light"] for t in engine.queries.case(CLERK, case_id)["tasks"] if t["state"] == "open"} == {"paused"}
    (task_id,) = before
    assert engine.queries.task(HEAD, task_id)["light"] == "paused"
    assert engine.queries.tasks(HEAD, light="green").items == []             # not dated, so in no colour
    engine.handle(ResumeClock(case_id, CLERK))
    assert {light for light, _ in tasks(engine, case_id, HEAD).values()} == {"green"}


def test_an_expired_legal_deadline_cannot_be_extended_by_request_approval_or_directly(engine, clock, case_id):
    """QA F6: a late extension was accepted (已延长), moved nothing and used up the one extension."""
    clock.set(datetime(2026, 3, 18, 16, 0, tzinfo=CST))                      # the last day: still in time to ask
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂", told_to_applicant=True))
    clock.set(datetime(2026, 3, 19, 9, 0, tzinfo=CST))
    before = written(engine, case_id)
    message = "法定时限已于 2026-03-18 届满，不能再延长（《行政许可法》第四十二条：延长须在期限届满前批准）"
    with pytest.raises(Conflict) as refused:
        engine.handle(DecideExtension(request["id"], HEAD, True, "同意"))
    assert (refused.value.code, refused.value.message) == ("DEADLINE_EXPIRED", message)
    engine.handle(DecideExtension(request["id"], HEAD, False, "期限已届满"))   # the head can still close it
    for late in (ExtendDeadline(case_id, HEAD, 10, "案情复杂", told_to_applicant=True),
                 RequestExtension(case_id, CLERK, 10, "案情复杂")):
        with pytest.raises(Conflict) as refused:
            engine.handle(late)
        assert (refused.value.code, refused.value.message) == ("DEADLINE_EXPIRED", message)
    legal = clocks(engine, case_id)["legal"]
    assert (legal["extended_days"], legal["due_date"], legal["light"]) == (0, "2026-03-18", "red")
    kinds = [e.event_type for e in engine.queries.events(case_id)]
    assert "DeadlineExtended" not in kinds and written(engine, case_id)[1] == before[1] + 1   # only the rejection


def test_a_special_procedure_must_be_one_of_article_45_with_a_bounded_time(engine, clock, case_id):
    """QA F10: any text (打麻将, 等领导回来签字 for 3650 days) stopped the legal clock."""
    before = written(engine, case_id)
    for procedure, days in (("打麻将", 5), ("等领导回来签字", 3650), ("专家评审", 3650)):
        with pytest.raises(InvalidInput) as refused:
            engine.handle(SuspendClock(case_id, CLERK, "special_procedure", "x", procedure=procedure,
                                       expected_days=days))
        assert refused.value.code == "CLOCK_INVALID"
    assert written(engine, case_id) == before
    engine.handle(SuspendClock(case_id, CLERK, "special_procedure", "组织专家评审", procedure="专家评审",
                               expected_days=20))
    assert {c["light"] for c in clocks(engine, case_id).values()} == {"paused"}


def test_replay_still_accepts_a_pause_recorded_with_another_procedure_text(engine, clock, case_id):
    engine.handle(SuspendClock(case_id, CLERK, "special_procedure", "旧记录", procedure="实地核查",
                               expected_days=90, on_record=True))
    assert {c["paused"] for c in clocks(engine, case_id).values()} == {True}
