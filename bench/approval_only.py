"""``tongban bench --only approval``: the four approval workloads alone, merged into ``results.json``.

The same workloads, plan, interleaving and targets as the full run (``bench.run.main``), without growth,
timers, inbox, dashboard and deadlines: a before/after comparison of the write path takes a minute instead
of seven. The ``approval`` and ``ratios`` sections and the approval targets of ``output`` are replaced; the
rest of an earlier full run is kept.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from .run import (
    BARE, HTTP, PG, SQLITE, Plan, approval_table, evaluate_targets, machine_info, merge_results, paired_ratios,
    ratio_lines, run_interleaved, summarize_approval, target_lines, time_split_lines,
)
from .workloads import (
    BareSpiffApproval, EngineApproval, HttpApproval, PostgresSchema, SqliteDatabase, in_ci,
    probe_postgresql, safe_url,
)

NOTES = {
    BARE: "in-memory SpiffWorkflow; deserialize+complete+steps+serialize per task; bytes = final blob",
    SQLITE: "engine.handle(); SQLite bytes = value bytes (length of each column)",
    PG: "engine.handle(); bytes = pg_column_size of the rows",
    HTTP: "Flask test client (full WSGI stack, no sockets); auth lookup included",
}


def main_approval_only(*, quick: bool, postgresql_url: str, output: Path,
                       echo: Callable[[str], None]) -> dict[str, Any]:
    """Run the approval workloads side by side, print table, ratios and targets, merge into ``output``."""
    plan = Plan.for_mode(quick)
    began = time.perf_counter()
    machine = machine_info()
    echo(f"tongban bench --only approval ({'quick' if quick else 'full'}): {plan.repeats} interleaved repeats x "
         f"{plan.cases} cases, {plan.warmup} warm-up cases each; load={machine['loadavg_at_start']}")
    reason = probe_postgresql(postgresql_url)
    if reason and in_ci():
        raise RuntimeError(f"{reason} (CI=true: the PostgreSQL benchmarks must run)")
    workloads: list[Any] = []
    resources: list[Any] = []
    databases: dict[str, str] = {}
    try:
        workloads.append(BareSpiffApproval())
        sqlite_db = SqliteDatabase("engine")
        resources.append(sqlite_db)
        workloads.append(EngineApproval(SQLITE, sqlite_db))
        databases[SQLITE] = sqlite_db.description
        if reason is None:
            pg_db = PostgresSchema(postgresql_url)
            resources.append(pg_db)
            workloads.append(EngineApproval(PG, pg_db))
            roundtrip = pg_db.roundtrip_ms()
            databases[PG] = f"{pg_db.description}; SELECT 1 round trip {roundtrip:.3f} ms (median)"
            echo(f"PostgreSQL: {databases[PG]}")
        else:
            echo(f"SKIP PostgreSQL: {reason}")
        http_db = SqliteDatabase("http")
        resources.append(http_db)
        workloads.append(HttpApproval(HTTP, http_db))
        databases[HTTP] = http_db.description
        batches = run_interleaved(workloads, plan, echo)
        stored = {w.name: w.stored() for w in workloads}
    finally:
        for item in reversed(workloads):
            item.close()
        for res in reversed(resources):
            res.close()
    approval: dict[str, dict[str, Any]] = {}
    for w in workloads:
        approval[w.name] = {**summarize_approval(w.name, w.layer, batches[w.name], stored.get(w.name)),
                            "note": NOTES[w.name], **({"database": databases[w.name]} if w.name in databases
                                                      else {})}
    if reason is not None:
        approval[PG] = {"status": "skipped", "reason": reason}
    approval = {k: approval[k] for k in (BARE, SQLITE, PG, HTTP) if k in approval}
    ratios = paired_ratios(batches, approval)
    mine = [t for t in evaluate_targets(approval, {}, ratios) if "growth" not in t["target"]]
    load_after = [round(x, 2) for x in os.getloadavg()]
    echo("")
    for line in approval_table(approval):
        echo(line)
    echo("")
    for line in ratio_lines(ratios):
        echo(line)
    for line in time_split_lines(approval):
        echo(line)
    echo(f"load average at start {machine['loadavg_at_start']}, at end {load_after}")
    echo("")
    for line in target_lines(mine):
        echo(line)
    return _merge(output, approval, ratios, mine, {**machine, "loadavg_at_end": load_after},
                  quick, postgresql_url, time.perf_counter() - began, echo)


def _merge(output: Path, approval: dict[str, Any], ratios: dict[str, Any], mine: list[dict[str, Any]],
           machine: dict[str, Any], quick: bool, url: str, seconds: float,
           echo: Callable[[str], None]) -> dict[str, Any]:
    return merge_results(output, {"approval": approval, "ratios": ratios, "approval_only": {
        "mode": "quick" if quick else "full", "machine": machine, "postgresql_url": safe_url(url),
        "duration_s": seconds}}, mine, echo)
