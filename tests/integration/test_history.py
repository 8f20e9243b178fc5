"""The auditors' case history on SQLite and PostgreSQL: timeline, path with loops, clocks, state by replay."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from app import create_app
from app.runtime import set_engine
from engine import (
    CST, Actor, CompleteTask, Conflict, DeployDefinitions, Forbidden, ManualClock, NotFound, ResumeClock, ReturnTask,
    StartCase, SuspendClock, ensure_calendar_seeded,
)
from tests.conftest import DATA
from tests.helpers import (
    ACCEPT, APPROVE, CLERK, GUIHUA, OUTSIDER, XIAOFANG, ZHUJIAN, count_statements, deploy_shipped, open_task,
)
from tests.integration.test_replay import tamper

AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
SUPERVISOR = Actor("super_yz", ("supervisor",), "500103", "jiancha")
DESIGNER = Actor("designer", ("designer",), "500000", "dsj")
ID_NUMBER = "500103198506120317"


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-03-05 10:00 CST (a loaded calendar year, no holiday in the weeks that follow)."""
    return ManualClock(datetime(2026, 3, 5, 10, 0, tzinfo=CST))


@pytest.fixture
def looped(engine, clock):
    """受理, 退回 from 住建审查, a 补正 pause of two working days, 受理 again, all three reviews: case closed."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    for actor, name in ((CLERK, "渝中窗口"), (ZHUJIAN, "渝中住建审查"), (GUIHUA, "渝中规划审查"),
                        (XIAOFANG, "渝中消防审查")):
        engine.identity.create_user(actor.username, display_name=name, roles=actor.roles, district=actor.district,
                                    department=actor.department)
    ref = engine.handle(StartCase("parallel_approval", CLERK, data={
        "applicant": "张三", "applicant_id_number": ID_NUMBER}, title="某项目施工许可"))
    clock.advance(hours=1)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    clock.set(datetime(2026, 3, 6, 10, 0, tzinfo=CST))
    engine.handle(ReturnTask(open_task(engine, ZHUJIAN, "review_zhujian")["id"], ZHUJIAN, "缺少土地证明"))
    engine.handle(SuspendClock(ref.case_id, CLERK, "correction", "申请人补正土地证明"))
    clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=CST))
    engine.handle(ResumeClock(ref.case_id, CLERK))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        clock.advance(hours=1)
        engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor, APPROVE))
    return ref


def seq_of(engine, case_id: int, event_type: str, element_id: str | None = None, nth: int = 0) -> int:
    found = [e.seq for e in engine.queries.events(case_id)
             if e.event_type == event_type and (element_id is None or e.element_id == element_id)]
    return found[nth]


def test_the_path_counts_the_return_loop_and_the_record_is_intact(engine, looped):
    overview = engine.history.overview(AUDITOR, looped.case_id)
    path = {step["element_id"]: (step["name"], step["count"]) for step in overview.path}
    assert path == {"start": ("收件", 1), "accept": ("受理", 2), "accepted_gw": ("是否受理", 2),
                    "split": ("并联审查", 2), "review_zhujian": ("住建部门审查", 2),
                    "review_guihua": ("规划部门审查", 2), "review_xiaofang": ("消防部门审查", 2),
                    "record_zhujian": ("记录住建部门结论", 1), "record_guihua": ("记录规划部门结论", 1),
                    "record_xiaofang": ("记录消防部门结论", 1), "join": ("汇总", 1),
                    "all_agreed_gw": ("是否全部同意", 1), "end_done": ("办结", 1)}
    assert "end_rejected" not in path
    assert overview.integrity.ok and overview.integrity.checked == overview.case["event_count"]
    assert (overview.case["status"], overview.case["definition_version"]) == ("completed", 1)


def test_the_timeline_names_actor_district_element_and_both_clocks_at_each_event(engine, looped):
    page = engine.history.timeline(AUDITOR, looped.case_id, limit=500)
    assert [e["seq"] for e in page.events] == list(range(1, len(engine.queries.events(looped.case_id)) + 1))
    assert page.next_after is None
    by_seq = {e["seq"]: e for e in page.events}
    returned = by_seq[seq_of(engine, looped.case_id, "TaskReturned")]
    assert returned["actor"] == {"username": ZHUJIAN.username, "display_name": "渝中住建审查", "district": "500103"}
    assert (returned["element_id"], returned["element_name"]) == ("review_zhujian", "住建部门审查")
    assert returned["details"] == {"to_element_id": "accept", "reason": "缺少土地证明"}
    completed = by_seq[seq_of(engine, looped.case_id, "TaskCompleted", "review_guihua")]
    assert completed["data"] == APPROVE and completed["details"] == {}
    passed = by_seq[seq_of(engine, looped.case_id, "FlowAdvanced", nth=1)]
    assert passed["passed"] == [{"element_id": "accepted_gw", "name": "是否受理"},
                                {"element_id": "split", "name": "并联审查"}]

    def clocks(event_type: str, nth: int = 0) -> dict:
        return {c["kind"]: c for c in by_seq[seq_of(engine, looped.case_id, event_type, nth=nth)]["clocks"]}
    assert {c["state"] for c in clocks("CaseStarted").values()} == {"not_started"}
    assert (clocks("ClocksStarted")["legal"]["state"], clocks("ClocksStarted")["legal"]["left"]) == ("running", 20)
    paused = clocks("ClockPaused")
    assert (paused["legal"]["state"], paused["committed"]["state"]) == ("paused", "paused")
    assert (paused["legal"]["used"], paused["legal"]["left"]) == (1, 19)
    resumed = clocks("ClockResumed")                   # 03-06 and 03-09 stood still: still 1 used, 19 left
    assert (resumed["legal"]["state"], resumed["legal"]["used"], resumed["legal"]["left"]) == ("running", 1, 19)
    assert resumed["legal"]["due_date"] == "2026-04-07"     # 03-05 + 20 working days is 04-02; +2, 清明 skipped
    final = clocks("CaseCompleted")
    assert {c["state"] for c in final.values()} == {"stopped"}


def test_pages_follow_each_other_without_gaps_and_cost_the_same_queries_whatever_their_size(engine, looped):
    seen, after = [], 0
    while after is not None:
        page = engine.history.timeline(AUDITOR, looped.case_id, after=after, limit=7)
        seen += [e["seq"] for e in page.events]
        after = page.next_after
    assert seen == list(range(1, len(engine.queries.events(looped.case_id)) + 1))
    engine.history.timeline(AUDITOR, looped.case_id, limit=2)     # definition parsed and cached
    with count_statements(engine) as small:
        engine.history.timeline(AUDITOR, looped.case_id, limit=2)
    with count_statements(engine) as large:
        engine.history.timeline(AUDITOR, looped.case_id, limit=500)
    assert len(small) == len(large) <= 5, large


def test_the_state_as_of_the_return_is_rebuilt_by_replay(engine, looped):
    returned = seq_of(engine, looped.case_id, "TaskReturned")
    state = engine.history.state_at(AUDITOR, looped.case_id, returned)
    assert (state["seq"], state["event_type"], state["element_name"]) == (returned, "TaskReturned", "住建部门审查")
    assert state["through_seq"] == seq_of(engine, looped.case_id, "TaskCreated", "accept", nth=1)
    assert [(t["element_id"], t["state"]) for t in state["tasks"]] == [
        ("accept", "completed"), ("review_zhujian", "cancelled"), ("review_guihua", "cancelled"),
        ("review_xiaofang", "cancelled"), ("accept", "open")]
    recorded = {e.task_id for e in engine.queries.events(looped.case_id) if e.event_type == "TaskCreated"}
    assert {t["task_id"] for t in state["tasks"]} <= recorded          # the record's task ids, not the replay's
    assert state["tasks"][0]["completed_by_name"] == "渝中窗口"
    # 退回 reopened 受理 with the data it saw then: the decision made at the first 受理 is gone again.
    assert "decision" not in state["data"] and state["data"]["applicant_id_number"] == ID_NUMBER
    accepted = engine.history.state_at(AUDITOR, looped.case_id, seq_of(engine, looped.case_id, "TaskCompleted"))
    assert accepted["data"]["decision"] == "accept"
    assert state["status"] == "running"
    final = engine.history.state_at(AUDITOR, looped.case_id, engine.queries.case(AUDITOR, looped.case_id)["event_count"])
    assert final["status"] == "completed" and {t["state"] for t in final["tasks"]} == {"completed", "cancelled"}


def test_the_replayed_clocks_agree_with_the_timeline_while_suspended(engine, looped):
    paused = seq_of(engine, looped.case_id, "ClockPaused")
    state = engine.history.state_at(AUDITOR, looped.case_id, paused)
    row = next(e for e in engine.history.timeline(AUDITOR, looped.case_id, after=paused - 1, limit=1).events)
    assert state["clocks"] == row["clocks"]
    assert {c["state"] for c in state["clocks"]} == {"paused"}


def test_id_numbers_are_masked_for_supervisors_and_staff_but_not_for_auditors(engine, looped):
    def started_data(actor: Actor) -> dict:
        return engine.history.timeline(actor, looped.case_id, limit=1).events[0]["data"]
    assert started_data(AUDITOR)["applicant_id_number"] == ID_NUMBER
    assert started_data(SUPERVISOR)["applicant_id_number"] == "5001**********0317"
    assert started_data(ZHUJIAN)["applicant_id_number"] == "5001**********0317"
    state = engine.history.state_at(ZHUJIAN, looped.case_id, 5)
    assert state["data"]["applicant_id_number"] == "5001**********0317"
    assert ID_NUMBER not in repr(engine.history.timeline(SUPERVISOR, looped.case_id, limit=500))


def test_who_may_read_a_history_and_what_is_refused(engine, looped):
    with pytest.raises(Forbidden) as forbidden:
        engine.history.overview(DESIGNER, looped.case_id)
    assert forbidden.value.code == "HISTORY_FORBIDDEN"
    with pytest.raises(NotFound) as hidden:
        engine.history.timeline(OUTSIDER, looped.case_id)         # another district's clerk: as if absent
    assert hidden.value.code == "CASE_NOT_FOUND"
    with pytest.raises(NotFound) as unknown:
        engine.history.state_at(AUDITOR, 99999, 1)
    assert unknown.value.code == "CASE_NOT_FOUND"
    count = engine.queries.case(AUDITOR, looped.case_id)["event_count"]
    for seq in (0, count + 1):
        with pytest.raises(NotFound) as missing:
            engine.history.state_at(AUDITOR, looped.case_id, seq)
        assert missing.value.code == "EVENT_NOT_FOUND" and f"共有 {count} 条事件" in missing.value.message
    assert engine.history.timeline(ZHUJIAN, looped.case_id, limit=1).events      # staff who worked it may


def test_a_tampered_record_shows_its_broken_link_and_refuses_a_state_it_cannot_vouch_for(
        engine, looped, database_url):
    accepted = seq_of(engine, looped.case_id, "TaskCompleted", "accept")
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = :s",
           {"p": '{"data": {"decision": "reject", "opinion": "不予受理", "materials_complete": false}}',
            "c": looped.case_id, "s": accepted})
    overview = engine.history.overview(AUDITOR, looped.case_id)
    assert (overview.integrity.ok, overview.integrity.broken_seq) == (False, accepted)
    assert "内容被修改" in overview.integrity.reason
    with pytest.raises(Conflict) as refused:
        engine.history.state_at(AUDITOR, looped.case_id, accepted + 2)
    assert refused.value.code == "STATE_UNAVAILABLE" and "无法重建" in refused.value.message
    assert engine.history.state_at(AUDITOR, looped.case_id, 2)["seq"] == 2      # before it, replay still agrees


def test_a_long_loop_lists_the_round_count_on_its_task(engine):
    engine.handle(DeployDefinitions((("loop.bpmn", (DATA / "processes" / "loop.bpmn").read_bytes()),)))
    case_id = engine.handle(StartCase("loop", CLERK)).case_id
    reviewer = Actor("rv", ("reviewer",), "500103")
    for round_no in range(12):
        engine.handle(CompleteTask(open_task(engine, reviewer, "work")["id"], reviewer,
                                   {"round": round_no, "done": round_no == 11}))
    path = {step["element_id"]: step["count"] for step in engine.history.overview(AUDITOR, case_id).path}
    assert path["work"] == 12


def test_the_cli_prints_the_history_and_a_state_with_id_numbers_masked(engine, looped, database_url):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    cli = app.test_cli_runner()
    case_no = engine.queries.case(AUDITOR, looped.case_id)["case_no"]
    printed = cli.invoke(args=["history", case_no])
    assert printed.exit_code == 0, printed.output
    lines = printed.output.splitlines()
    assert lines[0].startswith(f"办件 {case_no}（parallel_approval 第 1 版）：记录完整")
    assert "受理×2" in lines[1] and "住建部门审查×2" in lines[1]
    returned = seq_of(engine, looped.case_id, "TaskReturned")
    assert any(line.startswith(f"#{returned} ") and "退回  住建部门审查  渝中住建审查（500103）" in line for line in lines)
    assert "5001**********0317" in printed.output and ID_NUMBER not in printed.output
    state = cli.invoke(args=["history", str(looped.case_id), "--state", str(returned)])
    assert state.exit_code == 0, state.output
    assert "任务 受理：办理中，待认领" in state.output and "任务 住建部门审查：已撤销" in state.output
    as_json = cli.invoke(args=["history", case_no, "--json"])
    assert json.loads(as_json.output)["integrity"]["ok"] is True
    missing = cli.invoke(args=["history", "TB00000000000000"])
    assert missing.exit_code == 2 and "错误 [NOT_FOUND]：办件 TB00000000000000 不存在" in missing.output
    out_of_range = cli.invoke(args=["history", case_no, "--state", "999"])
    assert out_of_range.exit_code == 2 and "EVENT_NOT_FOUND" in out_of_range.output
