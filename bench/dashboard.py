"""The dashboard at scale: a million cases over one year in PostgreSQL, and how fast the city summary comes back.

The cases are generated inside PostgreSQL with one ``INSERT ... SELECT FROM generate_series`` (every
district, every shipped matter, a year of receipts; about 8 % still running, the rest completed with their
working days, limits, late flags, visits, 补正 and 容缺 drawn at random), then the daily rollup is built as the
worker builds it. Measured, as medians of repeats:

* **summary**: ``engine.metrics.summary`` for the whole city over the year (the target: < 500 ms);
* **summary, no rollup** (info): the same before the rollup exists, every flow read from ``cases``;
* **HTTP** (info): ``GET /api/v1/metrics/summary`` through the Flask test client;
* **by-district**, **trend by week**, **overdue list** (info).
"""
from __future__ import annotations

import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import text

from engine import CST, DeployDefinitions, ManualClock

from .stats import percentile
from .workloads import PostgresSchema

TARGET_SUMMARY_MS = 500.0
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CST)
FIRST, LAST = date(2025, 12, 1), date(2026, 11, 30)

# One statement builds every row; random() is seeded, so every run loads the same data.
_GENERATE = """
INSERT INTO cases (case_no, definition_id, process_key, title, status, owning_district, receiving_district,
    started_by, started_at, updated_at, ended_at, event_seq, chain_head, serializer_version, workflow_state,
    version, matter_code, matter_version, department, channel, accepted_at, corrections, tolerance, visits,
    legal_used_days, legal_limit_days, legal_late, committed_used_days, committed_limit_days, committed_late,
    legal_due_at, legal_yellow_at, committed_due_at, committed_yellow_at, facts_version)
SELECT 'BENCH' || lpad(g::text, 9, '0'), :definition, 'bench', '效能基准办件', status, district,
    CASE WHEN r4 < 0.06 THEN other ELSE district END, 'bench', started, coalesce(ended, started), ended, 0,
    repeat('0', 64), 'bench', '', 1, matter, 1, dept, CASE WHEN r3 < 0.7 THEN 'counter' END,
    CASE WHEN r4 > 0.03 THEN started + interval '2 hours' END, corr, tol,
    (r3 < 0.7)::int + corr + tol::int,
    CASE WHEN ended IS NOT NULL THEN used END, CASE WHEN ended IS NOT NULL THEN 20 END,
    CASE WHEN ended IS NOT NULL THEN used > 20 END,
    CASE WHEN ended IS NOT NULL THEN used END, CASE WHEN ended IS NOT NULL THEN 10 END,
    CASE WHEN ended IS NOT NULL THEN used > 10 END,
    CASE WHEN ended IS NULL THEN started + interval '28 days' END,
    CASE WHEN ended IS NULL THEN started + interval '26 days' END,
    CASE WHEN ended IS NULL THEN started + interval '14 days' END,
    CASE WHEN ended IS NULL THEN started + interval '12 days' END, 1
FROM (
    SELECT g, r3, r4, started, district, other, matter, dept, used, corr, tol,
           CASE WHEN done < CAST(:now AS timestamptz) AND r3 > 0.01 THEN done END AS ended,
           CASE WHEN done < CAST(:now AS timestamptz) AND r3 > 0.01 THEN 'completed' ELSE 'running' END AS status
    FROM (
        SELECT g, r3, r4, started,
               (CAST(:districts AS text[]))[1 + (g % cardinality(CAST(:districts AS text[])))] AS district,
               (CAST(:districts AS text[]))[1 + ((g / 7) % cardinality(CAST(:districts AS text[])))] AS other,
               (CAST(:matters AS text[]))[1 + ((g / 3) % cardinality(CAST(:matters AS text[])))] AS matter,
               (CAST(:departments AS text[]))[1 + ((g / 3) % cardinality(CAST(:departments AS text[])))] AS dept,
               floor(r2 * r2 * 24)::int AS used, (r1 < 0.12)::int AS corr, r1 > 0.93 AS tol,
               started + (floor(r2 * r2 * 24) * 1.45 + r1) * interval '1 day' AS done
        FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                     CAST(:first AS timestamptz)
                     + random() * (CAST(:last AS timestamptz) - CAST(:first AS timestamptz)) AS started
              FROM generate_series(1, :n) AS g) AS draws
    ) AS shaped
) AS generated
"""


def run_dashboard_benchmark(postgresql_url: str, *, quick: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    """Load the cases into a scratch schema, measure the dashboard queries, drop the schema; return the results."""
    n, repeats = (20_000, 5) if quick else (1_000_000, 15)
    schema = PostgresSchema(postgresql_url)
    try:
        return _run(schema, n, repeats, echo)
    finally:
        schema.close()


def _run(schema: PostgresSchema, n: int, repeats: int, echo: Callable[[str], None]) -> dict[str, Any]:
    from app import create_app
    from app.runtime import get_engine
    app = create_app({"TONGBAN_DATABASE_URL": schema.url, "TESTING": True, "TONGBAN_CLOCK": ManualClock(NOW)})
    engine = get_engine(app)
    try:
        bpmn, forms = engine.shipped_files()
        engine.handle(DeployDefinitions(tuple(bpmn), tuple(forms)))
        echo(f"  dashboard: generating {n:,} cases over {FIRST}..{LAST} in {schema.schema} ...")
        t0 = time.perf_counter()
        matters = _load(engine, n)
        load_s = time.perf_counter() - t0
        echo(f"  dashboard: loaded in {load_s:.0f} s (INSERT ... generate_series, VACUUM ANALYZE)")
        metrics = engine.metrics
        period = metrics.period(first=FIRST.isoformat(), last=LAST.isoformat())
        city = metrics.filters(_city())
        live_ms = _time(lambda: metrics.summary(period, city), 2)  # slow by design: info only
        t0 = time.perf_counter()
        days = engine.roll_up_metrics()
        rollup_s = time.perf_counter() - t0
        echo(f"  dashboard: rolled up {days} days in {rollup_s:.1f} s")
        _vacuum(engine)  # what autovacuum does soon after such a load: statistics and the visibility map
        summary = metrics.summary(period, city)
        summary_ms = _time(lambda: metrics.summary(period, city), repeats)
        http_ms = _time_http(app, engine, repeats)
        info = {"by_district_ms": _time(lambda: metrics.breakdown(period, city, "district"), max(repeats // 3, 3)),
                "trend_week_ms": _time(lambda: metrics.trend(period, city, "week"), max(repeats // 3, 3)),
                "overdue_ms": _time(lambda: metrics.lights(period, city, limit=100), max(repeats // 3, 3))}
        counts = _counts(engine)
    finally:
        engine.close()
    return {"status": "ok", "database": schema.description, "cases_loaded": n, "load_seconds": load_s,
            "rollup_days": days, "rollup_seconds": rollup_s, "rollup_rows": counts["metric_daily"],
            "matters": len(matters), "districts": counts["districts"], "period": period.to_dict(),
            "summary_ms": _stats(summary_ms), "summary_without_rollup_ms": _stats(live_ms),
            "http_ms": _stats(http_ms), **{k: _stats(v) for k, v in info.items()},
            "figures": {k: summary[k] for k in ("received", "completed", "in_progress", "overdue", "near_due",
                                                "legal_avg_days", "legal_p90_days", "legal_speedup",
                                                "one_visit_rate", "cross_district_rate")}}


def _city() -> Any:
    from engine import Actor
    return Actor("bench-supervisor", ("supervisor",), "500000", "jiancha")


def _load(engine: Any, n: int) -> list[str]:
    """Generate the cases in the database, then VACUUM ANALYZE; return the matter codes used."""
    with engine.database.engine.begin() as conn:
        definition = conn.execute(text("SELECT min(id) FROM process_definitions")).scalar_one()
        districts = list(conn.execute(text("SELECT code FROM districts ORDER BY code")).scalars())
        rows = conn.execute(text("SELECT DISTINCT ON (code) code, doc->>'department' FROM matters "
                                 "ORDER BY code, version DESC")).all()
        params = {"definition": definition, "districts": districts, "matters": [r[0] for r in rows],
                  "departments": [r[1] or "zwzx" for r in rows], "n": n, "now": NOW,
                  "first": datetime.combine(FIRST, datetime.min.time(), CST),
                  "last": datetime.combine(LAST + timedelta(days=1), datetime.min.time(), CST)}
        conn.execute(text("SELECT setseed(0.20261201)"))
        conn.execute(text(_GENERATE), params)
    _vacuum(engine)
    return params["matters"]


def _vacuum(engine: Any) -> None:
    with engine.database.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE cases, metric_daily, metric_city_daily"))


def _time(call: Callable[[], Any], repeats: int) -> list[float]:
    call()  # warm: plans cached, pages in memory
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _time_http(app: Any, engine: Any, repeats: int) -> list[float]:
    engine.identity.create_user("bench_supervisor", display_name="基准监察", roles=("supervisor",),
                                district="500000", department="jiancha")
    headers = {"Authorization": f"Bearer {engine.identity.create_token('bench_supervisor')}"}
    client = app.test_client()
    url = f"/api/v1/metrics/summary?from={FIRST}&to={LAST}"

    def call() -> None:
        answer = client.get(url, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"dashboard bench: {answer.status_code} {answer.get_data(as_text=True)[:200]}")
    return _time(call, repeats)


def _counts(engine: Any) -> dict[str, int]:
    with engine.database.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("cases", "metric_daily", "districts")}


def _stats(samples: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(samples) if samples else None, "p95": percentile(samples, 95),
            "min": min(samples, default=None), "max": max(samples, default=None), "samples": len(samples)}


def dashboard_lines(result: dict[str, Any]) -> list[str]:
    """The dashboard section of the printed report."""
    if result.get("status") != "ok":
        return [f"dashboard at scale: {result.get('status', 'skipped').upper()} ({result.get('reason', '')})"]
    lines = [f"dashboard at scale: {result['cases_loaded']:,} cases over {result['period']['label']} "
             f"({result['districts']} districts, {result['matters']} matters; {result['database']}), loaded in "
             f"{result['load_seconds']:.0f} s; rollup {result['rollup_days']} days = {result['rollup_rows']:,} rows "
             f"in {result['rollup_seconds']:.1f} s",
             f"{'measure':<44} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'n':>4}"]
    for key, label in (("summary_ms", "city summary, one year (engine.metrics)"),
                       ("summary_without_rollup_ms", "same, before the rollup exists (info)"),
                       ("http_ms", "HTTP GET /api/v1/metrics/summary (info)"),
                       ("by_district_ms", "by district (info)"), ("trend_week_ms", "trend by week (info)"),
                       ("overdue_ms", "overdue list, 100 rows (info)")):
        s = result[key]
        lines.append(f"{label:<44} {s['median']:>10.1f} {s['p95']:>8.1f} {s['max']:>8.1f} {s['samples']:>4}")
    return lines


def dashboard_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/FAIL for the dashboard target (SKIP when the run did not happen)."""
    measured = result["summary_ms"]["median"] if result.get("status") == "ok" else None
    label = "dashboard city summary, one year, median (ms)"
    return [{"target": label, "threshold": f"< {TARGET_SUMMARY_MS:g}", "measured": measured, "unit": "ms",
             "result": "SKIP" if measured is None else "PASS" if measured < TARGET_SUMMARY_MS else "FAIL"}]
