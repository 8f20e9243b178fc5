"""The benchmark's CPU split: reading the PostgreSQL server's CPU time from /proc."""
from __future__ import annotations

import os

from bench.run import time_split
from bench.workloads import Batch, postgres_cpu_seconds

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(proc, pid: int, comm: str, utime: int, stime: int) -> None:
    (proc / str(pid)).mkdir()
    fields = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 30
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)}\n")


def test_postgres_cpu_sums_user_and_system_time_of_the_postgres_processes_only(tmp_path):
    _stat(tmp_path, 10, "postgres", 3 * TICKS, 1 * TICKS)
    _stat(tmp_path, 11, "postgres", 2 * TICKS, 2 * TICKS)
    _stat(tmp_path, 12, "python3", 50 * TICKS, 50 * TICKS)
    _stat(tmp_path, 13, "a (weird) name", 70 * TICKS, 0)
    (tmp_path / "self").mkdir()
    assert postgres_cpu_seconds(tmp_path) == 8.0


def test_postgres_cpu_is_none_when_no_server_process_is_visible(tmp_path):
    _stat(tmp_path, 12, "python3", 5, 5)
    assert postgres_cpu_seconds(tmp_path) is None


def test_time_split_gives_medians_per_case_and_no_server_figure_unless_every_repeat_has_one():
    batches = [Batch(cases=10, seconds=0.10, wall_seconds=0.12, cpu_seconds=0.08, server_cpu_seconds=0.05),
               Batch(cases=10, seconds=0.20, wall_seconds=0.22, cpu_seconds=0.18, server_cpu_seconds=0.03),
               Batch(cases=10, seconds=0.30, wall_seconds=0.32, cpu_seconds=0.28, server_cpu_seconds=0.04)]
    split = time_split(batches)
    assert round(split["timed_ms_per_case"], 6) == 20.0 and round(split["wall_ms_per_case"], 6) == 22.0
    assert round(split["process_cpu_ms_per_case"], 6) == 18.0
    assert round(split["postgresql_server_cpu_ms_per_case"], 6) == 4.0
    batches[1].server_cpu_seconds = None
    assert time_split(batches)["postgresql_server_cpu_ms_per_case"] is None
