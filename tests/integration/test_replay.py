"""Deterministic replay: a case re-run from its pinned definition and recorded inputs reproduces every effect."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from engine import (
    CST, Actor, ClaimTask, CloseSupervision, CompleteTask, DecideExtension, DelegateTask, DeployDefinitions,
    ManualClock, RequestExtension, WithdrawExtension, MaterialInput, ReceiveApplication, Replayer, ResumeClock, ReturnTask, StartCase, SuspendClock,
    TimerWorker, UnclaimTask, ensure_calendar_seeded, import_calendar_year, parse_schedule,
)
from tests.conftest import DATA
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN, ZHUJIAN_2, deploy_shipped, open_task
from tests.integration.test_intake import CODE as INTAKE_CODE, COMPANY, full_checklist

HEAD = Actor("head_yz", ("department_head", "reviewer"), "500103", "zhujian")
SUPERVISOR = Actor("super_yz", ("supervisor",), "500103", None)


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00 CST (a loaded calendar year, so the clocks have confirmed due dates)."""
    return ManualClock(datetime(2026, 2, 12, 10, 0, tzinfo=CST))


def drive_parallel_approval(engine, clock) -> object:
    """Start, claim, unclaim, claim, complete ×4, with a 补正 pause, a resume and an extension in between."""
    ref = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"},
                                  title="某项目施工许可"))
    accept = open_task(engine, CLERK, "accept")
    clock.advance(minutes=5)
    engine.handle(ClaimTask(accept["id"], CLERK))
    engine.handle(UnclaimTask(accept["id"], CLERK))
    engine.handle(ClaimTask(accept["id"], CLERK))
    clock.advance(hours=1)
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    clock.set(datetime(2026, 2, 24, 10, 0, tzinfo=CST))
    engine.handle(SuspendClock(ref.case_id, CLERK, "correction", "申请人补正土地证明"))
    clock.set(datetime(2026, 2, 27, 10, 0, tzinfo=CST))
    engine.handle(ResumeClock(ref.case_id, CLERK))
    # The extension's approval in the system: one request rejected, one withdrawn, one approved.
    first = engine.handle(RequestExtension(ref.case_id, CLERK, 8, "案情复杂", told_to_applicant=True))
    engine.handle(DecideExtension(first["id"], HEAD, False, "理由不充分，请补充说明"))
    second = engine.handle(RequestExtension(ref.case_id, CLERK, 10, "案情复杂，需延长审查"))
    engine.handle(WithdrawExtension(second["id"], CLERK))
    third = engine.handle(RequestExtension(ref.case_id, CLERK, 10, "案情复杂，需延长审查", told_to_applicant=True))
    engine.handle(DecideExtension(third["id"], HEAD, True, "同意"))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        clock.advance(hours=2)
        last = engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor, APPROVE))
    assert last.status == "completed"
    return ref


@pytest.fixture
def approval(engine, clock):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user(HEAD.username, display_name="科长", roles=HEAD.roles, district="500103",
                                department="zhujian")
    return drive_parallel_approval(engine, clock)


def tamper(database_url: str, sql: str, params: dict) -> None:
    """Edit the audit log behind the append-only trigger's back, as an attacker with DDL rights could."""
    eng = create_engine(database_url)
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS case_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS case_events_no_delete"))
        conn.execute(text(sql), params)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events ENABLE TRIGGER case_events_append_only"))
    eng.dispose()


def test_a_driven_parallel_approval_replays_identical(engine, approval):
    types = [e.event_type for e in engine.queries.events(approval.case_id)]
    assert {"TaskClaimed", "TaskUnclaimed", "ClockPaused", "ClockResumed", "ExtensionRequested",
            "ExtensionRejected", "ExtensionWithdrawn", "ExtensionApproved", "DeadlineExtended",
            "CaseCompleted"} <= set(types) and types.count("TaskCompleted") == 4
    with Replayer(engine) as replayer:
        result = replayer.replay_case(approval.case_no)
    assert result.identical, result.divergence
    assert (result.case_id, result.events) == (approval.case_id, len(types))


def test_a_tampered_decision_diverges_at_the_first_effect_it_changes(engine, approval, database_url):
    events = engine.queries.events(approval.case_id)
    (accepted,) = [e for e in events if e.event_type == "TaskCompleted" and e.element_id == "accept"]
    following = events[accepted.seq]          # seq is 1-based: this is the event right after the completion
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = :s",
           {"p": '{"data": {"decision": "reject", "opinion": "不予受理", "materials_complete": false}}',
            "c": approval.case_id, "s": accepted.seq})
    with Replayer(engine) as replayer:
        result = replayer.replay_case(approval.case_id)
    assert not result.identical
    divergence = result.divergence
    assert (divergence.seq, divergence.reason) == (following.seq, "mismatch")
    assert divergence.expected["event_type"] == following.event_type
    assert divergence.expected["payload"] != divergence.got["payload"] or \
        divergence.expected["event_type"] != divergence.got["event_type"]


def test_a_removed_effect_is_reported_missing(engine, approval, database_url):
    last = engine.queries.events(approval.case_id)[-1]
    assert last.event_type == "CaseCompleted"
    tamper(database_url, "DELETE FROM case_events WHERE case_id = :c AND seq = :s",
           {"c": approval.case_id, "s": last.seq})
    with Replayer(engine) as replayer:
        result = replayer.replay_case(approval.case_id)
    assert (result.divergence.seq, result.divergence.reason) == (last.seq, "extra")
    assert result.divergence.got["event_type"] == "CaseCompleted" and result.divergence.expected is None


def test_a_timer_case_fired_by_the_worker_replays_identical(engine, clock):
    engine.handle(DeployDefinitions((("timer.bpmn", (DATA / "processes" / "timer.bpmn").read_bytes()),)))
    ref = engine.handle(StartCase("timed_review", CLERK))
    clock.advance(hours=2, seconds=1)
    assert TimerWorker(engine).sweep().cases == 1
    types = [e.event_type for e in engine.queries.events(ref.case_id)]
    assert "TimersFired" in types
    with Replayer(engine) as replayer:
        result = replayer.replay_case(ref.case_no)
    assert result.identical, result.divergence
    assert result.events == len(types)


def test_a_working_day_timer_re_armed_by_a_later_calendar_year_replays_identical(engine, clock):
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("wd.bpmn", (DATA / "processes" / "workday_timer.bpmn").read_bytes()),)))
    clock.set(datetime(2026, 12, 25, 10, 0, tzinfo=CST))
    ref = engine.handle(StartCase("workday_deadline", CLERK, data={"received_on": "2026-12-25"}))
    clock.advance(hours=1)
    import_calendar_year(engine, parse_schedule((DATA / "calendar" / "2027.yaml").read_text("utf-8"), "yaml"),
                         actor="admin")
    assert engine.recompute_deadlines("2027 年节假日安排载入") == (1, 1)
    clock.set(datetime(2027, 1, 5, 0, 0, 1, tzinfo=CST))
    assert TimerWorker(engine).sweep().cases == 1
    types = [e.event_type for e in engine.queries.events(ref.case_id)]
    assert "DeadlinesRecomputed" in types and "TimersFired" in types
    with Replayer(engine) as replayer:
        result = replayer.replay_case(ref.case_id)
    assert result.identical, result.divergence


def test_an_input_without_a_replay_command_is_unsupported(engine, approval, database_url):
    # A made-up input type stands for one the engine records but replay cannot issue yet.
    tamper(database_url, "UPDATE case_events SET event_type = 'LegacyInput' WHERE case_id = :c AND seq = :s",
           {"c": approval.case_id, "s": 5})
    with Replayer(engine) as replayer:
        result = replayer.replay_case(approval.case_id)
    assert (result.divergence.seq, result.divergence.reason) == (5, "unsupported")
    assert result.divergence.message == "第 5 个事件 LegacyInput 没有可重放的命令，重放不支持"


def test_the_cli_replays_one_case_and_all_cases(engine, approval, clock, runner, database_url):
    one = runner.invoke(args=["replay", approval.case_no])
    assert one.exit_code == 0, one.output
    count = len(engine.queries.events(approval.case_id))
    assert one.output.strip() == f"重放一致（{count} 个事件）"
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    second = engine.handle(StartCase("parallel_approval", CLERK))
    everything = runner.invoke(args=["replay", "--all"])
    assert everything.exit_code == 0, everything.output
    assert "已重放 2 个办件：全部一致" in everything.output
    since = runner.invoke(args=["replay", "--all", "--since", "2026-03-01"])
    assert since.exit_code == 0 and "已重放 1 个办件：全部一致" in since.output
    tamper(database_url, "UPDATE case_events SET payload = :p WHERE case_id = :c AND seq = 1",
           {"p": '{"process_key": "parallel_approval", "definition_version": 1, "content_hash": "", "data": {}}',
            "c": second.case_id})
    broken = runner.invoke(args=["replay", "--all"])
    assert broken.exit_code == 1
    assert f"办件 {second.case_no}：重放在第 1 个事件处出现差异" in broken.output
    assert "1 个办件不一致" in broken.output
    single = runner.invoke(args=["replay", str(second.case_id)])
    assert single.exit_code == 1 and "  记录：" in single.output and "  重放：" in single.output


def test_replay_all_reports_a_case_whose_replay_fails_and_goes_on(engine, approval, clock, runner, monkeypatch):
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    second = engine.handle(StartCase("parallel_approval", CLERK))
    original = Replayer.replay_case

    def faulty(self, case_ref):
        if case_ref == approval.case_id:
            raise ValueError("a fault of replay itself")
        return original(self, case_ref)

    monkeypatch.setattr(Replayer, "replay_case", faulty)
    everything = runner.invoke(args=["replay", "--all"])
    assert everything.exit_code == 2, everything.output
    assert (f"办件 {approval.case_no}：错误 [REPLAY_FAILED]：重放时出现内部错误（ValueError: a fault of replay itself），"
            "请将此信息报告给系统维护人员") in everything.stderr
    assert everything.stdout.splitlines()[-1] == "已重放 2 个办件：1 个办件重放出错"
    assert second.case_no not in everything.stderr


def test_an_input_whose_payload_lost_its_fields_is_refused_at_its_number(engine, approval, database_url):
    (paused, *_) = [e for e in engine.queries.events(approval.case_id) if e.event_type == "ClockPaused"]
    tamper(database_url, "UPDATE case_events SET payload = '{}' WHERE case_id = :c AND seq = :s",
           {"c": approval.case_id, "s": paused.seq})
    with Replayer(engine) as replayer:
        result = replayer.replay_case(approval.case_id)
    assert (result.divergence.seq, result.divergence.reason) == (paused.seq, "refused")
    assert "记录的输入无法重放" in result.divergence.message


def test_the_cli_refuses_bad_input_with_exit_2(runner, approval):
    missing = runner.invoke(args=["replay", "TB00000000000000"])
    assert missing.exit_code == 2 and "办件 TB00000000000000 不存在" in missing.output
    assert runner.invoke(args=["replay"]).exit_code == 2
    assert runner.invoke(args=["replay", approval.case_no, "--all"]).exit_code == 2
    assert runner.invoke(args=["replay", "--all", "--since", "2026-13-01"]).exit_code == 2
    assert runner.invoke(args=["replay", approval.case_no, "--since", "2026-01-01"]).exit_code == 2


def test_delegation_return_and_supervision_replay_identical(engine, clock):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.handle(DeployDefinitions((("return_paths.bpmn", (DATA / "processes" / "return_paths.bpmn").read_bytes()),)))
    for actor in (HEAD, ZHUJIAN_2):
        engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                    district=actor.district, department=actor.department)
    returned = engine.handle(StartCase("return_paths", CLERK, data={"applicant": "张三"}))
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {"note": "第一次"}))
    clock.advance(minutes=30)
    engine.handle(ReturnTask(open_task(engine, ZHUJIAN, "review")["id"], ZHUJIAN, "材料不全，请补正"))
    clock.advance(minutes=30)
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {"note": "第二次"}))

    supervised = engine.handle(StartCase("parallel_approval", CLERK))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    review = [t for t in engine.queries.case(CLERK, supervised.case_id)["tasks"] if t["element_id"] == "review_zhujian"]
    engine.handle(DelegateTask(review[0]["id"], HEAD, ZHUJIAN_2.username, "指定办理"))
    clock.set(datetime(2026, 3, 5, 0, 0, 1, tzinfo=CST))          # the committed deadline (03-04) has passed
    assert TimerWorker(engine).sweep().supervised == 1
    (item,) = engine.queries.supervision(SUPERVISOR)
    engine.handle(CloseSupervision(item["id"], SUPERVISOR, "已电话督促住建科三日内办结"))
    clock.advance(hours=1)
    engine.handle(CompleteTask(review[0]["id"], ZHUJIAN_2, APPROVE))

    kinds = {e.event_type for ref in (returned, supervised) for e in engine.queries.events(ref.case_id)}
    assert {"TaskReturned", "TaskDelegated", "SupervisionRaised", "SupervisionClosed"} <= kinds
    with Replayer(engine) as replayer:
        results = list(replayer.replay_all())
    assert [(r.case_no, r.identical, r.divergence) for r in results] == [
        (returned.case_no, True, None), (supervised.case_no, True, None)]


def test_an_application_received_at_intake_replays_identical(engine, clock):
    deploy_shipped(engine)
    result = engine.handle(ReceiveApplication(
        INTAKE_CODE, CLERK, COMPANY, "13800138000", full_checklist(bid_notice=MaterialInput("bid_notice", missing=True))))
    assert result.tolerance
    clock.advance(hours=1)
    accept = [t for t in engine.queries.case(CLERK, result.case.case_id)["tasks"] if t["state"] == "open"][0]
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    types = [e.event_type for e in engine.queries.events(result.case.case_id)]
    assert types[:3] == ["CaseStarted", "MatterReceived", "ApplicationReceived"]
    with Replayer(engine) as replayer:
        replayed = replayer.replay_case(result.case.case_no)
    assert replayed.identical, replayed.divergence
