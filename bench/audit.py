"""What auditors wait for: replaying a 1,000-event case, and ``verify --all`` over 100,000 cases.

* **replay**: one case of ``tests/data/processes/loop.bpmn`` (补正循环) is driven through the engine for 333
  rounds (1,002 events) in a temporary SQLite database; then ``Replayer.replay_case`` re-runs it in a
  scratch database and compares every event, median of several runs (one warm-up run migrates the
  replayer's template first). Target: under 1 s.
* **verify --all**: 100,000 cases of ten events each, chained with ``engine.audit`` and COPYed into a
  scratch PostgreSQL schema (:mod:`bench.audit_seed`); then ``engine.verify_all`` checks every chain,
  median cases/s of several passes. Target: at least 5,000 cases/s. One more pass runs under cProfile, and
  the functions taking the most time are reported, to show where the time goes.
"""
from __future__ import annotations

import cProfile
import pstats
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import text

from engine import CST, DeployDefinitions, EngineConfig, ManualClock, Replayer, bootstrap, verify_all

from .audit_seed import seed_cases
from .loop_case import LOOP_BPMN, ROOT, loop_case
from .workloads import PostgresSchema

TARGET_REPLAY_S = 1.0
TARGET_VERIFY_RATE = 5_000.0


def run_audit_benchmark(postgresql_url: str, *, quick: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    """Measure the replay of a long case (SQLite) and verify --all at scale (PostgreSQL); return the results."""
    rounds, runs = (100, 3) if quick else (333, 7)
    cases, passes = (2_000, 3) if quick else (100_000, 5)
    echo(f"  audit: replay of a case with {rounds * 3 + 3:,} events, {runs} runs ...")
    replay = measure_replay(rounds, runs)
    echo(f"  audit: replay median {replay['median_s']:.3f} s over {replay['events']:,} events")
    echo(f"  audit: seeding {cases:,} chained cases into PostgreSQL ...")
    verify = measure_verify_all(postgresql_url, cases, passes, echo)
    return {"status": "ok", "replay": replay, "verify_all": verify}


def measure_replay(rounds: int, runs: int) -> dict[str, Any]:
    """Drive the loop case ``rounds`` times, then time ``runs`` replays of it (after one warm-up)."""
    with loop_case(rounds, "audit") as (engine, case_id):
        with Replayer(engine) as replayer:
            first = replayer.replay_case(case_id)
            if not first.identical:
                raise RuntimeError(f"the benchmark case does not replay identically: {first.divergence}")
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                replayer.replay_case(case_id)
                times.append(time.perf_counter() - began)
    return {"database": "sqlite", "events": first.events, "commands": rounds + 1, "runs": runs,
            "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "ms_per_event": statistics.median(times) * 1000 / first.events}


def measure_verify_all(postgresql_url: str, cases: int, passes: int,
                       echo: Callable[[str], None]) -> dict[str, Any]:
    """Seed ``cases`` chained cases in a scratch schema, time ``passes`` of verify_all, profile one more."""
    schema = PostgresSchema(postgresql_url)
    engine = None
    try:
        engine = bootstrap(EngineConfig(database_url=schema.url, processes_dir=ROOT / "processes",
                                        forms_dir=ROOT / "forms", materials_dir=Path(tempfile.gettempdir()) / "m"),
                           clock=ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST)))
        engine.handle(DeployDefinitions((("loop.bpmn", LOOP_BPMN.read_bytes()),)))
        began = time.perf_counter()
        raw = engine.database.engine.raw_connection()
        try:
            definition = raw.cursor().execute("SELECT min(id) FROM process_definitions").fetchone()[0]
            events = seed_cases(raw.driver_connection, definition, cases,
                                lambda done: echo(f"    {done:,} cases") if done % 20_000 == 0 else None)
        finally:
            raw.close()
        seed_s = time.perf_counter() - began
        distinct = _distinct_payloads(engine)
        echo(f"  audit: seeded {cases:,} cases, {events:,} events in {seed_s:.0f} s; verifying {passes} passes ...")
        rates = []
        for n in range(passes):
            began = time.perf_counter()
            checked = _verify_everything(engine, cases)
            seconds = time.perf_counter() - began
            rates.append(cases / seconds)
            echo(f"    pass {n + 1}: {cases / seconds:,.0f} cases/s ({checked:,} events, {seconds:.1f} s)")
        profile = _profile(engine, cases)
    finally:
        if engine is not None:
            engine.close()
        schema.close()
    return {"database": schema.description, "cases": cases, "events": events, "seed_seconds": seed_s,
            "distinct_payloads": distinct, "passes": passes, "cases_per_s": statistics.median(rates),
            "cases_per_s_min": min(rates), "cases_per_s_max": max(rates), "profile": profile}


def _verify_everything(engine: Any, cases: int) -> int:
    checked = seen = 0
    for result in verify_all(engine):
        if not result.ok:
            raise RuntimeError(f"seeded case {result.case_no} does not verify: {result.reason}")
        checked += result.checked
        seen += 1
    if seen != cases:
        raise RuntimeError(f"verify_all saw {seen} cases, {cases} were seeded")
    return checked


def _distinct_payloads(engine: Any) -> int:
    with engine.database.engine.connect() as conn:
        return conn.execute(text("SELECT count(DISTINCT payload::text) FROM case_events")).scalar_one()


def _profile(engine: Any, cases: int, top: int = 12) -> dict[str, Any]:
    """One pass under cProfile: total time and the functions with the most time of their own."""
    profiler = cProfile.Profile()
    profiler.enable()
    _verify_everything(engine, cases)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    return {"total_s": total, "functions": [
        {"function": f"{Path(file).name}:{line}({name})", "own_s": own, "share": own / total, "calls": calls}
        for (file, line, name), (_prim, calls, own, _cum, _callers) in rows]}


def audit_lines(result: dict[str, Any]) -> list[str]:
    """The audit section of the printed report."""
    if result.get("status") != "ok":
        return [f"audit: {result.get('status', 'skipped').upper()} ({result.get('reason', '')})"]
    r, v = result["replay"], result["verify_all"]
    lines = [f"audit: replay of a {r['events']:,}-event case ({r['commands']} commands, SQLite): median "
             f"{r['median_s']:.3f} s (min {r['min_s']:.3f}, max {r['max_s']:.3f}, {r['runs']} runs), "
             f"{r['ms_per_event']:.2f} ms/event",
             f"audit: verify --all over {v['cases']:,} cases / {v['events']:,} events ({v['database']}; "
             f"{v['distinct_payloads']:,} distinct payloads): median {v['cases_per_s']:,.0f} cases/s "
             f"(min {v['cases_per_s_min']:,.0f}, max {v['cases_per_s_max']:,.0f}, {v['passes']} passes); "
             f"seeded in {v['seed_seconds']:.0f} s",
             f"  where a verify pass spends its time (cProfile, {v['profile']['total_s']:.1f} s profiled):"]
    for f in v["profile"]["functions"]:
        lines.append(f"    {f['share'] * 100:5.1f} %  {f['own_s']:6.2f} s  {f['calls']:>9,}  {f['function']}")
    return lines


def audit_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/FAIL rows for the audit targets (SKIP when the run did not happen)."""
    ok = result.get("status") == "ok"
    replay = result["replay"]["median_s"] if ok else None
    rate = result["verify_all"]["cases_per_s"] if ok else None
    return [
        {"target": "replay of a 1,000-event case, median (s)", "threshold": f"< {TARGET_REPLAY_S:g}",
         "measured": replay, "unit": "s",
         "result": "SKIP" if replay is None else "PASS" if replay < TARGET_REPLAY_S else "FAIL"},
        {"target": "verify --all on PostgreSQL, median (cases/s)", "threshold": f">= {TARGET_VERIFY_RATE:,.0f}",
         "measured": rate, "unit": "cases/s",
         "result": "SKIP" if rate is None else "PASS" if rate >= TARGET_VERIFY_RATE else "FAIL"},
    ]
