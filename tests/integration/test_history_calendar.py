"""History files carry only the calendar years their case can need, and replay refuses rather than estimate.

A case's file (format /2) carries the calendar rows from its first event's year through the year after its last
and names every other loaded year with the instant it was loaded. A 300-working-day 法定 clock started in
November 2026 ends in 2028: when 2028 was loaded before the case started, the live run read its holidays, the
file does not carry them, and replay from the file must refuse (``HISTORY_CALENDAR_MISSING``) instead of
writing a weekends-only estimate; from the database (every row) it replays identically. When 2028 was not
loaded, or loaded only after the case's last command, both runs estimate and the file replays identically.
"""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from engine import (
    CST, CalendarNotCarried, CompleteTask, DeployDefinitions, HistoryFileError, Replayer, StartCase, TimerWorker, dumps_history,
    ensure_calendar_seeded, import_calendar_year, load_case_history, loads_history, parse_schedule,
)
from engine.history_file import FORMAT, READABLE, _layout, _plain
from tests.conftest import DATA
from tests.helpers import CLERK, open_task

LONG_CLOCK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_long" targetNamespace="http://tongban.test">
  <bpmn:process id="long_review" name="长期审查" isExecutable="true">
    <bpmn:extensionElements><tb:clock kind="legal" workdays="300"/></bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="审查">
      <bpmn:extensionElements><tb:assignment candidateGroups="window_clerk@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()
SCHEDULE_2028 = """year: 2028
source: "测试用虚构安排（非正式通知）"
holidays:
  - {from: 2028-01-01, to: 2028-01-03, name: 元旦}
  - {from: 2028-01-25, to: 2028-02-02, name: 春节}
workdays:
  - {date: 2028-02-05, name: 春节}
"""


def load_year(engine, text: str) -> None:
    import_calendar_year(engine, parse_schedule(text, "yaml"), actor="admin")


def long_case(engine, clock, *, load_2028: bool) -> int:
    """Seed 2004–2026, load 2027 (and 2028), start the 300-working-day case on 2026-11-23 and finish it."""
    ensure_calendar_seeded(engine)
    load_year(engine, (DATA / "calendar" / "2027.yaml").read_text("utf-8"))
    if load_2028:
        load_year(engine, SCHEDULE_2028)
    engine.handle(DeployDefinitions((("long_review.bpmn", LONG_CLOCK),)))
    clock.advance(hours=1)
    case_id = engine.handle(StartCase("long_review", CLERK)).case_id
    clock.advance(days=2)
    engine.handle(CompleteTask(open_task(engine, CLERK, "review")["id"], CLERK, {}))
    return case_id


def as_file(engine, case_id: int):
    return loads_history(dumps_history(load_case_history(engine.database, case_id)))


def legal_due(engine, case_id: int) -> dict:
    """The case's 法定 clock as the case page shows it (due date, confirmed or provisional)."""
    shown = engine.queries.case(CLERK, case_id)
    return next(c for c in shown["clocks"] if c["kind"] == "legal")


def test_a_file_carries_its_years_and_names_the_others_with_their_load_instant(engine, clock):
    case_id = long_case(engine, clock, load_2028=True)
    full = load_case_history(engine.database, case_id)
    text = dumps_history(full)
    doc = json.loads(text)
    assert doc["format"] == FORMAT == "tongban-case-history/4"
    assert {row["year"] for row in doc["seed"]["calendar"]} == {2026, 2027}
    withheld = {item["year"]: item["loaded_at"] for item in doc["seed"]["calendar_withheld"]}
    assert set(withheld) == set(range(2004, 2026)) | {2028}
    assert withheld[2028] == next(r["loaded_at"] for r in full.calendar if r["year"] == 2028).isoformat()
    history = loads_history(text)
    assert history.calendar_withheld[2028] == next(r["loaded_at"] for r in full.calendar if r["year"] == 2028)
    assert dumps_history(history) == text                          # writing what was read changes nothing
    assert len(text.encode()) < len(json.dumps(full.calendar, default=str)) // 5


def test_replay_refuses_a_deadline_in_a_year_the_file_does_not_carry(engine, clock, runner, tmp_path):
    case_id = long_case(engine, clock, load_2028=True)
    due = legal_due(engine, case_id)
    # The live run read 2028's 春节 (an estimate would have said 2028-02-02, provisional), and no event records
    # the due date: without the refusal, a replay from the file would compute another deadline unnoticed.
    assert (due["due_date"], due["status"]) == ("2028-02-11", "confirmed")
    with Replayer(engine) as replayer:
        from_db = replayer.replay_case(case_id)
        assert from_db.identical, from_db.divergence                 # every row: identical
        with pytest.raises(CalendarNotCarried) as refused:
            replayer.replay_history(as_file(engine, case_id))
    error = refused.value
    assert (error.code, error.http_status) == ("HISTORY_CALENDAR_MISSING", 409)
    assert (error.details["year"], error.details["seq"], error.details["event_type"]) == (2028, 1, "CaseStarted")
    assert "历史文件未携带 2028 年的节假日安排" in error.message and "拒绝重放" in error.message
    path = tmp_path / "long.json"
    assert runner.invoke(args=["history", "export", str(case_id), "-o", str(path)]).exit_code == 0
    result = runner.invoke(args=["replay", "--file", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith("错误 [HISTORY_CALENDAR_MISSING]：历史文件未携带 2028 年的节假日安排")
    assert runner.invoke(args=["verify", "--file", str(path)]).exit_code == 0


@pytest.mark.parametrize("when", ["never", "after the case"])
def test_a_year_not_loaded_while_the_case_ran_replays_identically_from_the_file(engine, clock, when):
    case_id = long_case(engine, clock, load_2028=False)
    due = legal_due(engine, case_id)
    assert (due["due_date"], due["status"]) == ("2028-02-02", "provisional")
    if when == "after the case":
        clock.advance(days=1)
        load_year(engine, SCHEDULE_2028)
    history = as_file(engine, case_id)
    assert (2028 in history.calendar_withheld) == (when == "after the case")
    with Replayer(engine) as replayer:
        result = replayer.replay_history(history)
    assert result.identical, result.divergence


def test_a_timer_re_armed_by_the_next_years_import_replays_identically_from_the_file(engine, clock):
    ensure_calendar_seeded(engine)
    engine.handle(DeployDefinitions((("wd.bpmn", (DATA / "processes" / "workday_timer.bpmn").read_bytes()),)))
    clock.set(datetime(2026, 12, 25, 10, 0, tzinfo=CST))
    ref = engine.handle(StartCase("workday_deadline", CLERK, data={"received_on": "2026-12-25"}))
    clock.advance(hours=1)
    load_year(engine, (DATA / "calendar" / "2027.yaml").read_text("utf-8"))
    assert engine.recompute_deadlines("2027 年节假日安排载入") == (1, 1)
    clock.set(datetime(2027, 1, 5, 0, 0, 1, tzinfo=CST))
    assert TimerWorker(engine).sweep().cases == 1
    history = as_file(engine, ref.case_id)
    assert {row["year"] for row in history.calendar} == {2026, 2027}   # 2026 through 2027 + 1: 2028 not loaded
    with Replayer(engine) as replayer:
        result = replayer.replay_history(history)
    assert result.identical, result.divergence


def test_a_format_1_file_with_every_calendar_row_still_reads_and_replays(engine, clock):
    case_id = long_case(engine, clock, load_2028=True)
    full = load_case_history(engine.database, case_id)
    doc = json.loads(dumps_history(full))
    doc["format"] = READABLE[0]
    del doc["seed"]["calendar_withheld"]
    doc["seed"]["calendar"] = json.loads(json.dumps(full.calendar, default=_plain))
    history = loads_history(_layout(doc, ""))
    assert history.calendar_withheld == {} and len(history.calendar) == len(full.calendar)
    with Replayer(engine) as replayer:
        result = replayer.replay_history(history)
    assert result.identical, result.divergence


@pytest.mark.parametrize("edit, words", [
    (lambda doc: doc["seed"].pop("calendar_withheld"), "calendar_withheld"),
    (lambda doc: doc["seed"]["calendar_withheld"].append({"year": 2026, "loaded_at": "2026-11-23T01:00:00+00:00"}),
     "同一年份 [2026]"),
    (lambda doc: doc["seed"]["calendar_withheld"].append({"year": "2030", "loaded_at": "2026-11-23T01:00:00+00:00"}),
     "不是整数"),
], ids=["missing", "also-carried", "not-a-year"])
def test_a_format_2_file_with_a_bad_withheld_list_is_refused(engine, clock, edit, words):
    doc = json.loads(dumps_history(load_case_history(engine.database, long_case(engine, clock, load_2028=False))))
    edit(doc)
    with pytest.raises(HistoryFileError) as refused:
        loads_history(json.dumps(doc, ensure_ascii=False))
    assert refused.value.code == "HISTORY_FILE_INVALID" and words in refused.value.message
