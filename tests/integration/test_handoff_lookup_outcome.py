"""异地代收代办: 办件查询 tells the applicant the outcome once 黔江 has delivered it, on SQLite and PostgreSQL.

The receiving leg (``yidi_shoujian``) ends at one end event per outcome after 送达 (不予受理, 不予许可, 准予许可),
so the result the applicant reads is the decision 渝中 made, not a single 办结 for every outcome.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import MessageWorker
from engine.persistence.models import Case
from tests.handoff_helpers import (
    ARRIVED, COMPLETE, DELIVERED, GRANTED, HANDOFF, HEAD_YZ, IDENTITY, LICENSE, ORIGINALS, REVIEWED, REVIEWER_YZ,
    WINDOW_QJ, WINDOW_YZ, do, receive, setup,
)

NOT_ACCEPTED = {**ARRIVED, "arrival_result": "reject", "arrival_note": "申请事项不属于本机关职权范围",
                "not_accepted_basis": "《行政许可法》第三十二条第一款第二项"}
REFUSED = {"decision": "refuse", "decision_opinion": "预处理设施不符合排放要求",
           "decision_basis": "《城镇排水与污水处理条例》第二十一条"}


def handed_over(engine):
    """黔江 receives, verifies and hands over; the message reaches 渝中. Returns (intake result, both case ids)."""
    setup(engine)
    received = receive(engine)
    mine = received.case.case_id
    do(engine, WINDOW_QJ, "verify_identity", IDENTITY, mine)
    do(engine, WINDOW_QJ, "verify_original", ORIGINALS, mine)
    do(engine, WINDOW_QJ, "formal_review", COMPLETE, mine)
    do(engine, WINDOW_QJ, "handoff", HANDOFF, mine)
    assert MessageWorker(engine).sweep().delivered == 1
    with engine.database.read_sessions() as session:
        theirs = session.scalars(select(Case.id).where(Case.id != mine)).one()
    return received, mine, theirs


def decide_not_accepted(engine, theirs: int) -> None:
    do(engine, WINDOW_YZ, "confirm_arrival", NOT_ACCEPTED, theirs)


def decide_refused(engine, theirs: int) -> None:
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, theirs)
    do(engine, REVIEWER_YZ, "review", REVIEWED, theirs)
    do(engine, HEAD_YZ, "decide", REFUSED, theirs)


def decide_granted(engine, theirs: int) -> None:
    do(engine, WINDOW_YZ, "confirm_arrival", ARRIVED, theirs)
    do(engine, REVIEWER_YZ, "review", REVIEWED, theirs)
    do(engine, HEAD_YZ, "decide", GRANTED, theirs)
    do(engine, REVIEWER_YZ, "issue_license", LICENSE, theirs)


def test_the_applicant_is_told_an_application_the_owning_district_did_not_accept_was_not_accepted(engine):
    """Rule: 办件查询 says 不予受理 when 渝中's 到件受理 refused the application and 黔江 delivered that decision.

    README 「办件查询」: the stage 已办结 comes "with the end event reached as the result, e.g. 不予受理", and an
    异地代收代办 application "once handed over the view is the owning district's case, which accepts, reviews
    and decides". A single 「办结（已送达）」 for every outcome told a refused applicant the same as a granted one.
    """
    received, mine, theirs = handed_over(engine)
    decide_not_accepted(engine, theirs)
    assert MessageWorker(engine).sweep().delivered == 1
    do(engine, WINDOW_QJ, "deliver", DELIVERED, mine)

    view = engine.applicants.lookup(received.case.case_no, received.query_code, "10.9.0.3")
    assert view["stage"] == "completed"
    assert view["result"] is not None and "不予受理" in view["result"], view["result"]


@pytest.mark.parametrize(("decide", "result"), [
    (decide_not_accepted, "不予受理（已送达）"),
    (decide_refused, "不予许可（已送达）"),
    (decide_granted, "准予许可（已送达）"),
], ids=["not_accepted", "refused", "granted"])
def test_the_lookup_names_each_outcome_the_receiving_window_delivered(engine, decide, result):
    """Rule: after 送达 the result in 办件查询 is the outcome 渝中 decided: 不予受理, 不予许可 or 准予许可.

    The receiving leg ends at the end event of the outcome carried by the result message (``outcome``), and
    the lookup reads the end event reached (README 「办件查询」).
    """
    received, mine, theirs = handed_over(engine)
    decide(engine, theirs)
    assert MessageWorker(engine).sweep().delivered == 1
    before = engine.applicants.lookup(received.case.case_no, received.query_code, "10.9.0.3")
    assert (before["stage"], before["result"]) == ("delivering", None)
    do(engine, WINDOW_QJ, "deliver", DELIVERED, mine)

    view = engine.applicants.lookup(received.case.case_no, received.query_code, "10.9.0.3")
    assert (view["stage"], view["stage_label"], view["result"]) == ("completed", "已办结", result)
