"""The message worker: leases due messages like the timer worker leases timers, delivers each on its own.

Each wake-up claims pending messages whose ``available_at`` has come (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never claim the same rows; the single-writer lock on SQLite) with a lease, then
delivers each in its own transaction (:func:`engine.message_delivery.deliver_message`). A worker that dies
holding a lease delays those messages until the lease runs out; the next claimer delivers them, and the
row lock plus the ``pending`` check inside the delivery make a second delivery impossible.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from .commands import DeliverMessage
from .errors import EngineError
from .message_delivery import WORKER, deliver_message, record_failure
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger("tongban.messages")


@dataclass
class MessageSweep:
    """What one wake-up did, per outcome."""

    delivered: int = 0
    buffered: int = 0
    failed: int = 0
    poison: int = 0
    """Of the ``failed``, those set aside (``poison``) after this attempt: no more retries until an administrator's."""
    other: dict[str, int] = field(default_factory=dict)
    """The other outcomes (``expired``, ``undeliverable``, ``rejected``, ``skipped``) by state."""


class MessageWorker:
    """Claims and delivers due messages; any number may run side by side.

    ``fault(point)`` is called at the delivery's injection points (tests kill the worker there).
    """

    def __init__(self, engine: Any, *, worker_id: str | None = None, batch: int = 50,
                 lease: timedelta = timedelta(minutes=2), fault: Callable[[str], None] | None = None):
        self.engine = engine
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:msg"
        self.batch, self.lease, self.fault = batch, lease, fault
        self._lock = threading.Lock()

    def sweep(self, *, max_batches: int = 1000) -> MessageSweep:
        """Deliver due messages in batches until none is due (bounded per wake-up); safe to call concurrently."""
        result = MessageSweep()
        if not self._lock.acquire(blocking=False):
            return result
        try:
            for _ in range(max_batches):
                ids = self.claim()
                for message_id in ids:
                    self._deliver(message_id, result)
                if len(ids) < self.batch:
                    break
            return result
        finally:
            self._lock.release()

    def claim(self) -> list[int]:
        """Lease up to ``batch`` due messages to this worker (committed at once)."""
        now = self.engine.clock.now()
        with SqlAlchemyUnitOfWork(self.engine.database.writer) as uow:
            ids = uow.messages.claim(now, worker=self.worker_id, lease_until=now + self.lease, limit=self.batch)
            uow.commit()
        return ids

    def _deliver(self, message_id: int, result: MessageSweep) -> None:
        svc = self.engine.services
        try:
            if self.fault is None:
                outcome = self.engine.handle(DeliverMessage(message_id, WORKER))
            else:
                outcome = deliver_message(message_id, svc, actor=WORKER, fault=self.fault)
        except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the others
            if isinstance(exc, EngineError):
                log.warning("message %s could not be delivered: %s", message_id, exc)
            else:
                log.exception("message %s failed unexpectedly", message_id)
            state = record_failure(message_id, svc, exc)
            result.failed += 1
            if state == "poison":
                result.poison += 1
                log.error("message %s is poison after repeated failures: %s", message_id, exc)
            return
        if outcome.state == "delivered":
            result.delivered += 1
        elif outcome.state == "buffered":
            result.buffered += 1
        else:
            result.other[outcome.state] = result.other.get(outcome.state, 0) + 1

    def schedule(self, scheduler: Any, *, interval: float = 1.0) -> None:
        """Add the sweep to an APScheduler scheduler as a non-overlapping interval job."""
        scheduler.add_job(self.sweep, "interval", seconds=interval, id=f"messages-{self.worker_id}",
                          max_instances=1, coalesce=True, misfire_grace_time=None)
