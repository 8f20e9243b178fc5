"""A history reader that has the engine reload its calendar keeps each calendar apart, and reloads once.

Found in review (helper-99) of the reader's refresh; both failed before the fix:

1. A reader that meets an event counted with a newer calendar generation than it knows (another process
   imported since this process last read the tables' mark) answers that event from a fresh reader. Both
   answers were keyed ``NOW``, and ``ClockTracks`` memoizes clock figures per (clock, progress, business date,
   key), so on the day of the import the newer events showed the figures counted with the older schedule (a
   ``DeadlinesRecomputed`` whose ``after`` says 12-22 showed 12-21). The engine's calendar is now keyed with the
   generation it was read at.
2. An event whose recorded generation the load log does not reach (a log edited by hand, a restored database)
   had the engine reload its whole calendar at every history view, not once per mark.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from engine import StartCase, ensure_calendar_seeded, import_calendar_year
from engine.persistence.models import CalendarImport
from tests.helpers import CLERK, deploy_shipped
from tests.integration.test_calendar_generation import NEW_DUE, OLD_DUE, REPLACED_AT, web  # noqa: F401
from tests.integration.test_calendar_replaced_replay import MONDAY, clock, legal_due, revised_2026  # noqa: F401
from tests.integration.test_history_calendar_generation import AUDITOR, legal


def shown(engine, case_id: int) -> dict[int, tuple[str, int | None, str | None]]:
    """Each event's type, recorded generation and the legal due date the timeline shows."""
    return {e["seq"]: (e["event_type"], e["calendar_generation"], legal(e["clocks"])["due_date"])
            for e in engine.history.timeline(AUDITOR, case_id, limit=500).events}


def started_on_web_then_replaced_by_the_cli(engine, clock, web) -> int:
    """A case started on the web host at 09:00; it shows its history once (the reader keeps the tables' mark);
    at 10:00 the CLI replaces 2026 and recomputes (the web host runs no command after)."""
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    assert {due for _, _, due in list(shown(web, case_id).values())[1:]} == {OLD_DUE}
    clock.set(REPLACED_AT)
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    engine.recompute_deadlines("2026 年节假日安排替换")
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE
    return case_id


def test_a_timeline_over_an_import_by_another_process_shows_the_recompute_with_the_new_schedule(
        engine, clock, web):
    case_id = started_on_web_then_replaced_by_the_cli(engine, clock, web)
    by_seq = shown(web, case_id)
    recompute = max(by_seq)
    assert by_seq[recompute][0] == "DeadlinesRecomputed"
    assert by_seq[recompute][1] == by_seq[1][1] + 1              # counted with the generation after the import
    assert {due for _, _, due in list(by_seq.values())[1:-1]} == {OLD_DUE}
    # Was 2026-12-21: the figures memoized for the earlier events of that day under the same key NOW.
    assert by_seq[recompute][2] == NEW_DUE
    assert shown(engine, case_id) == by_seq                      # the CLI host's own history agrees


def test_one_key_stands_for_one_calendar_in_a_reader_that_refreshed(engine, clock, web):
    case_id = started_on_web_then_replaced_by_the_cli(engine, clock, web)
    generation = shown(engine, case_id)[1][1]
    at = web.history.calendars.reader()
    instant = REPLACED_AT + timedelta(minutes=1)
    older, newer = at(instant, generation), at(instant, generation + 1)
    day = datetime(2026, 12, 1).date()                               # the holiday the replacement added
    assert older.calendar.is_workday(day) and not newer.calendar.is_workday(day)
    # Both were keyed ("now",), the key InForce documents as "equal exactly when one calendar serves both".
    assert older.key != newer.key


def test_an_event_beyond_the_load_log_does_not_reload_the_calendar_at_every_view(engine, clock):
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    with engine.database.writer.begin() as conn:                     # a load log shortened by hand, say
        last = conn.execute(select(func.max(CalendarImport.id))).scalar_one()
        conn.execute(delete(CalendarImport).where(CalendarImport.id == last))
    loads: list[int] = []
    engine.calendar.wrap(lambda calendar: loads.append(1) or calendar)
    engine.calendar.get()
    shown(engine, case_id)
    before = len(loads)
    for _ in range(3):
        shown(engine, case_id)
    # Was 3 more full calendar reads, one per view (each reader observed the events' generation; the cache dropped).
    assert len(loads) - before <= 1
