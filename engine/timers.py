"""The timer worker: APScheduler only wakes it up; the truth about timers lives in the ``timers`` table.

Each wake-up leases due timer rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single-writer lock on
SQLite) and fires each affected case in its own transaction. Any number of workers may run: a lease keeps
two workers off the same rows, the case row lock serializes the firing, and a timer that already fired is
no longer due, so it fires exactly once (a cycle timer's row moves to its next slot, lease ended). A timer due
while nothing ran fires at the next wake-up. A firing that fails is retried after 30 s, doubling with each
failed attempt up to an hour; after the tenth the timer is set aside (state ``failed``) for an administrator
(``tongban timers list --failed``, ``tongban timers retry ID --by USER``, recorded on the case:
:mod:`engine.timer_admin`), and the case's page and API show it to the case's readers meanwhile.

The same wake-up opens 督办 items for cases whose stored deadline instants have passed
(:mod:`engine.supervision`); the case lock and a unique key make that exactly-once too. It also recounts the
running cases counted with a calendar older than the committed one (:meth:`TimerWorker.recount`), first, so that
no timer fires and no 督办 opens on an instant counted with the old calendar: after every
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
from .persistence.timer_repository import MAX_RETRY, retry_delay
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from . import timer_admin
from .acceptance_deemed import DEEMED_REASON, deemed_case_ids

log = logging.getLogger("tongban.worker")

RECOUNT_REASON = "节假日安排已更新，按现行安排补算"
"""The ``DeadlinesRecomputed`` reason of a recount by the worker (:meth:`TimerWorker.recount`)."""
DEEM_EVERY = timedelta(minutes=1)
"""How often a worker looks for applications accepted by law (:meth:`TimerWorker.deem`): a window of working
days ends at midnight, and the scan reads every running case not accepted yet."""


@dataclass(frozen=True)
class SweepResult:
    """What one wake-up did."""

    cases: int
    failed: int
    supervised: int = 0
    """Cases that got new 督办 items in this wake-up."""
    recounted: int = 0
    """Cases recounted with the committed calendar in this wake-up (:meth:`TimerWorker.recount`)."""
    recount_failed: int = 0
    """Cases whose recount failed in this wake-up (each is tried again after a growing wait)."""
    supervision_failed: int = 0
    """Cases whose 督办 could not be raised in this wake-up (likewise)."""
    set_aside: int = 0
    """Timers set aside (state ``failed``) in this wake-up after their last failed firing."""
    deemed: int = 0
    """Cases whose clocks started in this wake-up because their application was accepted by law (第三十二条)."""


@dataclass(frozen=True)
class PeriodicResult:
    """What one run of the periodic job did."""

    rolled_up_days: int
    reports: int


class TimerWorker:
    """Fires due timers through the engine's FireDueTimers command.

    ``retry`` is the wait after a first failure (a timer's firing, a case's recount or 督办); it doubles with
    each further failure, up to an hour.
    """

    def __init__(self, engine: Engine, *, worker_id: str | None = None, batch: int = 50,
                 lease: timedelta = timedelta(minutes=2), retry: timedelta = timedelta(seconds=30)):
        self.engine = engine
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch, self.lease, self.retry = batch, lease, retry
        self.actor = Actor.system("timer-worker")
        self._sweep_lock = threading.Lock()
        self._archive_lock = threading.Lock()
        self._next_seal: datetime | None = None
        self._next_deem: datetime | None = None
        self._resume: dict[str, int] = {}
        """Per case loop (:meth:`_each_case`), the case id after which the next wake-up goes on."""
        self._backoff: dict[str, dict[int, tuple[datetime, int]]] = {}
        """Per case loop, the cases whose command failed: (not before, failures). In memory: a worker is one
        process and the state is only a pace; a restarted worker tries each such case once more, then backs off."""
        self._seen: dict[str, set[int]] = {}
        """Per case loop, the cases picked in the pass under way (to forget the back-off of cases gone)."""
        self._failures: dict[str, int] = {}
        """Per case loop, the failures of the current wake-up (for :class:`SweepResult`)."""

    def sweep(self) -> SweepResult:
        """Lease and fire every due timer (in batches) until none is due; safe to call concurrently."""
        if not self._sweep_lock.acquire(blocking=False):
            return SweepResult(0, 0)
        try:
            # Recount first: a timer or a 督办 deadline counted with an older calendar must not act on it.
            recounted = self.recount()
            # Then the clocks of applications accepted by law, so their timers and 督办 act in this wake-up.
            deemed = self.deem()
            done = failed = set_aside = 0
            while True:
                case_ids = self._claim()
                for case_id in case_ids:
                    fired, aside = self._fire(case_id)
                    done += fired
                    failed += not fired
                    set_aside += aside
                if len(case_ids) < self.batch:
                    supervised = self.supervise()
                    return SweepResult(done, failed, supervised, recounted, self._failures.get("recount", 0),
                                       self._failures.get("supervision", 0), set_aside, deemed)
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

    def deem(self, *, max_batches: int = 20) -> int:
        """Start the clocks of applications accepted by law (第三十二条: no notice and no 受理 within 5 working days).

        At most once per :data:`DEEM_EVERY` per worker; see :mod:`engine.acceptance_deemed`. Return how many
        cases' clocks started.
        """
        now = self.engine.clock.now()
        if self._next_deem is not None and now < self._next_deem:
            return 0
        self._next_deem = now + DEEM_EVERY
        return self._each_case(
            lambda uow, after: deemed_case_ids(uow, self.engine.clock.now(), self.engine.services.calendar.get(),
                                               after=after, limit=self.batch),
            lambda case_id: RecomputeDeadlines(case_id, DEEMED_REASON, actor=self.actor), "deemed", max_batches)

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
        case whose command fails (an engine error, or anything else: a database error) is logged and waits
        before its next try, :attr:`retry` doubling with each failure up to an hour (``_backoff``), so a case
        that always fails costs a try an hour, not one a wake-up. Failing cases cannot fill every batch and
        keep the worker from the cases after them. A wake-up cut short by ``max_batches`` leaves the next one
        to go on from where it stopped; the one that reaches the last case starts over next time.
        """
        done = failures = 0
        now = self.engine.clock.now()
        after = self._resume.get(what, 0)
        waiting = self._backoff.setdefault(what, {})
        seen = self._seen.setdefault(what, set())
        for _ in range(max_batches):
            with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
                case_ids = pick(uow, after)
            seen.update(case_ids)
            for case_id in case_ids:
                not_before, failed = waiting.get(case_id, (now, 0))
                if now < not_before:
                    continue
                try:
                    self.engine.handle(command(case_id))
                    done += 1
                    waiting.pop(case_id, None)
                except Exception as exc:  # noqa: BLE001 - one case's failure must not stop the others'
                    failures += 1
                    waiting[case_id] = (now + retry_delay(failed + 1, first=self.retry, cap=MAX_RETRY), failed + 1)
                    if isinstance(exc, EngineError):
                        log.warning("%s of case %s failed (%d times): %s", what, case_id, failed + 1, exc)
                    else:
                        log.exception("%s of case %s failed unexpectedly (%d times)", what, case_id, failed + 1)
            if len(case_ids) < self.batch:
                after = 0
                for gone in set(waiting) - seen:  # no longer picked: done, or out of the loop's reach
                    del waiting[gone]
                seen.clear()
                break
            after = case_ids[-1]
        self._resume[what] = after
        self._failures[what] = failures
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

    def _fire(self, case_id: int) -> tuple[bool, int]:
        """Fire the case's due timers; return (whether it worked, how many timers were set aside)."""
        try:
            self.engine.handle(FireDueTimers(case_id, actor=self.actor))
            return True, 0
        except Exception as exc:  # noqa: BLE001 - one case's failure must not stop the others' timers
            # EngineError is expected (e.g. a diagram expression failing); anything else (a database error
            # raised mid-statement) is logged with its trace. Either way the case retries later, after a wait
            # that doubles with each failed firing, and the sweep goes on with the other leased cases.
            if isinstance(exc, EngineError):
                log.warning("timers of case %s could not fire: %s", case_id, exc)
            else:
                log.exception("timers of case %s failed unexpectedly", case_id)
            now = self.engine.clock.now()
            with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
                _retry_at, aside = uow.timers.release(case_id, error=str(exc), now=now, first=self.retry)
                uow.commit()
            if aside:
                log.error("timers of case %s set aside after their last failed firing "
                          "(tongban timers list --failed; tongban timers retry ID --by USER)", case_id)
            return False, aside

    @staticmethod
    def failing_timers(engine: Engine, *, set_aside_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """Timers whose firing failed (``tongban timers list``): :func:`engine.timer_admin.failing_timers`."""
        return timer_admin.failing_timers(engine, set_aside_only=set_aside_only, limit=limit)

    @staticmethod
    def case_failing_timers(engine: Engine, case_id: int) -> list[dict[str, Any]]:
        """One case's failing or set-aside timers, for its readers: :func:`engine.timer_admin.case_failing_timers`."""
        return timer_admin.case_failing_timers(engine, case_id)

    @staticmethod
    def retry_timer(engine: Engine, timer_id: int, actor: Actor) -> bool:
        """Put a timer set aside back, recorded on its case with ``actor``: :func:`engine.timer_admin.retry_timer`.

        Returns True when it waits again, False when its case had ended (the timer is closed instead).
        """
        return timer_admin.retry_timer(engine, timer_id, actor)

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
    # Timers that fell due while nothing ran fire now, not one interval later, and the reports of periods
    # that ended meanwhile are written. A failure here (the database not up yet) is logged: the scheduled
    # jobs try again at their next interval instead of the worker dying before it starts.
    for first_run in (worker.sweep, messages.sweep, worker.seal, worker._periodic_job):
        try:
            first_run()
        except Exception:  # noqa: BLE001 - see above
            log.exception("the worker's first %s failed; the scheduled job retries it", first_run.__name__)
    worker.schedule(scheduler, interval=interval)
    messages.schedule(scheduler, interval=interval)
    scheduler.start()
