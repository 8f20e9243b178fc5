"""The timer worker: APScheduler only wakes it up; the truth about timers lives in the ``timers`` table.

Each wake-up leases due timer rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single-writer lock on
SQLite) and fires each affected case in its own transaction. Any number of workers may run: a lease keeps
two workers off the same rows, the case row lock serializes the firing, and a timer that already fired is
no longer due, so it fires exactly once. A timer due while nothing ran fires at the next wake-up.

The same wake-up opens 督办 items for cases whose stored deadline instants have passed
(:mod:`engine.supervision`); the case lock and a unique key make that exactly-once too. A slower job
(:meth:`TimerWorker.periodic`, once a minute) rolls up the finished days' metrics and writes the 通报 whose
period has ended; a watermark row lock and a unique key make those exactly-once across workers.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .bootstrap import Engine
from .commands import Actor, FireDueTimers, RaiseSupervision
from .errors import EngineError
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger("tongban.worker")


@dataclass(frozen=True)
class SweepResult:
    """What one wake-up did."""

    cases: int
    failed: int
    supervised: int = 0
    """Cases that got new 督办 items in this wake-up."""


@dataclass(frozen=True)
class PeriodicResult:
    """What one run of the periodic job did."""

    rolled_up_days: int
    reports: int


class TimerWorker:
    """Fires due timers through the engine's FireDueTimers command."""

    def __init__(self, engine: Engine, *, worker_id: str | None = None, batch: int = 50,
                 lease: timedelta = timedelta(minutes=2), retry: timedelta = timedelta(seconds=30)):
        self.engine = engine
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch, self.lease, self.retry = batch, lease, retry
        self.actor = Actor.system("timer-worker")
        self._sweep_lock = threading.Lock()

    def sweep(self) -> SweepResult:
        """Lease and fire every due timer (in batches) until none is due; safe to call concurrently."""
        if not self._sweep_lock.acquire(blocking=False):
            return SweepResult(0, 0)
        try:
            done = failed = 0
            while True:
                case_ids = self._claim()
                for case_id in case_ids:
                    if self._fire(case_id):
                        done += 1
                    else:
                        failed += 1
                if len(case_ids) < self.batch:
                    return SweepResult(done, failed, self.supervise())
        finally:
            self._sweep_lock.release()

    def supervise(self, *, max_batches: int = 20) -> int:
        """Open the 督办 items that came due; return how many cases got one.

        Bounded per wake-up, so a case that keeps failing cannot hold the worker; the rest wait a tick.
        """
        raised = 0
        for _ in range(max_batches):
            with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
                case_ids = uow.supervision.due_case_ids(self.engine.clock.now(), limit=self.batch)
            for case_id in case_ids:
                try:
                    self.engine.handle(RaiseSupervision(case_id, actor=self.actor))
                    raised += 1
                except EngineError as exc:
                    log.warning("supervision of case %s failed: %s", case_id, exc)
            if len(case_ids) < self.batch:
                break
        return raised

    def periodic(self) -> PeriodicResult:
        """Roll up the finished days' metrics, then write every 通报 whose period has ended and is missing."""
        days = self.engine.roll_up_metrics()
        return PeriodicResult(days, self.engine.reports.run_due(by=self.worker_id))

    def _periodic_job(self) -> None:
        try:
            self.periodic()
        except Exception:  # noqa: BLE001 - a failed report must not stop the worker; it retries next minute
            log.exception("metrics rollup or periodic reports failed")

    def _claim(self) -> list[int]:
        now = self.engine.clock.now()
        with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
            ids = uow.timers.claim_due(now, worker=self.worker_id, lease_until=now + self.lease, limit=self.batch)
            uow.commit()
        return ids

    def _fire(self, case_id: int) -> bool:
        try:
            self.engine.handle(FireDueTimers(case_id, actor=self.actor))
            return True
        except Exception as exc:  # noqa: BLE001 - one case's failure must not stop the others' timers
            # EngineError is expected (e.g. a diagram expression failing); anything else (a database error
            # raised mid-statement) is logged with its trace. Either way the case retries later and the
            # sweep goes on with the other leased cases.
            if isinstance(exc, EngineError):
                log.warning("timers of case %s could not fire: %s", case_id, exc)
            else:
                log.exception("timers of case %s failed unexpectedly", case_id)
            now = self.engine.clock.now()
            with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
                uow.timers.release(case_id, error=str(exc), retry_at=now + self.retry)
                uow.commit()
            return False

    def schedule(self, scheduler: Any, *, interval: float = 1.0, periodic: float = 60.0) -> None:
        """Add the sweep (every ``interval`` s) and the periodic job (every ``periodic`` s) as interval jobs."""
        scheduler.add_job(self.sweep, "interval", seconds=interval, id=f"timers-{self.worker_id}",
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self._periodic_job, "interval", seconds=periodic, id=f"periodic-{self.worker_id}",
                          max_instances=1, coalesce=True, misfire_grace_time=None)


def start_background(engine: Engine, *, interval: float = 1.0) -> BackgroundScheduler:
    """Start a worker inside this process (used by ``tongban run``); returns the running scheduler."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    TimerWorker(engine).schedule(scheduler, interval=interval)
    scheduler.start()
    return scheduler


def run_forever(engine: Engine, *, interval: float = 1.0) -> None:
    """Run a worker in the foreground until interrupted (``tongban worker``)."""
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    worker = TimerWorker(engine)
    worker.sweep()  # timers that fell due while nothing ran fire now, not one interval later
    worker._periodic_job()  # and the reports of periods that ended while nothing ran
    worker.schedule(scheduler, interval=interval)
    scheduler.start()
