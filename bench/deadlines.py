"""What deadlines cost a case write: the same approval with and without its clocks, side by side.

The inbox never computes a deadline when it reads (DESIGN §6): every write that changes a clock stores
the due and yellow instants on the case and task rows. This benchmark reports what that costs the writer:

* ``deadlines / engine-sqlite`` runs the approval workload (法定 20 and 承诺 10 working days, a 5-working-day
  task budget on 受理) from start to end; ``deadlines / no-clocks-sqlite`` runs the very same diagram with
  its ``tb:clock`` and ``tb:deadline`` elements removed. Both run in interleaved repeats on the seeded
  calendar; the difference of the medians is the deadline cost per case.
* ``derived_columns`` and ``task_deadline`` are timed alone, per call, over the calendar of 2026.
"""
from __future__ import annotations

import re
import statistics
import time
from datetime import datetime
from typing import Any, Callable

from engine import CST, DeployDefinitions, ensure_calendar_seeded, load_work_calendar
from engine.case_clocks import clocks_of, derived_columns, start_clocks, with_clock
from engine.task_budgets import task_deadline
from engine.definitions import ClockSpec

from .workloads import APPROVAL_BPMN, Batch, EngineApproval, SqliteDatabase

WITH = "deadlines / engine-sqlite"
WITHOUT = "deadlines / no-clocks-sqlite"
_DEADLINE_ELEMENTS = re.compile(rb"\s*<tb:(?:clock|deadline)\b[^>]*/>")


class ApprovalWithoutClocks(EngineApproval):
    """The approval workload deployed again with its clocks and task budgets stripped (the newest version runs)."""

    def __init__(self, name: str, database: Any):
        super().__init__(name, database)
        stripped = _DEADLINE_ELEMENTS.sub(b"", APPROVAL_BPMN.read_bytes())
        self.engine.handle(DeployDefinitions((("approval_bench.bpmn", stripped),)))


def _per_call_us(fn: Callable[[], Any], calls: int) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def run_deadline_benchmark(*, repeats: int, cases: int, calls: int) -> dict[str, Any]:
    """Run both workloads in interleaved repeats and the per-call timings; return the results."""
    workloads = []
    for name, cls in ((WITH, EngineApproval), (WITHOUT, ApprovalWithoutClocks)):
        database = SqliteDatabase(name.split(" / ")[1])
        workload = cls(name, database)
        ensure_calendar_seeded(workload.engine)
        workload.run_batch(3)                                   # warm the caches
        workloads.append((workload, database))
    per_case: dict[str, list[float]] = {WITH: [], WITHOUT: []}
    try:
        for repeat in range(repeats):
            order = workloads if repeat % 2 == 0 else workloads[::-1]
            for workload, _ in order:
                batch: Batch = workload.run_batch(cases)
                per_case[workload.name].append(batch.seconds / batch.cases * 1e3)
        calendar = load_work_calendar(workloads[0][0].engine)
    finally:
        for workload, database in workloads:
            workload.close()
            database.close()

    at = datetime(2026, 2, 12, 10, 0, tzinfo=CST)
    specs = (ClockSpec("legal", 20, "workday"), ClockSpec("committed", 10, "workday"))
    doc = start_clocks(specs, at, "bench")
    legal = clocks_of(doc)["legal"].pause(datetime(2026, 2, 24, 10, tzinfo=CST), "correction", "补正", "bench", None)
    doc = with_clock(doc, "legal", legal.resume(datetime(2026, 2, 27, 10, tzinfo=CST), "bench"))
    with_ms, without_ms = statistics.median(per_case[WITH]), statistics.median(per_case[WITHOUT])
    return {
        "repeats": repeats, "cases_per_repeat": cases,
        "ms_per_case": {WITH: per_case[WITH], WITHOUT: per_case[WITHOUT]},
        "median_ms_per_case": {WITH: with_ms, WITHOUT: without_ms},
        "deadline_cost_ms_per_case": with_ms - without_ms,
        "deadline_share": (with_ms - without_ms) / with_ms if with_ms else None,
        "derived_columns_us": _per_call_us(lambda: derived_columns(doc, calendar), calls),
        "task_deadline_us": _per_call_us(lambda: task_deadline(5, "workdays", at, calendar), calls),
    }


def deadline_lines(result: dict[str, Any]) -> list[str]:
    """The table printed by ``tongban bench``."""
    med = result["median_ms_per_case"]
    return [
        "Deadline cost per case write (SQLite, approval workload start..end, medians of interleaved repeats)",
        f"  {'workload':<32} {'ms/case':>9}",
        f"  {WITH:<32} {med[WITH]:>9.2f}",
        f"  {WITHOUT:<32} {med[WITHOUT]:>9.2f}",
        f"  deadline cost per case: {result['deadline_cost_ms_per_case']:.2f} ms "
        f"({result['deadline_share'] * 100:.1f}% of the case's write time)",
        f"  derived_columns (2 clocks, one resumed pause): {result['derived_columns_us']:.1f} µs/call; "
        f"task_deadline (5 WD): {result['task_deadline_us']:.1f} µs/call",
    ]
