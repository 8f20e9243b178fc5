"""``tongban bench --only postgres-floor``: what the database's share of an approval case costs at its floor.

The approval target asks the command layer on PostgreSQL for 0.6 x the rate of bare SpiffWorkflow. This
benchmark asks whether any engine could meet it on this machine with the rows ours must write. Per repeat:

1. ``bare-spiff`` runs ``cases`` approval cases in memory (the same workload as the approval rows), and
   ``spiff-steps-only`` the same without the JSON round trips: SpiffWorkflow's own steps, the least work any
   engine built on it must do per case.
2. ``engine-postgresql`` runs as many (after its warm-up cases) through ``engine.handle`` on a fresh schema,
   while every statement it sends is recorded with its driver parameters, transaction by transaction. Only
   the timed commands are recorded; the bookkeeping query between them is neither timed nor recorded.
3. The recorded transactions (the warm-up cases' first, untimed) are replayed on raw psycopg connections,
   each into its own fresh schema prepared exactly like the first (migrated, the shipped processes deployed),
   so sequences hand out the same ids and every ``RETURNING`` answers what the engine saw:

   * ``replay-per-statement``: one ``execute`` per statement and a ``COMMIT`` per transaction, the engine's
     shape without the engine or SQLAlchemy;
   * ``replay-one-round-trip``: each transaction sent as one simple-protocol string ``BEGIN; ...; COMMIT``
     with the parameters inlined as literals. Inlining is done beforehand and reported on its own line; a
     real write path would pay it per command.

Each replay must leave the same rows as the engine: the row counts of ``cases``, ``tasks``,
``task_candidates`` and ``case_events`` and digests of the audit chain's hashes, of every case's version,
chain head and snapshot, and of every task's state and assignee are compared; a difference is an error.

The second replay approximates the floor of the database's share: one message per transaction and no
per-statement driver work. It is approximate from both sides. The server still parses and plans every
statement, which a stored procedure would not; and no engine could send it as such, since the engine reads
the case (and its ``RETURNING`` ids) before it knows what to write, so a real command needs at least two
round trips. The budget line compares it with what 0.6 x bare leaves per case.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import event
from sqlalchemy.engine import make_url

from .stats import median_of_all, spread
from .workloads import (
    BareSpiffApproval, PostgresSchema, Stopwatch, Timing, drive_approval_case, in_ci, make_engine,
    probe_postgresql, safe_url,
)

ROWS = ("bare-spiff", "spiff-steps-only", "engine-postgresql", "replay-per-statement", "replay-one-round-trip")
TARGET_RATIO = 0.6
STATE_SQL = (
    "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM cases WHERE status = 'completed'),"
    " (SELECT count(*) FROM tasks), (SELECT count(*) FROM task_candidates), (SELECT count(*) FROM case_events),"
    " (SELECT md5(string_agg(hash, ',' ORDER BY id)) FROM case_events),"
    " (SELECT md5(string_agg(concat_ws('|', id, status, version, chain_head, md5(workflow_state)), ',' ORDER BY id))"
    "  FROM cases),"
    " (SELECT md5(string_agg(concat_ws('|', id, case_id, element_id, state, assignee), ',' ORDER BY id)) FROM tasks)"
)

Statement = tuple[str, Any, bool]
"""One recorded statement: SQL as the driver received it, its parameters, and whether it was an executemany."""


@dataclass
class Recording:
    """The statements of the engine's committed transactions, in order, and the time the commands took."""

    transactions: list[list[Statement]] = field(default_factory=list)
    timing: Timing = field(default_factory=Timing)
    discarded: int = 0

    @property
    def statements(self) -> int:
        """How many statements were recorded."""
        return sum(len(tx) for tx in self.transactions)


class Recorder:
    """Records every statement an SQLAlchemy engine sends while ``on``, grouped by committed transaction."""

    def __init__(self, sa_engine: Any):
        self.sa_engine = sa_engine
        self.recording = Recording()
        self.on = False
        self._open: list[Statement] = []
        event.listen(sa_engine, "before_cursor_execute", self._statement)
        event.listen(sa_engine, "commit", self._commit)
        event.listen(sa_engine, "rollback", self._rollback)

    def _statement(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                   executemany: bool) -> None:
        if self.on:
            self._open.append((statement, parameters, executemany))

    def _commit(self, conn: Any) -> None:
        if self.on and self._open:
            self.recording.transactions.append(self._open)
            self._open = []

    def _rollback(self, conn: Any) -> None:
        # A read-only transaction ends in ROLLBACK; its statements changed nothing and are not replayed. A
        # rolled-back write would make the replays differ, which the row comparison reports.
        if self._open:
            self.recording.discarded += len(self._open)
            self._open = []

    def close(self) -> None:
        """Stop listening."""
        event.remove(self.sa_engine, "before_cursor_execute", self._statement)
        event.remove(self.sa_engine, "commit", self._commit)
        event.remove(self.sa_engine, "rollback", self._rollback)


def record_engine_cases(engine: Any, schema: PostgresSchema, cases: int) -> Recording:
    """Run ``cases`` approval cases through ``engine.handle``, timing and recording each command.

    Wall and process CPU are summed over the commands alone. The server's CPU is read once around the whole
    loop (reading ``/proc`` per command would cost the client more than some commands do), so it also holds
    the bookkeeping query between steps: one indexed SELECT per step.
    """
    recorder = Recorder(engine.database.engine)
    total = Timing()

    def timed(command: Any) -> Any:
        recorder.on = True
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return engine.handle(command)
        finally:
            total.wall += time.perf_counter() - wall
            total.client += time.process_time() - cpu
            recorder.on = False

    server = schema.server_cpu_seconds()
    try:
        for _ in range(cases):
            drive_approval_case(engine, timed, "postgres-floor")
    finally:
        recorder.close()
    after = schema.server_cpu_seconds()
    total.server = None if server is None or after is None else after - server
    recorder.recording.timing = total
    return recorder.recording


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq URI of an SQLAlchemy PostgreSQL URL (driver name dropped; query options such as the
    schema's ``search_path`` kept)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def replay_per_statement(conn: Any, transactions: Sequence[list[Statement]]) -> None:
    """Send every statement on its own, as the engine does, and commit each transaction."""
    cursor = conn.cursor()
    for tx in transactions:
        for statement, parameters, many in tx:
            if many:
                cursor.executemany(statement, parameters, returning="RETURNING" in statement.upper())
            else:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        conn.commit()


def inline_transactions(conn: Any, transactions: Sequence[list[Statement]]) -> list[str]:
    """Each transaction as one SQL string ``BEGIN; ...; COMMIT`` with its parameters inlined as literals."""
    from psycopg import ClientCursor
    cursor = ClientCursor(conn)
    bodies = []
    for tx in transactions:
        parts = ["BEGIN"]
        for statement, parameters, many in tx:
            if many:
                parts += [cursor.mogrify(statement, row) for row in parameters]
            else:
                parts.append(cursor.mogrify(statement, parameters))
        parts.append("COMMIT")
        bodies.append(";\n".join(parts))
    return bodies


def replay_one_round_trip(conn: Any, bodies: Sequence[str]) -> None:
    """Send each transaction in one simple-protocol message (no parameters, several statements)."""
    cursor = conn.cursor()
    for body in bodies:
        cursor.execute(body)


def database_state(conn: Any) -> tuple[Any, ...]:
    """Row counts of the case tables; digests of the audit chain, the cases' snapshots and the tasks."""
    with conn.cursor() as cursor:
        cursor.execute(STATE_SQL)
        return tuple(cursor.fetchone())


class Repeat:
    """One repeat: the engine on a fresh schema, then each replay on a fresh schema prepared the same way."""

    def __init__(self, postgresql_url: str, cases: int, warmup: int):
        self.url, self.cases, self.warmup = postgresql_url, cases, warmup

    def run(self) -> dict[str, Any]:
        """Measure the engine and both replays; return timings (seconds for all ``cases``) and the states."""
        import psycopg
        schemas: list[PostgresSchema] = []
        try:
            for _ in range(3):
                schemas.append(PostgresSchema(self.url))
                make_engine(schemas[-1].url).close()   # the shipped processes deployed, as the engine's schema
            engine = make_engine(schemas[0].url)
            try:
                warm = record_engine_cases(engine, schemas[0], self.warmup)
                recording = record_engine_cases(engine, schemas[0], self.cases)
            finally:
                engine.close()
            out: dict[str, Any] = {"engine-postgresql": recording.timing, "statements": recording.statements,
                                   "transactions": len(recording.transactions),
                                   "discarded": recording.discarded}
            with psycopg.connect(libpq_url(schemas[0].url)) as conn:
                expected = database_state(conn)
            states = {}
            # The warm-up cases are replayed first, untimed: same ids afterwards, and the connection's
            # prepared statements are as warm as the engine's.
            with psycopg.connect(libpq_url(schemas[1].url)) as conn:
                replay_per_statement(conn, warm.transactions)
                with Stopwatch(schemas[1].server_cpu_seconds) as watch:
                    replay_per_statement(conn, recording.transactions)
                out["replay-per-statement"] = watch.timing
                states["replay-per-statement"] = database_state(conn)
            with psycopg.connect(libpq_url(schemas[2].url), autocommit=True) as conn:
                replay_one_round_trip(conn, inline_transactions(conn, warm.transactions))
                began = time.process_time()
                bodies = inline_transactions(conn, recording.transactions)
                out["inline_cpu"] = time.process_time() - began
                with Stopwatch(schemas[2].server_cpu_seconds) as watch:
                    replay_one_round_trip(conn, bodies)
                out["replay-one-round-trip"] = watch.timing
                states["replay-one-round-trip"] = database_state(conn)
            for name, state in states.items():
                if state != expected:
                    raise RuntimeError(f"postgres-floor: {name} left {state}, the engine left {expected}")
            out["state"] = expected
            return out
        finally:
            for schema in schemas:
                schema.close()


def _per_case_ms(values: list[float | None], cases: int) -> float | None:
    median = median_of_all(values)
    return None if median is None else median / cases * 1e3


def run_postgres_floor(*, quick: bool, postgresql_url: str, echo: Callable[[str], None]) -> dict[str, Any]:
    """Interleave bare SpiffWorkflow with the engine and the replays; return medians per case in ms."""
    repeats, cases, warmup = (2, 10, 3) if quick else (5, 60, 10)
    reason = probe_postgresql(postgresql_url)
    if reason is not None:
        if in_ci():
            raise RuntimeError(f"{reason} (CI=true: the PostgreSQL benchmarks must run)")
        echo(f"SKIP postgres-floor: {reason}")
        return {"status": "skipped", "reason": reason}
    bare, steps = BareSpiffApproval(), BareSpiffApproval(round_trip=False)
    try:
        bare.run_batch(warmup)
        steps.run_batch(warmup)
        runs, bare_seconds, steps_seconds = [], [], []
        for index in range(repeats):
            bare_seconds.append(bare.run_batch(cases).seconds)
            steps_seconds.append(steps.run_batch(cases).seconds)
            runs.append(Repeat(postgresql_url, cases, warmup).run())
            echo(f"  repeat {index + 1}/{repeats}: bare-spiff {bare_seconds[-1] / cases * 1e3:.2f} ms/case, "
                 f"engine-postgresql {runs[-1]['engine-postgresql'].wall / cases * 1e3:.2f} ms/case, "
                 f"one round trip {runs[-1]['replay-one-round-trip'].wall / cases * 1e3:.2f} ms/case")
    finally:
        bare.close()
        steps.close()
    rows: dict[str, dict[str, float | None]] = {
        name: {"wall_ms": _per_case_ms(seconds, cases), "client_cpu_ms": None, "server_cpu_ms": None}
        for name, seconds in (("bare-spiff", bare_seconds), ("spiff-steps-only", steps_seconds))}
    for name in ROWS[2:]:
        rows[name] = {"wall_ms": _per_case_ms([r[name].wall for r in runs], cases),
                      "client_cpu_ms": _per_case_ms([r[name].client for r in runs], cases),
                      "server_cpu_ms": _per_case_ms([r[name].server for r in runs], cases)}
    inline_ms = _per_case_ms([r["inline_cpu"] for r in runs], cases)
    bare_ms = rows["bare-spiff"]["wall_ms"]
    floor_ms = rows["replay-one-round-trip"]["wall_ms"] + inline_ms
    budget_ms = bare_ms / TARGET_RATIO
    # Paired per repeat (the machine drifts between repeats): the engine's ratio as measured here, the ratio
    # if the engine cost nothing, and if our engine's own work (engine wall - per-statement replay wall) ran
    # on a write path at the floor. The last is an upper bound of what a PostgreSQL-only write path could give.
    paired: dict[str, list[float]] = {"engine": [], "if_the_engine_were_free": [], "our_engine_at_the_floor": []}
    for bare_s, r in zip(bare_seconds, runs):
        floor_s = r["replay-one-round-trip"].wall + r["inline_cpu"]
        own_s = r["engine-postgresql"].wall - r["replay-per-statement"].wall
        paired["engine"].append(bare_s / r["engine-postgresql"].wall)
        paired["if_the_engine_were_free"].append(bare_s / floor_s)
        paired["our_engine_at_the_floor"].append(bare_s / (floor_s + own_s))
    return {"status": "ok", "mode": "quick" if quick else "full", "repeats": repeats, "cases": cases,
            "postgresql_url": safe_url(postgresql_url), "rows": rows, "inline_cpu_ms": inline_ms,
            "statements_per_case": runs[0]["statements"] / cases,
            "transactions_per_case": runs[0]["transactions"] / cases,
            "rolled_back_statements": sum(r["discarded"] for r in runs),
            "budget": {"target_ratio": TARGET_RATIO, "ms_per_case": budget_ms, "database_floor_ms": floor_ms,
                       "left_for_the_engine_ms": budget_ms - floor_ms,
                       "spiff_steps_fit": budget_ms - floor_ms >= rows["spiff-steps-only"]["wall_ms"],
                       "floor_ratio_if_the_engine_were_free": bare_ms / floor_ms},
            "paired_ratios": {name: spread(values) for name, values in paired.items()},
            "replays_match_engine": True, "final_state": list(runs[-1]["state"])}


def floor_lines(result: dict[str, Any]) -> list[str]:
    """The table and the budget line."""
    if result.get("status") != "ok":
        return [f"postgres-floor: SKIPPED ({result.get('reason')})"]

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [f"postgres-floor ({result['mode']}): medians of {result['repeats']} repeats x {result['cases']} "
             f"cases, ms per case; {result['statements_per_case']:.1f} statements in "
             f"{result['transactions_per_case']:.1f} transactions per case",
             f"{'row':<26}{'wall':>8}{'client CPU':>12}{'server CPU':>12}", "-" * 58]
    for name, row in result["rows"].items():
        lines.append(f"{name:<26}{cell(row['wall_ms']):>8}{cell(row['client_cpu_ms']):>12}"
                     f"{cell(row['server_cpu_ms']):>12}")
    budget = result["budget"]
    lines += [f"inlining the parameters for the one-round-trip replay: {result['inline_cpu_ms']:.2f} ms CPU per case",
              f"budget at {budget['target_ratio']} x bare-spiff: {budget['ms_per_case']:.2f} ms per case; the "
              f"database's floor (one round trip + inlining) takes {budget['database_floor_ms']:.2f} ms, leaving "
              f"{budget['left_for_the_engine_ms']:.2f} ms for the whole engine; SpiffWorkflow's steps alone, with "
              f"no snapshot at all, take {result['rows']['spiff-steps-only']['wall_ms']:.2f} ms",
              f"ratio if the engine cost nothing: {budget['floor_ratio_if_the_engine_were_free']:.2f} x bare-spiff; "
              "the replays left exactly the engine's rows"]
    labels = {"engine": "the engine as measured here", "if_the_engine_were_free": "the floor, the engine free",
              "our_engine_at_the_floor": "our engine's own work on a write path at the floor (upper bound)"}
    for name, label in labels.items():
        ratio = result["paired_ratios"][name]
        lines.append(f"paired ratio to bare-spiff, {label}: {ratio['median']:.2f} "
                     f"(range {ratio['min']:.2f}-{ratio['max']:.2f})")
    return lines


def main_postgres_floor_only(*, quick: bool, postgresql_url: str, output: Path,
                             echo: Callable[[str], None]) -> dict[str, Any]:
    """Run the floor benchmark, print it and merge it into ``output`` as ``postgres_floor``."""
    from .run import machine_info, merge_results
    machine = machine_info()
    echo(f"tongban bench --only postgres-floor ({'quick' if quick else 'full'}); "
         f"load={machine['loadavg_at_start']}")
    with Stopwatch() as watch:
        result = run_postgres_floor(quick=quick, postgresql_url=postgresql_url, echo=echo)
    steal = watch.timing.steal
    echo("")
    for line in floor_lines(result):
        echo(line)
    if steal is not None:
        echo(f"CPU time the hypervisor gave to other guests during the run (steal): {steal * 100:.1f} %")
    return merge_results(output, {"postgres_floor": {**result, "machine": {**machine, "steal_pct": (
        None if steal is None else steal * 100)}}}, None, echo)
