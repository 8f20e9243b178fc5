"""Cross-district handoffs at scale: N handoffs through the message outbox with 2 worker processes on PostgreSQL.

One handoff is the message legs of 异地代收代办 (``bench/data/bench_handoff.bpmn``): a receiving case (黔江
for 渝中) starts and throws ``bench_handoff`` in its first transaction; a worker delivers it, which starts the
owning district's case at its message start event, and that case throws ``bench_result`` back at once; a
worker delivers the result to the receiving case, which catches it and ends. Every step is the engine's real
code: outbox rows written in the throwing transaction, signed and verified, claimed with SKIP LOCKED,
delivered in the receiver's transaction with the row marked delivered there, linked cases, audit events. The
people in between (形式审查, 审查, 决定, 送达) are left out: their commands are measured by the approval
workloads; this one measures what handoffs add.

A producer process starts the receiving cases as fast as it can while ``WORKERS`` worker processes deliver
(all on the system clock, released together), so the backlog is whatever the workers cannot keep up with.
Afterwards SQL checks that nothing was lost or duplicated: 2N messages, all delivered, N owning cases, every
case with exactly one ``MessageReceived``, every receiving case completed.

* handoffs/s = N / (last result delivered - first handoff written);
* delivery lag = ``delivered_at - created_at`` of each message (wall clock; includes the polling interval
  and any backlog); round trip = result delivered - handoff written, per handoff.

``python -m bench.handoffs --handoffs 10000`` runs one size alone; ``bench.run`` calls
:func:`run_handoff_benchmark` (``tongban bench --only handoffs``).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import text

from engine import Actor, DeployDefinitions, EngineConfig, MessageWorker, StartCase, bootstrap

from .stats import percentile

BPMN = Path(__file__).resolve().parent / "data" / "bench_handoff.bpmn"
FULL, QUICK = 10_000, 100
WORKERS = 2
SECRET = "bench-handoffs-shared-secret"
PRODUCER = Actor.system("bench_producer")
"""Starts the receiving cases as intake would under a grant: a person may not name another owning district
without a matter (the bench diagram has none), the system may."""
IDLE_SLEEP_S = 0.02


def _engine(url: str) -> Any:
    return bootstrap(EngineConfig(database_url=url, message_secret=SECRET, workflow_cache_size=0))


def producer(url: str, n: int, barrier: Any, done: Any, results: Any) -> None:
    """Start ``n`` receiving cases (each writes its handoff to the outbox), then say so."""
    report: dict[str, Any] = {"role": "producer"}
    engine = None
    try:
        engine = _engine(url)
        engine.ping()
        barrier.wait(timeout=120)
        began = time.time()
        for i in range(n):
            engine.handle(StartCase("bench_receiving", PRODUCER, {"applicant": f"黔江申请人{i}", "seq": i},
                                    owning_district="500103", receiving_district="500114"))
        report.update(started=n, seconds=time.time() - began)
    except BaseException:  # noqa: BLE001 - the parent must hear about any failure
        report["error"] = traceback.format_exc()
        barrier.abort()
    finally:
        done.set()
        if engine is not None:
            engine.close()
        results.put(report)


def worker(url: str, worker_id: str, barrier: Any, done: Any, results: Any) -> None:
    """Sweep until the producer is done and two sweeps in a row find nothing to deliver."""
    report: dict[str, Any] = {"role": "worker", "worker": worker_id}
    engine = None
    try:
        engine = _engine(url)
        engine.ping()
        sweeper = MessageWorker(engine, worker_id=worker_id, batch=50)
        barrier.wait(timeout=120)
        delivered = failed = sweeps = empty = 0
        while empty < 2:
            result = sweeper.sweep(max_batches=4)
            sweeps += 1
            delivered += result.delivered
            failed += result.failed
            idle = result.delivered == 0 and result.failed == 0 and result.buffered == 0
            if idle:
                time.sleep(IDLE_SLEEP_S)
            empty = empty + 1 if idle and done.is_set() else 0
        report.update(delivered=delivered, failed=failed, sweeps=sweeps, skipped=0)
    except BaseException:  # noqa: BLE001
        report["error"] = traceback.format_exc()
        barrier.abort()
    finally:
        if engine is not None:
            engine.close()
        results.put(report)


def check(conn: Any, n: int) -> dict[str, Any]:
    """Nothing lost, nothing duplicated: counted in SQL."""
    one = conn.execute(text(
        "SELECT count(*), count(DISTINCT idempotency_key), count(*) FILTER (WHERE state = 'delivered'), "
        "count(DISTINCT receiver_case_id) FROM messages")).one()
    per_case = conn.execute(text(
        "SELECT coalesce(min(k), 0), coalesce(max(k), 0), count(*) FROM (SELECT c.id, count(e.id) AS k "
        "FROM cases c LEFT JOIN case_events e ON e.case_id = c.id AND e.event_type = 'MessageReceived' "
        "GROUP BY c.id) x")).one()
    cases = dict(conn.execute(text(
        "SELECT process_key || ':' || status, count(*) FROM cases GROUP BY process_key, status")).all())
    rejected = conn.execute(text("SELECT count(*) FROM message_rejections")).scalar()
    report = {"messages": one[0], "distinct_keys": one[1], "delivered": one[2], "distinct_receivers": one[3],
              "message_received_per_case": {"min": per_case[0], "max": per_case[1]}, "cases": cases,
              "rejections": rejected}
    report["ok"] = (one[0] == one[1] == one[2] == one[3] == 2 * n and per_case[0] == per_case[1] == 1
                    and per_case[2] == 2 * n and cases.get("bench_receiving:completed") == n
                    and cases.get("bench_owning:completed") == n and rejected == 0)
    return report


def measure(base_url: str, n: int, *, processes: int = WORKERS, timeout: float = 3600,
            schema_factory: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Fresh schema, ``n`` handoffs produced while ``processes`` workers deliver; rate, lag, exactly-once."""
    if schema_factory is None:
        from .workloads import PostgresSchema
        schema_factory = PostgresSchema
    db = schema_factory(base_url)
    try:
        setup = _engine(db.url)
        try:
            setup.handle(DeployDefinitions((("bench_handoff.bpmn", BPMN.read_bytes()),)))
        finally:
            setup.close()
        context = mp.get_context("spawn")
        barrier, done, results = context.Barrier(processes + 1), context.Event(), context.Queue()
        children = [context.Process(target=producer, args=(db.url, n, barrier, done, results))]
        children += [context.Process(target=worker, args=(db.url, f"w{i}", barrier, done, results))
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
        errors = [r["error"] for r in reports if "error" in r]
        if errors:
            raise RuntimeError("handoff benchmark process failed\n" + "\n".join(errors))
        with db.admin.connect() as conn:
            conn.execute(text(f'SET search_path TO "{db.schema}"'))
            verdict = check(conn, n)
            lags = [r[0] for r in conn.execute(text(
                "SELECT extract(epoch FROM delivered_at - created_at) FROM messages"))]
            trips = [r[0] for r in conn.execute(text(
                "SELECT extract(epoch FROM r.delivered_at - h.created_at) FROM messages h "
                "JOIN messages r ON r.receiver_case_id = h.sender_case_id WHERE h.name = 'bench_handoff'"))]
            first, last = conn.execute(text("SELECT min(created_at), max(delivered_at) FROM messages")).one()
    finally:
        db.close()
    lags = [float(x) for x in lags]
    trips = [float(x) for x in trips]
    wall = (last - first).total_seconds() if first and last else None
    producer_report = next(r for r in reports if r["role"] == "producer")
    return {
        "status": "ok", "handoffs": n, "workers": processes, "wall_seconds": wall,
        "handoffs_per_s": n / wall if wall else None,
        "producer_cases_per_s": n / producer_report["seconds"] if producer_report["seconds"] else None,
        "delivery_lag_s": {"p50": percentile(lags, 50), "p99": percentile(lags, 99), "max": max(lags, default=None),
                           "samples": len(lags)},
        "round_trip_s": {"p50": percentile(trips, 50), "p99": percentile(trips, 99), "samples": len(trips)},
        "per_worker": [{k: r[k] for k in ("worker", "delivered", "failed", "sweeps")}
                       for r in sorted(reports, key=lambda r: r.get("worker", "")) if r["role"] == "worker"],
        "exactly_once": verdict,
    }


def run_handoff_benchmark(base_url: str, *, quick: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    """The handoff section of ``bench.run``: QUICK handoffs in quick mode, FULL otherwise."""
    n = QUICK if quick else FULL
    echo(f"  handoffs: {n:,} handoffs (2 messages each), {WORKERS} worker processes + 1 producer ...")
    return measure(base_url, n)


def handoff_lines(result: dict[str, Any]) -> list[str]:
    """Fixed-width lines for the bench table."""
    if result.get("status") != "ok":
        return [f"handoffs: {result.get('status', '?').upper()}: {result.get('reason')}"]
    lag, trip = result["delivery_lag_s"], result["round_trip_s"]
    return [f"handoffs / outbox ({result['workers']} workers): {result['handoffs']:,} handoffs in "
            f"{result['wall_seconds']:.1f} s = {result['handoffs_per_s']:.1f} handoffs/s; delivery lag p50 "
            f"{lag['p50']:.3f} s, p99 {lag['p99']:.3f} s; round trip p99 {trip['p99']:.3f} s; exactly once: "
            f"{'yes' if result['exactly_once']['ok'] else 'NO'} ("
            + ", ".join(f"{w['worker']} {w['delivered']:,}" for w in result["per_worker"]) + ")"]


def handoff_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Target rows: exactly once is PASS/FAIL; handoffs/s and lag p99 are reported."""
    ok = result.get("status") == "ok"
    n = f"{result['handoffs']:,}" if ok else "N"

    def outcome(good: bool | None) -> str:
        if result.get("status") == "skipped":
            return "SKIP"
        if not ok:
            return "FAIL"
        return "INFO" if good is None else ("PASS" if good else "FAIL")
    extra = {} if ok else {"reason": result.get("reason")}
    return [
        {"target": f"handoffs delivered exactly once ({WORKERS} workers, {n} handoffs)", "threshold": "all once",
         "measured": result["exactly_once"]["delivered"] if ok else None, "unit": "messages",
         "result": outcome(ok and result["exactly_once"]["ok"]), **extra},
        {"target": f"handoffs/s ({WORKERS} workers, {n} handoffs)", "threshold": "report",
         "measured": result["handoffs_per_s"] if ok else None, "unit": "handoffs/s", "result": outcome(None),
         **extra},
        {"target": f"message delivery lag p99 ({n} handoffs)", "threshold": "report",
         "measured": result["delivery_lag_s"]["p99"] if ok else None, "unit": "s", "result": outcome(None),
         **extra},
    ]


def _cli(argv: Sequence[str] | None = None) -> int:
    import os
    parser = argparse.ArgumentParser(prog="python -m bench.handoffs", description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=QUICK)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--postgresql-url", default=os.environ.get(
        "TONGBAN_BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args(argv)
    result = measure(args.postgresql_url, args.handoffs, processes=args.workers)
    for line in handoff_lines(result):
        print(line)
    print(json.dumps(result, ensure_ascii=False, default=str, indent=2))
    return 0 if result["exactly_once"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(_cli())
