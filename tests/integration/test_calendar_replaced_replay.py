"""Replay reads the holiday schedule that was in force at each command, also after a year was replaced.

Replacing a year (``calendar import --replace``) used to delete its rows, so a case that had read the old
schedule replayed against the new one, or against none (the new rows were loaded after the command), and
diverged: another deemed-acceptance T0, another provisional flag, or a false 「办件记录被改动」 case-row report.
The replaced rows are now kept (``calendar_replaced_days``). A year replaced before they were kept is lost:
replay refuses a command that consults it while the lost schedule was in force (``HISTORY_CALENDAR_REPLACED``)
and replays every other case as before.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import delete, update

from engine import (
    CST, Actor, CalendarVersionLost, CompleteTask, Conflict, DayFact, DayKind, DeployDefinitions, HistoryFileError, ManualClock,
    Replayer, StartCase, dumps_history, ensure_calendar_seeded, import_calendar_year, load_case_history,
    loads_history,
)
from engine.calendar_schedule import facts_from_chinesecalendar
from engine.persistence.calendar_repository import CalendarRepository
from engine.persistence.models import CalendarReplacedDay
from engine.replay_calendar import CalendarVersionsInvalid
from tests.conftest import DATA
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")

EXTRA_HOLIDAY = date(2026, 12, 1)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=CST)


@pytest.fixture
def clock() -> ManualClock:
    """Tuesday 2026-09-29 09:00 CST, before 国庆: a test that starts later moves it to ``MONDAY`` first."""
    return ManualClock(datetime(2026, 9, 29, 9, 0, tzinfo=CST))


def revised_2026(**changes):
    """2026 as seeded, plus a holiday on 2026-12-01 (a Tuesday): a schedule that moves a running 法定 clock."""
    seeded = facts_from_chinesecalendar([2026])[0]
    facts = {**seeded.facts, EXTRA_HOLIDAY: DayFact(DayKind.HOLIDAY, "测试修订")}
    return replace(seeded, source="测试用修订安排", facts=facts, **changes)


def legal_due(engine, case_id: int, viewer: Actor = CLERK) -> dict:
    return next(c for c in engine.queries.case(viewer, case_id)["clocks"] if c["kind"] == "legal")


def replaced_while_running(engine, clock) -> int:
    """A parallel approval started at 09:00; at 10:00 2026 is replaced and the deadlines recomputed; 11:00 a step."""
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    before = legal_due(engine, case_id)
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=CST))
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    assert engine.recompute_deadlines("2026 年节假日安排替换") == (1, 1)
    after = legal_due(engine, case_id)
    assert before["status"] == after["status"] == "confirmed"
    assert after["due_date"] > before["due_date"]          # the new holiday moved the clock by one working day
    clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=CST))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return case_id


def forget_replaced_rows(engine) -> None:
    """What a database whose year was replaced before revision 6a1f3c8e2b95 holds: the log, not the rows."""
    with engine.services.uow() as uow:
        uow.session.execute(delete(CalendarReplacedDay))
        uow.commit()


def test_replacing_a_year_keeps_its_schedule_with_the_instant_it_stopped_counting(engine, clock):
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    seeded = facts_from_chinesecalendar([2026])[0]
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=CST))
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)       # unchanged: nothing moves
    clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=CST))
    import_calendar_year(engine, seeded, actor="admin", replace=True)              # back to the seeded one
    with engine.database.read_sessions() as session:
        repository = CalendarRepository(session)
        rows = repository.replaced_rows()
        assert repository.lost_versions() == []
        assert repository.year_facts(2026) == dict(seeded.facts)
    versions = {}
    for row in rows:
        versions.setdefault((row["loaded_at"], row["replaced_at"]), {})[row["day"]] = row["kind"]
    seeded_at, ten, eleven = (datetime(2026, 11, 23, h, 0, tzinfo=CST) for h in (9, 10, 11))
    assert sorted(versions) == [(seeded_at, ten), (ten, eleven)]
    assert len(versions[seeded_at, ten]) == len(seeded.facts) and EXTRA_HOLIDAY not in versions[seeded_at, ten]
    assert versions[ten, eleven][EXTRA_HOLIDAY] == "holiday"


def test_a_case_running_when_its_year_was_replaced_replays_identically(engine, clock, runner, tmp_path):
    case_id = replaced_while_running(engine, clock)
    recomputed = [e for e in engine.queries.events(case_id) if e.event_type == "DeadlinesRecomputed"]
    assert len(recomputed) == 1
    assert recomputed[0].payload["before"]["deadline_provisional"] is False
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
        assert result.identical, result.divergence
        history = loads_history(dumps_history(load_case_history(engine.database, case_id)))
        assert {row["year"] for row in history.calendar_replaced} == {2026}
        from_file = replayer.replay_history(history)
    assert from_file.identical, from_file.divergence
    path = tmp_path / "case.json"
    assert runner.invoke(args=["history", "export", str(case_id), "-o", str(path)]).exit_code == 0
    assert json.loads(path.read_text("utf-8"))["format"] == "tongban-case-history/4"
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 0, result.output


def test_deemed_acceptance_after_a_holiday_replays_with_the_schedule_of_its_day(engine, clock):
    # Received on 09-29, accepted on 10-09 after 国庆: inside the 5-working-day window by the schedule in force
    # (T0 10-09). Read as an unloaded year (weekends only), the window ends 10-06 and 受理 is deemed on 09-29.
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("ac.bpmn", (DATA / "processes" / "accept_clock.bpmn").read_bytes()),)))
    clock.set(datetime(2026, 9, 29, 10, 0, tzinfo=CST))
    ref = engine.handle(StartCase("accept_then_decide", REVIEWER))
    clock.set(datetime(2026, 10, 9, 10, 0, tzinfo=CST))
    engine.handle(CompleteTask(ref.created_task_ids[0], REVIEWER, {}))
    assert legal_due(engine, ref.case_id, REVIEWER)["t0"] == "2026-10-09"
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=CST))
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)
    engine.recompute_deadlines("2026 年节假日安排替换")
    with Replayer(engine) as replayer:
        result = replayer.replay_case(ref.case_id)
    assert result.identical, result.divergence


def test_a_schedule_replaced_before_it_was_kept_refuses_the_replays_that_read_it(engine, clock, runner, tmp_path):
    case_id = replaced_while_running(engine, clock)
    forget_replaced_rows(engine)
    with engine.database.read_sessions() as session:
        lost = CalendarRepository(session).lost_versions()
    assert [(v.year, v.loaded_at, v.replaced_at) for v in lost] == [
        (2026, datetime(2026, 11, 23, 9, 0, tzinfo=CST), datetime(2026, 11, 23, 10, 0, tzinfo=CST))]
    later = engine.handle(StartCase("parallel_approval", CLERK)).case_id     # 11:00: after the replacement
    with Replayer(engine) as replayer:
        with pytest.raises(CalendarVersionLost) as refused:
            replayer.replay_case(case_id)
        error = refused.value
        assert (error.code, error.http_status) == ("HISTORY_CALENDAR_REPLACED", 409)
        assert (error.details["year"], error.details["seq"], error.details["event_type"]) == (2026, 1, "CaseStarted")
        assert error.message.startswith("2026 年的节假日安排已于 2026-11-23 10:00 被替换，替换前的内容未被保存")
        history = loads_history(dumps_history(load_case_history(engine.database, case_id)))
        assert history.calendar_lost == lost
        with pytest.raises(CalendarVersionLost):
            replayer.replay_history(history)
        unaffected = replayer.replay_case(later)          # never read 2026 before 10:00
    assert unaffected.identical, unaffected.divergence
    result = runner.invoke(args=["replay", str(case_id)])
    assert result.exit_code == 2
    assert result.output.startswith("错误 [HISTORY_CALENDAR_REPLACED]：2026 年的节假日安排已于 2026-11-23 10:00 被替换")
    # --all goes on past a refused case, names it, and counts it in the summary.
    everything = runner.invoke(args=["replay", "--all"])
    assert everything.exit_code == 2
    assert f"办件 {history.case_no}：错误 [HISTORY_CALENDAR_REPLACED]：2026 年的节假日安排" in everything.stderr
    assert everything.stdout.splitlines()[-1] == "已重放 2 个办件：1 个办件拒绝重放"


@pytest.mark.parametrize("edit, words", [
    (lambda doc: doc["seed"].pop("calendar_replaced"), "calendar_replaced"),
    (lambda doc: doc["seed"].pop("calendar_lost"), "calendar_lost"),
    (lambda doc: doc["seed"]["calendar_replaced"][0].pop("replaced_at"),
     "seed.calendar_replaced 第 1 项应含且只含字段"),
    (lambda doc: doc["seed"]["calendar_replaced"][0].update(replaced_at=None),
     "seed.calendar_replaced 第 1 项应含且只含字段"),
    (lambda doc: doc["seed"]["calendar_lost"].append(
        {"year": "2026", "loaded_at": None, "replaced_at": "2026-11-23T02:00:00+00:00"}),
     'seed.calendar_lost 第 1 项的年份 "2026" 不是整数'),
    (lambda doc: doc["seed"]["calendar_withheld"].append(
        {"year": 2026, "loaded_at": "2026-11-23T01:00:00+00:00"}), "同一年份 [2026]"),
    (lambda doc: doc["seed"]["calendar_replaced"].append(doc["seed"]["calendar_replaced"][0]), "在同一版本中出现两次"),
    (lambda doc: [row.update(replaced_at="2026-11-23T02:30:00+00:00") for row in doc["seed"]["calendar_replaced"]],
     "2026 年的两个版本同时有效"),
    (lambda doc: doc["seed"]["calendar_replaced"][0].update(year=2027), "记在 2027 年"),
    (lambda doc: doc["seed"]["calendar_replaced"][0].update(replaced_at="2026-11-23T00:00:00+00:00"),
     "replaced_at 早于其 loaded_at"),
], ids=["no-replaced", "no-lost", "row-without-end", "row-with-null-end", "lost-not-a-year", "also-withheld",
        "day-twice", "versions-overlap", "wrong-year", "ends-before-load"])
def test_a_format_3_file_with_a_bad_replaced_schedule_is_refused(engine, clock, edit, words):
    doc = json.loads(dumps_history(load_case_history(engine.database, replaced_while_running(engine, clock))))
    edit(doc)
    with pytest.raises(HistoryFileError) as refused:
        loads_history(json.dumps(doc, ensure_ascii=False))
    assert refused.value.code == "HISTORY_FILE_INVALID" and words in refused.value.message


def test_the_load_log_says_whether_each_replacement_kept_the_schedule_it_replaced(engine, clock, runner):
    replaced_while_running(engine, clock)
    out = runner.invoke(args=["calendar", "log", "2026"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("2026-11-23 09:00  2026 年  新增  摘要 ") and "操作人 system" in lines[0]
    assert lines[1].startswith("2026-11-23 10:00  2026 年  替换  摘要 ") and "来源 测试用修订安排  操作人 admin" in lines[1]
    assert lines[2].endswith("已保存，可供重放") and lines[-1] == "共 2 次载入"
    forget_replaced_rows(engine)
    out = runner.invoke(args=["calendar", "log", "2026"]).output.splitlines()
    assert out[2].endswith("未保存：重放在其有效期间查询该年的办件将被拒绝")
    assert out[-1] == "共 2 次载入，其中 1 次替换前的安排未保存"
    everything = runner.invoke(args=["calendar", "log"]).output.splitlines()
    assert everything[-1] == f"共 {len(range(2004, 2027)) + 1} 次载入，其中 1 次替换前的安排未保存"


def test_a_replacement_dated_before_the_schedule_it_replaces_is_refused_and_writes_nothing(engine, clock):
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=CST))
    import_calendar_year(engine, revised_2026(), actor="host-a", replace=True)
    engine.clock = ManualClock(datetime(2026, 11, 23, 9, 59, tzinfo=CST))     # another host, a minute behind
    try:
        with pytest.raises(Conflict) as refused:
            import_calendar_year(engine, facts_from_chinesecalendar([2026])[0], actor="host-b", replace=True)
    finally:
        engine.clock = clock
    assert refused.value.code == "CALENDAR_CLOCK_BEHIND"
    assert refused.value.message.startswith("2026 年现有节假日安排载入于 2026-11-23 10:00:00，晚于本机当前时间 "
                                            "2026-11-23 09:59:00")
    with engine.database.read_sessions() as session:
        repository = CalendarRepository(session)
        assert [e.actor for e in repository.load_log(2026)] == ["system", "host-a"]
        assert EXTRA_HOLIDAY in repository.year_facts(2026)
        assert {row["replaced_at"] for row in repository.replaced_rows()} == {clock.now()}


def test_overlapping_versions_in_the_database_refuse_the_replay_with_a_reason(engine, clock):
    case_id = replaced_while_running(engine, clock)
    with engine.services.uow() as uow:       # what a host with its clock a minute behind once could write
        uow.session.execute(update(CalendarReplacedDay).values(replaced_at=datetime(2026, 11, 23, 10, 30, tzinfo=CST)))
        uow.commit()
    with Replayer(engine) as replayer, pytest.raises(CalendarVersionsInvalid) as refused:
        replayer.replay_case(case_id)
    assert (refused.value.code, refused.value.http_status) == ("HISTORY_CALENDAR_INVALID", 409)
    assert "2026 年的两个版本同时有效" in refused.value.message
