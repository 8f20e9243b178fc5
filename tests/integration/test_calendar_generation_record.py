"""Each command records the calendar generation it counted with; loads commit one at a time, in log order.

Replay seeds a command with the calendar after as many loads as its first event says (``calendar_generation``),
so the number must be the generation of the rows the command read, and generation N must mean the log's first
N rows: two loads at once may not commit out of id order.
"""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from engine import Replayer, ensure_calendar_seeded, import_calendar_year
from engine.audit import CALENDAR_GENERATION
from engine.calendar import facts_from_chinesecalendar
from engine.case_history import load_case_history
from engine.history_file import HistoryFileError, dumps_history, loads_history, read_history
from engine.persistence.calendar_repository import CalendarRepository
from engine.persistence.models import CalendarImport
from engine.replay_calendar import CalendarVersionsInvalid
from tests.integration.test_calendar_replaced_replay import MONDAY, replaced_while_running, revised_2026


def loads(engine) -> int:
    with engine.database.read_sessions() as session:
        return int(session.scalar(select(func.count()).select_from(CalendarImport)))


def test_the_first_event_of_each_command_carries_the_generation_it_counted_with(engine, clock):
    case_id = replaced_while_running(engine, clock)      # started, 2026 replaced and recomputed, a step taken
    now = loads(engine)
    by_command = [(e.event_type, e.payload.get(CALENDAR_GENERATION)) for e in engine.queries.events(case_id)
                  if e.event_type in ("CaseStarted", "DeadlinesRecomputed", "TaskCompleted")]
    assert by_command == [("CaseStarted", now - 1), ("DeadlinesRecomputed", now), ("TaskCompleted", now)]
    stamped = [e.event_type for e in engine.queries.events(case_id) if CALENDAR_GENERATION in e.payload]
    assert stamped == ["CaseStarted", "DeadlinesRecomputed", "TaskCompleted"]     # effects carry none


def test_two_loads_at_once_commit_in_the_order_of_their_log_ids(engine, clock):
    clock.set(MONDAY)
    ensure_calendar_seeded(engine)
    before = loads(engine)
    done = threading.Event()
    failed: list[BaseException] = []

    def second_load() -> None:
        try:
            import_calendar_year(engine, facts_from_chinesecalendar([2025])[0], actor="admin")   # unchanged: logged
        except BaseException as exc:   # noqa: BLE001 - reported by the test
            failed.append(exc)
        finally:
            done.set()

    with engine.services.uow() as uow:
        CalendarRepository(uow.session).import_year(revised_2026(), actor="admin", now=MONDAY, replace=True)
        uow.session.flush()
        worker = threading.Thread(target=second_load)
        worker.start()
        # The second load waits for the first to commit (PostgreSQL: the log's lock; SQLite: the one writer).
        assert not done.wait(0.5)
        uow.commit()
    worker.join(30)
    assert done.is_set() and not failed, failed
    with engine.database.read_sessions() as session:
        log = list(session.scalars(select(CalendarImport).order_by(CalendarImport.id)))[before:]
    assert [(entry.year, entry.action) for entry in log] == [(2026, "replaced"), (2025, "unchanged")]


def exported(engine, clock) -> dict:
    case_id = replaced_while_running(engine, clock)
    return json.loads(dumps_history(load_case_history(engine.database, case_id)))


def test_a_file_carries_the_whole_load_log_and_replays_each_command_by_its_generation(engine, clock):
    doc = exported(engine, clock)
    assert doc["format"] == "tongban-case-history/4"
    log = doc["seed"]["calendar_imports"]
    assert len(log) == loads(engine) and [entry["id"] for entry in log] == sorted(entry["id"] for entry in log)
    assert {entry["year"] for entry in log} > {row["year"] for row in doc["seed"]["calendar"]}   # untrimmed
    with Replayer(engine) as replayer:
        assert replayer.replay_history(loads_history(json.dumps(doc))).identical
        # The same file as a /3 (no log): each command goes by its instant, and the stamps are not compared.
        older = {**doc, "format": "tongban-case-history/3",
                 "seed": {k: v for k, v in doc["seed"].items() if k != "calendar_imports"}}
        assert replayer.replay_history(loads_history(json.dumps(older))).identical


def test_an_edited_generation_beyond_the_log_refuses_the_replay(engine, clock, runner, tmp_path):
    doc = exported(engine, clock)
    doc["events"][0]["payload"][CALENDAR_GENERATION] = 10**6
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with Replayer(engine) as replayer, pytest.raises(CalendarVersionsInvalid) as refused:
        replayer.replay_history(read_history(path))
    assert refused.value.details["generation"] == 10**6
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 2 and "[HISTORY_CALENDAR_INVALID]" in result.output, result.output
    verified = runner.invoke(args=["verify", "--file", str(path)])
    assert verified.exit_code != 0 and "第 1 个事件" in verified.output, verified.output


@pytest.mark.parametrize("edit, words", [
    (lambda log: log.reverse(), "seed.calendar_imports 第 2 项的 id 应为按载入顺序递增的整数"),
    (lambda log: log[0].update(action="deleted"), 'seed.calendar_imports 第 1 项的载入动作 "deleted" 无法识别'),
    (lambda log: log[0].update(year="2026"), 'seed.calendar_imports 第 1 项的年份 "2026" 不是整数'),
    (lambda log: log[0].pop("at"), "seed.calendar_imports 第 1 项缺少字段 at"),
], ids=["out-of-order", "unknown-action", "year-not-int", "no-instant"])
def test_a_malformed_load_log_is_refused_when_the_file_is_read(engine, clock, tmp_path, edit, words):
    doc = exported(engine, clock)
    edit(doc["seed"]["calendar_imports"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(HistoryFileError) as refused:
        read_history(path)
    assert refused.value.code == "HISTORY_FILE_INVALID" and words in refused.value.message, refused.value.message
