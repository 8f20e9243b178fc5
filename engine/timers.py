"""The timer worker: APScheduler only wakes it up; the truth about timers lives in the ``timers`` table.

Each wake-up leases due timer rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single-writer lock on
SQLite) and fires each affected case in its own transaction. Any number of workers may run: a lease keeps
two workers off the same rows, the case row lock serializes the firing, and a timer that already fired is
no longer due, so it fires exactly once. A timer due while nothing ran fires at the next wake-up.

The same wake-up opens 督办 items for cases whose stored deadline instants have passed
(:mod:`engine.supervision`); the case lock and a unique key make that exactly-once too. It also recounts the
running cases counted with a calendar older than the committed one (:meth:`TimerWorker.recount`): after every
calendar import, including a case a command wrote with the old calendar after the import's own recompute had
passed (a case opened while the import's transaction was open), or when that recompute was cut short. More jobs share
the scheduler, so none ever delays a timer: one builds the archive packages of closed cases
(:mod:`engine.archives`: leased rows, exactly once), one seals the districts' chain heads of the days
that ended, once a day (:mod:`engine.chain_heads`: a lock and a unique key per district and day), and a
slower one (:meth:`TimerWorker.periodic`, once a minute) rolls up the finished days' metrics and writes the
通报 whose period has ended; a watermark row lock and a unique key make those exactly-once across workers.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from .archives import build_due
from .bootstrap import Engine
from .chain_heads import SEAL_GRACE, seal_days
from .clock import CST
from .commands import Actor, Command, FireDueTimers, RaiseSupervision, RecomputeDeadlines
from .errors import EngineError
from .message_worker import MessageWorker
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger("tongban.worker")

RECOUNT_REASON = "节假日安排已更新，按现行安排补算"
"""The ``DeadlinesRecomputed`` reason of a recount by the worker (:meth:`TimerWorker.recount`)."""


@dataclass(frozen=True)
class SweepResult:
    """What one wake-up did."""

    cases: int
    failed: int
    supervised: int = 0
    """Cases that got new 督办 items in this wake-up."""
    recounted: int = 0
    """Cases recounted with the committed calendar in this wake-up (:meth:`TimerWorker.recount`)."""


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
        self._archive_lock = threading.Lock()
        self._next_seal: datetime | None = None
        self._resume: dict[str, int] = {}
        """Per case loop (:meth:`_each_case`), the case id after which the next wake-up goes on."""

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
                    return SweepResult(done, failed, self.supervise(), self.recount())
        finally:
            self._sweep_lock.release()

    def supervise(self, *, max_batches: int = 20) -> int:
        """Open the 督办 items that came due; return how many cases got one.

        Bounded per wake-up, so a case that keeps failing cannot hold the worker; the rest wait a tick.
        """
        return self._each_case(lambda uow, after: uow.supervision.due_case_ids(self.engine.clock.now(),
                                                                              after=after, limit=self.batch),
                               lambda case_id: RaiseSupervision(case_id, actor=self.actor), "supervision",
                               max_batches)

    def recount(self, *, max_batches: int = 20) -> int:
        """Recompute the running cases some of whose instants count with an older calendar; return how many.

        ``tongban calendar import`` recomputes every running case right after its commit; this catches what that
        missed (``cases.calendar_generation`` below the committed generation). A recompute that moves nothing
        writes no event; one that does writes ``DeadlinesRecomputed``. Bounded per wake-up, like ``supervise``.
        """
        return self._each_case(lambda uow, after: uow.cases.counted_with_older_calendar(after=after,
                                                                                          limit=self.batch),
                               lambda case_id: RecomputeDeadlines(case_id, RECOUNT_REASON, actor=self.actor),
                               "recount", max_batches)

    def _each_case(self, pick: Callable[[SqlAlchemyUnitOfWork, int], list[int]], command: Callable[[int], Command],
                   what: str, max_batches: int) -> int:
        """Issue ``command`` for each case ``pick`` finds, batch after batch; return how many succeeded.

        ``pick(uow, after)`` returns the next cases by id after ``after``, so a wake-up tries each case once: a
        case whose command fails (an engine error, or anything else: a database error) is logged and tried again
        at a later wake-up, and failing cases cannot fill
        every batch and keep the worker from the cases after them. A wake-up cut short by ``max_batches`` leaves
        the next one to go on from where it stopped; the one that reaches the last case starts over next time.
        """
        done = 0
        after = self._resume.get(what, 0)
        for _ in range(max_batches):
            with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
                case_ids = pick(uow, after)
            for case_id in case_ids:
                try:
                    self.engine.handle(command(case_id))
                    done += 1
                except Exception as exc:  # noqa: BLE001 - one case's failure must not stop the others'
                    if isinstance(exc, EngineError):
                        log.warning("%s of case %s failed: %s", what, case_id, exc)
                    else:
                        log.exception("%s of case %s failed unexpectedly", what, case_id)
            if len(case_ids) < self.batch:
                after = 0
                break
            after = case_ids[-1]
        self._resume[what] = after
        return done

    def seal(self) -> int:
        """Seal the chain heads of the days that ended, at most once a day per worker; return how many.

        Any number of workers may try: sealing takes a lock and skips what is sealed, so each district's
        day is sealed once. A failure is logged and tried again ten minutes later.
        """
        now = self.engine.clock.now()
        if self._next_seal is not None and now < self._next_seal:
            return 0
        try:
            sealed = sum(head.created for head in seal_days(self.engine, actor=f"worker:{self.worker_id}"[:64]))
        except Exception:  # noqa: BLE001 - sealing must never stop the timers; it is retried later
            log.exception("sealing the daily chain heads failed")
            self._next_seal = now + timedelta(minutes=10)
            return 0
        tomorrow = (now - SEAL_GRACE).astimezone(CST).date() + timedelta(days=1)
        self._next_seal = datetime.combine(tomorrow, time(0), tzinfo=CST) + SEAL_GRACE
        return sealed

    def build_archives(self, *, limit: int = 10) -> tuple[int, int]:
        """Build the archive packages that are due (closed cases); return (built, failed)."""
        if not self._archive_lock.acquire(blocking=False):
            return 0, 0
        try:
            return build_due(self.engine, worker=self.worker_id[:64], limit=limit)
        finally:
            self._archive_lock.release()
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
        """Add the sweep, the archive builder, the daily sealer and the periodic metrics job as interval jobs."""
        scheduler.add_job(self.sweep, "interval", seconds=interval, id=f"timers-{self.worker_id}",
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self.build_archives, "interval", seconds=max(interval, 5.0),
                          id=f"archives-{self.worker_id}", max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self.seal, "interval", seconds=60, id=f"seal-{self.worker_id}", max_instances=1,
                          coalesce=True, misfire_grace_time=None)
        scheduler.add_job(self._periodic_job, "interval", seconds=periodic, id=f"periodic-{self.worker_id}",
                          max_instances=1, coalesce=True, misfire_grace_time=None)


def start_background(engine: Engine, *, interval: float = 1.0) -> BackgroundScheduler:
    """Start a worker inside this process (used by ``tongban run``); returns the running scheduler."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    TimerWorker(engine).schedule(scheduler, interval=interval)
    MessageWorker(engine).schedule(scheduler, interval=interval)
    scheduler.start()
    return scheduler


def run_forever(engine: Engine, *, interval: float = 1.0) -> None:
    """Run a worker (timers and messages) in the foreground until interrupted (``tongban worker``)."""
    scheduler = BlockingScheduler(timezone="Asia/Shanghai")
    worker, messages = TimerWorker(engine), MessageWorker(engine)
    worker.sweep()  # timers that fell due while nothing ran fire now, not one interval later
    messages.sweep()
    worker.seal()
    worker._periodic_job()  # and the reports of periods that ended while nothing ran
    worker.schedule(scheduler, interval=interval)
    messages.schedule(scheduler, interval=interval)
    scheduler.start()
