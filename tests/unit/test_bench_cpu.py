"""The benchmark's CPU split: reading the PostgreSQL server's CPU time from /proc."""
from __future__ import annotations

import os

from bench.run import time_split
from bench.workloads import Batch, cpu_ticks, postgres_cpu_seconds, steal_share

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(proc, pid: int, comm: str, utime: int, stime: int) -> None:
    (proc / str(pid)).mkdir(exist_ok=True)
    fields = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 30
    (proc / str(pid) / "stat").write_text(f"{pid} ({comm}) {' '.join(fields)}\n")


def test_postgres_cpu_sums_user_and_system_time_of_the_postgres_processes_only(tmp_path):
    _stat(tmp_path, 10, "postgres", 3 * TICKS, 1 * TICKS)
    _stat(tmp_path, 11, "postgres", 2 * TICKS, 2 * TICKS)
    _stat(tmp_path, 12, "python3", 50 * TICKS, 50 * TICKS)
    _stat(tmp_path, 13, "a (weird) name", 70 * TICKS, 0)
    (tmp_path / "self").mkdir()
    assert postgres_cpu_seconds(tmp_path).seconds == 8.0


def test_a_server_process_that_ends_between_two_readings_does_not_make_the_difference_negative(tmp_path):
    _stat(tmp_path, 10, "postgres", 3 * TICKS, 1 * TICKS)       # the benchmark's backend
    _stat(tmp_path, 11, "postgres", 40 * TICKS, 0)              # another client's backend, about to close
    before = postgres_cpu_seconds(tmp_path)
    (tmp_path / "11" / "stat").unlink()
    _stat(tmp_path, 10, "postgres", 5 * TICKS, 2 * TICKS)       # +3 s
    _stat(tmp_path, 12, "postgres", 1 * TICKS, 0)               # a backend that started meanwhile: +1 s
    assert postgres_cpu_seconds(tmp_path) - before == 4.0


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


def test_cpu_ticks_reads_the_total_and_the_steal_of_the_cpu_line(tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice: guest is inside user already
    stat.write_text("cpu  100 5 20 800 10 1 4 60 30 0\ncpu0 50 2 10 400 5 0 2 30 15 0\nintr 1 2\n")
    assert cpu_ticks(stat) == (1000, 60)
    assert cpu_ticks(tmp_path / "missing") is None
    (tmp_path / "odd").write_text("intr 1 2\n")
    assert cpu_ticks(tmp_path / "odd") is None


def test_steal_share_is_the_stolen_part_of_the_cpu_time_between_two_readings():
    assert steal_share((1000, 60), (1400, 160)) == 0.25
    assert steal_share(None, (1400, 160)) is None and steal_share((1000, 60), (1000, 60)) is None


def test_time_split_reports_the_worst_batch_steal_when_known():
    batches = [Batch(cases=10, seconds=0.1, wall_seconds=0.1, cpu_seconds=0.1, steal_share=0.02),
               Batch(cases=10, seconds=0.1, wall_seconds=0.1, cpu_seconds=0.1, steal_share=0.10),
               Batch(cases=10, seconds=0.1, wall_seconds=0.1, cpu_seconds=0.1)]
    assert round(time_split(batches)["steal_pct_max"], 6) == 10.0
    for batch in batches:
        batch.steal_share = None
    assert time_split(batches)["steal_pct_max"] is None
