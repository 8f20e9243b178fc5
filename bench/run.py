"""Run every benchmark side by side, print a table with the targets, and write the results as JSON.

``tongban bench`` calls :func:`main`; ``python -m bench.run`` does the same from a shell. The approval
workloads run in interleaved repeats (each repeat runs every workload once, in rotating order) so that noise
on the shared machine hits all of them alike, and the ratios compare numbers measured in the same run.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

from .audit import audit_lines, audit_targets, run_audit_benchmark
from .dashboard import dashboard_lines, dashboard_targets, run_dashboard_benchmark
from .deadlines import deadline_lines, run_deadline_benchmark
from .handoffs import handoff_lines, handoff_targets, run_handoff_benchmark
from .inbox import inbox_lines, inbox_targets, run_inbox_benchmark
from .stats import median_of_all, percentile, spread
from .parallel import aggregate_rate
from .timers import run_timer_benchmarks, timer_lines, timer_targets
from .workloads import (
    Batch, BareSpiffApproval, BareSpiffLoop, EngineApproval, EngineLoop, GrowthTrace, HttpApproval,
    PostgresSchema, SqliteDatabase, Stopwatch, Stored, in_ci, probe_postgresql, safe_url,
)

DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_OUTPUT = Path("bench/results.json")

BARE = "approval / bare-spiff"
SQLITE = "approval / engine-sqlite"
PG = "approval / engine-postgresql"
HTTP = "approval / engine-http-sqlite"
G_SQLITE = "growth / engine-sqlite"
G_PG = "growth / engine-postgresql"
G_BARE = "growth / bare-spiff"
BARE_GROWTH_CAP = 300

# Targets: (label, what is compared, operator, threshold).
TARGET_CASES_PER_S = 50.0
TARGET_RATIO = 0.6
TARGET_P50_MS = 10.0
TARGET_SQL = 10
TARGET_HTTP_P50_MS = 20.0
TARGET_GROWTH_RATIO = 1.5
TARGET_STATE_RATIO = 1.05


@dataclass(frozen=True)
class Plan:
    """How much work a run does."""

    quick: bool
    repeats: int
    cases: int
    warmup: int
    growth_rounds: int

    @classmethod
    def for_mode(cls, quick: bool) -> "Plan":
        """The quick (smoke test) or the full plan."""
        if quick:
            return cls(quick=True, repeats=2, cases=10, warmup=10, growth_rounds=60)
        return cls(quick=False, repeats=5, cases=60, warmup=10, growth_rounds=400)


# --------------------------------------------------------------------------------------------- statistics


def rounded(value: Any, digits: int = 3) -> Any:
    """Round floats anywhere inside ``value`` for a readable JSON file."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    return value


def summarize_approval(name: str, layer: str, batches: list[Batch], stored: Stored | None) -> dict[str, Any]:
    """Per-workload numbers from its repeats."""
    completions = [ms for b in batches for ms in b.completion_ms]
    starts = [ms for b in batches for ms in b.start_ms]
    sql = [n for b in batches for n in b.sql_per_completion]
    rates = [b.cases / b.seconds for b in batches if b.seconds > 0]
    return {
        "status": "ok",
        "layer": layer,
        "repeats": [{"cases": b.cases, "timed_seconds": b.seconds, "cases_per_s": b.cases / b.seconds}
                    for b in batches],
        "cases_per_s": spread(rates),
        "completion_ms": {"p50": percentile(completions, 50), "p99": percentile(completions, 99),
                          "min": min(completions, default=None), "max": max(completions, default=None),
                          "samples": len(completions)},
        "start_ms": {"p50": percentile(starts, 50), "p99": percentile(starts, 99), "samples": len(starts)},
        "sql_per_completion": ({**spread(sql), "samples": len(sql)} if sql else None),
        "sql_per_start": (spread([n for b in batches for n in b.sql_per_start])
                          if any(b.sql_per_start for b in batches) else None),
        "time_split": time_split(batches),
        "stored": None if stored is None else {
            "bytes_per_case": stored.bytes_per_case, "method": stored.method, "cases": stored.cases,
            "per_table": stored.per_table, **stored.extra},
    }


def summarize_growth(trace: GrowthTrace) -> dict[str, Any]:
    """Early vs late completion time and state size of one loop case."""
    n = len(trace.rounds_ms)
    early = trace.rounds_ms[4:15]
    late = trace.rounds_ms[max(n - 11, 0):n]
    early_ms, late_ms = statistics.median(early), statistics.median(late)
    xs = list(range(5, n + 1))
    slope = statistics.linear_regression(xs, trace.rounds_ms[4:]).slope * 100 if n >= 6 else None
    state_10 = trace.state_bytes[9]
    state_n = trace.state_bytes[-1]
    return {
        "status": "ok",
        "layer": trace.layer,
        "rounds": n,
        "cap": trace.cap,
        "note": trace.note,
        "early_window": "completions 5-15",
        "late_window": f"completions {max(n - 10, 1)}-{n}",
        "early_median_ms": early_ms,
        "late_median_ms": late_ms,
        "time_ratio": late_ms / early_ms,
        "slope_ms_per_100_rounds": slope,
        "medians_per_50_rounds_ms": [statistics.median(trace.rounds_ms[i:i + 50]) for i in range(0, n, 50)],
        "state_bytes_at_10": state_10,
        "state_bytes_at_n": state_n,
        "state_ratio": state_n / state_10,
        "sql_per_completion": spread(trace.sql) if trace.sql else None,
        "rounds_ms": trace.rounds_ms,
        "state_bytes": trace.state_bytes,
    }


# --------------------------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "loadavg_at_start": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "flask": version("Flask"),
        "psycopg": version("psycopg"),
        "sqlite": sqlite3.sqlite_version,
    }


# --------------------------------------------------------------------------------------------- output


def _fmt(value: Any, spec: str = ".1f", dash: str = "-") -> str:
    if value is None:
        return dash
    if isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def approval_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Fixed-width table of the approval workloads."""
    head = (f"{'workload':<30} {'cases/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'SQL/compl':>9} "
            f"{'bytes/case':>10}  notes")
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        if r["status"] != "ok":
            lines.append(f"{name:<30} {'-':>8} {'-':>8} {'-':>8} {'-':>9} {'-':>10}  SKIPPED: {r['reason']}")
            continue
        sql = r["sql_per_completion"]
        sql_text = "-" if sql is None else (f"{sql['median']:g}" if sql["min"] == sql["max"]
                                            else f"{sql['median']:g} ({sql['min']}-{sql['max']})")
        stored = r["stored"]
        lines.append(
            f"{name:<30} {_fmt(r['cases_per_s']['median']):>8} {_fmt(r['completion_ms']['p50'], '.2f'):>8} "
            f"{_fmt(r['completion_ms']['p99'], '.2f'):>8} {sql_text:>9} "
            f"{_fmt(stored and stored['bytes_per_case'], ',.0f'):>10}  {r['note']}")
    return lines


def growth_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Fixed-width table of the growth runs."""
    head = (f"{'workload':<30} {'rounds':>6} {'t 5-15 ms':>9} {'t last ms':>9} {'ratio':>6} {'ms/100r':>7} "
            f"{'state@10':>9} {'state@N':>9} {'SQL/compl':>9}  notes")
    lines = [head, "-" * len(head)]
    for name, g in results.items():
        if g["status"] != "ok":
            dashes = " ".join(f"{'-':>{w}}" for w in (6, 9, 9, 6, 7, 9, 9, 9))
            lines.append(f"{name:<30} {dashes}  SKIPPED: {g['reason']}")
            continue
        sql = g["sql_per_completion"]
        sql_text = "-" if sql is None else (f"{sql['median']:g}" if sql["min"] == sql["max"]
                                            else f"{sql['median']:g} ({sql['min']}-{sql['max']})")
        lines.append(
            f"{name:<30} {g['rounds']:>6} {g['early_median_ms']:>9.2f} {g['late_median_ms']:>9.2f} "
            f"{g['time_ratio']:>6.2f} {_fmt(g['slope_ms_per_100_rounds'], '+.2f'):>7} "
            f"{g['state_bytes_at_10']:>9,} {g['state_bytes_at_n']:>9,} {sql_text:>9}  "
            f"{g['late_window']} vs 5-15; {g['note'] or g['layer']}")
    return lines


def evaluate_targets(approval: dict[str, dict[str, Any]], growth: dict[str, dict[str, Any]],
                     ratios: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every target with its measured value and PASS / FAIL (SKIP when the workload did not run)."""
    targets: list[dict[str, Any]] = []

    def add(label: str, target: str, measured: float | None, ok: bool | None, unit: str = "",
            reason: str | None = None) -> None:
        result = "SKIP" if measured is None else ("PASS" if ok else "FAIL")
        targets.append({"target": label, "threshold": target, "measured": measured, "unit": unit,
                        "result": result, **({"reason": reason} if reason and measured is None else {})})

    def ok_run(name: str, table: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        r = table.get(name)
        return r if r is not None and r["status"] == "ok" else None

    def why(name: str, table: dict[str, dict[str, Any]]) -> str | None:
        r = table.get(name)
        return None if r is None else r.get("reason")

    pg = ok_run(PG, approval)
    v = pg and pg["cases_per_s"]["median"]
    add("engine-postgresql cases/s", f">= {TARGET_CASES_PER_S:g}", v,
        v is not None and v >= TARGET_CASES_PER_S, "cases/s", why(PG, approval))
    for key in (PG, SQLITE):
        ratio = ratios.get(key)
        v = ratio and ratio["ratio_of_medians"]
        add(f"{key.split(' / ')[1]} / bare-spiff cases/s", f">= {TARGET_RATIO:g}", v,
            v is not None and v >= TARGET_RATIO, "x", why(key, approval))
    for key in (SQLITE, PG):
        r = ok_run(key, approval)
        v = r and r["completion_ms"]["p50"]
        add(f"{key.split(' / ')[1]} completion p50 (command layer)", f"< {TARGET_P50_MS:g} ms", v,
            v is not None and v < TARGET_P50_MS, "ms", why(key, approval))
    for key in (SQLITE, PG):
        r = ok_run(key, approval)
        v = r and r["sql_per_completion"]["max"]
        add(f"{key.split(' / ')[1]} SQL statements per completion (max of all)", f"<= {TARGET_SQL}", v,
            v is not None and v <= TARGET_SQL, "statements", why(key, approval))
    r = ok_run(HTTP, approval)
    v = r and r["completion_ms"]["p50"]
    add("engine-http-sqlite completion p50 (Flask test client)", f"< {TARGET_HTTP_P50_MS:g} ms", v,
        v is not None and v < TARGET_HTTP_P50_MS, "ms", why(HTTP, approval))
    for key in (G_SQLITE, G_PG):
        g = ok_run(key, growth)
        v = g and g["time_ratio"]
        add(f"{key.split(' / ')[1]} growth: completion time last 10 / 5-15", f"<= {TARGET_GROWTH_RATIO:g}", v,
            v is not None and v <= TARGET_GROWTH_RATIO, "x", why(key, growth))
        v = g and g["state_ratio"]
        add(f"{key.split(' / ')[1]} growth: state bytes at N / at 10 (flat)", f"<= {TARGET_STATE_RATIO:g}", v,
            v is not None and v <= TARGET_STATE_RATIO, "x", why(key, growth))
    return targets


def target_lines(targets: list[dict[str, Any]]) -> list[str]:
    """Fixed-width list of the targets."""
    head = f"{'target':<62} {'threshold':>10} {'measured':>10}  result"
    lines = [head, "-" * len(head)]
    for t in targets:
        measured = t["measured"]
        if measured is None:
            text = "-"
        else:
            text = f"{measured:.2f}" if isinstance(measured, float) else str(measured)
        suffix = "  (workload skipped, see above)" if t["result"] == "SKIP" else ""
        lines.append(f"{t['target']:<62} {t['threshold']:>10} {text:>10}  {t['result']}{suffix}")
    return lines


# --------------------------------------------------------------------------------------------- main


SCALE = {"inbox": (run_inbox_benchmark, inbox_lines, inbox_targets),
         "dashboard": (run_dashboard_benchmark, dashboard_lines, dashboard_targets),
         "handoffs": (run_handoff_benchmark, handoff_lines, handoff_targets),
         "audit": (run_audit_benchmark, audit_lines, audit_targets)}
ONLY = (*SCALE, "history", "approval", "postgres-floor")


def ratio_lines(ratios: dict[str, dict[str, float]]) -> list[str]:
    """One line per engine row: its cases/s over bare SpiffWorkflow's, measured side by side in one run."""
    return [f"ratio {key.split(' / ')[1]} / bare-spiff cases/s = {r['ratio_of_medians']:.2f} "
            f"(median of paired repeats {r['median_of_paired_repeats']:.2f}, "
            f"range {r['paired_min']:.2f}-{r['paired_max']:.2f}; same run)" for key, r in ratios.items()]


def run_interleaved(workloads: list[Any], plan: Plan, echo: Callable[[str], None]) -> dict[str, list[Batch]]:
    """Warm every workload up, then run ``plan.repeats`` repeats, each workload once, in rotating order."""
    for w in workloads:
        w.run_batch(plan.warmup)
    batches: dict[str, list[Batch]] = {w.name: [] for w in workloads}
    for r in range(plan.repeats):
        shift = r % len(workloads)
        for w in workloads[shift:] + workloads[:shift]:
            gc.collect()
            batches[w.name].append(measured_batch(w, plan.cases))
        echo(f"  repeat {r + 1}/{plan.repeats}: " + ", ".join(
            f"{name.split(' / ')[1]} {b[-1].cases / b[-1].seconds:.0f}/s" for name, b in batches.items()))
    return batches


def measured_batch(workload: Any, cases: int) -> Batch:
    """``workload.run_batch(cases)`` with its wall time, this process's CPU and the local PostgreSQL's CPU."""
    with Stopwatch(getattr(getattr(workload, "database", None), "server_cpu_seconds", None)) as watch:
        batch = workload.run_batch(cases)
    batch.wall_seconds, batch.cpu_seconds = watch.timing.wall, watch.timing.client
    batch.server_cpu_seconds, batch.steal_share = watch.timing.server, watch.timing.steal
    return batch


def time_split(batches: list[Batch]) -> dict[str, Any]:
    """Milliseconds per case over whole batches (medians of the repeats): wall, our CPU, the server's CPU."""
    per_case = median_of_all
    kept = [b for b in batches if b.cases and b.wall_seconds]
    return {
        "wall_ms_per_case": per_case([b.wall_seconds / b.cases * 1e3 for b in kept]),
        "timed_ms_per_case": per_case([b.seconds / b.cases * 1e3 for b in kept]),
        "process_cpu_ms_per_case": per_case([b.cpu_seconds / b.cases * 1e3 for b in kept]),
        "postgresql_server_cpu_ms_per_case": per_case(
            [None if b.server_cpu_seconds is None else b.server_cpu_seconds / b.cases * 1e3 for b in kept]),
        "steal_pct_max": max((b.steal_share * 100 for b in kept if b.steal_share is not None), default=None),
        "method": "whole batches, the untimed bookkeeping between calls included (wall_ms_per_case; "
                  "timed_ms_per_case is what cases/s divides by); process CPU = time.process_time() of the "
                  "benchmark process (all its threads); server CPU = utime+stime from /proc of every "
                  "process named postgres on this host (the whole server, background processes included); "
                  "steal_pct_max = the largest share of the machine's CPU time that the hypervisor gave to "
                  "other guests during one of the batches (/proc/stat)",
    }


def time_split_lines(approval: dict[str, dict[str, Any]]) -> list[str]:
    """Where a case's time goes, per approval workload: wall, our CPU and the PostgreSQL server's CPU."""
    lines = ["where a case's time goes (ms per case, median of repeats, whole batches incl. bookkeeping):"]
    for name, r in approval.items():
        split = r.get("time_split") if r.get("status") == "ok" else None
        if not split or split["wall_ms_per_case"] is None:
            continue
        server, steal = split["postgresql_server_cpu_ms_per_case"], split.get("steal_pct_max")
        lines.append(f"  {name.split(' / ')[1]:<20} wall {split['wall_ms_per_case']:6.2f}   "
                     f"this process CPU {split['process_cpu_ms_per_case']:6.2f}"
                     + ("" if server is None else f"   PostgreSQL server CPU {server:6.2f}")
                     + ("" if steal is None else f"   steal up to {steal:.1f} %"))
    return lines if len(lines) > 1 else []


def paired_ratios(batches: dict[str, list[Batch]], approval: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each engine workload's cases/s over bare spiff's: ratio of medians and median of paired repeats."""
    ratios: dict[str, dict[str, Any]] = {}
    for key in (PG, SQLITE, HTTP):
        if key in batches and BARE in batches:
            paired = [(a.cases / a.seconds) / (b.cases / b.seconds) for a, b in zip(batches[key], batches[BARE])]
            ratios[key] = {"ratio_of_medians": approval[key]["cases_per_s"]["median"]
                           / approval[BARE]["cases_per_s"]["median"],
                           "median_of_paired_repeats": statistics.median(paired),
                           "paired_min": min(paired), "paired_max": max(paired)}
    return ratios


def main(*, quick: bool, postgresql_url: str, output: Path, echo: Callable[[str], None],
         only: str | None = None) -> dict[str, Any]:
    """Run the benchmarks, print the table and targets with ``echo``, write JSON to ``output``; return it.

    ``only="inbox"`` (or ``"dashboard"``) runs that benchmark at scale alone and merges it into ``output``,
    keeping the other sections of an earlier full run there.
    """
    if only == "approval":
        from .approval_only import main_approval_only
        return main_approval_only(quick=quick, postgresql_url=postgresql_url, output=output, echo=echo)
    if only == "postgres-floor":
        from .postgres_floor import main_postgres_floor_only
        return main_postgres_floor_only(quick=quick, postgresql_url=postgresql_url, output=output, echo=echo)
    if only == "history":
        from .history import main_history_only
        return main_history_only(quick=quick, output=output, echo=echo)
    if only in SCALE:
        return main_only(only, quick=quick, postgresql_url=postgresql_url, output=output, echo=echo)
    if only is not None:
        raise ValueError(f"--only accepts {', '.join(ONLY)}")
    plan = Plan.for_mode(quick)
    began = time.perf_counter()
    machine = machine_info()
    echo(f"tongban bench ({'quick' if quick else 'full'}): {plan.repeats} interleaved repeats x "
         f"{plan.cases} cases per approval workload, {plan.warmup} warm-up cases each; "
         f"growth {plan.growth_rounds} rounds")
    echo(f"machine: nproc={machine['nproc']} python={machine['python']} "
         f"SpiffWorkflow={machine['spiffworkflow']} load={machine['loadavg_at_start']} "
         f"date={machine['date']}")

    skipped: dict[str, str] = {}
    multi: dict[str, float] = {}
    pg_roundtrip: float | None = None
    timers: dict[str, Any] = {}
    inbox: dict[str, Any] = {}
    dashboard: dict[str, Any] = {}
    pg_reason = probe_postgresql(postgresql_url)
    if pg_reason and in_ci():
        raise RuntimeError(f"{pg_reason} (CI=true: the PostgreSQL benchmarks must run)")

    workloads: list[Any] = []
    resources: list[Any] = []
    loops: list[Any] = []
    databases: dict[str, str] = {}
    batches: dict[str, list[Batch]] = {}
    stored: dict[str, Stored] = {}
    try:
        workloads.append(BareSpiffApproval())
        sqlite_db = SqliteDatabase("engine")
        resources.append(sqlite_db)
        engine_sqlite = EngineApproval(SQLITE, sqlite_db)
        workloads.append(engine_sqlite)
        databases[SQLITE] = sqlite_db.description
        engine_pg = None
        if pg_reason is None:
            try:
                pg_db = PostgresSchema(postgresql_url)
            except Exception as exc:  # noqa: BLE001 - reported as a skip (raised in CI)
                if in_ci():
                    raise
                pg_reason = f"PostgreSQL setup failed at {safe_url(postgresql_url)}: {exc}".splitlines()[0]
            else:
                resources.append(pg_db)
                engine_pg = EngineApproval(PG, pg_db)
                workloads.append(engine_pg)
                pg_roundtrip = pg_db.roundtrip_ms()
                databases[PG] = f"{pg_db.description}; SELECT 1 round trip {pg_roundtrip:.3f} ms (median)"
                echo(f"PostgreSQL: {pg_db.description}; one SELECT 1 round trip = {pg_roundtrip:.3f} ms")
        if pg_reason is not None:
            skipped[PG] = skipped[G_PG] = pg_reason
            echo(f"SKIP PostgreSQL workloads: {pg_reason}")
        http_db = SqliteDatabase("http")
        resources.append(http_db)
        workloads.append(HttpApproval(HTTP, http_db))
        databases[HTTP] = http_db.description

        batches = run_interleaved(workloads, plan, echo)
        stored = {w.name: w.stored() for w in workloads}

        # Growth: one long case per database plus bare spiff, stepped round-robin so noise hits all alike.
        loops.append(EngineLoop(G_SQLITE, engine_sqlite.engine, engine_sqlite.counter))
        if engine_pg is not None:
            loops.append(EngineLoop(G_PG, engine_pg.engine, engine_pg.counter))
        loops.append(BareSpiffLoop(G_BARE, cap=min(BARE_GROWTH_CAP, plan.growth_rounds)))
        gc.collect()
        for i in range(plan.growth_rounds):
            for loop in loops:
                if loop.trace.cap is None or i < loop.trace.cap:
                    loop.step()
        for loop in loops:
            loop.finish()
        if engine_pg is not None:
            # Both cores, like for like: two engine processes vs two bare-SpiffWorkflow processes.
            echo(f"  two processes at once ({plan.cases} cases each) ...")
            multi = {"engine-postgresql": aggregate_rate("engine", url=pg_db.url, processes=2, cases=plan.cases,
                                                         warmup=plan.warmup),
                     "bare-spiff": aggregate_rate("bare", url=None, processes=2, cases=plan.cases,
                                                  warmup=plan.warmup)}
            # Durable timers: N due at once, two worker processes, each in a fresh schema of its own.
            try:
                timers = run_timer_benchmarks(postgresql_url, quick=quick, echo=echo)
            except Exception as exc:  # noqa: BLE001 - reported as a FAIL row, the other results still count
                if in_ci():
                    raise
                reason = f"timer benchmark failed: {exc}".splitlines()[0]
                echo(f"  {reason}")
                timers = {key: {"status": "failed", "reason": reason} for key in ("small", "scale")}
            inbox = _run_scale("inbox", postgresql_url, quick=quick, echo=echo)
            dashboard = _run_scale("dashboard", postgresql_url, quick=quick, echo=echo)
    finally:
        for item in reversed(loops + workloads):
            try:
                item.close()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                echo(f"warning: closing {getattr(item, 'name', item)} failed: {exc}")
        for res in reversed(resources):
            try:
                res.close()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                echo(f"warning: cleaning up {res.description} failed: {exc}")

    notes = {
        BARE: "in-memory SpiffWorkflow; deserialize+complete+steps+serialize per task; bytes = final blob",
        SQLITE: "engine.handle(); SQLite bytes = value bytes (length of each column)",
        PG: "engine.handle(); bytes = pg_column_size of the rows",
        HTTP: "Flask test client (full WSGI stack, no sockets); auth lookup included",
    }
    approval: dict[str, dict[str, Any]] = {}
    for w in workloads:
        approval[w.name] = summarize_approval(w.name, w.layer, batches[w.name], stored.get(w.name))
        approval[w.name]["note"] = notes[w.name]
        if w.name in databases:
            approval[w.name]["database"] = databases[w.name]
    if PG in skipped:
        approval[PG] = {"status": "skipped", "reason": skipped[PG]}
    approval = {k: approval[k] for k in (BARE, SQLITE, PG, HTTP) if k in approval}
    growth: dict[str, dict[str, Any]] = {loop.trace.name: summarize_growth(loop.trace) for loop in loops}
    if G_PG in skipped:
        growth[G_PG] = {"status": "skipped", "reason": skipped[G_PG]}
    growth = {k: growth[k] for k in (G_BARE, G_SQLITE, G_PG) if k in growth}
    if not inbox:
        inbox = {"status": "skipped", "reason": skipped.get(PG, "PostgreSQL workloads did not run")}
    if not dashboard:
        dashboard = {"status": "skipped", "reason": skipped.get(PG, "PostgreSQL workloads did not run")}
    if not timers:
        reason = skipped.get(PG, "PostgreSQL workloads did not run")
        timers = {key: {"status": "skipped", "reason": reason} for key in ("small", "scale")}

    if pg_roundtrip is not None and approval.get(PG, {}).get("status") == "ok":
        approval[PG]["select1_roundtrip_ms"] = pg_roundtrip
    ratios = paired_ratios(batches, approval)
    targets = evaluate_targets(approval, growth, ratios)
    if multi:
        rate = multi["engine-postgresql"]
        targets.insert(1, {"target": "engine-postgresql cases/s, 2 processes (both cores)",
                           "threshold": f">= {TARGET_CASES_PER_S:g}", "measured": rate, "unit": "cases/s",
                           "result": "PASS" if rate >= TARGET_CASES_PER_S else "FAIL"})
    targets += timer_targets(timers)
    deadlines = run_deadline_benchmark(repeats=plan.repeats, cases=plan.cases, calls=200 if quick else 2000)
    targets += inbox_targets(inbox) + dashboard_targets(dashboard)

    echo("")
    for line in approval_table(approval):
        echo(line)
    echo("")
    for line in ratio_lines(ratios):
        echo(line)
    for line in time_split_lines(approval):
        echo(line)
    starts = [f"{name.split(' / ')[1]} {r['sql_per_start']['median']:g}" for name, r in approval.items()
              if r["status"] == "ok" and r.get("sql_per_start")]
    if starts:
        echo("SQL statements per StartCase (median): " + ", ".join(starts))
    for name, r in approval.items():
        if r["status"] == "ok" and r["stored"] and r["stored"].get("dbstat_page_bytes_per_case"):
            echo(f"{name}: SQLite dbstat pages incl. indexes = "
                 f"{r['stored']['dbstat_page_bytes_per_case']:,.0f} "
                 f"bytes/case (payload {r['stored']['dbstat_payload_bytes_per_case']:,.0f})")
    if multi:
        echo(f"two processes at once: engine-postgresql {multi['engine-postgresql']:.1f} cases/s, bare-spiff "
             f"{multi['bare-spiff']:.1f} cases/s, ratio {multi['engine-postgresql'] / multi['bare-spiff']:.2f}")
    echo("")
    for line in growth_table(growth):
        echo(line)
    echo("")
    for line in timer_lines(timers):
        echo(line)
    echo("")
    for line in deadline_lines(deadlines):
        echo(line)
    echo("")
    for line in inbox_lines(inbox) + [""] + dashboard_lines(dashboard):
        echo(line)
    echo("")
    for line in target_lines(targets):
        echo(line)

    failed = [t for t in targets if t["result"] == "FAIL"]
    elapsed = time.perf_counter() - began
    result = {
        "suite": "tongban bench",
        "mode": "quick" if quick else "full",
        "machine": machine,
        "plan": {"repeats": plan.repeats, "cases_per_repeat": plan.cases, "warmup_cases": plan.warmup,
                 "growth_rounds": plan.growth_rounds,
                 "bare_growth_cap": min(BARE_GROWTH_CAP, plan.growth_rounds),
                 "interleaving": "each repeat runs every approval workload once, order rotated per repeat; "
                                 "growth cases are stepped round-robin",
                 "timing": "cases/s = cases / sum of timed calls (start + completions); bookkeeping queries "
                           "between calls are not timed"},
        "postgresql_url": safe_url(postgresql_url),
        "approval": approval,
        "ratios": ratios,
        "two_processes": {**multi, **({"ratio": multi["engine-postgresql"] / multi["bare-spiff"]} if multi else {})},
        "growth": growth,
        "timers": timers,
        "deadlines": deadlines,
        "inbox": inbox,
        "dashboard": dashboard,
        "targets": targets,
        "summary": {"passed": sum(t["result"] == "PASS" for t in targets), "failed": len(failed),
                    "skipped": sum(t["result"] == "SKIP" for t in targets)},
        "duration_s": elapsed,
    }
    result = rounded(result)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    echo("")
    echo(f"{result['summary']['passed']} passed, {len(failed)} failed, "
         f"{result['summary']['skipped']} skipped; "
         f"{elapsed:.0f} s; results written to {output}")
    return result


def _run_scale(name: str, postgresql_url: str, *, quick: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    try:
        return SCALE[name][0](postgresql_url, quick=quick, echo=echo)
    except Exception as exc:  # noqa: BLE001 - reported as a FAIL row, the other results still count
        if in_ci():
            raise
        reason = f"{name} benchmark failed: {exc}".splitlines()[0]
        echo(f"  {reason}")
        return {"status": "failed", "reason": reason}


def main_only(name: str, *, quick: bool, postgresql_url: str, output: Path,
              echo: Callable[[str], None]) -> dict[str, Any]:
    """Run one benchmark at scale alone; merge its section and targets into ``output`` (the rest is kept)."""
    _run, lines_of, targets_of = SCALE[name]
    began = time.perf_counter()
    reason = probe_postgresql(postgresql_url)
    if reason:
        if in_ci():
            raise RuntimeError(f"{reason} (CI=true: the PostgreSQL benchmarks must run)")
        section: dict[str, Any] = {"status": "skipped", "reason": reason}
    else:
        echo(f"tongban bench --only {name} ({'quick' if quick else 'full'})")
        section = _run_scale(name, postgresql_url, quick=quick, echo=echo)
    echo("")
    for line in lines_of(section):
        echo(line)
    mine = targets_of(section)
    echo("")
    for line in target_lines(mine):
        echo(line)
    return merge_results(output, {name: {**section, "mode": "quick" if quick else "full",
                                         "machine": machine_info(), "duration_s": time.perf_counter() - began}},
                         mine, echo)


def merge_results(output: Path, sections: dict[str, Any], mine: list[dict[str, Any]] | None,
                  echo: Callable[[str], None]) -> dict[str, Any]:
    """Merge ``sections`` (and the targets ``mine`` replace by label) into the results file; keep the rest."""
    output = Path(output)
    result = json.loads(output.read_text(encoding="utf-8")) if output.is_file() else {"suite": "tongban bench"}
    result.update(sections)
    if mine is not None:
        labels = {t["target"] for t in mine}
        targets = [t for t in result.get("targets", []) if t["target"] not in labels] + mine
        result.update(targets=targets, summary={"passed": sum(t["result"] == "PASS" for t in targets),
                                                "failed": sum(t["result"] == "FAIL" for t in targets),
                                                "skipped": sum(t["result"] == "SKIP" for t in targets)})
    result = rounded(result)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    echo(f"results merged into {output}")
    return result


def _cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few samples, for a smoke test")
    parser.add_argument("--postgresql-url", default=os.environ.get("TONGBAN_BENCH_POSTGRESQL_URL",
                                                                   DEFAULT_POSTGRESQL_URL))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--only", choices=ONLY, help="run one benchmark alone and merge it into --output")
    args = parser.parse_args(argv)
    main(quick=args.quick, postgresql_url=args.postgresql_url, output=args.output, echo=print, only=args.only)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
