"""Make SpiffWorkflow's timer code read the engine's clock instead of the wall clock.

``bpmn/specs/event_definitions/timer.py`` calls ``datetime.now(timezone.utc)`` itself. We replace that
module's ``datetime`` name with a subclass whose ``now`` reads the clock bound to the current context, so a
ManualClock drives timers in tests, scenarios and replay, and each thread or request sees its own clock.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
from datetime import datetime, timezone
from typing import Any, Iterator

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from ..clock import Clock

_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("tongban_clock", default=None)
_install_lock = threading.Lock()


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        clock = _current.get()
        if clock is None:
            return datetime.now(tz)
        instant = clock.now()
        return instant.astimezone(tz) if tz else instant.astimezone(timezone.utc).replace(tzinfo=None)


def install() -> None:
    """Patch the timer module once per process (idempotent)."""
    with _install_lock:
        if _timer_module.datetime is not _ClockedDatetime:
            _timer_module.datetime = _ClockedDatetime  # type: ignore[misc]


@contextlib.contextmanager
def using(clock: Clock) -> Iterator[None]:
    """Bind ``clock`` as SpiffWorkflow's notion of now for the duration of the block."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
