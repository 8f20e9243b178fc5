"""A case replays with the calendar its commands counted with, whatever the clocks of the hosts said.

A command counts working days with the calendar generation committed when it began (it reads the generation
with the case row it locks, or in one statement when it opens a case: test_calendar_generation.py). Replay
used to seed each command with the calendar rows in force at the command's recorded *instant* instead
(``calendar_days.loaded_at``, ``calendar_replaced_days.replaced_at``), and the two disagree:

- a web host whose clock is a few seconds behind the importer's starts a case, or completes the 受理 that
  starts a clock, just after ``calendar import --replace`` committed: it counted with the new schedule, but
  its instant is before the replacement's, so replay counted with the old one;
- on PostgreSQL, a command that runs while an import's transaction is open counts with the old schedule (the
  import is not committed), though its instant is after the import's: replay counted with the new one, and the
  ``DeadlinesRecomputed`` the import's recompute wrote later moved the deadline from a value replay never had.

Either way the case replayed with a false divergence (a ``ClocksStarted``, ``DeadlinesRecomputed`` or case-row
mismatch: 「办件记录被改动」). Each command now records in its input event the generation it counted with, and
replay seeds each command with the calendar of that generation, also from a history file.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from datetime import timedelta

import pytest

from engine import (
    CompleteTask, Replayer, StartCase, dumps_history, import_calendar_year, load_case_history, loads_history,
)
from engine.persistence.calendar_repository import CalendarRepository
from tests.helpers import CLERK
from tests.integration.test_calendar_generation import (  # noqa: F401 - the web fixture
    FIVE_SECONDS_LATER, NEW_DUE, OLD_DUE, REPLACED_AT, replays_identically, seeded_and_deployed, web,
)
from tests.integration.test_calendar_replaced_replay import REVIEWER, legal_due, revised_2026

FIVE_SECONDS_EARLIER = REPLACED_AT - timedelta(seconds=5)
RECOMPUTED_AT = REPLACED_AT + timedelta(seconds=10)
WAIT_SECONDS = 10
"""How long the web process's command may take while the import's transaction is open before it counts as blocked."""


def replaced_while_web_is_behind(engine, clock, web) -> None:
    """At 10:00 the first engine (the CLI) replaces 2026 and recomputes; the web process's clock reads 09:59:55."""
    clock.set(REPLACED_AT)
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    engine.recompute_deadlines("2026 年节假日安排替换")
    web.clock.set(FIVE_SECONDS_EARLIER)


def started_while_an_import_is_open(engine, clock, web, database_url: str) -> int:
    """PostgreSQL: at 10:00 the CLI replaces 2026 and, before its commit, the web process (10:00:05) opens a case.

    Returns the case's id; the import has committed and the engine's cache is invalidated, as the real import's
    would be; nothing is recomputed. Skips on SQLite, where no command runs while an import is uncommitted.
    """
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite: a command's write waits for the import's write lock, so no command runs while an "
                    "import is uncommitted")
    seeded_and_deployed(engine, clock, web)
    clock.set(REPLACED_AT)
    web.clock.set(FIVE_SECONDS_LATER)
    with engine.services.uow() as uow, ThreadPoolExecutor(1) as pool:
        outcome = CalendarRepository(uow.session).import_year(revised_2026(), actor="admin", now=clock.now(),
                                                              replace=True)
        assert outcome.action == "replaced"
        started = pool.submit(web.handle, StartCase("parallel_approval", CLERK))
        try:
            case_id = started.result(timeout=WAIT_SECONDS).case_id
        except FutureTimeout:
            pytest.fail(f"the web process's StartCase waited over {WAIT_SECONDS} s for the open import")
        uow.commit()
    engine.calendar.invalidate()
    return case_id


def replays_identically_from_a_file(engine, case_id: int) -> None:
    """The case's history, written to a history file and read back, replays identically too."""
    history = loads_history(dumps_history(load_case_history(engine.database, case_id)))
    with Replayer(engine) as replayer:
        result = replayer.replay_history(history)
    assert result.identical, result.divergence


def test_a_case_started_by_a_host_behind_the_importer_replays_with_the_schedule_it_counted_with(
        engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    replaced_while_web_is_behind(engine, clock, web)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    started = engine.queries.events(case_id)[0]
    assert started.event_type == "CaseStarted" and started.occurred_at < REPLACED_AT   # before the replacement's instant
    assert legal_due(web, case_id)["due_date"] == NEW_DUE          # the committed generation: the new schedule
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE
    replays_identically(engine, case_id)


def test_a_clock_started_by_a_host_behind_the_importer_replays_with_the_schedule_it_counted_with(
        engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    ref = web.handle(StartCase("accept_then_decide", REVIEWER))      # the legal clock waits for 受理
    replaced_while_web_is_behind(engine, clock, web)
    web.handle(CompleteTask(ref.created_task_ids[0], REVIEWER, {}))
    assert legal_due(web, ref.case_id, REVIEWER)["due_date"] == NEW_DUE
    replays_identically(engine, ref.case_id)


def test_a_history_file_of_a_case_started_by_a_host_behind_the_importer_replays_identically(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    replaced_while_web_is_behind(engine, clock, web)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    assert legal_due(web, case_id)["due_date"] == NEW_DUE
    replays_identically_from_a_file(engine, case_id)


def test_a_case_started_while_an_import_is_uncommitted_replays_with_the_schedule_it_counted_with(
        engine, clock, web, database_url):
    case_id = started_while_an_import_is_open(engine, clock, web, database_url)
    assert legal_due(web, case_id)["due_date"] == OLD_DUE          # counted before the import committed
    clock.set(RECOMPUTED_AT)
    engine.recompute_deadlines("2026 年节假日安排替换")
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE       # the recompute moved it
    assert [e for e in engine.queries.events(case_id) if e.event_type == "DeadlinesRecomputed"]
    replays_identically(engine, case_id)
    replays_identically_from_a_file(engine, case_id)
