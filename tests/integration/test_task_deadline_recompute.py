"""Importing or replacing a calendar year moves open tasks' own deadlines too, on both databases.

The parallel_approval case's 受理 has its own budget (``<tb:deadline workdays="5">``), counted from the task's
creation; the recompute that follows an import counts it again with the new calendar, on the inbox row and
its candidate rows, records the move in ``DeadlinesRecomputed`` and replays identical.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from sqlalchemy import select

from engine import (
    CST, Actor, DayFact, DeployDefinitions, DayKind, Replayer, StartCase, ensure_calendar_seeded, import_calendar_year, load_work_calendar,
    parse_schedule,
)
from engine.calendar_schedule import facts_from_chinesecalendar
from engine.persistence.models import TaskCandidate, TaskItem
from tests.conftest import DATA
from tests.helpers import CLERK, deploy_shipped, open_task
from tests.versioning import parallel_v1

REASON = "节假日安排载入"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def start(engine) -> int:
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    return engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"})).case_id


def stored(engine, case_id: int) -> dict:
    """The 受理 row's own and inbox instants, and its candidate rows' inbox instants."""
    with engine.database.read_sessions() as session:
        task = session.scalars(select(TaskItem).where(TaskItem.case_id == case_id,
                                                      TaskItem.element_id == "accept")).one()
        candidates = {(row.inbox_due_at, row.inbox_yellow_at) for row in session.scalars(
            select(TaskCandidate).where(TaskCandidate.task_id == task.id))}
        return {"due": task.due_at, "yellow": task.yellow_at, "inbox": (task.inbox_due_at, task.inbox_yellow_at),
                "candidates": candidates}


def recomputed(engine, case_id: int) -> list[dict]:
    return [e.payload for e in engine.queries.events(case_id) if e.event_type == "DeadlinesRecomputed"]


def test_importing_the_next_year_moves_an_open_tasks_provisional_budget(engine, clock):
    """Reproduction A: 受理 kept the weekends-only estimate 01-04 though 2027-01-01 is 元旦."""
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=CST))
    case_id = start(engine)
    assert stored(engine, case_id)["due"] == utc(2027, 1, 4, 16)            # estimate: 01-01 counted as a workday
    clock.advance(hours=1)
    import_calendar_year(engine, parse_schedule((DATA / "calendar" / "2027.yaml").read_text("utf-8"), "yaml"),
                         actor="admin")
    assert engine.recompute_deadlines(REASON) == (1, 1)

    assert load_work_calendar(engine).workdays_after(date(2026, 12, 28), 5).date == date(2027, 1, 5)
    row = stored(engine, case_id)
    assert row["due"] == utc(2027, 1, 5, 16)                                 # end of Tuesday 01-05 (CST)
    assert row["yellow"] > utc(2026, 12, 31, 16)
    assert row["inbox"] == (row["due"], row["yellow"]) and row["candidates"] == {row["inbox"]}
    clock.set(datetime(2027, 1, 5, 10, 0, tzinfo=CST))
    assert open_task(engine, CLERK, "accept")["light"] == "yellow"            # was red: due the day before
    assert engine.queries.tasks(CLERK, light="red").items == []
    (payload,) = recomputed(engine, case_id)
    assert (payload["before"]["task:accept:due_at"], payload["after"]["task:accept:due_at"]) == (
        "2027-01-04T16:00:00+00:00", "2027-01-05T16:00:00+00:00")
    assert payload["after"]["task:accept:yellow_at"] == row["yellow"].isoformat()


def holidays_added_2026():
    (shipped,) = facts_from_chinesecalendar([2026])
    facts = dict(shipped.facts)
    for day in (25, 26, 27):
        facts[date(2026, 11, day)] = DayFact(DayKind.HOLIDAY, "测试假期")
    return replace(shipped, facts=facts, source="补充放假安排（测试）")


def test_replacing_the_current_year_moves_an_open_tasks_due_and_yellow(engine, clock):
    """Reproduction B: 11-25..27 become holidays; 受理 kept due 11-30 and yellow 11-26 and showed red on 12-01."""
    case_id = start(engine)                                                  # Monday 2026-11-23 09:00
    before = stored(engine, case_id)
    assert (before["due"], before["yellow"]) == (utc(2026, 11, 30, 16), utc(2026, 11, 26, 16))
    import_calendar_year(engine, holidays_added_2026(), actor="admin", replace=True)
    assert engine.recompute_deadlines(REASON) == (1, 1)

    row = stored(engine, case_id)
    assert (row["due"], row["yellow"]) == (utc(2026, 12, 3, 16), utc(2026, 12, 1, 16))
    assert row["inbox"] == (row["due"], row["yellow"]) and row["candidates"] == {row["inbox"]}
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=CST))
    assert open_task(engine, CLERK, "accept")["light"] == "green"
    assert engine.queries.tasks(CLERK, light="red").items == []
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=CST))
    assert open_task(engine, CLERK, "accept")["light"] == "yellow"
    (payload,) = recomputed(engine, case_id)
    assert payload["before"]["task:accept:yellow_at"] == "2026-11-26T16:00:00+00:00"
    assert payload["after"]["task:accept:yellow_at"] == "2026-12-01T16:00:00+00:00"


def test_a_task_whose_deadline_did_not_move_is_not_touched(engine, clock):
    case_id = start(engine)
    version = engine.queries.case(CLERK, case_id)["version"]
    assert engine.recompute_deadlines(REASON) == (1, 0)
    assert engine.queries.case(CLERK, case_id)["version"] == version and recomputed(engine, case_id) == []


def test_a_case_whose_task_deadline_moved_replays_identical(engine, clock):
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=CST))
    case_id = start(engine)
    clock.advance(hours=1)
    import_calendar_year(engine, parse_schedule((DATA / "calendar" / "2027.yaml").read_text("utf-8"), "yaml"),
                         actor="admin")
    engine.recompute_deadlines(REASON)
    assert "task:accept:due_at" in recomputed(engine, case_id)[0]["after"]
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def test_a_task_created_before_a_migration_keeps_its_versions_budget(engine, clock):
    """The migration moved the case onto a version where 受理 has 10 working days; the open task keeps 5."""
    case_id = start(engine)
    longer = parallel_v1().replace(b'<tb:deadline workdays="5" clock="task"/>',
                                   b'<tb:deadline workdays="10" clock="task"/>')
    assert longer != parallel_v1()
    engine.handle(DeployDefinitions((("parallel_approval/main.bpmn", longer),)))
    report = engine.versions.migrate("parallel_approval", 1, 2, actor=Actor("admin_sj", ("admin",), "500000", "dsj"))
    assert [p.case_id for p in report.migrated] == [case_id]
    import_calendar_year(engine, holidays_added_2026(), actor="admin", replace=True)
    engine.recompute_deadlines(REASON)
    assert stored(engine, case_id)["due"] == utc(2026, 12, 3, 16)           # 5 working days, not 10


def test_a_recompute_recorded_before_tasks_moved_still_replays_identical(engine, clock):
    """An older engine moved the clocks only: its DeadlinesRecomputed names no task: key, and replays so."""
    from engine import RecomputeDeadlines
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=CST))
    case_id = start(engine)
    clock.advance(hours=1)
    import_calendar_year(engine, parse_schedule((DATA / "calendar" / "2027.yaml").read_text("utf-8"), "yaml"),
                         actor="admin")
    engine.handle(RecomputeDeadlines(case_id, REASON, move_tasks=False))     # as the engine did before
    (event,) = recomputed(engine, case_id)
    assert event["after"] and not any(key.startswith("task:") for key in event["after"])
    assert stored(engine, case_id)["due"] == utc(2027, 1, 4, 16)            # the task kept its estimate
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence
