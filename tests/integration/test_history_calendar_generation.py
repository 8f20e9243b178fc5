"""The history counts each event's clocks with the calendar its command counted with, not the one at its instant.

A command records the calendar generation it counted working days with on the first event it writes
(``calendar_generation``); replay seeds it with that generation (test_calendar_generation_replay.py). The history
counted every event with the schedule in force at the event's *instant* instead, and the two disagree when the
clocks of the hosts do, or when a command overlaps an import:

- a web host five seconds behind the importer starts a case, or takes a step, just after
  ``calendar import --replace``: it counted with the new schedule (法定 due 2026-12-22, the live due date), but
  the history showed the old one's 12-21 at its events, also after a ``DeadlinesRecomputed`` whose ``after``
  says 12-22;
- on PostgreSQL a case started while an import's transaction is open counted with the old schedule (12-21, the
  recompute's ``before``) though its instant is after the import's: the history showed 12-22 before the recompute.

The events a command writes after its first share that first event's generation.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import create_engine, select, text, update

from app import create_app
from app.runtime import set_engine
from engine import CST, Actor, CompleteTask, StartCase, ensure_calendar_seeded, import_calendar_year
from engine.audit import CALENDAR_GENERATION
from engine.history_calendar import command_generations
from engine.persistence.models import CaseEvent
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task
from tests.integration.test_calendar_generation import (  # noqa: F401 - the web fixture
    FIVE_SECONDS_LATER, NEW_DUE, OLD_DUE, REPLACED_AT, replays_identically, seeded_and_deployed, web,
)
from tests.integration.test_calendar_generation_replay import (
    RECOMPUTED_AT, replaced_while_web_is_behind, started_while_an_import_is_open,
)
from tests.integration.test_calendar_replaced_replay import (  # noqa: F401 - the clock fixture
    MONDAY, clock, legal_due, revised_2026,
)
from tests.pages_helpers import PASSWORD, client_for

AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")


def legal(clocks: list[dict]) -> dict:
    return next(c for c in clocks if c["kind"] == "legal")


def shown(engine, case_id: int, after: int = 0) -> dict[int, str | None]:
    """The legal due date each event of the timeline shows (None: not started)."""
    events = engine.history.timeline(AUDITOR, case_id, after=after, limit=500).events
    assert {e["calendar_note"] for e in events} == {None}
    return {e["seq"]: legal(e["clocks"])["due_date"] for e in events}


def recomputed(engine, case_id: int) -> tuple[int, str, str]:
    """The ``DeadlinesRecomputed`` event's number and its ``before`` and ``after`` legal due dates (CST days)."""
    event = next(e for e in engine.queries.events(case_id) if e.event_type == "DeadlinesRecomputed")
    # Due instants are the ends of the due days: 16:00 UTC is the next day's 00:00 in CST.
    days = [event.payload[side]["legal_due_at"][:10] for side in ("before", "after")]
    return event.seq, *days


def with_app(engine, database_url: str):
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    engine.identity.create_user("auditor", display_name="审计", roles=("auditor",), district="500000",
                                department="shenji", password=PASSWORD)
    return app


def test_a_case_started_by_a_host_behind_the_importer_shows_the_schedule_it_counted_with(
        engine, clock, web, database_url):
    seeded_and_deployed(engine, clock, web)
    replaced_while_web_is_behind(engine, clock, web)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    started = engine.queries.events(case_id)
    assert started[0].occurred_at < REPLACED_AT and CALENDAR_GENERATION in started[0].payload
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE
    by_seq = shown(engine, case_id)
    assert by_seq[1] is None and set(list(by_seq.values())[1:]) == {NEW_DUE}   # the instant's schedule: OLD_DUE
    # Every event at the current generation: no version of the calendar was read (the usual, cheap case).
    assert engine.history.calendars._versions is None
    state = engine.history.state_at(AUDITOR, case_id, 1)
    assert (legal(state["clocks"])["due_date"], state["calendar_note"]) == (NEW_DUE, None)
    app = with_app(engine, database_url)
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor')}"}
    api = app.test_client().get(f"/api/v1/cases/{case_id}/history?limit=50", headers=bearer).get_json()["events"]
    assert {legal(e["clocks"])["due_date"] for e in api[1:]} == {NEW_DUE}
    html = client_for(app, "auditor").get(f"/cases/{case_id}/history/1", headers={"HX-Request": "true"})
    assert f"<td>{NEW_DUE}</td>" in html.get_data(as_text=True)


def test_a_step_taken_by_a_host_behind_the_importer_after_the_recompute_shows_the_recomputed_due_date(
        engine, clock, web, database_url):
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id          # 09:00: the old schedule
    replaced_while_web_is_behind(engine, clock, web)                            # 10:00: replaced, recomputed
    accepted = web.handle(CompleteTask(open_task(web, CLERK, "accept")["id"], CLERK, ACCEPT))   # 09:59:55
    assert accepted.case_id == case_id and legal_due(web, case_id)["due_date"] == NEW_DUE
    events = engine.queries.events(case_id)
    cut, before, after = recomputed(engine, case_id)
    assert (before, after) == (OLD_DUE, NEW_DUE) and cut < len(events)
    step = next(e for e in events if e.seq > cut and e.event_type == "TaskCompleted")
    assert step.occurred_at < REPLACED_AT and CALENDAR_GENERATION in step.payload
    assert len([e for e in events if e.seq > step.seq]) >= 2      # its effects: no calendar_generation of their own
    by_seq = shown(engine, case_id)
    assert [by_seq[seq] for seq in range(2, cut)] == [before] * (cut - 2)
    assert [by_seq[seq] for seq in range(cut, len(events) + 1)] == [after] * (len(events) + 1 - cut)
    # A page that starts inside the step's command counts its effects with the step's calendar too.
    assert set(shown(engine, case_id, after=step.seq).values()) == {NEW_DUE}
    for seq in (cut - 1, step.seq, len(events)):
        state = engine.history.state_at(AUDITOR, case_id, seq)
        assert legal(state["clocks"])["due_date"] == (before if seq < cut else after), seq
    app = with_app(engine, database_url)
    bearer = {"Authorization": f"Bearer {engine.identity.create_token('auditor')}"}
    api = app.test_client().get(f"/api/v1/cases/{case_id}/history?limit=50", headers=bearer).get_json()["events"]
    assert [legal(e["clocks"])["due_date"] for e in api[step.seq - 1:]] == [NEW_DUE] * (len(events) + 1 - step.seq)
    auditor = client_for(app, "auditor")
    page = auditor.get(f"/cases/{case_id}/history").get_data(as_text=True)
    left = legal(api[step.seq - 1]["clocks"])["left"]
    row = page.split(f'<tr id="event-{step.seq}"')[1].split("</tr>")[0]
    assert f"剩{left} " in row                     # one working day more than the old schedule gave
    state = auditor.get(f"/cases/{case_id}/history/{step.seq}", headers={"HX-Request": "true"})
    assert f"<td>{NEW_DUE}</td>" in state.get_data(as_text=True)
    replays_identically(engine, case_id)


def test_a_case_started_while_an_import_is_uncommitted_shows_the_schedule_it_counted_with(
        engine, clock, web, database_url):
    case_id = started_while_an_import_is_open(engine, clock, web, database_url)
    clock.set(RECOMPUTED_AT)
    engine.recompute_deadlines("2026 年节假日安排替换")
    cut, before, after = recomputed(engine, case_id)
    assert (before, after) == (OLD_DUE, NEW_DUE)
    assert engine.queries.events(case_id)[0].occurred_at > REPLACED_AT     # the instant's schedule: NEW_DUE
    by_seq = shown(engine, case_id)
    assert [by_seq[seq] for seq in range(2, cut)] == [OLD_DUE] * (cut - 2)
    assert by_seq[cut] == NEW_DUE == legal_due(engine, case_id)["due_date"]
    assert legal(engine.history.state_at(AUDITOR, case_id, 1)["clocks"])["due_date"] == OLD_DUE
    assert legal(engine.history.state_at(AUDITOR, case_id, cut)["clocks"])["due_date"] == NEW_DUE


def without_generations(database_url: str, case_id: int) -> None:
    """Take ``calendar_generation`` out of the case's events, behind the append-only trigger's back."""
    eng = create_engine(database_url)
    events = CaseEvent.__table__
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events DISABLE TRIGGER case_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS case_events_no_update"))
        for seq, payload in conn.execute(select(events.c.seq, events.c.payload).where(events.c.case_id == case_id)):
            conn.execute(update(events).where(events.c.case_id == case_id, events.c.seq == seq).values(
                payload={k: v for k, v in payload.items() if k != CALENDAR_GENERATION}))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE case_events ENABLE TRIGGER case_events_append_only"))
    eng.dispose()


def test_events_recorded_before_generations_keep_the_schedule_in_force_at_their_instant(
        engine, clock, web, database_url):
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = web.handle(StartCase("parallel_approval", CLERK)).case_id
    replaced_while_web_is_behind(engine, clock, web)
    step = web.handle(CompleteTask(open_task(web, CLERK, "accept")["id"], CLERK, ACCEPT))
    without_generations(database_url, case_id)      # what an engine from before generations were recorded wrote
    cut = recomputed(engine, case_id)[0]
    by_seq = shown(engine, case_id)
    # The step's instant (09:59:55) is before the replacement's: the old schedule, as replay would seed it.
    assert {by_seq[seq] for seq in range(2, cut)} == {OLD_DUE} and by_seq[cut] == NEW_DUE
    assert {due for seq, due in by_seq.items() if seq > cut} == {OLD_DUE} and step.case_id == case_id


def test_events_a_command_wrote_after_its_first_take_its_generation():
    nine, ten = datetime(2026, 11, 23, 9, 0, tzinfo=CST), datetime(2026, 11, 23, 10, 0, tzinfo=CST)
    stamped = {CALENDAR_GENERATION: 7}
    events = [(1, nine, stamped), (2, nine, {}), (3, nine, None),     # one command: 7 for all
              (4, ten, {}),                                           # a command recorded without one
              (5, ten, {CALENDAR_GENERATION: 8}), (6, ten, {"x": 1}),
              (7, nine, {}),                                          # another instant: another command
              (8, ten, {CALENDAR_GENERATION: True})]                  # not a generation
    assert command_generations(events) == [7, 7, 7, None, 8, 8, None, None]
    # A page that starts inside a command: the event before it, with its command's generation.
    assert command_generations(events[5:6], before=(5, ten, 8)) == [8]
    assert command_generations(events[5:6], before=(4, ten, 8)) == [None]      # not the event right before
    assert command_generations(events[5:6], before=(5, nine, 8)) == [None]     # not its instant


def test_a_host_that_has_not_reloaded_since_an_import_shows_the_new_schedule_at_the_events_counted_with_it(
        engine, clock, web):
    """The web process's calendar predates an import another process ran; its history reads the newer events.

    Its history reader once took the web process's cached calendar for "the calendar now" whenever an event's
    generation was the one last committed, though that cache was read a generation earlier and had not reloaded
    yet (it reloads on its next command, or a minute later).
    """
    seeded_and_deployed(engine, clock, web)                  # the web process caches the seeded calendar
    stale, _ = web.calendar.current()
    clock.set(REPLACED_AT)
    assert import_calendar_year(engine, revised_2026(), actor="admin", replace=True).action == "replaced"
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id              # counted on the CLI side
    assert legal_due(engine, case_id)["due_date"] == NEW_DUE
    assert web.calendar.current()[0] is stale                # no command on the web side since the import
    assert set(list(shown(web, case_id).values())[1:]) == {NEW_DUE}
    assert web.calendar.current()[0] is not stale            # the reader had the web process reload it
    assert legal(web.history.state_at(AUDITOR, case_id, 2)["clocks"])["due_date"] == NEW_DUE
