"""The calendar tables on SQLite and PostgreSQL: seeding, importing a year, refusing and replacing content."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from engine import (
    CalendarYearExists, DayFact, DayKind, calendar_years, ensure_calendar_seeded, import_calendar_year,
    load_work_calendar, parse_schedule,
)
from engine.persistence.calendar_repository import CalendarRepository
from tests.conftest import DATA

FIXTURE_2027 = DATA / "calendar" / "2027.yaml"


def schedule_2027(path: Path = FIXTURE_2027):
    return parse_schedule(path.read_text(encoding="utf-8"), "yaml")


def import_log(engine, year: int) -> list[tuple[str, str | None]]:
    with engine.database.read_sessions() as session:
        return [(row.action, row.actor) for row in CalendarRepository(session).imports(year)]


def test_seeding_loads_2004_to_2026_once_and_is_idempotent(engine):
    first = ensure_calendar_seeded(engine)
    assert [o.year for o in first] == list(range(2004, 2027))
    assert {o.action for o in first} == {"created"}
    assert ensure_calendar_seeded(engine) == []
    years = calendar_years(engine)
    assert [info.year for info in years] == list(range(2004, 2027))
    assert years[-1].source.startswith("chinesecalendar") and years[-1].loaded_by == "system"
    assert years[-1].loaded_at == engine.clock.now()
    assert import_log(engine, 2026) == [("created", "system")]


def test_the_stored_calendar_computes_what_the_pure_one_does(engine):
    ensure_calendar_seeded(engine)
    calendar = load_work_calendar(engine)
    assert calendar.workday_count(2026) == 248
    assert calendar.workdays_after(date(2026, 2, 12), 5).date == date(2026, 2, 26)
    assert calendar.fact(date(2026, 2, 20)) == DayFact(DayKind.DAYOFF, "春节")


def test_importing_the_2027_fixture_makes_2027_deadlines_confirmed(engine):
    ensure_calendar_seeded(engine)
    before = load_work_calendar(engine).workdays_after(date(2026, 12, 20), 20)
    assert before.status == "provisional" and before.unknown_years == (2027,)
    outcome = import_calendar_year(engine, schedule_2027(), actor="admin")
    assert (outcome.year, outcome.action) == (2027, "created")
    after = load_work_calendar(engine).workdays_after(date(2026, 12, 20), 20)
    assert (after.status, after.date) == ("confirmed", date(2027, 1, 18))


def test_reimporting_identical_content_is_an_unchanged_logged_no_op(engine):
    import_calendar_year(engine, schedule_2027(), actor="admin")
    again = import_calendar_year(engine, schedule_2027(), actor="admin2")
    assert again.action == "unchanged"
    assert import_log(engine, 2027) == [("created", "admin"), ("unchanged", "admin2")]
    assert calendar_years(engine)[0].loaded_by == "admin"


def changed_2027():
    original = schedule_2027()
    facts = dict(original.facts)
    facts[date(2027, 6, 10)] = DayFact(DayKind.HOLIDAY, "端午")  # a revised notice adds a day
    return replace(original, facts=facts, source="修订后的测试安排")


def test_different_content_without_replace_is_refused_and_changes_nothing(engine):
    first = import_calendar_year(engine, schedule_2027(), actor="admin")
    with pytest.raises(CalendarYearExists) as caught:
        import_calendar_year(engine, changed_2027(), actor="intruder")
    assert caught.value.code == "CALENDAR_YEAR_EXISTS" and caught.value.http_status == 409
    assert "--replace" in caught.value.message
    info = calendar_years(engine)[0]
    assert (info.content_hash, info.loaded_by) == (first.content_hash, "admin")
    assert load_work_calendar(engine).is_workday(date(2027, 6, 10))
    assert import_log(engine, 2027) == [("created", "admin")]


def test_replace_swaps_the_content_and_logs_the_previous_hash(engine):
    first = import_calendar_year(engine, schedule_2027(), actor="admin")
    outcome = import_calendar_year(engine, changed_2027(), actor="admin2", replace=True)
    assert (outcome.action, outcome.previous_hash) == ("replaced", first.content_hash)
    assert not load_work_calendar(engine).is_workday(date(2027, 6, 10))
    info = calendar_years(engine)[0]
    assert (info.source, info.loaded_by, info.content_hash) == ("修订后的测试安排", "admin2", outcome.content_hash)
    with engine.database.read_sessions() as session:
        log = CalendarRepository(session).imports(2027)
    assert [(row.action, row.previous_hash) for row in log] == [
        ("created", None), ("replaced", first.content_hash)]


def test_seeding_never_overwrites_a_year_an_administrator_replaced(engine):
    ensure_calendar_seeded(engine)
    own = replace(schedule_2027(), year=2026, facts={date(2026, 1, 1): DayFact(DayKind.HOLIDAY, "元旦")})
    import_calendar_year(engine, own, actor="admin", replace=True)
    assert ensure_calendar_seeded(engine) == []
    assert calendar_years(engine)[-1].loaded_by == "admin"


def test_two_processes_seeding_at_once_both_succeed_and_load_each_year_once(engine):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: ensure_calendar_seeded(engine), range(2)))
    assert sorted(len(outcomes) for outcomes in results) == [0, 23]
    assert [info.year for info in calendar_years(engine)] == list(range(2004, 2027))
    assert import_log(engine, 2026) == [("created", "system")]
