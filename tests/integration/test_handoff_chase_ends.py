"""异地代收代办: an open 移交超时督办 ends with the owning case, on SQLite and PostgreSQL.

The transfer leg overran, so the non-interrupting timer ``transfer_overdue`` opened 移交超时督办
(``chase_transfer``) for 渝中's supervisors. Nobody has to act on it for 渝中 to accept and decide: once the
result goes back (``o_end``, a terminate end event) the owning case is complete, its clocks stop there and the
chase still open is cancelled and leaves the supervisors' inbox.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import ClaimTask, CompleteTask, MessageWorker, TimerWorker
from engine.errors import EngineError
from engine.persistence.models import Case, CaseEvent, TaskItem
from tests.handoff_helpers import (
    ARRIVED, COMPLETE, DELIVERED, GRANTED, HANDOFF, HEAD_YZ, IDENTITY, LICENSE, ORIGINALS, REVIEWED, REVIEWER_YZ,
    SUPERVISOR_YZ, WINDOW_QJ, WINDOW_YZ, do, receive, setup, task_of,
)

NOT_ACCEPTED = {**ARRIVED, "arrival_result": "reject", "arrival_note": "申请事项不属于本机关职权范围",
                "not_accepted_basis": "《行政许可法》第三十二条第一款第二项"}


def owning_case(engine, receiving_id: int) -> Case:
    with engine.database.read_sessions() as session:
        return session.scalars(select(Case).where(Case.id != receiving_id).order_by(Case.id.desc())).first()


def case_row(engine, case_id: int) -> Case:
    with engine.database.read_sessions() as session:
        return session.get(Case, case_id)


def chase_rows(engine, case_id: int) -> list[TaskItem]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(TaskItem).where(TaskItem.case_id == case_id,
                                                           TaskItem.element_id == "chase_transfer")))


def cancelled_elements(engine, case_id: int) -> list[str]:
    with engine.database.read_sessions() as session:
        return [e.element_id for e in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.event_type == "TaskCancelled").order_by(CaseEvent.seq))]


def handed_over_and_chased(engine, clock) -> tuple[int, int, MessageWorker]:
    """黔江 hands the application over; 渝中's 到件受理 waits past the transfer budget, so 督办 opens."""
    setup(engine)
    mine = receive(engine).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, mine)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, mine)
    do(engine, WINDOW_QJ, "formal_review", COMPLETE, mine)
    do(engine, WINDOW_QJ, "handoff", HANDOFF, mine)
    worker = MessageWorker(engine)
    assert worker.sweep().delivered == 1
    theirs = owning_case(engine, mine).id
    clock.advance(timedelta(days=4))                   # Fri 11-27: the 2-working-day transfer budget has passed
    TimerWorker(engine).sweep()
    assert task_of(engine, SUPERVISOR_YZ, "chase_transfer", theirs)["name"] == "移交超时督办"
    return mine, theirs, worker


def test_an_overdue_transfer_chase_does_not_keep_the_decided_owning_case_running(engine, clock):
    """Rule: an open 移交超时督办 does not keep 渝中's case running once it has decided and sent the result back.

    README 「Cross-district handoffs」: "... then sends the result back ...; the receiving window delivers it ...
    and both cases are complete". The owning case completes when the result is sent, its 法定 and 承诺 clocks
    stop when the decision is sent back (they never turn red afterwards) and the 督办 nobody handled is cancelled
    (``TaskCancelled``), so it leaves the supervisors' inbox and can no longer be completed.
    """
    mine, theirs, worker = handed_over_and_chased(engine, clock)
    chase = task_of(engine, SUPERVISOR_YZ, "chase_transfer", theirs)
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, theirs)
    do(engine, REVIEWER_YZ, "review", REVIEWED, theirs)
    do(engine, HEAD_YZ, "decide", GRANTED, theirs)
    clock.advance(timedelta(hours=2))
    do(engine, REVIEWER_YZ, "issue_license", LICENSE, theirs)   # 制证, then the result is sent back
    sent_at = clock.now()

    owning = case_row(engine, theirs)
    assert owning.status == "completed" and owning.ended_at == sent_at
    assert owning.legal_due_at is None and owning.committed_due_at is None
    assert [(r.state, r.completed_at) for r in chase_rows(engine, theirs)] == [("cancelled", sent_at)]
    assert cancelled_elements(engine, theirs) == ["chase_transfer"]
    assert [t for t in engine.queries.tasks(SUPERVISOR_YZ, limit=200).items if t["case_id"] == theirs] == []
    with pytest.raises(EngineError):
        engine.handle(ClaimTask(chase["id"], SUPERVISOR_YZ))
    with pytest.raises(EngineError):
        engine.handle(CompleteTask(chase["id"], SUPERVISOR_YZ, {}))

    assert worker.sweep().delivered == 1               # the result went back to 黔江
    do(engine, WINDOW_QJ, "deliver", DELIVERED, mine)
    assert case_row(engine, mine).status == "completed"
    clock.advance(timedelta(days=60))
    TimerWorker(engine).sweep()
    view = engine.queries.case(WINDOW_YZ, theirs)
    assert view["status"] == "completed"
    assert {c["kind"]: c["light"] for c in view["clocks"]} == {"legal": "closed", "committed": "closed"}


def test_an_application_not_accepted_while_its_transfer_is_chased_completes_and_cancels_the_chase(engine, clock):
    """Rule: 不予受理 at 渝中's 到件受理 ends the owning case even while 移交超时督办 is open.

    The result (不予受理) goes back to 黔江 and the owning case is complete (README: "受理 and 不予受理 stay with
    the owning district"); the open 督办 is cancelled with it and leaves the inbox.
    """
    mine, theirs, worker = handed_over_and_chased(engine, clock)
    do(engine, WINDOW_YZ, "confirm_arrival", NOT_ACCEPTED, theirs)

    assert case_row(engine, theirs).status == "completed"
    assert [r.state for r in chase_rows(engine, theirs)] == ["cancelled"]
    assert [t for t in engine.queries.tasks(SUPERVISOR_YZ, limit=200).items if t["case_id"] == theirs] == []
    assert worker.sweep().delivered == 1
    do(engine, WINDOW_QJ, "deliver", DELIVERED, mine)
    assert case_row(engine, mine).status == "completed"


def test_a_chase_handled_before_the_decision_still_lets_both_cases_complete(engine, clock):
    """Rule: a 督办 the supervisor completed is not cancelled again; the owning case completes on the result as usual."""
    mine, theirs, worker = handed_over_and_chased(engine, clock)
    do(engine, SUPERVISOR_YZ, "chase_transfer", {"chase_opinion": "已电话督促黔江尽快寄出纸质材料"}, theirs)
    do(engine, WINDOW_YZ, "confirm_arrival", NOT_ACCEPTED, theirs)

    assert case_row(engine, theirs).status == "completed"
    assert [r.state for r in chase_rows(engine, theirs)] == ["completed"]
    assert cancelled_elements(engine, theirs) == []
    assert worker.sweep().delivered == 1
    do(engine, WINDOW_QJ, "deliver", DELIVERED, mine)
    assert case_row(engine, mine).status == "completed"
