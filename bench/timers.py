"""Durable timers at scale: N pending timers fall due at once and worker processes fire them on PostgreSQL.

The fixture is one real case of ``tests/data/processes/timer.bpmn`` (user task ``review`` with a 2-hour
interrupting boundary timer that escalates to ``escalate``), started through the engine, then cloned in SQL
(:func:`clone_case`). Worker processes (``multiprocessing`` spawn, released together by a barrier) each
bootstrap their own engine with a :class:`ManualClock` standing just past the due time and call
``TimerWorker.sweep()`` until two sweeps in a row find nothing. Every firing goes through the engine's real
``FireDueTimers`` command; only the fixture is built in bulk.

Lateness cannot be read from a manual clock (every event's ``occurred_at`` is the same manual instant), so it
is measured on the wall clock: each child records ``time.time()`` after every ``FireDueTimers`` it ran, and
lateness = that instant - the instant the workers were released (when every timer was already due).

``python -m bench.timers --timers 100000`` runs one size on its own (``--profile`` runs worker 0 under
cProfile and prints its top functions); ``bench.run`` calls :func:`run_timer_benchmarks`.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing as mp
import pstats
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import text

from engine import (
    CST, Actor, DeployDefinitions, EngineConfig, ManualClock, StartCase, TimerWorker, bootstrap,
)

from .stats import percentile

ROOT = Path(__file__).resolve().parent.parent
TIMER_BPMN = ROOT / "tests" / "data" / "processes" / "timer.bpmn"
TIMER_KEY = "timed_review"
TIMER_DELAY = timedelta(hours=2)
"""The boundary timer's duration in timer.bpmn (PT2H)."""
STARTED_AT = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
"""Manual-clock instant at which the template case starts; its timer is due TIMER_DELAY later."""
REVIEWER = Actor("bench_timer_reviewer", ("reviewer",), "500103", "zhujian")
CLONE_PREFIX = "TBCLONE"

FULL_TIMERS = 100_000
QUICK_TIMERS = 2_000
SMALL_TIMERS = 200
"""'Normal load': this many timers due at once must fire with p99 lateness below SMALL_P99_TARGET_S."""
SMALL_P99_TARGET_S = 2.0
FULL_BUDGET_S = 8 * 60
"""Full mode runs FULL_TIMERS only when the rate measured on the probe run extrapolates to within this."""
WORKERS = 2
BATCH = 200

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --------------------------------------------------------------------------------------------- fixture


@dataclass(frozen=True)
class TimedCases:
    """What :func:`build_due_timers` left in the database."""

    cases: int
    template_case_id: int
    definition_id: int
    due_at: datetime
    seconds: float


def build_due_timers(url: str, n: int, *, started_at: datetime = STARTED_AT) -> TimedCases:
    """Start one real timed case through the engine at ``started_at`` and clone it into ``n`` cases in all.

    Every timer is due at ``started_at + TIMER_DELAY``. PostgreSQL only (the clone uses generate_series).
    """
    began = time.perf_counter()
    engine = bootstrap(EngineConfig(database_url=url), clock=ManualClock(started_at))
    try:
        if engine.database.dialect != "postgresql":
            raise RuntimeError("the cloned timer fixture needs PostgreSQL")
        engine.handle(DeployDefinitions((("timer.bpmn", TIMER_BPMN.read_bytes()),)))
        ref = engine.handle(StartCase(TIMER_KEY, REVIEWER, title="定时器规模测试"))
        with engine.database.engine.begin() as conn:
            definition_id, due_at = conn.execute(text(
                "SELECT c.definition_id, t.due_at FROM cases c JOIN timers t ON t.case_id = c.id "
                "WHERE c.id = :id"), {"id": ref.case_id}).one()
            clone_case(conn, ref.case_id, n - 1)
    finally:
        engine.close()
    return TimedCases(n, ref.case_id, definition_id, due_at, time.perf_counter() - began)


def clone_case(conn: Any, case_id: int, copies: int, *, prefix: str = CLONE_PREFIX) -> None:
    """Insert ``copies`` independent copies of case ``case_id``: its row, inbox rows, candidates and timers.

    One ``INSERT ... SELECT ... generate_series`` per table, on ``conn`` (the caller's transaction).

    Why a clone is a faithful fixture: a case is fully described by its ``cases`` row (the workflow snapshot
    and the audit-chain head it continues from), its open inbox rows and its waiting timer rows. A clone gets
    all of them, with its own ``case_no`` and id, so ``FireDueTimers`` on a clone locks, restores, fires and
    writes exactly as on the template: same snapshot, same definition, same statements.

    The one thing that must not be copied verbatim is task identity. SpiffWorkflow keeps task UUIDs in the
    snapshot, including tasks it has already predicted but not reached (``escalate`` sits there in state
    MAYBE with a fixed UUID), and the engine keys inbox rows by that UUID (``tasks.spiff_task_id`` is
    UNIQUE; ``close_tasks`` and ``finish_timers`` match on (case_id, spiff_task_id)). A verbatim copy would
    give every clone's ``escalate`` the same UUID, so the second firing would collide on the unique index,
    which no pair of real cases can do. Each clone therefore gets every UUID of the template replaced by
    ``md5(uuid || ':' || n)::uuid``, applied consistently to the snapshot, its ``tasks`` rows and its
    ``timers`` rows, just as a real StartCase would have drawn fresh ones.

    Not cloned: the template's ``case_events``. A clone's ``event_seq`` and ``chain_head`` are the
    template's, so its first event (``TimersFired``) gets the sequence number and predecessor hash a real
    case's would, but its own history (CaseStarted, TaskCreated) is absent: verifying a clone's audit chain
    fails at the first link. Nothing in timer firing reads the log.
    """
    if copies <= 0:
        return
    snapshot = conn.execute(text("SELECT workflow_state FROM cases WHERE id = :id"),
                            {"id": case_id}).scalar_one()
    uuids = sorted(set(_UUID.findall(snapshot)))
    keyed = {r[0] for r in conn.execute(text(
        "SELECT spiff_task_id FROM tasks WHERE case_id = :id UNION SELECT spiff_task_id FROM timers "
        "WHERE case_id = :id"), {"id": case_id})}
    if not keyed <= set(uuids):
        missing = sorted(keyed - set(uuids))
        raise RuntimeError(f"task ids {missing} are not in the snapshot; cannot remap them")
    params: dict[str, Any] = {"src": case_id, "copies": copies, "prefix": prefix}
    state = "c.workflow_state"
    for i, value in enumerate(uuids):
        params[f"u{i}"] = value
        state = f"replace({state}, :u{i}, {_remap(f':u{i}')})"
    columns = [r[0] for r in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'cases' AND column_name NOT IN ('id', 'case_no', 'workflow_state') "
        "ORDER BY ordinal_position"))]
    conn.execute(text(
        f"INSERT INTO cases (case_no, workflow_state, {', '.join(columns)}) "
        f"SELECT :prefix || lpad(g::text, 9, '0'), {state}, {', '.join('c.' + k for k in columns)} "
        "FROM cases c CROSS JOIN generate_series(1, :copies) AS g WHERE c.id = :src"), params)
    clones = ("FROM generate_series(1, :copies) AS g "
              "JOIN cases n ON n.case_no = :prefix || lpad(g::text, 9, '0')")
    task_columns = [r[0] for r in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'tasks' AND column_name NOT IN ('id', 'case_id', 'spiff_task_id') "
        "ORDER BY ordinal_position"))]
    conn.execute(text(
        f"INSERT INTO tasks (case_id, spiff_task_id, {', '.join(task_columns)}) "
        f"SELECT n.id, {_remap('t.spiff_task_id')}, "
        f"{', '.join('n.case_no' if k == 'case_no' else 't.' + k for k in task_columns)} "
        f"{clones} JOIN tasks t ON t.case_id = :src"), params)
    conn.execute(text(
        "INSERT INTO task_candidates (task_id, group_key, available, inbox_due_at, inbox_yellow_at, created_at) "
        "SELECT nt.id, tc.group_key, tc.available, tc.inbox_due_at, tc.inbox_yellow_at, tc.created_at "
        "FROM tasks t JOIN task_candidates tc ON tc.task_id = t.id "
        "JOIN generate_series(1, :copies) AS g ON true "
        "JOIN cases n ON n.case_no = :prefix || lpad(g::text, 9, '0') "
        f"JOIN tasks nt ON nt.case_id = n.id AND nt.spiff_task_id = {_remap('t.spiff_task_id')} "
        "WHERE t.case_id = :src"), params)
    conn.execute(text(
        "INSERT INTO timers (case_id, spiff_task_id, element_id, kind, expression, due_at, state, "
        "created_at, attempts) "
        f"SELECT n.id, {_remap('t.spiff_task_id')}, t.element_id, t.kind, t.expression, t.due_at, t.state, "
        f"t.created_at, 0 {clones} JOIN timers t ON t.case_id = :src AND t.state = 'waiting'"), params)
    for table in ("cases", "tasks", "task_candidates", "timers"):
        conn.execute(text(f"ANALYZE {table}"))


def _remap(expr: str) -> str:
    """SQL for clone g's replacement of the UUID ``expr`` (deterministic, so all tables agree)."""
    return f"md5({expr} || ':' || g::text)::uuid::text"


# --------------------------------------------------------------------------------------------- workers


class _Stamping:
    """The engine as TimerWorker sees it, recording the wall-clock instant after every command it handles."""

    def __init__(self, engine: Any, stamps: list[float]):
        self._engine = engine
        self._stamps = stamps

    def handle(self, command: Any) -> Any:
        result = self._engine.handle(command)
        self._stamps.append(time.time())
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def worker_child(url: str, clock_at: str, worker_id: str, batch: int, barrier: Any, results: Any,
                 profile: str | None = None) -> None:
    """Child process: own engine at manual time ``clock_at``; sweep until two sweeps in a row fire nothing.

    Puts one dict on ``results``: fired/failed counts, sweeps, the release instant and one wall-clock stamp
    per fired case (or ``error`` with a traceback).
    """
    report: dict[str, Any] = {"worker": worker_id}
    engine = None
    try:
        clock = ManualClock(datetime.fromisoformat(clock_at))
        engine = bootstrap(EngineConfig(database_url=url), clock=clock)
        _warm_up(engine)
        stamps: list[float] = []
        stamping: Any = _Stamping(engine, stamps)
        worker = TimerWorker(stamping, worker_id=worker_id, batch=batch)
        profiler = cProfile.Profile() if profile else None
        barrier.wait(timeout=120)
        released = time.time()
        fired = failed = sweeps = empty = 0
        if profiler:
            profiler.enable()
        while empty < 2:
            result = worker.sweep()
            sweeps += 1
            fired += result.cases
            failed += result.failed
            empty = empty + 1 if result.cases == 0 and result.failed == 0 else 0
        finished = time.time()
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        report.update(fired=fired, failed=failed, sweeps=sweeps, released=released, finished=finished,
                      stamps=stamps)
    except BaseException:  # noqa: BLE001 - the parent must hear about any failure, not wait for it
        report["error"] = traceback.format_exc()
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass
    finally:
        if engine is not None:
            engine.close()
        results.put(report)


def _warm_up(engine: Any) -> None:
    """Open a connection and parse the timed definition, as a worker that has been running already has."""
    engine.ping()
    with engine.database.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM process_definitions WHERE process_key = :k"),
                                          {"k": TIMER_KEY})]
    services = engine.services
    with services.uow() as uow:
        for definition_id in ids:
            services.catalog.get(uow, definition_id)


@dataclass
class WorkerRun:
    """What the worker processes reported."""

    workers: list[dict[str, Any]]
    released: float
    """Wall-clock instant the workers were released (the earliest of the children's)."""
    stamps: list[float] = field(default_factory=list)

    @property
    def fired(self) -> int:
        """Cases fired by all workers together."""
        return sum(w["fired"] for w in self.workers)

    @property
    def failed(self) -> int:
        """How many firings failed in all workers; each was released for a retry."""
        return sum(w["failed"] for w in self.workers)

    @property
    def last_fire(self) -> float:
        """Wall-clock instant of the last firing."""
        return max(self.stamps, default=self.released)

    @property
    def finished(self) -> float:
        """Wall-clock instant the last worker stopped sweeping."""
        return max(w["finished"] for w in self.workers)


def run_workers(url: str, clock_at: datetime, *, processes: int = WORKERS, batch: int = BATCH,
                profile: str | None = None, timeout: float = 1800) -> WorkerRun:
    """Spawn ``processes`` workers on ``url`` at manual time ``clock_at``, release them together, collect.

    ``profile``: a path; worker 0 runs under cProfile and dumps its stats there.
    """
    context = mp.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=worker_child, name=f"timer-worker-{i}",
                                args=(url, clock_at.isoformat(), f"w{i}", batch, barrier, results,
                                      profile if i == 0 else None))
                for i in range(processes)]
    for child in children:
        child.start()
    try:
        reports = [results.get(timeout=timeout) for _ in children]
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.terminate()
                child.join(timeout=10)
    errors = [f"{r['worker']}:\n{r['error']}" for r in reports if "error" in r]
    if errors:
        raise RuntimeError("timer worker process failed\n" + "\n".join(errors))
    reports.sort(key=lambda r: r["worker"])
    stamps = sorted(s for r in reports for s in r.pop("stamps"))
    return WorkerRun(reports, min(r["released"] for r in reports), stamps)


# --------------------------------------------------------------------------------------------- checks


def exactly_once(conn: Any, expected: int) -> dict[str, Any]:
    """Check in SQL that each of the ``expected`` timed cases fired once and moved on to ``escalate``."""
    cases = conn.execute(text("SELECT count(*) FROM cases WHERE process_key = :k"), {"k": TIMER_KEY}).scalar()
    per_case = conn.execute(text(
        "SELECT count(*), coalesce(min(n), 0), coalesce(max(n), 0) FROM ("
        "SELECT case_id, count(*) AS n FROM case_events WHERE event_type = 'TimersFired' GROUP BY case_id) f"
    )).one()
    timers = dict(conn.execute(text("SELECT state, count(*) FROM timers GROUP BY state")).all())
    errors = conn.execute(text("SELECT count(*) FROM timers WHERE last_error IS NOT NULL")).scalar()
    escalate = conn.execute(text(
        "SELECT count(*), count(DISTINCT case_id) FROM tasks WHERE element_id = 'escalate' AND state = 'open'"
    )).one()
    reviews = dict(conn.execute(text(
        "SELECT state, count(*) FROM tasks WHERE element_id = 'review' GROUP BY state")).all())
    report = {
        "cases": cases,
        "cases_with_timers_fired": per_case[0],
        "timers_fired_events_per_case": {"min": per_case[1], "max": per_case[2]},
        "timer_rows": timers,
        "timer_rows_with_error": errors,
        "open_escalate_tasks": escalate[0],
        "cases_with_open_escalate": escalate[1],
        "review_tasks": reviews,
    }
    report["ok"] = (cases == expected and per_case[0] == expected and per_case[1] == per_case[2] == 1
                    and timers == {"done": expected} and errors == 0
                    and escalate[0] == escalate[1] == expected and reviews == {"cancelled": expected})
    return report


# --------------------------------------------------------------------------------------------- one run


def measure(base_url: str, n: int, *, processes: int = WORKERS, batch: int = BATCH,
            profile: str | None = None, schema_factory: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Fresh schema, ``n`` timers due at once, ``processes`` workers: rate, lateness, exactly-once."""
    if schema_factory is None:
        from .workloads import PostgresSchema
        schema_factory = PostgresSchema
    db = schema_factory(base_url)
    try:
        fixture = build_due_timers(db.url, n)
        run = run_workers(db.url, fixture.due_at + timedelta(seconds=1), processes=processes, batch=batch,
                          profile=profile)
        with db.admin.connect() as conn:
            conn.execute(text(f'SET search_path TO "{db.schema}"'))
            check = exactly_once(conn, n)
    finally:
        db.close()
    lateness = [s - run.released for s in run.stamps]
    fire_wall = run.last_fire - run.released
    return {
        "status": "ok",
        "timers": n,
        "workers": processes,
        "batch": batch,
        "fixture_seconds": fixture.seconds,
        "fire_wall_seconds": fire_wall,
        "workers_wall_seconds": run.finished - run.released,
        "timers_per_s": run.fired / fire_wall if fire_wall > 0 else None,
        "lateness_s": {"p50": percentile(lateness, 50), "p99": percentile(lateness, 99),
                       "max": max(lateness, default=None), "samples": len(lateness)},
        "timers_per_s_by_tenth": _rate_by_tenth(run.stamps),
        "per_worker": [{k: w[k] for k in ("worker", "fired", "failed", "sweeps")} for w in run.workers],
        "fired": run.fired,
        "failed": run.failed,
        "exactly_once": check,
    }


def _rate_by_tenth(stamps: Sequence[float]) -> list[float]:
    """Firing rate in each tenth of the firings, in order: does it hold up as the run goes on?"""
    if len(stamps) < 20:
        return []
    bounds = [round(i * (len(stamps) - 1) / 10) for i in range(11)]
    return [(hi - lo) / (stamps[hi] - stamps[lo]) if stamps[hi] > stamps[lo] else 0.0
            for lo, hi in zip(bounds, bounds[1:])]


# --------------------------------------------------------------------------------------------- bench.run


def run_timer_benchmarks(base_url: str, *, quick: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    """The timer rows of ``bench.run``: a small 'normal load' run and the at-scale run.

    Quick mode: QUICK_TIMERS at scale. Full mode: FULL_TIMERS, but only when the rate measured on a probe of
    QUICK_TIMERS extrapolates to within FULL_BUDGET_S; otherwise the probe is reported together with the
    extrapolation, and the full size is left to ``python -m bench.timers --timers 100000``.
    """
    out: dict[str, Any] = {}
    echo(f"  timers: {SMALL_TIMERS} due at once, {WORKERS} worker processes ...")
    out["small"] = measure(base_url, SMALL_TIMERS)
    echo(f"  timers: {QUICK_TIMERS:,} due at once, {WORKERS} worker processes ...")
    probe = measure(base_url, QUICK_TIMERS)
    if quick:
        out["scale"] = probe
        return out
    rate = probe["timers_per_s"] or 0.0
    estimate = FULL_TIMERS / rate + FULL_TIMERS / QUICK_TIMERS * probe["fixture_seconds"] if rate else None
    if estimate is not None and estimate <= FULL_BUDGET_S:
        echo(f"  timers: {FULL_TIMERS:,} due at once (about {estimate / 60:.1f} min at "
             f"{rate:.0f} timers/s) ...")
        out["scale"] = measure(base_url, FULL_TIMERS)
        out["scale"]["probe"] = _brief(probe)
    else:
        minutes = f"about {estimate / 60:.1f} min" if estimate is not None else "unknown time"
        reason = (f"{FULL_TIMERS:,} timers not run: at the {rate:.0f} timers/s measured on {QUICK_TIMERS:,} "
                  f"they would take {minutes} (> {FULL_BUDGET_S / 60:.0f} min budget); the row shows the "
                  f"{QUICK_TIMERS:,} run. Full figure: python -m bench.timers --timers {FULL_TIMERS}")
        echo(f"  timers: {reason}")
        out["scale"] = {**probe, "not_run": {"timers": FULL_TIMERS, "budget_s": FULL_BUDGET_S,
                                             "extrapolated_s": estimate, "reason": reason}}
    return out


def rounded(value: Any) -> Any:
    """Round floats inside ``value`` to 3 places for printing."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("timers", "timers_per_s", "lateness_s", "fire_wall_seconds")}


def timer_lines(results: dict[str, Any]) -> list[str]:
    """Fixed-width table of the timer runs."""
    head = (f"{'workload':<30} {'timers':>7} {'timers/s':>8} {'late p50 s':>10} {'late p99 s':>10} "
            f"{'fire s':>7} {'fixture s':>9} {'once':>5}  fired per worker")
    lines = [head, "-" * len(head)]
    for key, label in (("small", "timers / normal load"), ("scale", "timers / due at once")):
        r = results.get(key)
        if r is None:
            continue
        if r.get("status") != "ok":
            lines.append(f"{label:<30} {r.get('status', '?').upper()}: {r.get('reason')}")
            continue
        late = r["lateness_s"]
        lines.append(
            f"{label:<30} {r['timers']:>7,} {r['timers_per_s']:>8.1f} "
            f"{late['p50']:>10.2f} {late['p99']:>10.2f} "
            f"{r['fire_wall_seconds']:>7.1f} {r['fixture_seconds']:>9.1f} "
            f"{'yes' if r['exactly_once']['ok'] else 'NO':>5}  "
            + ", ".join(f"{w['worker']} {w['fired']:,}" for w in r["per_worker"]))
        if r.get("not_run"):
            lines.append(f"{'':<30} NOTE: {r['not_run']['reason']}")
        if r.get("probe"):
            p = r["probe"]
            lines.append(f"{'':<30} (probe of {p['timers']:,} before it: {p['timers_per_s']:.1f} timers/s)")
    lines.append("lateness = wall-clock instant a case's FireDueTimers returned - instant the workers were "
                 "released (all timers already due); timers/s = fired / (last firing - release)")
    return lines


def timer_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Target rows in bench.run's format.

    PASS/FAIL: every timer fired exactly once at scale; p99 lateness under normal load (SMALL_TIMERS due at
    once) below SMALL_P99_TARGET_S. INFO: timers/s and p99 lateness at scale, as measured (no threshold).
    """
    rows: list[dict[str, Any]] = []

    def outcome(r: dict[str, Any] | None, ok: bool | None) -> str:
        if r is None or r.get("status") == "skipped":
            return "SKIP"
        if r.get("status") != "ok":
            return "FAIL"
        return "INFO" if ok is None else ("PASS" if ok else "FAIL")

    def reason(r: dict[str, Any] | None) -> dict[str, Any]:
        failed = r is not None and r.get("status") != "ok" and r.get("reason")
        return {"reason": r["reason"]} if failed else {}

    scale, small = results.get("scale"), results.get("small")
    good = scale is not None and scale.get("status") == "ok"
    n = f"{scale['timers']:,}" if good else "N"
    rows.append({"target": f"timers fired exactly once ({WORKERS} workers, {n} due at once)",
                 "threshold": "all once", "measured": scale["fired"] if good else None, "unit": "cases",
                 "result": outcome(scale, good and scale["exactly_once"]["ok"]), **reason(scale)})
    rows.append({"target": f"timers/s, {n} due at once ({WORKERS} workers)", "threshold": "report",
                 "measured": scale["timers_per_s"] if good else None, "unit": "timers/s",
                 "result": outcome(scale, None), **reason(scale)})
    rows.append({"target": f"timer lateness p99, {n} due at once", "threshold": "report",
                 "measured": scale["lateness_s"]["p99"] if good else None, "unit": "s",
                 "result": outcome(scale, None), **reason(scale)})
    good = small is not None and small.get("status") == "ok"
    p99 = small["lateness_s"]["p99"] if good else None
    rows.append({"target": f"timer lateness p99, {SMALL_TIMERS} due at once (normal load)",
                 "threshold": f"< {SMALL_P99_TARGET_S:g} s", "measured": p99, "unit": "s",
                 "result": outcome(small, good and p99 < SMALL_P99_TARGET_S and small["exactly_once"]["ok"]),
                 **reason(small)})
    return rows


# --------------------------------------------------------------------------------------------- CLI


def _cli(argv: Sequence[str] | None = None) -> int:
    import os
    parser = argparse.ArgumentParser(prog="python -m bench.timers", description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=QUICK_TIMERS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--profile", action="store_true", help="run worker 0 under cProfile, print the top")
    parser.add_argument("--postgresql-url", default=os.environ.get(
        "TONGBAN_BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    profile = "/tmp/tongban-timer-worker.prof" if args.profile else None
    began = time.perf_counter()
    result = measure(args.postgresql_url, args.timers, processes=args.workers, batch=args.batch,
                     profile=profile)
    result["duration_s"] = time.perf_counter() - began
    for line in timer_lines({"scale": result}):
        print(line)
    keys = ("per_worker", "exactly_once", "lateness_s", "timers_per_s_by_tenth", "duration_s")
    print(json.dumps({k: rounded(result[k]) for k in keys},
                     ensure_ascii=False, default=str))
    if args.output:
        args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str) + "\n")
    if profile:
        buffer = io.StringIO()
        stats = pstats.Stats(profile, stream=buffer)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(30)
        print(buffer.getvalue())
    return 0 if result["exactly_once"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(_cli())
