"""The inbox at scale: a million open tasks in PostgreSQL, and how fast a reviewer's first page comes back.

The tasks are written straight into a scratch schema with COPY (spread over every district, department and
window of Chongqing), so loading takes minutes. Then, for reviewers of many districts and departments:

* **db**: the exact SQL the query layer issues for "my groups' unclaimed tasks, first page of 50, by due
  time" (captured from ``engine.queries.tasks`` once per reviewer, then replayed on a raw psycopg cursor);
* **query layer**: ``engine.queries.tasks`` itself (SQL plus ORM rows and the API dicts);
* **http**: ``GET /api/v1/tasks?scope=available&sort=due&limit=50`` through the Flask test client;
* **claim+complete**: POST claim then POST complete of a real 受理 task through the test client.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import event, text

from engine import Actor, InboxQuery, StartCase
from engine.org_file import reference_org
from engine.persistence.models import NO_DEADLINE

from .stats import percentile
from .workloads import ACCEPT, APPROVAL_KEY, INITIAL_DATA, PostgresSchema, deploy_workloads

# Chongqing's 38 districts and counties (GB/T 2260) and the 3 functional zones (CQ-LJXQ, CQ-GXQ, CQ-WSJK), as
# shipped in the reference organisation: a user of any other code is refused (UNKNOWN_DISTRICT).
DISTRICTS = [d.code for d in reference_org().districts if d.kind != "市"]
DEPARTMENTS = ("zhujian", "guihua", "xiaofang", "shichang", "shengtai")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
TARGET_DB_P95_MS = 20.0
TARGET_HTTP_P95_MS = 50.0
TARGET_CLAIM_COMPLETE_P50_MS = 30.0
PAGE = 50
AVAILABLE_BY_DUE = InboxQuery(scope="available", sort="due", limit=PAGE)
ALL_BY_CREATED = InboxQuery(scope="all", sort="created", limit=PAGE)


@dataclass(frozen=True)
class InboxPlan:
    """How much an inbox run loads and measures."""

    tasks: int
    samples: int
    reviewers: int
    claims: int

    @classmethod
    def for_mode(cls, quick: bool) -> "InboxPlan":
        """The quick plan (CI smoke) or the full one (a million tasks)."""
        if quick:
            return cls(tasks=20_000, samples=60, reviewers=20, claims=20)
        return cls(tasks=1_000_000, samples=400, reviewers=40, claims=100)


def run_inbox_benchmark(postgresql_url: str, *, quick: bool, echo: Callable[[str], None]) -> dict[str, Any]:
    """Load the tasks into a scratch schema, measure, drop the schema; return the results."""
    plan = InboxPlan.for_mode(quick)
    schema = PostgresSchema(postgresql_url)
    try:
        return _run(schema, plan, echo)
    finally:
        schema.close()


def _run(schema: PostgresSchema, plan: InboxPlan, echo: Callable[[str], None]) -> dict[str, Any]:
    from app import create_app
    from app.runtime import get_engine
    app = create_app({"TONGBAN_DATABASE_URL": schema.url, "TESTING": True})
    engine = get_engine(app)
    try:
        deploy_workloads(engine)
        echo(f"  inbox: loading {plan.tasks:,} open tasks with COPY into {schema.schema} ...")
        t0 = time.perf_counter()
        _load(engine, plan.tasks, now=engine.clock.now())
        load_s = time.perf_counter() - t0
        echo(f"  inbox: loaded in {load_s:.0f} s (COPY, indexes, VACUUM ANALYZE)")
        reviewers = _reviewers(plan.reviewers)
        db_ms, layer_ms, statements = _measure_db(engine, reviewers, plan.samples, AVAILABLE_BY_DUE)
        # For information, no target: the default tab (mine + available, oldest first) and the tab counts.
        all_ms, _layer, _sql = _measure_db(engine, reviewers, max(plan.samples // 4, 10), ALL_BY_CREATED)
        counts_ms = _measure_counts(engine, reviewers, max(plan.samples // 4, 10))
        explain = _explain(engine, statements[0])
        http_ms = _measure_http(app, engine, reviewers, plan.samples)
        claim_ms = _measure_claims(app, engine, plan.claims)
        counts = _table_counts(engine)
    finally:
        engine.close()
    return {
        "status": "ok",
        "database": schema.description,
        "tasks_loaded": plan.tasks,
        "table_rows": counts,
        "load_seconds": load_s,
        "query": "scope=available (my groups' unclaimed), sort=due asc, limit=50, first page",
        "reviewers": len(reviewers),
        "db_ms": _stats(db_ms),
        "query_layer_ms": _stats(layer_ms),
        "http_ms": _stats(http_ms),
        "claim_complete_ms": _stats(claim_ms),
        "db_all_by_created_ms": _stats(all_ms),
        "counts_query_layer_ms": _stats(counts_ms),
        "sql": statements[0][0],
        "explain_analyze": explain,
    }


def _stats(samples: list[float]) -> dict[str, Any]:
    return {"p50": percentile(samples, 50), "p95": percentile(samples, 95), "max": max(samples, default=None),
            "samples": len(samples)}


def _load(engine: Any, n: int, *, now: datetime) -> None:
    """COPY ``n`` open tasks (four per case) with one candidate group each, then VACUUM ANALYZE."""
    rng = random.Random(20261203)
    raw = engine.database.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT id FROM process_definitions WHERE process_key = %s", (APPROVAL_KEY,))
        definition_id = cur.fetchone()[0]
        n_cases = (n + 3) // 4
        day = now.strftime("%Y%m%d")
        with cur.copy("COPY cases (id, case_no, definition_id, process_key, title, status, owning_district, "
                      "receiving_district, started_at, updated_at, event_seq, chain_head, serializer_version, "
                      "workflow_state, version) FROM STDIN") as copy:
            for i in range(1, n_cases + 1):
                district = DISTRICTS[i % len(DISTRICTS)]
                started = now - timedelta(minutes=rng.randrange(60 * 24 * 30))
                copy.write_row((i, f"BENCH{day}{i:08d}", definition_id, APPROVAL_KEY, "某项目施工许可", "running",
                                district, district, started, started, 0, "0" * 64, "bench", "", 1))
        with cur.copy("COPY tasks (id, case_id, spiff_task_id, element_id, name, process_key, district, "
                      "candidate_groups, state, assignee, created_at, claimed_at, due_at, yellow_at, case_no, "
                      "applicant_name, stage, inbox_due_at, inbox_yellow_at) FROM STDIN") as copy_tasks:
            candidates = []
            for i in range(1, n + 1):
                case_id = (i - 1) // 4 + 1
                district = DISTRICTS[case_id % len(DISTRICTS)]
                slot = rng.randrange(len(DEPARTMENTS) + 1)
                if slot == len(DEPARTMENTS):
                    group, element, name = f"window_clerk@{district}", "accept", "受理"
                else:
                    group = f"reviewer@{district}/{DEPARTMENTS[slot]}"
                    element, name = f"review_{DEPARTMENTS[slot]}", "部门审查"
                created = now - timedelta(minutes=rng.randrange(60 * 24 * 30))
                # 5 % without a deadline; the rest due between 5 days ago and 30 days ahead.
                due = None if rng.random() < 0.05 else now + timedelta(minutes=rng.randrange(-7200, 43200))
                yellow = due - timedelta(days=1) if due is not None else None
                assignee = f"user{rng.randrange(5000)}" if rng.random() < 0.1 else None
                copy_tasks.write_row((
                    i, case_id, str(uuid.UUID(int=i)), element, name, APPROVAL_KEY, district, json.dumps([group]),
                    "open", assignee, created, created if assignee else None, due, yellow,
                    f"BENCH{day}{case_id:08d}", rng.choice(SURNAMES) + "某", "审查阶段",
                    due or NO_DEADLINE, yellow))
                candidates.append((i, group, assignee is None, due or NO_DEADLINE, yellow, created))
        with cur.copy("COPY task_candidates (task_id, group_key, available, inbox_due_at, inbox_yellow_at, "
                      "created_at) FROM STDIN") as copy:
            for row in candidates:
                copy.write_row(row)
        for table in ("cases", "tasks"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
        raw.driver_connection.autocommit = True
        cur.execute("VACUUM ANALYZE cases, tasks, task_candidates")
        raw.driver_connection.autocommit = False
    finally:
        raw.close()


def _reviewers(count: int) -> list[Actor]:
    """Reviewers and window clerks spread over districts and departments (deterministic)."""
    rng = random.Random(7)
    people = []
    for i in range(count):
        district = rng.choice(DISTRICTS)
        if i % 6 == 5:
            people.append(Actor(f"clerk{i}", ("window_clerk",), district, "zwzx"))
        else:
            people.append(Actor(f"reviewer{i}", ("reviewer",), district, rng.choice(DEPARTMENTS)))
    return people


def _measure_db(engine: Any, reviewers: list[Actor], samples: int,
                query: InboxQuery) -> tuple[list[float], list[float], list]:
    """Capture each reviewer's SQL from the query layer, then time its replay and the query layer itself."""
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        captured.append((statement, parameters))
    statements = []
    for actor in reviewers:
        first = len(captured)
        event.listen(engine.database.engine, "before_cursor_execute", capture)
        try:
            page = engine.queries.tasks(actor, query)
        finally:
            event.remove(engine.database.engine, "before_cursor_execute", capture)
        if len(page.items) != PAGE:
            raise RuntimeError(f"inbox bench: {actor.username} got {len(page.items)} tasks, expected {PAGE}")
        # The page's SELECT comes first; a definition read on a cold cache (职责分离 marks) may follow it.
        statements.append(captured[first])
    db_ms: list[float] = []
    raw = engine.database.engine.raw_connection()
    try:
        cur = raw.cursor()
        for i in range(samples):
            sql, params = statements[i % len(statements)]
            t0 = time.perf_counter()
            cur.execute(sql, params)
            rows = cur.fetchall()
            db_ms.append((time.perf_counter() - t0) * 1e3)
            if len(rows) != PAGE + 1:
                raise RuntimeError(f"inbox bench: replayed SQL returned {len(rows)} rows")
        raw.rollback()
    finally:
        raw.close()
    layer_ms = []
    for i in range(samples):
        t0 = time.perf_counter()
        engine.queries.tasks(reviewers[i % len(reviewers)], query)
        layer_ms.append((time.perf_counter() - t0) * 1e3)
    return db_ms, layer_ms, statements


def _measure_counts(engine: Any, reviewers: list[Actor], samples: int) -> list[float]:
    timings = []
    for i in range(samples):
        t0 = time.perf_counter()
        counts = engine.queries.task_counts(reviewers[i % len(reviewers)])
        timings.append((time.perf_counter() - t0) * 1e3)
        if counts["available"] < PAGE:
            raise RuntimeError(f"inbox bench: counts {counts}")
    return timings


def _explain(engine: Any, statement: tuple[str, Any]) -> str:
    raw = engine.database.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement[0], statement[1])
        lines = [row[0] for row in cur.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    return "\n".join(lines)


def _tokens(engine: Any, actors: list[Actor]) -> dict[str, dict[str, str]]:
    headers = {}
    for actor in actors:
        engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                    district=actor.district, department=actor.department)
        token = engine.identity.create_token(actor.username, label="bench")
        headers[actor.username] = {"Authorization": f"Bearer {token}"}
    return headers


def _measure_http(app: Any, engine: Any, reviewers: list[Actor], samples: int) -> list[float]:
    headers = _tokens(engine, reviewers)
    client = app.test_client()
    params = {"scope": "available", "sort": "due", "limit": PAGE}
    timings = []
    for i in range(samples):
        actor = reviewers[i % len(reviewers)]
        t0 = time.perf_counter()
        response = client.get("/api/v1/tasks", headers=headers[actor.username], query_string=params)
        timings.append((time.perf_counter() - t0) * 1e3)
        if response.status_code != 200 or len(response.get_json()["items"]) != PAGE:
            raise RuntimeError(f"inbox bench: GET /api/v1/tasks -> {response.status_code}")
    return timings


def _measure_claims(app: Any, engine: Any, count: int) -> list[float]:
    """Start real cases (not timed), then time POST claim + POST complete of each 受理 task."""
    clerk = Actor("bench_inbox_clerk", ("window_clerk",), "500103", "zwzx")
    headers = _tokens(engine, [clerk])[clerk.username]
    task_ids = [engine.handle(StartCase(APPROVAL_KEY, clerk, data=INITIAL_DATA)).created_task_ids[0]
                for _ in range(count + 5)]
    client = app.test_client()
    timings = []
    for i, task_id in enumerate(task_ids):
        t0 = time.perf_counter()
        claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers)
        done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": ACCEPT})
        elapsed = (time.perf_counter() - t0) * 1e3
        if claimed.status_code != 200 or done.status_code != 200:
            raise RuntimeError(f"inbox bench: claim {claimed.status_code}, complete {done.status_code}")
        if i >= 5:  # the first few warm the workflow cache and the statement cache
            timings.append(elapsed)
    return timings


def _table_counts(engine: Any) -> dict[str, int]:
    with engine.database.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("cases", "tasks", "task_candidates")}


def inbox_lines(result: dict[str, Any]) -> list[str]:
    """The inbox section of the printed report."""
    if result.get("status") != "ok":
        return [f"inbox at scale: {result.get('status', 'skipped').upper()} ({result.get('reason', '')})"]
    lines = [f"inbox at scale: {result['tasks_loaded']:,} open tasks ({result['database']}), "
             f"loaded in {result['load_seconds']:.0f} s; {result['query']}",
             f"{'measure':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>5}"]
    for key, label in (("db_ms", "db (exact SQL, raw cursor)"), ("query_layer_ms", "engine.queries.tasks"),
                       ("http_ms", "HTTP GET /api/v1/tasks"), ("claim_complete_ms", "HTTP claim + complete"),
                       ("db_all_by_created_ms", "db, scope=all sort=created (info)"),
                       ("counts_query_layer_ms", "engine.queries.task_counts (info)")):
        s = result[key]
        lines.append(f"{label:<34} {s['p50']:>8.2f} {s['p95']:>8.2f} {s['max']:>8.2f} {s['samples']:>5}")
    return lines


def inbox_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/FAIL rows for the inbox targets (SKIP when the run did not happen)."""
    rows = []
    for label, key, stat, limit in (
            ("inbox first page, db p95 (ms)", "db_ms", "p95", TARGET_DB_P95_MS),
            ("inbox first page, HTTP p95 (ms)", "http_ms", "p95", TARGET_HTTP_P95_MS),
            ("claim + complete over HTTP, p50 (ms)", "claim_complete_ms", "p50", TARGET_CLAIM_COMPLETE_P50_MS)):
        measured = result[key][stat] if result.get("status") == "ok" else None
        rows.append({"target": label, "threshold": f"< {limit:g}", "measured": measured, "unit": "ms",
                     "result": "SKIP" if measured is None else "PASS" if measured < limit else "FAIL"})
    return rows

