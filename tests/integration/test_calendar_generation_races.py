"""The calendar's generation when processes overlap: a stale history reader, failing recounts, a mid-read import.

Found by QA against the code before these tests; each failed there:

- A history reader that had read the calendar tables' mark once kept it while the process's cached calendar
  was the same object (up to the cache's 60 s): an import committed by another process meanwhile was not seen,
  and events whose command counted with the new generation were shown with the old schedule. An event counted
  with a newer generation than the reader knows of now has the engine reload first.
- The worker's recount (and the 督办 sweep, the same loop) picked cases from the start, batch after batch:
  cases whose command kept failing filled every batch (20 a wake-up) and the cases after them were never
  reached. A wake-up now tries each case once, by id, and the next goes on where a cut-short one stopped.
- On PostgreSQL (READ COMMITTED) a case's history read ``calendar_days`` and ``calendar_replaced_days`` in two
  snapshots: a replacement committed in between made the old version both in force and replaced, so replay
  refused the case (``HISTORY_CALENDAR_INVALID``) and the history view showed today's schedule with a false
  「历史版本记录有误」 note, cached until the engine reloaded its calendar. Both reads are one snapshot now
  (REPEATABLE READ). SQLite reads one snapshot anyway.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

from sqlalchemy import event, select, update

from engine import Replayer, StartCase, import_calendar_year, load_case_history
from engine.calendar_schedule import facts_from_chinesecalendar
from engine.persistence.models import Case
from engine.timers import TimerWorker
from tests.helpers import CLERK
from tests.integration.test_calendar_generation import (  # noqa: F401 - the web fixture
    NEW_DUE, OLD_DUE, REPLACED_AT, seeded_and_deployed, web,
)
from tests.integration.test_calendar_recount import stored_due
from tests.integration.test_calendar_replaced_replay import legal_due, revised_2026
from tests.integration.test_history_calendar_generation import AUDITOR, legal, shown


def test_a_history_reader_primed_before_an_import_shows_the_new_schedule_at_events_counted_with_it(
        engine, clock, web):
    seeded_and_deployed(engine, clock, web)                   # the web process caches the seeded calendar
    cached = web.handle(StartCase("parallel_approval", CLERK)).case_id
    assert set(list(shown(web, cached).values())[1:]) == {OLD_DUE}   # an auditor read a history on the web side
    clock.set(REPLACED_AT)
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id      # counted on the CLI side
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE
    # The events of the new case record the new generation; the web history must count them with it.
    assert set(list(shown(web, case_id).values())[1:]) == {NEW_DUE}


def corrupt_clocks(engine, case_id: int) -> None:
    """Give the case a stored clock its engine cannot read (an edited row): every recompute of it is refused."""
    with engine.database.writer.begin() as conn:
        doc = conn.execute(select(Case.clocks).where(Case.id == case_id)).scalar_one()
        entry = dict(doc["legal"])
        entry["clock"] = {**entry["clock"], "schema": -1}
        conn.execute(update(Case).where(Case.id == case_id).values(clocks={**doc, "legal": entry}))


def test_a_case_whose_recount_keeps_failing_does_not_keep_the_worker_from_recounting_the_others(
        engine, clock, web):
    seeded_and_deployed(engine, clock, web)                   # a first case, started by the web process
    broken = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    healthy = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    clock.set(REPLACED_AT)
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)    # and no recompute: cut short
    with engine.database.read_sessions() as session:
        first = session.scalar(select(Case.id).where(Case.id.not_in((broken, healthy))))
    corrupt_clocks(engine, first)
    corrupt_clocks(engine, broken)
    assert stored_due(engine, healthy) == OLD_DUE
    worker = TimerWorker(engine, batch=2)
    worker.sweep()
    worker.sweep()
    # The two failing cases are logged and left for later; the third must be recounted all the same.
    assert stored_due(engine, healthy) == NEW_DUE


@contextmanager
def replaced_between_statements(engine, web, marker: str, schedule=None) -> Iterator[list[str]]:
    """While ``engine`` reads: just before its first statement naming ``marker``, the web process replaces 2026.

    What an operator's ``calendar import --replace`` committing in the middle of the read looks like.
    """
    done: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not done and marker in statement:
            done.append(statement)
            web.clock.set(REPLACED_AT)
            loaded = import_calendar_year(web, schedule or revised_2026(), actor="admin", replace=True)
            assert loaded.action == "replaced"

    event.listen(engine.database.engine, "before_cursor_execute", before)
    try:
        yield done
    finally:
        event.remove(engine.database.engine, "before_cursor_execute", before)


def test_a_case_replayed_while_a_year_is_replaced_is_not_refused_as_an_edited_calendar(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    with replaced_between_statements(engine, web, "calendar_replaced_days.loaded_at") as done:
        history = load_case_history(engine.database, case_id)
    assert done
    # The rows it read must be one state of the calendar: the old 2026 either in force or replaced, not both.
    with Replayer(engine) as replayer:
        result = replayer.replay_history(history)        # CalendarVersionsInvalid (HISTORY_CALENDAR_INVALID)
    assert result.identical, result.divergence


def test_a_history_read_while_a_year_is_replaced_keeps_the_schedule_each_event_counted_with(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id      # the seeded schedule: OLD_DUE
    clock.set(REPLACED_AT - timedelta(minutes=30))
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    # The history reads the stored versions (its events predate the committed generation); meanwhile the web
    # process puts the seeded 2026 back.
    seeded = facts_from_chinesecalendar([2026])[0]
    with replaced_between_statements(engine, web, "calendar_replaced_days.loaded_at", seeded) as done:
        engine.history.timeline(AUDITOR, case_id, after=0, limit=500)
    assert done
    # The import has committed; nothing is in flight. A history read now shows each event as it was counted.
    events = engine.history.timeline(AUDITOR, case_id, after=0, limit=500).events
    assert [e["calendar_note"] for e in events] == [None] * len(events)
    assert {legal(e["clocks"])["due_date"] for e in events[1:]} == {OLD_DUE}


def test_a_wake_up_cut_short_leaves_the_next_one_to_go_on_after_the_last_case_it_tried(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    broken = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    healthy = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    clock.set(REPLACED_AT)
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)
    with engine.database.read_sessions() as session:
        first = session.scalar(select(Case.id).where(Case.id.not_in((broken, healthy))))
    corrupt_clocks(engine, first)
    corrupt_clocks(engine, broken)
    worker = TimerWorker(engine, batch=2)
    assert worker.recount(max_batches=1) == 0                 # the two failing cases fill the one batch
    assert stored_due(engine, healthy) == OLD_DUE
    assert worker.recount(max_batches=1) == 1                 # the next wake-up goes on after them
    assert stored_due(engine, healthy) == NEW_DUE
    assert worker.recount(max_batches=1) == 0                 # and the one after starts over: only failures left


def test_a_case_whose_recount_raises_an_unexpected_error_is_logged_and_the_others_are_recounted(
        engine, clock, web, monkeypatch, caplog):
    seeded_and_deployed(engine, clock, web)
    first = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    healthy = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    clock.set(REPLACED_AT)
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)
    handle = engine.handle

    def failing(command):
        if getattr(command, "case_id", None) == first:
            raise RuntimeError("connection reset mid-statement")     # not an EngineError
        return handle(command)
    monkeypatch.setattr(engine, "handle", failing)
    assert TimerWorker(engine, batch=50).recount() == 2           # the web process's case and the healthy one
    assert stored_due(engine, healthy) == NEW_DUE and stored_due(engine, first) == OLD_DUE
    assert f"recount of case {first} failed unexpectedly" in caplog.text
