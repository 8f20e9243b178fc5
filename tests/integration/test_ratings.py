"""好差评 through the engine on SQLite and PostgreSQL: ratings, 差评整改 in the inbox, appeals, statistics, audit."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    APPLICANT, CST, Actor, BadRequest, CompleteTask, Conflict, EngineConfig, Forbidden, InvalidInput, NotFound,
    RateCase, Replayer, bootstrap, ensure_calendar_seeded, verify_all,
)
from engine.persistence.models import Case, CaseEvent, Rating
from tests.conftest import ROOT
from tests.helpers import CLERK, GUIHUA, OUTSIDER, ZHUJIAN, deploy_shipped, open_task, recorded
from tests.rating_helpers import closed_case, receive

HEAD = Actor("head_zj", ("department_head", "reviewer"), "500103", "zhujian")
SUPERVISOR = Actor("supervisor_yz", ("supervisor",), "500103", "jiancha")
CITY_SUPERVISOR = Actor("supervisor", ("supervisor",), "500000", "jiancha")
ADMIN = Actor("admin", ("admin",), "500000", "dsj")
RECTIFIED = {"action": "rectify", "measures": "已约谈窗口人员，调整取号流程"}


def make_engine(database_url: str, clock, tmp_path: Path, **config):
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials", **config),
                    clock=clock)
    ensure_calendar_seeded(eng)
    deploy_shipped(eng)
    return eng


@pytest.fixture
def eng(database_url: str, clock, tmp_path: Path):
    """An engine with everything shipped deployed and the statutory calendar loaded."""
    engine = make_engine(database_url, clock, tmp_path)
    yield engine
    engine.close()


def events_of(eng, case_id: int) -> list[str]:
    return [e.event_type for e in eng.queries.events(case_id)]


def rate(eng, case, score: int, comment: str = "办理太慢", channel: str = "1") -> dict:
    return eng.handle(RateCase(case.case_id, APPLICANT, score, channel, comment))


def test_a_good_rating_of_a_closed_case_is_recorded_once_on_the_cases_chain_without_follow_up(eng):
    case = closed_case(eng)
    rate(eng, case, 2, "  窗口服务热情  ")
    (rating,) = eng.ratings.list(ADMIN)
    assert (rating["score"], rating["level"], rating["channel_name"], rating["comment"]) == (2, "满意", "PC端",
                                                                                          "窗口服务热情")
    assert (rating["status"], rating["source"], rating["rectification_case_id"]) == ("recorded", "applicant", None)
    assert (rating["district"], rating["department"]) == ("500103", "zhujian")   # 住建 finished last
    assert events_of(eng, case.case_id)[-2:] == ["CaseCompleted", "CaseRated"]
    assert recorded(eng.queries.events(case.case_id)[-1].payload) == {
        "rating_id": rating["id"], "score": 2, "level": "满意", "channel": "1", "comment": "窗口服务热情",
        "source": "applicant"}
    assert eng.ratings.stats(ADMIN)["by_level"][1] == {"score": 2, "level": "满意", "count": 1}
    assert all(v.ok for v in verify_all(eng))


def test_rating_refusals_are_clear_and_write_nothing(eng):
    running = receive(eng)
    with pytest.raises(Conflict) as not_closed:
        rate(eng, running, 1)
    assert not_closed.value.code == "CASE_NOT_CLOSED" and "办结" in not_closed.value.message
    case = closed_case(eng)
    for score, channel, comment, field in ((0, "1", "", "score"), (6, "1", "", "score"), (True, "1", "", "score"),
                                           ("5", "1", "x", "score"), (1, "8", "", "channel"), (1, 1, "", "channel"),
                                           (4, "1", "   ", "comment"), (2, "1", "长" * 501, "comment")):
        with pytest.raises(InvalidInput) as bad:
            eng.handle(RateCase(case.case_id, APPLICANT, score, channel, comment))
        assert bad.value.code == "RATING_INVALID" and list(bad.value.details["fields"]) == [field], (score, channel)
    with pytest.raises(NotFound):                       # a window of another district may not enter it
        eng.handle(RateCase(case.case_id, OUTSIDER, 1, "4"))
    with pytest.raises(NotFound):                       # nor may a reviewer, who is not a window
        eng.handle(RateCase(case.case_id, ZHUJIAN, 1, "4"))
    with eng.database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Rating)) == 0
    eng.handle(RateCase(case.case_id, CLERK, 1, "4"))      # entered at the 渝中 window's tablet
    with pytest.raises(Conflict) as again:
        rate(eng, case, 5)
    assert again.value.code == "ALREADY_RATED"
    (rating,) = eng.ratings.list(ADMIN)
    assert (rating["source"], rating["rated_by"], rating["channel_name"]) == ("window", "window_yz", "政务大厅平板电脑")
    assert events_of(eng, case.case_id).count("CaseRated") == 1


def test_a_bad_rating_opens_rectification_in_the_departments_inbox_due_in_15_working_days(eng):
    case = closed_case(eng)
    rate(eng, case, 5, "窗口让我跑了三趟")
    task = open_task(eng, HEAD, "rectify")
    assert task["name"] == "差评整改" and task["candidate_groups"] == ["department_head@500103/zhujian",
                                                                  "reviewer@500103/zhujian"]
    # Rated Monday 2026-11-23: 15 working days from the next day end on Monday 2026-12-14 (24:00).
    assert task["inbox_due_at"] == datetime(2026, 12, 15, tzinfo=CST)
    assert [t for t in eng.queries.tasks(GUIHUA).items if t["element_id"] == "rectify"] == []
    (rating,) = eng.ratings.list(HEAD)
    assert rating["status"] == "rectifying"
    detail = eng.ratings.get(HEAD, rating["id"])
    assert detail["rectification"]["stage"] == "整改中"
    opened = eng.queries.events(case.case_id)[-1]
    assert opened.event_type == "RectificationOpened" and opened.payload["department"] == "zhujian"
    assert opened.payload["due_at"] == "2026-12-15T00:00:00+08:00"
    assert opened.payload["rectification_case_no"] == detail["rectification"]["case_no"]


def test_the_rectification_deadline_is_configured_per_deployment(database_url, clock, tmp_path):
    eng = make_engine(database_url, clock, tmp_path, rectification_workdays=5)
    try:
        rate(eng, closed_case(eng), 4)
        assert open_task(eng, HEAD, "rectify")["inbox_due_at"] == datetime(2026, 12, 1, tzinfo=CST)  # 11-30 24:00
    finally:
        eng.close()
    with pytest.raises(ValueError, match="RECTIFICATION_WORKDAYS"):
        EngineConfig(rectification_workdays=0)


def test_rectification_then_a_revisit_settles_the_rating_and_both_cases_replay_and_verify(eng, clock):
    case = closed_case(eng)
    rate(eng, case, 4, "材料要求没有一次说清")
    clock.advance(days=2)
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify")["id"], HEAD, RECTIFIED))
    revisit = open_task(eng, SUPERVISOR, "revisit")
    assert open_task(eng, CITY_SUPERVISOR, "revisit")["id"] == revisit["id"]   # 市级监察 may act as well
    (rating,) = eng.ratings.list(SUPERVISOR)
    assert eng.ratings.get(SUPERVISOR, rating["id"])["rectification"]["stage"] == "回访中"
    eng.handle(CompleteTask(revisit["id"], SUPERVISOR, {"revisit_result": "satisfied",
                                                        "revisit_note": "电话回访，申请人表示满意"}))
    settled = eng.ratings.get(ADMIN, rating["id"])
    assert (settled["status"], settled["rectification"]["status"]) == ("rectified", "completed")
    assert events_of(eng, case.case_id)[-3:] == ["CaseRated", "RectificationOpened", "RectificationClosed"]
    closed = eng.queries.events(case.case_id)[-1]
    assert (closed.actor, closed.payload["outcome"], closed.payload["revisit_result"]) == (
        "supervisor_yz", "rectified", "satisfied")
    assert eng.ratings.stats(ADMIN)["bad"] == 1                 # a rectified 差评 still counts
    assert all(v.ok for v in verify_all(eng))
    with Replayer(eng) as replayer:
        for case_id in (case.case_id, settled["rectification"]["case_id"]):
            assert replayer.replay_case(case_id).identical


def test_a_rejected_appeal_and_an_unsatisfied_revisit_send_the_department_back_to_rectify(eng):
    case = closed_case(eng)
    rate(eng, case, 5, "审查意见前后矛盾")
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify")["id"], HEAD,
                            {"action": "appeal", "appeal_reason": "申请人对法定条件有误解"}))
    review = open_task(eng, SUPERVISOR, "appeal_review")
    eng.handle(CompleteTask(review["id"], SUPERVISOR, {"appeal_decision": "rejected",
                                                       "appeal_opinion": "审查意见确有前后不一"}))
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify_more")["id"], HEAD, {"measures": "统一审查口径"}))
    eng.handle(CompleteTask(open_task(eng, SUPERVISOR, "revisit")["id"], SUPERVISOR,
                            {"revisit_result": "unsatisfied", "revisit_note": "申请人仍不满意"}))
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify_more")["id"], HEAD, {"measures": "科长当面解释并致歉"}))
    eng.handle(CompleteTask(open_task(eng, SUPERVISOR, "revisit")["id"], SUPERVISOR,
                            {"revisit_result": "unreachable", "revisit_note": "三次电话未接通"}))
    (rating,) = eng.ratings.list(ADMIN)
    assert (rating["status"], rating["removed"]) == ("rectified", None)
    assert eng.ratings.stats(ADMIN)["bad"] == 1


def test_an_upheld_appeal_removes_the_rating_from_the_statistics_but_keeps_it_marked(eng):
    kept, appealed = closed_case(eng), closed_case(eng)
    rate(eng, kept, 1, "")
    rate(eng, appealed, 5, "与本办件无关的投诉")
    assert eng.ratings.stats(ADMIN)["bad"] == 1
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify")["id"], HEAD,
                            {"action": "appeal", "appeal_reason": "评价内容针对的是其他部门的办件"}))
    eng.handle(CompleteTask(open_task(eng, CITY_SUPERVISOR, "appeal_review")["id"], CITY_SUPERVISOR,
                            {"appeal_decision": "upheld", "appeal_opinion": "核实属误评"}))
    stats = eng.ratings.stats(ADMIN)
    assert (stats["total"], stats["good"], stats["bad"], stats["removed"], stats["good_rate"]) == (1, 1, 0, 1, 1.0)
    removed = eng.ratings.list(ADMIN, status="removed")[0]
    assert removed["case_no"] == appealed.case_no and removed["removed"]["by"] == "supervisor"
    assert removed["removed"]["reason"] == "申诉理由：评价内容针对的是其他部门的办件；复核意见：核实属误评"
    last = eng.queries.events(appealed.case_id)[-2:]
    assert [e.event_type for e in last] == ["RectificationClosed", "RatingRemoved"]
    assert last[1].payload["reason"] == removed["removed"]["reason"] and last[1].actor == "supervisor"
    assert [t for t in eng.queries.tasks(SUPERVISOR).items if t["element_id"] == "revisit"] == []
    assert all(v.ok for v in verify_all(eng))
    with Replayer(eng) as replayer:
        assert replayer.replay_case(appealed.case_id).identical


def test_statistics_follow_scope_period_and_refuse_a_reversed_range(eng, clock):
    first = closed_case(eng)
    rate(eng, first, 3, "")
    clock.advance(days=10)
    second = closed_case(eng)
    rate(eng, second, 4, "慢")
    assert eng.ratings.stats(ADMIN, since=date(2026, 12, 1))["by_level"][3]["count"] == 1
    assert eng.ratings.stats(ADMIN, until=date(2026, 11, 30))["total"] == 1
    assert eng.ratings.stats(HEAD)["total"] == 2                           # 住建 is responsible for both
    assert eng.ratings.stats(GUIHUA)["total"] == 0                         # 规划 for none
    assert eng.ratings.list(GUIHUA) == []
    with pytest.raises(NotFound):
        eng.ratings.get(GUIHUA, eng.ratings.list(ADMIN)[0]["id"])
    with pytest.raises(BadRequest) as reversed_range:
        eng.ratings.stats(ADMIN, since=date(2026, 12, 31), until=date(2026, 1, 1))
    assert reversed_range.value.code == "DATE_RANGE_INVALID"
    with pytest.raises(Forbidden):
        eng.ratings.stats(SUPERVISOR, district="500101")


def test_the_rectification_case_itself_cannot_be_rated(eng):
    case = closed_case(eng)
    rate(eng, case, 4)
    eng.handle(CompleteTask(open_task(eng, HEAD, "rectify")["id"], HEAD, RECTIFIED))
    eng.handle(CompleteTask(open_task(eng, SUPERVISOR, "revisit")["id"], SUPERVISOR,
                            {"revisit_result": "satisfied", "revisit_note": "满意"}))
    with eng.database.read_sessions() as session:
        rectification = session.scalar(select(Case.id).where(Case.process_key == "chaping_zhenggai"))
        assert session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == rectification, CaseEvent.event_type == "CaseCompleted")) == 1
    with pytest.raises(InvalidInput) as refused:
        eng.handle(RateCase(rectification, APPLICANT, 1, "1"))
    assert refused.value.code == "CASE_NOT_RATEABLE"


def test_a_bad_rating_without_the_rectification_process_deployed_is_refused_and_nothing_is_written(
        database_url, clock, tmp_path):
    from engine import DeployDefinitions, WorkflowFailed
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials"), clock=clock)
    try:
        folder = ROOT / "processes" / "parallel_approval"
        eng.handle(DeployDefinitions(tuple((p.name, p.read_bytes()) for p in (folder / "main.bpmn",
                                                                             folder / "matters.yaml")),
                                     tuple((p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form")))))
        case = closed_case(eng)
        seq = len(eng.queries.events(case.case_id))
        with pytest.raises(WorkflowFailed) as refused:
            rate(eng, case, 4)
        assert refused.value.code == "RECTIFICATION_NOT_DEPLOYED" and "tongban deploy" in refused.value.message
        assert len(eng.queries.events(case.case_id)) == seq and eng.ratings.list(ADMIN) == []
        rate(eng, case, 1, "")                     # a good rating needs no follow-up process
        assert eng.ratings.list(ADMIN)[0]["level"] == "非常满意"
    finally:
        eng.close()


def test_a_missed_rectification_deadline_raises_a_supervision_item_like_any_case(eng, clock):
    from engine import RaiseSupervision
    rate(eng, closed_case(eng), 5, "一直没人处理")
    (rating,) = eng.ratings.list(ADMIN)
    rectification = eng.ratings.get(ADMIN, rating["id"])["rectification"]
    clock.set(datetime(2026, 12, 14, 18, 0, tzinfo=CST))             # still within the last day
    eng.handle(RaiseSupervision(rectification["case_id"]))
    assert eng.queries.supervision(SUPERVISOR) == []
    clock.set(datetime(2026, 12, 15, 9, 0, tzinfo=CST))
    eng.handle(RaiseSupervision(rectification["case_id"]))
    (item,) = eng.queries.supervision(SUPERVISOR)
    assert (item["case_no"], item["kind"], item["district"]) == (rectification["case_no"], "committed_overdue",
                                                                 "500103")


def test_the_history_of_a_rated_case_shows_the_rating_and_its_state_at_the_rating_is_the_end(eng):
    case = closed_case(eng)
    rate(eng, case, 4, "等待太久")
    auditor = Actor("auditor", ("auditor",), "500000", "shenji")
    events = eng.queries.events(case.case_id)
    page = eng.history.timeline(auditor, case.case_id, limit=100)
    assert "CaseRated" in str(page) and "RectificationOpened" in str(page)
    at_rating = eng.history.state_at(auditor, case.case_id, events[-1].seq)
    at_end = eng.history.state_at(auditor, case.case_id, [e.seq for e in events
                                                           if e.event_type == "CaseCompleted"][0])
    assert (at_rating["seq"], at_rating["event_type"]) == (events[-1].seq, "RectificationOpened")
    same = {k: v for k, v in at_rating.items() if k not in ("seq", "event_type")}
    assert same == {k: v for k, v in at_end.items() if k not in ("seq", "event_type")}     # the end's state
