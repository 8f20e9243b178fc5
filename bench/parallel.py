"""Aggregate throughput with several processes, engine and bare SpiffWorkflow alike.

The approval workload is CPU-bound Python, so one process uses one core. A deployment runs several web
processes; this measures what two processes (one per core of the reference machine) achieve together, for
the engine on PostgreSQL and for bare SpiffWorkflow, so their ratio is again like for like.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

from .workloads import BareSpiffApproval, EngineApproval


class _Database:
    """Just enough of a database description for EngineApproval in a child process."""

    def __init__(self, url: str):
        self.url = url


def _child(kind: str, url: str | None, cases: int, warmup: int, start: Any, results: Any) -> None:
    workload = EngineApproval("child", _Database(url)) if kind == "engine" else BareSpiffApproval()
    try:
        workload.run_batch(warmup)
        start.wait()
        began = time.perf_counter()
        batch = workload.run_batch(cases)
        results.put((batch.cases, began, time.perf_counter()))
    finally:
        workload.close()


def aggregate_rate(kind: str, *, url: str | None, processes: int, cases: int, warmup: int) -> float:
    """Run ``processes`` copies at once (released together); return total cases / wall-clock seconds."""
    context = mp.get_context("spawn")
    start, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=_child, args=(kind, url, cases, warmup, start, results))
                for _ in range(processes)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=600) for _ in children]
    for child in children:
        child.join(timeout=60)
        if child.exitcode not in (0, None):
            raise RuntimeError(f"benchmark child process failed with exit code {child.exitcode}")
    total = sum(n for n, _, _ in outcomes)
    wall = max(end for _, _, end in outcomes) - min(began for _, began, _ in outcomes)
    return total / wall
