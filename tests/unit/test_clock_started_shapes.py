"""ClocksStarted with and without the budget of a clock started at 受理: every reader takes both shapes.

An engine from before recorded a 受理 clock's budget only when it came from the case data (``amountFrom``).
Now every entry holds it: the archive check compares it exactly, and falls back to the declared budgets only
for the old shape; replay compares an old entry without the budget it lacks; the history tracks read both.
"""
from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest

from engine import verify_archive
from engine.archive_problems import CASE_MISMATCH
from engine.archive_writer import write_package
from engine.calendar import WorkCalendar
from engine.clock import CST
from engine.history_clocks import ClockTracks
from engine.legal_clock import Budget, Clock
from engine.replay_shapes import as_recorded
from tests.unit.archive_fixture import as_version, chained, clocked_input, entries, rezip

TEN, TWENTY = {"amount": 10, "unit": "workday"}, {"amount": 20, "unit": "workday"}
CASE = "metadata/case.json"


def accepted(**extra: Any) -> dict[str, Any]:
    """A 受理 entry as the engine writes it (T0, deemed acceptance and its explanation), plus ``extra``."""
    return {"kind": "committed", "t0": "2026-11-23", "deemed": False, "explanation": "已于 2026-11-23 受理", **extra}


def started(**clocks: Any) -> dict[str, Any]:
    return {"event_type": "ClocksStarted", "seq": 7, "element_id": "accept", "payload": {"clocks": clocks}}


# --- replay: the recorded shape decides ----------------------------------------------------------------------

def test_an_old_acceptance_entry_is_compared_without_the_budget_it_never_had():
    replayed = started(committed=accepted(budget=TEN), legal={"t0": "2026-11-23", "budget": TWENTY})
    recorded = started(committed=accepted(), legal={"t0": "2026-11-23", "budget": TWENTY})
    assert as_recorded(replayed, recorded) == recorded


@pytest.mark.parametrize("recorded_entry", [
    accepted(budget=TWENTY),                                   # recorded after: an edited budget stays visible
    accepted(budget=TEN, amount_from="target_workdays"),       # a length from the case data always had one
    accepted(amount_from="target_workdays"),                   # ... so one without is compared as it is
    {"t0": "2026-11-23"},                                      # a clock started at 收件 always had one too
], ids=["new-shape", "amount-from", "amount-from-without-budget", "started-at-intake"])
def test_every_other_entry_is_compared_exactly(recorded_entry):
    replayed_entry = {**recorded_entry, "budget": TEN}
    replayed = started(committed=replayed_entry)
    assert as_recorded(replayed, started(committed=recorded_entry)) is replayed


def test_only_clocks_started_and_only_the_old_entries_are_reshaped():
    other = {"event_type": "ClocksStopped", "payload": {"clocks": {"committed": accepted(budget=TEN)}}}
    assert as_recorded(other, {**other, "payload": {"clocks": {"committed": accepted()}}}) is other
    mixed = as_recorded(started(committed=accepted(budget=TEN), legal=accepted(kind="legal", budget=TEN)),
                        started(committed=accepted(), legal=accepted(kind="legal", budget=TWENTY)))
    assert mixed["payload"]["clocks"] == {"committed": accepted(), "legal": accepted(kind="legal", budget=TEN)}
    assert as_recorded(started(committed=accepted(budget=TEN)), started()) == started(committed=accepted(budget=TEN))


# --- the archive check --------------------------------------------------------------------------------------

def clocked(budget_on_event: bool) -> bytes:
    """The fixture's package; with ``budget_on_event`` its 受理 ``ClocksStarted`` (event 7) records the budget."""
    base = clocked_input()
    specs = []
    for event in base.events:
        payload = json.loads(json.dumps(event.payload))
        if budget_on_event and event.event_type == "ClocksStarted" and event.element_id == "accept":
            payload["clocks"]["committed"]["budget"] = TEN
        specs.append((event.event_type, {"actor": event.actor, "element_id": event.element_id,
                                         "task_id": event.task_id}, payload))
    out = io.BytesIO()
    write_package(out, replace(base, events=chained(specs)))
    return out.getvalue()


def with_committed_budget(package: bytes, budget: dict[str, Any]) -> bytes:
    files = entries(package)
    case = json.loads(files[CASE])
    case["clocks"]["committed"]["clock"]["budget"] = budget
    manifest = json.loads(files["manifest.json"])
    return rezip(package, change={CASE: json.dumps(case, ensure_ascii=False).encode()}, fix_manifest=True,
                 case_no=manifest["package"])


def check(tmp_path, package: bytes):
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    return verify_archive(path)


def test_a_recorded_budget_swapped_for_another_declared_one_is_named_with_both_values(tmp_path):
    assert check(tmp_path, clocked(budget_on_event=True)).ok
    result = check(tmp_path, with_committed_budget(clocked(budget_on_event=True), TWENTY))
    assert (result.problem.entry, result.problem.code) == (CASE, CASE_MISMATCH), result.problem
    assert result.problem.message == "clocks.committed.clock.budget（时限）与第 7 个事件（ClocksStarted）不符"
    assert (result.problem.expected, result.problem.got) == ("10 个工作日", "20 个工作日")


def test_an_old_event_without_the_budget_still_only_bounds_it_to_the_declared_ones(tmp_path):
    # What README.txt (format version 3) says stays unchecked for older cases: a swap between declared budgets.
    assert check(tmp_path, with_committed_budget(clocked(budget_on_event=False), TWENTY)).ok
    undeclared = check(tmp_path, with_committed_budget(clocked(budget_on_event=False), {"amount": 60,
                                                                                         "unit": "workday"}))
    assert "不是所锁定的流程图或事项目录声明的时限" in undeclared.problem.message


def as_version_2(package: bytes, readme_version: int = 2) -> bytes:
    """The package as the engine wrote it in format version 2 (its README text included)."""
    return as_version(package, 2, readme_version)


def test_a_package_written_in_format_version_2_keeps_its_readme_and_verifies(tmp_path):
    old = as_version_2(clocked(budget_on_event=False))
    assert check(tmp_path, old).ok
    readme = entries(old)["README.txt"].decode()
    assert "格式：tongban-archive 第 2 版" in readme and "天数未记入 ClocksStarted 事件的时限" in readme
    assert "两个声明的时限互换" not in readme
    refused = check(tmp_path, as_version_2(clocked(budget_on_event=False), readme_version=3))
    assert (refused.problem.entry, refused.problem.message) == ("README.txt", "说明与清单不符（说明被改动）")


# --- the history tracks -------------------------------------------------------------------------------------

def test_the_history_tracks_read_both_shapes_alike():
    calendar = WorkCalendar({}, [2026])            # weekends only: enough to compare the two readings
    at = datetime(2026, 11, 23, 10, 0, tzinfo=CST)
    clock = Clock.start("committed", Budget(10), date(2026, 11, 23), at, "clerk")
    doc = {"committed": {"yellow_days": 1, "yellow_ratio": 0.2, "clock": clock.to_dict()}}
    seen = [[c.to_dict() for c in ClockTracks(doc, [(7, "ClocksStarted", {"clocks": {"committed": entry}})],
                                              calendar).at(7, at)]
            for entry in (accepted(), accepted(budget=TEN))]
    assert seen[0] == seen[1] and seen[0][0]["state"] == "running" and seen[0][0]["left"] == 10
