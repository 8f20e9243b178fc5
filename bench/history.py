"""What an auditor waits for: the history of a case with 1,000+ events, on SQLite.

One case of ``tests/data/processes/loop.bpmn`` (补正循环) is driven through 333 rounds (1,002 events). Then,
each a median over repeated calls on the same engine: a timeline page of 100 events from the middle and of
500 from the start (statements per page counted), the overview (hash chain check of every event plus the
path), and the state as of the last and the middle event rebuilt by replay, with the state cache emptied
before each call (and once more from the cache).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Callable

from engine import Actor

from .loop_case import loop_case

AUDITOR = Actor("bench_auditor", ("auditor",), "500000")


def _median_ms(fn: Callable[[], Any], samples: int) -> float:
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def run_history_benchmark(*, quick: bool) -> dict[str, Any]:
    """Build the long case in a temporary SQLite database and time the history reads."""
    rounds = 100 if quick else 333
    with loop_case(rounds, "history") as (engine, case_id):
        return _measure(engine, case_id, quick)


def _measure(engine: Any, case_id: int, quick: bool) -> dict[str, Any]:
    history, samples = engine.history, 3 if quick else 9
    events = engine.queries.case(AUDITOR, case_id)["event_count"]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)
    from sqlalchemy import event
    history.timeline(AUDITOR, case_id, limit=500)
    event.listen(engine.database.engine, "before_cursor_execute", count)
    history.timeline(AUDITOR, case_id, limit=500)
    event.remove(engine.database.engine, "before_cursor_execute", count)

    def fresh_state(seq: int) -> Callable[[], Any]:
        def run() -> Any:
            history.states._cache.clear()
            return history.state_at(AUDITOR, case_id, seq)
        return run
    result = {
        "events": events,
        "timeline_100_ms": _median_ms(lambda: history.timeline(AUDITOR, case_id, after=events // 2, limit=100),
                                      samples * 3),
        "timeline_500_ms": _median_ms(lambda: history.timeline(AUDITOR, case_id, limit=500), samples * 3),
        "statements_per_page": len([s for s in statements if not s.lstrip().upper().startswith(
            ("BEGIN", "COMMIT", "ROLLBACK"))]),
        "overview_ms": _median_ms(lambda: history.overview(AUDITOR, case_id), samples),
        "state_last_ms": _median_ms(fresh_state(events), max(3, samples // 3)),
        "state_middle_ms": _median_ms(fresh_state(events // 2), max(3, samples // 3)),
    }
    history.state_at(AUDITOR, case_id, events)
    result["state_cached_ms"] = _median_ms(lambda: history.state_at(AUDITOR, case_id, events), samples * 3)
    return result


def main_history_only(*, quick: bool, output: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    """Run the history benchmark alone and merge its section into ``output`` (the rest is kept)."""
    from .run import machine_info, merge_results
    echo(f"tongban bench --only history ({'quick' if quick else 'full'})")
    began = time.perf_counter()
    measured = run_history_benchmark(quick=quick)
    for key, value in measured.items():
        echo(f"  {key:<22} {value:.1f}" if isinstance(value, float) else f"  {key:<22} {value}")
    return merge_results(output, {"history": {**measured, "database": "sqlite", "mode": "quick" if quick else "full",
                                              "machine": machine_info(), "duration_s": time.perf_counter() - began}},
                         None, echo)
