"""办件查询 through the engine on SQLite and PostgreSQL: plain-Chinese stages, the one-time notice, throttling.

A wrong query code and an unknown case number must cost the same work and read the same; repeated failures
lock the pair, the case number (from any address) and the address (over any case numbers).
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    CST, Actor, CompleteTask, EngineConfig, NotFound, QueryGuard, TooManyAttempts, bootstrap, ensure_calendar_seeded,
)
from engine.persistence.models import LoginAttempt
from engine.query_codes import check_query_code
from tests.conftest import ROOT
from tests.helpers import ACCEPT, CLERK, deploy_shipped
from tests.rating_helpers import closed_case, food_application, food_correction, receive, task_of

SHICHANG = Actor("reviewer_sc", ("reviewer",), "500103", "shichang")


@pytest.fixture
def eng(database_url: str, clock, tmp_path: Path):
    engine = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                    forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials"), clock=clock)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    yield engine
    engine.close()


class Counting:
    """The real constant-time check, counting how often it hashed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, code: str, stored: str) -> bool:
        self.calls += 1
        return check_query_code(code, stored)


def failures(eng) -> int:
    with eng.database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(LoginAttempt))


def refusal(call, *args) -> tuple[str, str, dict]:
    """Call ``call(*args)``, expecting a refusal; return its code, message and details."""
    with pytest.raises((NotFound, TooManyAttempts)) as refused:
        call(*args)
    return refused.value.code, refused.value.message, refused.value.details


def test_an_unknown_case_number_and_a_wrong_code_do_the_same_work_and_get_the_same_answer(eng):
    case = receive(eng)
    check = Counting()
    guard = QueryGuard(eng.services.uow, eng.clock, check=check)
    unknown = refusal(lambda: guard.verify("TB20991231999999", case.query_code, "10.0.0.1"))
    assert (check.calls, failures(eng)) == (1, 1)          # hashed although no case has that number
    wrong = refusal(lambda: guard.verify(case.case_no, "ZZZZZZZZ", "10.0.0.1"))
    assert (check.calls, failures(eng)) == (2, 2)
    assert unknown == wrong == ("QUERY_CODE_MISMATCH", "办件编号或查询码不正确", {})
    assert guard.verify(f" {case.case_no.lower()} ", case.query_code.lower(), "10.0.0.1") == case.case_id
    assert check.calls == 3


def test_five_failures_lock_the_pair_with_the_time_left_then_it_opens_again(eng, clock):
    case = receive(eng)
    guard = eng.applicants.guard
    for _ in range(5):
        assert refusal(lambda: guard.verify(case.case_no, "WRONG", "10.0.0.2"))[0] == "QUERY_CODE_MISMATCH"
    code, message, details = refusal(lambda: guard.verify(case.case_no, case.query_code, "10.0.0.2"))
    assert (code, details, message) == ("TOO_MANY_ATTEMPTS", {"retry_after": 900}, "查询失败次数过多，请 15 分钟后再试")
    clock.advance(minutes=5)
    assert refusal(lambda: guard.verify(case.case_no, case.query_code, "10.0.0.2"))[2] == {"retry_after": 600}
    assert failures(eng) == 5                              # a refused try is not counted again
    assert guard.verify(case.case_no, case.query_code, "10.0.0.3") == case.case_id   # another address may
    clock.advance(minutes=10, seconds=1)
    assert guard.verify(case.case_no, case.query_code, "10.0.0.2") == case.case_id


def test_a_success_clears_the_pairs_failures(eng):
    case = receive(eng)
    guard = eng.applicants.guard
    for _ in range(4):
        refusal(lambda: guard.verify(case.case_no, "WRONG", "10.0.0.4"))
    guard.verify(case.case_no, case.query_code, "10.0.0.4")
    for _ in range(4):
        assert refusal(lambda: guard.verify(case.case_no, "WRONG", "10.0.0.4"))[0] == "QUERY_CODE_MISMATCH"


def test_ten_failures_from_any_addresses_lock_the_case_number(eng):
    case = receive(eng)
    guard = eng.applicants.guard
    for address, tries in (("10.1.0.1", 4), ("10.1.0.2", 4), ("10.1.0.3", 2)):
        for _ in range(tries):
            refusal(guard.verify, case.case_no, "WRONG", address)
    assert refusal(lambda: guard.verify(case.case_no, case.query_code, "10.1.0.9"))[0] == "TOO_MANY_ATTEMPTS"
    other = receive(eng)
    assert guard.verify(other.case_no, other.query_code, "10.1.0.9") == other.case_id


def test_twenty_failures_over_any_case_numbers_lock_the_address(eng):
    case = receive(eng)
    guard = eng.applicants.guard
    for n in range(20):
        refusal(guard.verify, f"TB20260101{n:06d}", "WRONG", "10.2.0.1")
    assert refusal(lambda: guard.verify(case.case_no, case.query_code, "10.2.0.1"))[0] == "TOO_MANY_ATTEMPTS"
    assert guard.verify(case.case_no, case.query_code, "10.2.0.2") == case.case_id


def step(eng, actor, case_id, element, data) -> None:
    eng.handle(CompleteTask(task_of(eng, actor, element, case_id)["id"], actor, data))


def test_the_applicant_follows_a_permit_through_its_stages_and_sees_the_one_time_notice(eng, clock):
    food = food_application(eng)
    case_id, case_no, code = food
    look = lambda: eng.applicants.lookup(case_no, code, "10.3.0.1")  # noqa: E731
    view = look()
    assert (view["stage"], view["stage_label"], view["next_step"]) == ("received", "已收件", "收件")
    assert [(d["label"], d["started"], d["rule"]) for d in view["deadlines"]] == [
        ("承诺办结期限", False, "受理之日起 5 个工作日"), ("法定办结期限", False, "受理之日起 20 个工作日")]
    food_correction(eng, food)
    view = look()
    assert (view["stage"], view["stage_label"]) == ("correction", "待补正")
    assert view["next_step"] == "补齐材料后交到收件窗口"
    assert view["notice"]["notice_no"] == "渝中补〔2026〕07 号" and view["notice"]["kind_label"] == "补正"
    assert view["notice"]["items"] == [{"name": "经营场所平面布局图", "requirement": "标明操作间面积"},
                                       {"name": "健康证明", "requirement": ""}]
    clock.advance(days=1)
    step(eng, CLERK, case_id, "receive_correction", {"correction_complete": "complete", "correction_note": "已补齐"})
    assert (look()["stage"], look()["notice"]) == ("received", None)       # materials in, 受理 pending
    step(eng, CLERK, case_id, "accept_corrected", {"receipt_no": "渝中受〔2026〕0007 号"})
    view = look()
    assert (view["stage"], view["stage_label"], view["next_step"]) == ("accepted", "已受理", "审查")
    committed = view["deadlines"][0]
    assert (committed["started"], committed["due_date"], committed["left"]) == (True, "2026-12-01", 5)
    step(eng, SHICHANG, case_id, "review", {"review_result": {"conclusion": "meets", "opinion": "符合",
                                                              "site_checked": True}})
    view = look()
    assert (view["stage"], view["stage_label"], view["next_step"], view["can_rate"]) == (
        "reviewing", "审查中", "许可决定", False)
    dumped = json.dumps(view, ensure_ascii=False, default=str)
    assert "重庆某餐饮管理有限公司" not in dumped and "13800138000" not in dumped and "91500103MA5U1234XJ" not in dumped


def test_a_closed_case_shows_its_result_and_invites_a_rating_once(eng):
    case = closed_case(eng)
    view = eng.applicants.lookup(case.case_no, case.query_code, "10.4.0.1")
    assert (view["stage_label"], view["result"], view["can_rate"], view["rating"]) == ("已办结", "办结", True, None)
    assert view["deadlines"] == [] and view["hint"] == "办件已办结。"
    rated = eng.applicants.rate(case.case_no, case.query_code, "10.4.0.1", score=1, channel="2", comment="")
    assert (rated["can_rate"], rated["rating"]["level"], rated["rating"]["channel_name"]) == (False, "非常满意",
                                                                                              "移动服务端")
    with pytest.raises(NotFound):                # the code is checked before anything else
        eng.applicants.rate(case.case_no, "WRONG", "10.4.0.1", score=1, channel="2")


def test_a_due_date_in_a_year_whose_holidays_are_not_published_is_told_as_provisional(eng, clock):
    """Staff see ``status: provisional``; the applicant is told the date may still move."""
    clock.set(datetime(2026, 12, 14, 10, tzinfo=CST))
    case = receive(eng)
    eng.handle(CompleteTask(task_of(eng, CLERK, "accept", case.case_id)["id"], CLERK, ACCEPT))
    view = eng.applicants.lookup(case.case_no, case.query_code, "10.5.0.1")
    by_kind = {d["kind"]: d for d in view["deadlines"]}
    assert by_kind["legal"]["due_date"].startswith("2027-") and by_kind["legal"]["provisional"] is True
    assert by_kind["committed"]["due_date"].startswith("2026-") and by_kind["committed"]["provisional"] is False
