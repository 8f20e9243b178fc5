"""异地代收代办: the one-time 补正 notice and 受理 across the handoff, on SQLite and PostgreSQL.

黔江 (500114) receives 渝中's (500103) application under a grant. The notice 黔江 gives under its 一次性告知权 is
the application's one notice, also in 渝中's case; and only a 形式审查 that found the application complete is the
收件地受理 a ``clock_starts: receiving`` matter counts from: an incomplete one leaves 受理 to 渝中's 到件受理.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import MessageWorker, NoticeAlreadyGiven, Replayer, SuspendClock, TimerWorker
from engine.persistence.models import Case, CaseEvent
from tests.handoff_helpers import (
    ARRIVED, CODE_RECEIVING_CLOCK, COMPLETE, CORRECTED, HANDOFF, IDENTITY, INCOMPLETE, NOTICE, ORIGINALS, WINDOW_QJ,
    WINDOW_YZ, do, receive, setup,
)

WITHOUT_NOTIFY = ("receive", "formal_review", "verify_original", "deliver")
FOOD_ORIGINALS = {"verified_materials": "commitment_letter", "original_note": "告知承诺书原件与扫描件一致"}


def owning_case(engine, receiving_id: int) -> Case:
    with engine.database.read_sessions() as session:
        return session.scalars(select(Case).where(Case.id != receiving_id).order_by(Case.id.desc())).first()


def events(engine, case_id: int, kind: str | None = None) -> list[CaseEvent]:
    with engine.database.read_sessions() as session:
        return [e for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                           .order_by(CaseEvent.seq)) if kind is None or e.event_type == kind]


def told_at_qianjiang_then_handed_over(engine, clock=None) -> int:
    """黔江 gives the notice, receives the 补正, finds it still incomplete and hands it over; the 黔江 case's id."""
    setup(engine)
    mine = receive(engine).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, mine)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, mine)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, mine)
    do(engine, WINDOW_QJ, "notify", NOTICE, mine)                      # the one-time notice, at the 黔江 window
    if clock is not None:
        clock.advance(timedelta(days=1))                               # Tue 11-24: the applicant brings the 补正
    do(engine, WINDOW_QJ, "receive_correction", CORRECTED, mine)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, mine)           # still incomplete: handed over untold
    do(engine, WINDOW_QJ, "handoff", HANDOFF, mine)
    if clock is not None:
        clock.advance(timedelta(days=1))                               # Wed 11-25: it arrives in 渝中
    assert MessageWorker(engine).sweep().delivered == 1
    return mine


def test_the_owning_district_cannot_give_a_second_one_time_notice_after_the_receiving_window_gave_it(engine):
    """The notice 黔江 gave under its 一次性告知权 is the application's one notice (行政许可法 第三十二条第一款第四项):
    渝中 may not tell the applicant again before its 到件受理. A ``correction`` suspend there is 409
    ``NOTICE_ALREADY_GIVEN``, naming the day 黔江 gave it, and writes nothing.
    """
    mine = told_at_qianjiang_then_handed_over(engine)
    theirs = owning_case(engine, mine).id
    before = [e.event_type for e in events(engine, theirs)]

    with pytest.raises(NoticeAlreadyGiven) as refused:
        engine.handle(SuspendClock(theirs, WINDOW_YZ, "correction", "请补正预处理设施的运行情况说明"))
    assert refused.value.details["notice_date"] == "2026-11-23"
    assert [e.event_type for e in events(engine, theirs)] == before    # and nothing is written


def test_a_notice_given_at_the_receiving_window_keeps_the_owning_case_from_being_deemed_accepted(engine, clock):
    """A notice given in time stops 第三十二条's deemed acceptance, also when the receiving window gave it: the
    owning case counts the window from the application's receipt at 黔江 (the receipt the notice answered), so
    the worker does not start its clocks when 5 working days pass, and 渝中's 到件受理 is T0 (not deemed). Replay
    rebuilds the same case from the recorded handoff.
    """
    mine = told_at_qianjiang_then_handed_over(engine, clock)
    theirs = owning_case(engine, mine).id
    clock.advance(timedelta(days=8))                                   # Thu 12-03: 6 working days after arrival
    TimerWorker(engine).sweep()
    assert events(engine, theirs, "ClocksStarted") == []               # waiting for 渝中's 受理, not deemed

    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, theirs)
    [started] = events(engine, theirs, "ClocksStarted")
    legal = started.payload["clocks"]["legal"]
    assert (legal["t0"], legal["deemed"]) == ("2026-12-03", False)
    assert "已于 2026-11-23 一次性告知补正" in legal["explanation"] and "收件日 2026-11-23" in legal["explanation"]
    with Replayer(engine) as replayer:
        result = replayer.replay_case(theirs)
    assert result.identical, result.divergence


def test_an_application_handed_over_incomplete_is_not_accepted_before_the_owning_districts_arrival(engine, clock):
    """Only a 形式审查 that found the application complete is the 收件地受理 a ``clock_starts: receiving`` matter
    (食品经营许可) counts from. One that found it incomplete (no 告知权 here) accepted nothing: 受理 and 不予受理 stay
    with the owning district (渝府办发〔2022〕25号), so the owning case opens not accepted, with its clocks waiting
    for its 到件受理, which starts them.
    """
    setup(engine, rights=WITHOUT_NOTIFY, code=CODE_RECEIVING_CLOCK)
    mine = receive(engine, code=CODE_RECEIVING_CLOCK).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, mine)
    do(engine, WINDOW_QJ, "verify_original", FOOD_ORIGINALS, mine)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, mine)           # not accepted at the window
    do(engine, WINDOW_QJ, "handoff", HANDOFF, mine)
    assert MessageWorker(engine).sweep().delivered == 1

    owning = owning_case(engine, mine)
    assert owning.accepted_at is None
    assert owning.legal_due_at is None and owning.committed_due_at is None
    assert events(engine, owning.id, "ClocksStarted") == []

    clock.advance(timedelta(days=1))                                   # Tue 11-24: 渝中 accepts it
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, owning.id)
    [started] = events(engine, owning.id, "ClocksStarted")
    assert started.payload["clocks"]["legal"]["t0"] == "2026-11-24"
    assert owning_case(engine, mine).accepted_at == clock.now()


def test_the_complete_formal_review_after_a_correction_is_the_receiving_acceptance(engine, clock):
    """The 收件地受理 is the receiving window's last 形式审查 when it found the application complete: after a notice
    and its 补正, that is the review that followed the 补正, not the first one that asked for it.
    """
    setup(engine, code=CODE_RECEIVING_CLOCK)
    mine = receive(engine, code=CODE_RECEIVING_CLOCK).case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, mine)
    do(engine, WINDOW_QJ, "verify_original", FOOD_ORIGINALS, mine)
    do(engine, WINDOW_QJ, "formal_review", INCOMPLETE, mine)
    do(engine, WINDOW_QJ, "notify", NOTICE, mine)
    clock.advance(timedelta(days=2))                                   # Wed 11-25: the 补正 comes, complete
    do(engine, WINDOW_QJ, "receive_correction", CORRECTED, mine)
    do(engine, WINDOW_QJ, "formal_review", COMPLETE, mine)
    do(engine, WINDOW_QJ, "handoff", HANDOFF, mine)
    clock.advance(timedelta(days=1))
    assert MessageWorker(engine).sweep().delivered == 1

    owning = owning_case(engine, mine)
    [started] = events(engine, owning.id, "ClocksStarted")
    assert started.payload["clocks"]["legal"]["t0"] == "2026-11-25"
    assert owning.accepted_at is not None and owning.legal_due_at is not None
