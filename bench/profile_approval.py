"""Where one approval case's milliseconds go, per command, on SQLite and PostgreSQL.

``python -m bench.profile_approval`` runs warm-up cases, then profiles ``--cases`` more of the approval
workload (``bench/data/approval.bpmn``: StartCase + 4 CompleteTask) through ``engine.handle``. Per command it
prints the statements (with their time inside the driver, measured between SQLAlchemy's ``before_cursor_execute`` and
``after_cursor_execute``), the driver round trips (statements plus BEGIN and COMMIT, which psycopg sends on
their own), and the command's wall time; then the cProfile top of all profiled cases (``--top``).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections import defaultdict
from typing import Any, Sequence

from sqlalchemy import event

from engine import CompleteTask, StartCase

from .workloads import (
    ACTORS, APPROVAL_KEY, CLERK, FORM_DATA, INITIAL_DATA, TITLE, PostgresSchema, SqliteDatabase, element_ids,
    make_engine,
)

DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class StatementTrace:
    """Records each statement (first words) and its time in the driver, and the transaction boundaries."""

    def __init__(self, sa_engine: Any):
        self.sa_engine = sa_engine
        self.statements: list[tuple[str, float]] = []
        self.transactions = 0
        self._t0 = 0.0
        event.listen(sa_engine, "before_cursor_execute", self._before)
        event.listen(sa_engine, "after_cursor_execute", self._after)
        event.listen(sa_engine, "commit", self._commit)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self._t0 = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = " ".join(statement.split())[:70]
        self.statements.append((words, (time.perf_counter() - self._t0) * 1e3))

    def _commit(self, conn: Any) -> None:
        self.transactions += 1

    def take(self) -> tuple[list[tuple[str, float]], int]:
        """Return and reset what was recorded since the last call."""
        out, tx = self.statements, self.transactions
        self.statements, self.transactions = [], 0
        return out, tx

    def close(self) -> None:
        """Detach the listeners."""
        event.remove(self.sa_engine, "before_cursor_execute", self._before)
        event.remove(self.sa_engine, "after_cursor_execute", self._after)
        event.remove(self.sa_engine, "commit", self._commit)


def run_case(engine: Any, trace: StatementTrace, log: dict[str, list[dict[str, Any]]]) -> None:
    """One approval case; per command, append wall ms and its statements to ``log``."""
    trace.take()
    t0 = time.perf_counter()
    ref = engine.handle(StartCase(APPROVAL_KEY, CLERK, data=INITIAL_DATA, title=TITLE))
    _note(log, "start", t0, trace)
    pending = list(ref.created_task_ids)
    while pending:
        elements = element_ids(engine, pending)
        trace.take()
        created: list[int] = []
        for task_id in pending:
            element = elements[task_id]
            t0 = time.perf_counter()
            created += engine.handle(CompleteTask(task_id, ACTORS[element], FORM_DATA[element])).created_task_ids
            _note(log, f"complete {element}", t0, trace)
        pending = created


def _note(log: dict[str, list[dict[str, Any]]], name: str, t0: float, trace: StatementTrace) -> None:
    wall = (time.perf_counter() - t0) * 1e3
    statements, tx = trace.take()
    log[name].append({"wall_ms": wall, "statements": statements, "transactions": tx})


def report(label: str, log: dict[str, list[dict[str, Any]]], echo: Any = print) -> None:
    """Print per command: median wall time, statements, round trips, time in the driver, each statement."""
    echo(f"\n== {label}")
    for name, runs in log.items():
        wall = statistics.median(r["wall_ms"] for r in runs)
        in_db = statistics.median(sum(ms for _s, ms in r["statements"]) for r in runs)
        count = statistics.median(len(r["statements"]) for r in runs)
        tx = statistics.median(r["transactions"] for r in runs)
        echo(f"{name:26s} wall {wall:6.2f} ms | {count:4.0f} statements in {in_db:5.2f} ms "
             f"| +{tx:.0f} commit(s) | our CPU + spiff ~{wall - in_db:5.2f} ms")
        per_stmt: dict[str, list[float]] = defaultdict(list)
        for r in runs:
            for words, ms in r["statements"]:
                per_stmt[words].append(ms)
        for words, times in per_stmt.items():
            echo(f"    {len(times) / len(runs):4.1f} x {statistics.median(times):5.3f} ms  {words}")


def profile(url_label: str, database: Any, *, warmup: int, cases: int, top: int, echo: Any = print) -> None:
    """Warm up, then trace and cProfile ``cases`` cases on ``database``."""
    engine = make_engine(database.url)
    trace = StatementTrace(engine.database.engine)
    try:
        scratch: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _ in range(warmup):
            run_case(engine, trace, scratch)
        log: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _ in range(cases):
            run_case(engine, trace, log)
        report(f"{url_label}: {cases} cases, medians per command (not profiled)", log, echo)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(cases):
            run_case(engine, trace, defaultdict(list))
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        echo(out.getvalue())
    finally:
        trace.close()
        engine.close()


def _cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_approval", description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgresql-url", default=DEFAULT_POSTGRESQL_URL)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    if args.db in ("sqlite", "both"):
        db = SqliteDatabase("profile")
        try:
            profile("SQLite", db, warmup=args.warmup, cases=args.cases, top=args.top)
        finally:
            db.close()
    if args.db in ("postgresql", "both"):
        pg = PostgresSchema(args.postgresql_url)
        try:
            profile("PostgreSQL", pg, warmup=args.warmup, cases=args.cases, top=args.top)
        finally:
            pg.close()
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
