"""Timer elements as drawn (name, attached task, whether firing ends the case) and the applicant's 容缺 date."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import CST
from engine.calendar_functions import calendar_functions
from engine.case_progress import last_day_before, tolerance_deadline
from engine.expressions import Evaluator
from engine.project_targets import target_functions
from engine.spiff.elements import TimerElement, timer_elements
from engine.spiff.parser import parse_unit
from tests.conftest import ROOT


def shipped_timers(directory: str) -> dict[str, TimerElement]:
    files = [(p.name, p.read_bytes()) for p in sorted((ROOT / "processes" / directory).glob("*.bpmn"))]
    functions = {**calendar_functions(None), **target_functions({})}   # named, never called: parsing only
    unit = parse_unit(files, Evaluator(functions), max_bytes=10 ** 7)
    found: dict[str, TimerElement] = {}
    for process in unit.processes.values():
        found.update(timer_elements(process.spec, process.subprocess_specs))
    return found


@pytest.mark.parametrize(("directory", "expected"), [
    ("standard_permit", {"tolerance_expired": TimerElement("tolerance_expired", "容缺补齐期限届满",
                                                           "receive_tolerance", True)}),
    # Non-interrupting (cancelActivity="false"): 移交超时 chases the transfer, the case goes on.
    ("yidi_daiban", {"transfer_overdue": TimerElement("transfer_overdue", "移交超时", "confirm_arrival", False)}),
    ("parallel_approval", {}),
])
def test_timer_elements_of_the_shipped_diagrams(directory, expected):
    assert shipped_timers(directory) == expected


def test_a_deadline_at_midnight_ends_the_day_before_in_beijing_time():
    assert last_day_before(datetime(2026, 3, 10, 0, 0, tzinfo=CST)).isoformat() == "2026-03-09"
    assert last_day_before(datetime(2026, 3, 9, 9, 0, tzinfo=CST)).isoformat() == "2026-03-09"
    assert last_day_before(datetime.fromisoformat("2026-03-09T16:00:00+00:00")).isoformat() == "2026-03-09"


def test_the_applicant_is_told_the_tolerance_date_only_while_its_task_is_open():
    timer = {"element_id": "tolerance_expired", "attached_to": "receive_tolerance", "ends_case": True,
             "due_at": datetime(2026, 12, 11, 0, 0, tzinfo=CST)}
    open_tasks = [{"element_id": "review", "name": "审查"}, {"element_id": "receive_tolerance", "name": "接收容缺材料"}]
    assert tolerance_deadline([timer], open_tasks) == {
        "due_date": "2026-12-10", "text": "请于 2026-12-10（含当日）前补齐容缺材料，逾期将终止办理"}
    assert tolerance_deadline([timer], open_tasks[:1]) is None
    assert tolerance_deadline([], open_tasks) is None
    chase = {**timer, "ends_case": False}                   # a timer that does not end the case is staff's business
    assert tolerance_deadline([chase], open_tasks) is None
