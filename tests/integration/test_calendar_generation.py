"""A calendar replaced by one process is what every process's next command counts with.

Each process caches the statutory calendar. It used to refresh only after 60 seconds, or when the import ran in
that very process, so a web process that started a case seconds after ``tongban calendar import --replace`` (run
by the CLI or another process) gave it the old schedule's deadline: the recompute that follows the import had
already run, so the live case kept a wrong legal deadline, and its replay reported a false 「办件记录被改动」.
Now each command reads the committed calendar generation at its start (with the case row it locks, or in one
cheap statement when it opens a case) and the cache reloads when it moved. Here a second engine on the same
database stands in for the web process.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

import pytest

from engine import (
    CST, CompleteTask, DeployDefinitions, EngineConfig, ManualClock, Replayer, ResumeClock, StartCase, SuspendClock,
    bootstrap, ensure_calendar_seeded, import_calendar_year,
)
from tests.conftest import DATA, ROOT
from tests.helpers import ACCEPT, CLERK, count_statements, deploy_shipped, open_task
from tests.integration.test_calendar_replaced_replay import MONDAY, REVIEWER, legal_due, revised_2026

REPLACED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=CST)
FIVE_SECONDS_LATER = REPLACED_AT + timedelta(seconds=5)
OLD_DUE, NEW_DUE = "2026-12-21", "2026-12-22"
"""A 20-working-day legal clock from Monday 2026-11-23: the added holiday (12-01) moves its end by one day."""


@pytest.fixture
def web(database_url: str, tmp_path) -> Iterator:
    """A second engine on the test's database, with a clock of its own: another process (the web server)."""
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "web-materials",
                                 archives_dir=tmp_path / "web-archives"), clock=ManualClock(MONDAY))
    yield eng
    eng.close()


def seeded_and_deployed(engine, clock, web) -> None:
    """Seed the calendar, deploy, and let the web process cache the seeded calendar with a first case."""
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.handle(DeployDefinitions((("ac.bpmn", (DATA / "processes" / "accept_clock.bpmn").read_bytes()),)))
    cached = web.handle(StartCase("parallel_approval", CLERK)).case_id
    assert legal_due(web, cached)["due_date"] == OLD_DUE


def replaced_elsewhere(engine, clock, web) -> None:
    """At 10:00 the first engine (the CLI) replaces 2026 and recomputes; the web process's clock is 5 s later."""
    clock.set(REPLACED_AT)
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    engine.recompute_deadlines("2026 年节假日安排替换")
    web.clock.set(FIVE_SECONDS_LATER)


def replays_identically(engine, case_id: int) -> None:
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def test_a_case_started_on_another_process_seconds_after_a_replacement_counts_with_the_new_schedule(
        engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    replaced_elsewhere(engine, clock, web)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    assert legal_due(web, case_id)["due_date"] == NEW_DUE
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE
    replays_identically(engine, case_id)


def test_a_clock_started_by_a_completion_on_another_process_counts_with_the_new_schedule(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    ref = web.handle(StartCase("accept_then_decide", REVIEWER))      # the legal clock waits for 受理
    replaced_elsewhere(engine, clock, web)
    web.handle(CompleteTask(ref.created_task_ids[0], REVIEWER, {}))
    assert legal_due(web, ref.case_id, REVIEWER)["due_date"] == NEW_DUE
    replays_identically(engine, ref.case_id)


def test_a_clock_resumed_on_another_process_counts_with_the_new_schedule(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    web.clock.set(MONDAY + timedelta(minutes=30))
    web.handle(SuspendClock(case_id, CLERK, "correction", "补正材料", clocks=("legal",)))
    replaced_elsewhere(engine, clock, web)
    web.handle(ResumeClock(case_id, CLERK, clocks=("legal",)))      # locks the case row by id
    assert legal_due(web, case_id)["due_date"] == NEW_DUE
    replays_identically(engine, case_id)


def test_a_completion_reads_the_generation_with_its_case_row_and_a_start_in_one_statement(
        engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    accept = web.handle(StartCase("accept_then_decide", REVIEWER)).created_task_ids[0]
    replaced_elsewhere(engine, clock, web)
    with count_statements(web) as completed:
        web.handle(CompleteTask(accept, REVIEWER, {}))
    # The calendar's reload reads its generation with its rows (one statement, not the command's own).
    reading = [s for s in completed if "calendar_imports" in s and "calendar_days" not in s]
    assert len(reading) == 1 and "JOIN cases" in reading[0], completed      # the lock of the task and its case
    with count_statements(web) as started:
        web.handle(StartCase("parallel_approval", CLERK))
    # Opening a case locks no case row: one small statement, before the case is written.
    reading = [i for i, s in enumerate(started) if "calendar_imports" in s]
    first_write = next(i for i, s in enumerate(started) if s.lstrip().upper().startswith("INSERT"))
    assert len(reading) == 1 and reading[0] < first_write, started


def test_a_case_whose_next_event_came_from_a_host_whose_clock_is_behind_replays_at_the_recorded_instants(
        engine, clock, web, runner):
    # The web host (10:00:05) starts a case, the worker host (10:00:00, five seconds behind) takes its first
    # step: seq 4 and on are earlier than seq 1-3. Replay re-issues each command at its recorded instant.
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    web.clock.set(FIVE_SECONDS_LATER)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    clock.set(REPLACED_AT)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    instants = [e.occurred_at for e in engine.queries.events(case_id)]
    assert instants != sorted(instants)
    replays_identically(engine, case_id)
    assert runner.invoke(args=["replay", "--all"]).exit_code == 0
