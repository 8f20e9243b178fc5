"""The benchmark workloads: bare SpiffWorkflow, the engine's command layer, the HTTP API and the loop case.

Every approval workload exposes ``run_batch(n) -> Batch`` so that ``bench.run`` can interleave their repeats.
Only the work a real request does is timed: bookkeeping the benchmark needs (which element a task id is,
how big the stored state is) runs between the timed calls and is never counted in cases/s or latency.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sqlalchemy import bindparam, create_engine, event, inspect, make_url, text

from engine import (
    Actor, CompleteTask, DeployDefinitions, Engine, EngineConfig, StartCase, bootstrap, upgrade_database,
)

ROOT = Path(__file__).resolve().parent.parent
APPROVAL_BPMN = ROOT / "bench" / "data" / "approval.bpmn"
"""The approval shape issue 2 compares engines on (start, user task, 3 parallel user tasks, join, end): the
shipped parallel_approval before it routed a 不同意 to 不予许可, kept under its own key so the workload stays
the same whatever the shipped matter becomes."""
APPROVAL_KEY = "approval_bench"
LOOP_BPMN = ROOT / "tests" / "data" / "processes" / "loop.bpmn"
LOOP_KEY = "loop"

# The same people and form data as tests/helpers.py (copied: bench/ never imports tests/).
CLERK = Actor("bench_clerk", ("window_clerk",), "500103", "zwzx")
REVIEWERS = {
    "review_zhujian": Actor("bench_zj", ("reviewer",), "500103", "zhujian"),
    "review_guihua": Actor("bench_gh", ("reviewer",), "500103", "guihua"),
    "review_xiaofang": Actor("bench_xf", ("reviewer",), "500103", "xiaofang"),
}
ACTORS = {"accept": CLERK, **REVIEWERS}
LOOPER = Actor("bench_loop", ("reviewer",), "500103", "zhujian")
ACCEPT = {"decision": "accept", "opinion": "材料齐全，予以受理", "materials_complete": True}
APPROVE = {"approved": "approve", "opinion": "同意"}
FORM_DATA = {"accept": ACCEPT, "review_zhujian": APPROVE, "review_guihua": APPROVE,
             "review_xiaofang": APPROVE}
USER_TASK_ORDER = ("accept", "review_zhujian", "review_guihua", "review_xiaofang")
INITIAL_DATA = {"applicant": "重庆某建设有限公司"}
TITLE = "某项目施工许可（基准测试）"
STORED_TABLES = ("cases", "tasks", "task_candidates", "case_events", "timers")
_NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

now = time.perf_counter


def quiet_spiff_loggers() -> None:
    """Raise SpiffWorkflow's loggers to WARNING, as ``engine.bootstrap`` does (log extras cost 30-40 %)."""
    for name in ("spiff", "spiff.task", "spiff.workflow"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class Batch:
    """What one repeat of one approval workload measured."""

    cases: int = 0
    seconds: float = 0.0
    """Sum of the timed calls (start + every completion) over the batch's cases."""
    start_ms: list[float] = field(default_factory=list)
    completion_ms: list[float] = field(default_factory=list)
    sql_per_start: list[int] = field(default_factory=list)
    sql_per_completion: list[int] = field(default_factory=list)
    wall_seconds: float = 0.0
    """Wall time of the whole batch, the untimed bookkeeping between calls included."""
    cpu_seconds: float = 0.0
    """CPU time of this (benchmark) process over the whole batch: every thread, user and system."""
    server_cpu_seconds: float | None = None
    """CPU time of the PostgreSQL server's processes over the batch, when they run on this host; else None."""
    steal_share: float | None = None
    """Share of the machine's CPU time the hypervisor gave to other guests during the batch (steal), 0-1."""


@dataclass
class Stored:
    """Bytes a finished case leaves behind, and how they were measured."""

    bytes_per_case: float
    method: str
    cases: int
    per_table: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class StatementCounter:
    """Counts SQL statements on a SQLAlchemy engine, leaving out transaction control (BEGIN/COMMIT/...)."""

    def __init__(self, sa_engine: Any):
        self.sa_engine = sa_engine
        self.count = 0
        event.listen(sa_engine, "before_cursor_execute", self._before)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if not statement.lstrip().upper().startswith(_NOT_COUNTED):
            self.count += 1

    def close(self) -> None:
        """Detach the listener."""
        event.remove(self.sa_engine, "before_cursor_execute", self._before)


# --------------------------------------------------------------------------------------------- databases


def in_ci() -> bool:
    """True when the environment says this is CI (then a missing PostgreSQL is an error, not a skip)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def safe_url(url: str) -> str:
    """Hide credentials in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


class SqliteDatabase:
    """A fresh, migrated SQLite file in a temporary directory, removed on close."""

    def __init__(self, name: str):
        self.dir = Path(tempfile.mkdtemp(prefix="tb-bench-"))
        self.url = f"sqlite:///{self.dir / f'{name}.sqlite'}"
        self.description = "SQLite file in a temp dir (WAL, synchronous=NORMAL)"
        upgrade_database(self.url)

    def close(self) -> None:
        """Delete the temporary directory."""
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresSchema:
    """A fresh schema ``tb_bench_<random>`` in the given PostgreSQL database, migrated; dropped on close."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.schema = f"tb_bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(base_url, connect_args={"connect_timeout": 5}, pool_pre_ping=True)
        self.created = False
        try:
            with self.admin.begin() as conn:
                self.server_version = conn.execute(text("SHOW server_version")).scalar()
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        except BaseException:
            self.admin.dispose()
            raise
        self.created = True
        self.url = f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{self.schema}"
        self.description = f"PostgreSQL {self.server_version}, schema {self.schema}"
        try:
            upgrade_database(self.url)
        except BaseException:
            self.close()
            raise

    def server_cpu_seconds(self) -> ServerCpu | None:
        """CPU used so far by every PostgreSQL process on this host (backends, WAL writer, ...), per process.

        None when the server is not on this host (then its processes are not ours to read). The sum covers
        the whole server: other databases' work counts too, so read it on a quiet machine.
        """
        host = make_url(self.base_url).host
        if host not in (None, "", "127.0.0.1", "localhost", "::1") and not str(host).startswith("/"):
            return None
        return postgres_cpu_seconds()

    def roundtrip_ms(self, samples: int = 300) -> float:
        """Median time of one ``SELECT 1`` round trip on a raw connection (the floor of every statement)."""
        raw = self.admin.raw_connection()
        try:
            cursor = raw.cursor()
            times = []
            for _ in range(samples):
                t0 = now()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                times.append((now() - t0) * 1e3)
            raw.rollback()
        finally:
            raw.close()
        times.sort()
        return times[len(times) // 2]

    def close(self) -> None:
        """Drop the schema with everything in it."""
        if self.created:
            with self.admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.created = False
        self.admin.dispose()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ServerCpu:
    """User + system CPU ticks of each PostgreSQL process at one instant.

    ``later - earlier`` is the CPU seconds the server spent between the two readings, counted per process: a
    process that ended meanwhile (another client's backend closing) drops out instead of taking its whole past
    from the sum, so the difference is never negative. The benchmark's own backends stay open while it reads.
    """

    ticks: dict[int, int]

    @property
    def seconds(self) -> float:
        """All the CPU seconds these processes have used since they started."""
        return sum(self.ticks.values()) / _CLOCK_TICKS

    def __sub__(self, earlier: "ServerCpu") -> float:
        used = (now - earlier.ticks.get(pid, 0) for pid, now in self.ticks.items())
        return sum(tick for tick in used if tick > 0) / _CLOCK_TICKS   # a reused pid never counts negative


def postgres_cpu_seconds(proc: Path = Path("/proc")) -> ServerCpu | None:
    """CPU ticks of every process named ``postgres`` in ``proc``; None if none is seen."""
    ticks: dict[int, int] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            line = stat.read_text()
        except OSError:  # the process ended meanwhile, or is not ours to read
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ')'.
        name, rest = line[line.find("(") + 1:line.rfind(")")], line[line.rfind(")") + 2:].split()
        if name == "postgres" and len(rest) > 12:
            ticks[int(stat.parent.name)] = int(rest[11]) + int(rest[12])  # utime, stime (fields 14, 15 of proc(5))
    return ServerCpu(ticks) if ticks else None


def cpu_ticks(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """(all CPU time, stolen time) in clock ticks since boot, over every CPU; None where /proc/stat is absent.

    Steal is time a virtual CPU was ready to run but the hypervisor ran another guest: on a shared VM it is
    the noise a benchmark cannot see in its own CPU time. Guest time is already inside user time, so the
    total is the first eight fields (user nice system idle iowait irq softirq steal).
    """
    try:
        first = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu" or len(first) < 9:
        return None
    fields = [int(x) for x in first[1:9]]
    return sum(fields), fields[7]


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Stolen share of all CPU time between two :func:`cpu_ticks` readings; None if either is unknown."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


@dataclass
class Timing:
    """One measured stretch, in seconds: wall time, this process's CPU, the local PostgreSQL server's CPU
    (None when unknown) and the share of the machine's CPU time stolen by the hypervisor (None off Linux)."""

    wall: float = 0.0
    client: float = 0.0
    server: float | None = 0.0
    steal: float | None = None


class Stopwatch:
    """``with Stopwatch(server) as watch:`` measures the block into ``watch.timing``.

    ``server`` returns the database server's CPU seconds so far (``PostgresSchema.server_cpu_seconds``), or
    is None when there is no server to read.
    """

    def __init__(self, server: Callable[[], ServerCpu | None] | None = None):
        self.server = server

    def __enter__(self) -> "Stopwatch":
        self.timing = Timing()
        self._server = self.server() if self.server else None
        self._ticks = cpu_ticks()
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.timing.wall = time.perf_counter() - self._wall
        self.timing.client = time.process_time() - self._cpu
        self.timing.steal = steal_share(self._ticks, cpu_ticks())
        server = self.server() if self.server else None
        self.timing.server = None if server is None or self._server is None else server - self._server


def probe_postgresql(url: str) -> str | None:
    """Return None when PostgreSQL at ``url`` answers, else the reason it does not."""
    try:
        probe = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with probe.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            probe.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no PostgreSQL here"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {safe_url(url)}: {first}"
    return None


def stored_bytes(sa_engine: Any, process_key: str) -> Stored:
    """Bytes stored for the finished cases of ``process_key``, summed over the rows of every case table."""
    dialect = sa_engine.dialect.name
    finished = "SELECT id FROM cases WHERE process_key = :key AND status = 'completed'"
    where = {
        "cases": f"t.id IN ({finished})",
        "tasks": f"t.case_id IN ({finished})",
        "task_candidates": f"t.task_id IN (SELECT k.id FROM tasks k WHERE k.case_id IN ({finished}))",
        "case_events": f"t.case_id IN ({finished})",
        "timers": f"t.case_id IN ({finished})",
    }
    per_table: dict[str, float] = {}
    extra: dict[str, Any] = {}
    with sa_engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM ({finished}) f"), {"key": process_key}).scalar() or 0
        for table in STORED_TABLES:
            if dialect == "postgresql":
                size = "pg_column_size(t.*)"
            else:
                cols = [c["name"] for c in inspect(conn).get_columns(table)]
                size = " + ".join(f'coalesce(length(CAST(t."{c}" AS BLOB)), 0)' for c in cols)
            total = conn.execute(text(f"SELECT coalesce(sum({size}), 0) FROM {table} t WHERE {where[table]}"),
                                 {"key": process_key}).scalar()
            per_table[table] = float(total) / n if n else 0.0
        if dialect == "postgresql":
            method = ("PostgreSQL: sum(pg_column_size(row)) over the case's rows "
                      "(tuple incl. header, TOAST-compressed)")
        else:
            method = ("SQLite: sum of length(CAST(col AS BLOB)) over every column of the case's rows "
                      "(value bytes; no page, row-header or index overhead)")
            extra = _sqlite_dbstat(conn, process_key)
    return Stored(sum(per_table.values()), method, int(n), per_table, extra)


def _sqlite_dbstat(conn: Any, process_key: str) -> dict[str, Any]:
    """On-disk pages of the case tables and their indexes per case (dbstat; when nothing else is stored)."""
    try:
        kinds = conn.execute(text("SELECT count(*), count(DISTINCT process_key), "
                                  "sum(status = 'completed') FROM cases")).one()
        if kinds[0] == 0 or kinds[1] != 1 or kinds[2] != kinds[0]:
            return {"dbstat": "not used: the database holds other cases too"}
        names = [r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE tbl_name IN (" + ", ".join(f"'{t}'" for t in STORED_TABLES)
            + ") AND type IN ('table', 'index')"))]
        params = {f"n{i}": name for i, name in enumerate(names)}
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        pages = conn.execute(text(f"SELECT sum(pgsize), sum(payload) FROM dbstat WHERE name IN ({marks})"),
                             params).one()
        return {"dbstat_page_bytes_per_case": pages[0] / kinds[0],
                "dbstat_payload_bytes_per_case": pages[1] / kinds[0],
                "dbstat": "pages of cases/tasks/task_candidates/case_events/timers and their indexes, "
                          "divided by the number of cases (all finished)"}
    except Exception as exc:  # noqa: BLE001 - dbstat is optional in SQLite builds
        return {"dbstat": f"unavailable: {exc}"}


# ------------------------------------------------------------------------------------- bare SpiffWorkflow


class BareSpiffApproval:
    """The approval workload run by SpiffWorkflow alone, in memory, in the request model.

    Start + serialize, then per user task: deserialize, complete with the same form data, do_engine_steps,
    serialize. Default serializer config (spec in every blob), default script engine, loggers at WARNING.
    """

    name = "approval / bare-spiff"
    layer = "SpiffWorkflow 3.2 in memory, JSON round trip per step"

    def __init__(self, round_trip: bool = True) -> None:
        """``round_trip=False`` keeps the workflow in memory between steps: SpiffWorkflow's steps alone, the
        least work any SpiffWorkflow-based engine must do for the case (used by ``bench.postgres_floor``)."""
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
        quiet_spiff_loggers()
        parser = BpmnParser()
        parser.add_bpmn_file(str(APPROVAL_BPMN))
        self.spec = parser.get_spec(APPROVAL_KEY)
        self.subprocess_specs = parser.get_subprocess_specs(APPROVAL_KEY)
        self.serializer = BpmnWorkflowSerializer()
        self.workflow_class = BpmnWorkflow
        self.ready = TaskState.READY
        self.round_trip = round_trip
        self.last_blob_bytes: list[int] = []

    def run_batch(self, n: int) -> Batch:
        """Run ``n`` cases from start to end and return what was timed."""
        batch = Batch()
        for _ in range(n):
            self._run_case(batch)
        return batch

    def _run_case(self, batch: Batch) -> None:
        ser = self.serializer
        t0 = now()
        wf = self.workflow_class(self.spec, self.subprocess_specs)
        wf.task_tree.data.update(INITIAL_DATA)
        wf.do_engine_steps()
        blob = ser.serialize_json(wf) if self.round_trip else ""
        elapsed = now() - t0
        batch.start_ms.append(elapsed * 1e3)
        for element in USER_TASK_ORDER:
            t0 = now()
            if self.round_trip:
                wf = ser.deserialize_json(blob)
            task = next(t for t in wf.get_tasks(state=self.ready, manual=True)
                        if t.task_spec.bpmn_id == element)
            task.data.update(FORM_DATA[element])
            task.run()
            wf.do_engine_steps()
            if self.round_trip:
                blob = ser.serialize_json(wf)
            step = now() - t0
            elapsed += step
            batch.completion_ms.append(step * 1e3)
        if not wf.is_completed():
            raise RuntimeError("bare SpiffWorkflow: the approval workload did not complete")
        batch.cases += 1
        batch.seconds += elapsed
        self.last_blob_bytes.append(len(blob.encode()))

    def stored(self) -> Stored:
        """Bytes stored per finished case."""
        sizes = sorted(self.last_blob_bytes)
        return Stored(sizes[len(sizes) // 2] if sizes else 0.0,
                      "bare spiff: bytes of the final serialize_json blob (median over cases)", len(sizes))

    def close(self) -> None:
        """Release what this workload holds."""
        pass


# --------------------------------------------------------------------------------------------- engine


def make_engine(url: str) -> Engine:
    """Bootstrap the engine on ``url`` and deploy the shipped processes and forms and the approval workload."""
    engine = bootstrap(EngineConfig(database_url=url))
    deploy_workloads(engine)
    return engine


def deploy_workloads(engine: Engine) -> None:
    """Deploy everything shipped in ``processes/`` and ``forms/``, and the approval workload (its forms are
    the shipped ones)."""
    bpmn, forms = engine.shipped_files()
    engine.handle(DeployDefinitions((*bpmn, ("approval_bench.bpmn", APPROVAL_BPMN.read_bytes())), tuple(forms)))


def element_ids(engine: Engine, task_ids: Sequence[int]) -> dict[int, str]:
    """One query: which BPMN element each task id is (run between timed calls, never inside one)."""
    if not task_ids:
        return {}
    with engine.database.read_sessions() as session:
        rows = session.execute(_ELEMENT_IDS, {"ids": [int(i) for i in task_ids]}).all()
    return {int(i): e for i, e in rows}


_ELEMENT_IDS = text("SELECT id, element_id FROM tasks WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True))
"""One statement for every call: ids inlined into the SQL text would give each call its own entry in the
engine's compiled-statement cache (an LRU of 500), pushing the engine's own statements out of it."""


def drive_approval_case(engine: Engine, handle: Callable[[Any], Any], label: str) -> Any:
    """Run one approval-workload case to its end, every command through ``handle`` (which wraps
    ``engine.handle`` with whatever the caller measures); the untimed lookup of which element each new task
    is runs between the calls. Returns the last command's answer.

    Raises:
        RuntimeError: when the case ends in any status but completed.
    """
    last = handle(StartCase(APPROVAL_KEY, CLERK, data=INITIAL_DATA, title=TITLE))
    pending = list(last.created_task_ids)
    while pending:
        elements = element_ids(engine, pending)
        created: list[int] = []
        for task_id in pending:
            element = elements[task_id]
            last = handle(CompleteTask(task_id, ACTORS[element], FORM_DATA[element]))
            created += last.created_task_ids
        pending = created
    if last.status != "completed":
        raise RuntimeError(f"{label}: case {last.case_no} ended as {last.status}, not completed")
    return last


class EngineApproval:
    """The approval workload through ``engine.handle``: StartCase, then CompleteTask for every created task."""

    layer = "engine.handle() command layer"

    def __init__(self, name: str, database: Any):
        self.name = name
        self.database = database
        self.engine = make_engine(database.url)
        self.counter = StatementCounter(self.engine.database.engine)

    def run_batch(self, n: int) -> Batch:
        """Run ``n`` cases from start to end and return what was timed."""
        batch = Batch()
        for _ in range(n):
            self._run_case(batch)
        return batch

    def _run_case(self, batch: Batch) -> None:
        handle, elapsed = self.engine.handle, 0.0

        def timed(command: Any) -> Any:
            nonlocal elapsed
            before, t0 = self.counter.count, now()
            answer = handle(command)
            step = now() - t0
            elapsed += step
            statements = self.counter.count - before
            if isinstance(command, StartCase):
                batch.sql_per_start.append(statements)
                batch.start_ms.append(step * 1e3)
            else:
                batch.sql_per_completion.append(statements)
                batch.completion_ms.append(step * 1e3)
            return answer

        drive_approval_case(self.engine, timed, self.name)
        batch.cases += 1
        batch.seconds += elapsed

    def stored(self) -> Stored:
        """Bytes stored per finished case."""
        return stored_bytes(self.engine.database.engine, APPROVAL_KEY)

    def close(self) -> None:
        """Release what this workload holds."""
        self.counter.close()
        self.engine.close()


class HttpApproval:
    """The same case through the Flask app with the test client (whole WSGI stack, no sockets)."""

    layer = "Flask test client: WSGI + auth + schemas + engine"

    def __init__(self, name: str, database: Any):
        from app import create_app
        from app.runtime import get_engine
        self.name = name
        self.database = database
        self.app = create_app({"TONGBAN_DATABASE_URL": database.url, "TESTING": True})
        self.engine = get_engine(self.app)
        deploy_workloads(self.engine)
        self.tokens: dict[str, str] = {}
        for actor in (CLERK, *REVIEWERS.values()):
            self.engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                             district=actor.district, department=actor.department)
            self.tokens[actor.username] = self.engine.identity.create_token(actor.username, label="bench")
        self.client = self.app.test_client()
        self.counter = StatementCounter(self.engine.database.engine)

    def _headers(self, actor: Actor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor.username]}"}

    def run_batch(self, n: int) -> Batch:
        """Run ``n`` cases from start to end and return what was timed."""
        batch = Batch()
        for _ in range(n):
            self._run_case(batch)
        return batch

    def _run_case(self, batch: Batch) -> None:
        post = self.client.post
        body = {"process_key": APPROVAL_KEY, "data": INITIAL_DATA, "title": TITLE}
        headers = self._headers(CLERK)
        before = self.counter.count
        t0 = now()
        response = post("/api/v1/cases", json=body, headers=headers)
        elapsed = now() - t0
        batch.sql_per_start.append(self.counter.count - before)
        if response.status_code != 201:
            raise RuntimeError(f"{self.name}: POST /api/v1/cases -> {response.status_code} "
                               f"{response.get_data(True)}")
        batch.start_ms.append(elapsed * 1e3)
        last = response.get_json()
        pending = list(last["created_task_ids"])
        while pending:
            elements = element_ids(self.engine, pending)
            created: list[int] = []
            for task_id in pending:
                element = elements[task_id]
                headers, body = self._headers(ACTORS[element]), {"data": FORM_DATA[element]}
                before = self.counter.count
                t0 = now()
                response = post(f"/api/v1/tasks/{task_id}/complete", json=body, headers=headers)
                step = now() - t0
                if response.status_code != 200:
                    raise RuntimeError(f"{self.name}: complete {element} -> {response.status_code} "
                                       f"{response.get_data(True)}")
                batch.sql_per_completion.append(self.counter.count - before)
                batch.completion_ms.append(step * 1e3)
                elapsed += step
                last = response.get_json()
                created += last["created_task_ids"]
            pending = created
        if last["status"] != "completed":
            raise RuntimeError(f"{self.name}: case {last['case_no']} ended as {last['status']}, "
                               "not completed")
        batch.cases += 1
        batch.seconds += elapsed

    def stored(self) -> Stored:
        """Bytes stored per finished case."""
        return stored_bytes(self.engine.database.engine, APPROVAL_KEY)

    def close(self) -> None:
        """Release what this workload holds."""
        self.counter.close()
        self.engine.close()


# ------------------------------------------------------------------------------------- growth (loop.bpmn)


@dataclass
class GrowthTrace:
    """Per-round completion time, state size and statement count of one long-running loop case."""

    name: str
    layer: str
    rounds_ms: list[float] = field(default_factory=list)
    state_bytes: list[int] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    cap: int | None = None
    note: str = ""


class EngineLoop:
    """One case of loop.bpmn through the command layer, its ``work`` task completed again and again."""

    def __init__(self, name: str, engine: Engine, counter: StatementCounter | None = None):
        self.engine = engine
        self.counter = counter or StatementCounter(engine.database.engine)
        self.own_counter = counter is None
        engine.handle(DeployDefinitions((("loop.bpmn", LOOP_BPMN.read_bytes()),)))
        ref = engine.handle(StartCase(LOOP_KEY, LOOPER, title="循环增长（基准测试）"))
        self.case_id = ref.case_id
        (self.task_id,) = ref.created_task_ids
        self.trace = GrowthTrace(name, "engine.handle() command layer")

    def step(self) -> None:
        """Complete the loop task once (``done`` false) and record time and state size."""
        before = self.counter.count
        t0 = now()
        ref = self.engine.handle(CompleteTask(self.task_id, LOOPER, {"done": False}))
        elapsed = now() - t0
        self.trace.sql.append(self.counter.count - before)
        (self.task_id,) = ref.created_task_ids
        self.trace.rounds_ms.append(elapsed * 1e3)
        self.trace.state_bytes.append(self._state_bytes())

    def _state_bytes(self) -> int:
        with self.engine.database.read_sessions() as session:
            state = session.execute(text("SELECT workflow_state FROM cases WHERE id = :id"),
                                    {"id": self.case_id}).scalar_one()
        return len(state.encode())

    def finish(self) -> None:
        """End the loop case."""
        ref = self.engine.handle(CompleteTask(self.task_id, LOOPER, {"done": True}))
        if ref.status != "completed" or ref.created_task_ids:
            raise RuntimeError(f"{self.trace.name}: the loop case did not end ({ref.status})")

    def close(self) -> None:
        """Release what this workload holds."""
        if self.own_counter:
            self.counter.close()


class BareSpiffLoop:
    """The same loop in bare SpiffWorkflow: deserialize, complete, step, serialize; no compaction."""

    def __init__(self, name: str, cap: int):
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
        quiet_spiff_loggers()
        parser = BpmnParser()
        parser.add_bpmn_file(str(LOOP_BPMN))
        self.ser = BpmnWorkflowSerializer()
        self.ready = TaskState.READY
        wf = BpmnWorkflow(parser.get_spec(LOOP_KEY), parser.get_subprocess_specs(LOOP_KEY))
        wf.do_engine_steps()
        self.blob = self.ser.serialize_json(wf)
        self.trace = GrowthTrace(name, "SpiffWorkflow in memory, JSON round trip per round", cap=cap,
                                 note=f"at most {cap} rounds: past ~333 the task tree is 1000 deep and "
                                      "SpiffWorkflow stops finding ready tasks")

    def step(self) -> None:
        """Complete the loop task once (``done`` false) and record time and state size."""
        t0 = now()
        wf = self.ser.deserialize_json(self.blob)
        (task,) = wf.get_tasks(state=self.ready, manual=True)
        task.data.update({"done": False})
        task.run()
        wf.do_engine_steps()
        self.blob = self.ser.serialize_json(wf)
        self.trace.rounds_ms.append((now() - t0) * 1e3)
        self.trace.state_bytes.append(len(self.blob.encode()))

    def finish(self) -> None:
        """End the loop case."""
        pass

    def close(self) -> None:
        """Release what this workload holds."""
        pass
