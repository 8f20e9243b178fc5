"""The worker recounts every running case whose instants count with a calendar older than the committed one.

``tongban calendar import`` recomputes the running cases right after its commit. Two kinds of case escaped that
recompute and kept a deadline of the old schedule for good: a case a command wrote with the old calendar after the
recompute had passed it (on PostgreSQL, a case opened while the import's transaction was open and committed after
the recompute had listed the cases), and every case the recompute never reached because it was cut short (the CLI
killed, the database gone for a moment). Each case now records the oldest calendar generation its instants may
count with (``cases.calendar_generation``), and the worker's wake-up recomputes those below the committed one.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine import CST, StartCase, import_calendar_year, parse_schedule
from engine.persistence.models import CalendarImport, Case
from engine.timers import RECOUNT_REASON, TimerWorker
from tests.conftest import DATA
from tests.helpers import CLERK
from tests.integration.test_calendar_generation import (  # noqa: F401 - the web fixture
    FIVE_SECONDS_LATER, NEW_DUE, OLD_DUE, REPLACED_AT, replays_identically, seeded_and_deployed, web,
)
from tests.integration.test_calendar_generation_replay import started_while_an_import_is_open
from tests.integration.test_calendar_replaced_replay import revised_2026


def generations(engine) -> tuple[int, dict[int, int | None]]:
    """The committed generation, and each case's recorded one."""
    with engine.database.read_sessions() as session:
        committed = session.scalar(select(func.count()).select_from(CalendarImport))
        return committed, dict(session.execute(select(Case.id, Case.calendar_generation)).all())


def stored_due(engine, case_id: int) -> str:
    """The case row's legal due instant as a CST date (the case page counts it afresh, the row keeps it)."""
    with engine.database.read_sessions() as session:
        due = session.scalar(select(Case.legal_due_at).where(Case.id == case_id))
    return (due.astimezone(CST) - timedelta(days=1)).date().isoformat()   # the period ends at midnight after it


def recomputed(engine, case_id: int) -> list:
    return [e for e in engine.queries.events(case_id) if e.event_type == "DeadlinesRecomputed"]


def test_cases_an_import_left_uncounted_are_recounted_by_the_worker_once(engine, clock, web):
    seeded_and_deployed(engine, clock, web)            # one case already, counted with the seeded calendar
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    committed, counted = generations(engine)
    assert set(counted.values()) == {committed}
    clock.set(REPLACED_AT)
    import_calendar_year(engine, revised_2026(), actor="admin", replace=True)    # and no recompute: cut short
    assert stored_due(engine, case_id) == OLD_DUE
    result = TimerWorker(engine).sweep()
    assert result.recounted == 2
    assert stored_due(engine, case_id) == NEW_DUE
    assert [e.payload["reason"] for e in recomputed(engine, case_id)] == [RECOUNT_REASON]
    committed, counted = generations(engine)
    assert set(counted.values()) == {committed}
    assert TimerWorker(engine).recount() == 0
    replays_identically(engine, case_id)


def test_a_recount_that_moves_nothing_writes_no_event_and_no_version(engine, clock, web):
    seeded_and_deployed(engine, clock, web)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    version = engine.queries.case(CLERK, case_id)["version"]
    events = len(engine.queries.events(case_id))
    # 2027 cannot move a 20-working-day clock from 2026-11-23.
    import_calendar_year(engine, parse_schedule((DATA / "calendar" / "2027.yaml").read_text("utf-8"), "yaml"),
                         actor="admin")
    assert TimerWorker(engine).recount() == 2
    assert engine.queries.case(CLERK, case_id)["version"] == version
    assert len(engine.queries.events(case_id)) == events
    committed, counted = generations(engine)
    assert counted[case_id] == committed
    replays_identically(engine, case_id)


def test_a_case_opened_while_an_import_was_open_and_missed_by_its_recompute_is_recounted(
        engine, clock, web, database_url):
    case_id = started_while_an_import_is_open(engine, clock, web, database_url)
    # The import's recompute listed the cases before this one committed: it never saw it.
    assert stored_due(engine, case_id) == OLD_DUE
    committed, counted = generations(engine)
    assert counted[case_id] == committed - 1
    assert TimerWorker(web).recount() >= 1
    assert stored_due(engine, case_id) == NEW_DUE
    assert [e.payload["reason"] for e in recomputed(engine, case_id)] == [RECOUNT_REASON]
    replays_identically(engine, case_id)
