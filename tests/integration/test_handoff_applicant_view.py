"""办件查询 of an 异地代收代办 application follows the owning district's case once it was handed over.

The applicant holds the receiving window's query code, yet 受理, the clocks, an extension and a 特别程序 are
the owning district's (渝府办发〔2022〕25号: 受理 stays with the 业务属地; 行政许可法第四十二条: the applicant is
told the extension and its reason). The application is rated once, on either case.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine import (
    DecideExtension, EngineConfig, MessageWorker, RateCase, RequestExtension, ResumeClock, SuspendClock, bootstrap,
    ensure_calendar_seeded,
)
from engine.persistence.models import Case
from tests import handoff_helpers as h
from tests.conftest import ROOT


@pytest.fixture
def eng(database_url: str, clock, tmp_path: Path):
    engine = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                    forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials"), clock=clock)
    ensure_calendar_seeded(engine)
    yield engine
    engine.close()


def test_the_applicant_sees_the_owning_districts_acceptance_clocks_extension_and_pause(eng):
    h.setup(eng)
    head = h.HEAD_YZ
    eng.identity.create_user(head.username, display_name="科长", roles=head.roles, district=head.district,
                             department=head.department)
    received = h.receive(eng)
    mine, look = received.case.case_id, lambda: eng.applicants.lookup(  # noqa: E731
        received.case.case_no, received.query_code, "10.9.0.1")
    h.verify_at_qianjiang(eng, mine)
    worker = MessageWorker(eng)
    assert worker.sweep().delivered == 1
    with eng.database.read_sessions() as session:
        theirs = session.scalars(select(Case.id).where(Case.id != mine)).one()

    handed = look()      # 渝中 has not decided yet whether to accept: not 已受理
    assert (handed["stage"], handed["next_step"]) == ("received", "到件受理")
    assert "业务属地" in handed["hint"] and handed["status"] == "running"
    assert [d["started"] for d in handed["deadlines"]] and not any(d["started"] for d in handed["deadlines"])

    h.do(eng, h.WINDOW_YZ, "confirm_arrival", h.ARRIVED, theirs)
    request = eng.handle(RequestExtension(theirs, h.WINDOW_YZ, 10, "需现场勘验排水口", told_to_applicant=True))
    eng.handle(DecideExtension(request["id"], h.HEAD_YZ, approve=True, comment="同意延长"))
    eng.handle(SuspendClock(theirs, h.WINDOW_YZ, "special_procedure", "专家评审排水方案", procedure="专家评审",
                            expected_days=5))
    paused = look()
    legal = next(d for d in paused["deadlines"] if d["kind"] == "legal")
    assert paused["stage"] == "special"
    assert (legal["started"], legal["paused"], legal["extended_days"], legal["extension_reason"]) == (
        True, True, 10, "需现场勘验排水口")
    with eng.database.read_sessions() as session:
        owning = session.get(Case, theirs)
    assert paused["committed_due_at"] == owning.committed_due_at

    eng.handle(ResumeClock(theirs, h.WINDOW_YZ))
    assert look()["stage"] == "accepted"
    h.do(eng, h.REVIEWER_YZ, "review", h.REVIEWED, theirs)
    assert (look()["stage"], look()["next_step"]) == ("reviewing", "许可决定")
    h.do(eng, h.HEAD_YZ, "decide", h.GRANTED, theirs)
    h.do(eng, h.REVIEWER_YZ, "issue_license", h.LICENSE, theirs)
    decided = look()     # decided in 渝中; the result travels back to the 黔江 window, which delivers it
    assert (decided["stage"], decided["deadlines"], decided["can_rate"]) == ("delivering", [], False)
    assert worker.sweep().delivered == 1
    assert look()["next_step"] == "送达"
    h.do(eng, h.WINDOW_QJ, "deliver", h.DELIVERED, mine)
    closed = look()
    assert (closed["stage"], closed["can_rate"], closed["rating"]) == ("completed", True, None)

    # Rated on the owning case (at the 渝中 window's tablet): the applicant is no longer invited to rate.
    eng.handle(RateCase(theirs, h.WINDOW_YZ, 1, "5"))
    rated = look()
    assert (rated["can_rate"], rated["rating"]["score"]) == (False, 1)


def test_before_the_handoff_the_view_is_the_receiving_windows_own(eng):
    h.setup(eng)
    received = h.receive(eng)
    view = eng.applicants.lookup(received.case.case_no, received.query_code, "10.9.0.2")
    assert (view["stage"], view["next_step"], view["deadlines"]) == ("received", "身份核验", [])
