"""Working-day functions that diagrams may call in timer and gateway expressions.

A timer in a diagram carries an absolute due time computed by the statutory calendar, e.g.
``<timeDate>workdays_after(received_on, 5)</timeDate>``. The functions return ISO 8601 instants with an
explicit ``+08:00`` (SpiffWorkflow reads naive timestamps in the server's timezone), at the moment the period
ends: midnight after the last day counted, China Standard Time. The calendar is read from the database and
cached per process. Every command that can count days tells the provider the calendar generation committed when
it began (:mod:`engine.persistence.calendar_generation`, read with the case row), and the provider reloads when
that differs from the one it loaded at: an import in another process is seen by this process's next command.
Reads that run no command (inbox lights, case views, metrics) see it after at most ``ttl`` seconds.

``legal_due()`` and ``committed_due()`` read the clocks of the case being worked on, which the handlers
bind with :func:`case_clocks_bound` around every workflow step. A clock that is paused (补正, 特别程序) or
not started yet (waits for 受理) has no due instant: they return :data:`NEVER`, so a timer that depends on
it waits, and the handlers re-arm it when the clock runs again. ``workdays_before(legal_due(), 2)`` is the
usual warning: the instant when two working days of the period are left.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterator, Mapping

from .calendar import WorkCalendar, business_date, period_end
from .clock import CST
from .errors import ExpressionFailed
from .legal_clock import Clock, ClockKind

NEVER = datetime(9999, 12, 31, tzinfo=CST)
"""The due instant of a clock that does not run: a timer armed with it waits until it is re-armed."""

_case_clocks: ContextVar[Mapping[str, Any] | None] = ContextVar("tongban_case_clocks", default=None)


@contextmanager
def case_clocks_bound(doc: Mapping[str, Any] | None) -> Iterator[None]:
    """Make ``doc`` (a case's ``clocks`` document) what ``legal_due()``/``committed_due()`` read."""
    token = _case_clocks.set(doc if doc is not None else {})
    try:
        yield
    finally:
        _case_clocks.reset(token)


@dataclass
class _CalendarUse:
    """What one command (one unit of work) counts with: the calendar it first read, and its generation."""

    provider: "CalendarProvider"
    observed: int | None = None
    calendar: WorkCalendar | None = None
    generation: int | None = None


_in_use: ContextVar[_CalendarUse | None] = ContextVar("tongban_calendar_in_use", default=None)


def generation_in_use() -> int | None:
    """The calendar generation the running command counts with, to record with its events (None: not known).

    The generation of the calendar the command read (:meth:`CalendarProvider.get`), else the one it observed
    committed when it began (it counted no days: any calendar of that generation replays it alike).
    """
    use = _in_use.get()
    if use is None:
        return None
    return use.generation if use.calendar is not None else use.observed


def generation_read() -> int | None:
    """The generation of the calendar the running command read (None: it read none, or runs in no command)."""
    use = _in_use.get()
    return use.generation if use is not None and use.calendar is not None else None


class CalendarProvider:
    """Hands out the current :class:`WorkCalendar`, reloading it when its generation changed, stale or told to.

    Inside :meth:`in_use` (a unit of work, one command) every read returns the calendar the command read first,
    whatever another thread of the process reloads meanwhile: a command counts all its days with one calendar,
    and :func:`generation_in_use` says which, for its events (replay seeds each command with that generation).

    Args:
        load: reads the calendar from the database: the calendar, or the calendar and the generation its rows
            were read at (:meth:`~engine.persistence.calendar_repository.CalendarRepository.load_calendar`).
        ttl: seconds after which a read that observed no generation reloads anyway (the read side's bound).
    """

    def __init__(self, load: Callable[[], WorkCalendar | tuple[WorkCalendar, int]], *, ttl: float = 60.0):
        self._load = load
        self._ttl = ttl
        self._lock = threading.Lock()
        self._calendar: WorkCalendar | None = None
        self._loaded_at = 0.0
        self._generation: int | None = None
        """The generation of the cached calendar's rows, or one it is at least as new as (None: not known)."""
        self._exact = False
        """Whether ``_generation`` is the generation the rows were read at (the loader said so)."""
        self._seen: int | None = None
        """The generation a command last observed."""

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """One command's scope: its reads of this provider return the calendar it read first."""
        current = _in_use.get()
        if current is not None and current.provider is self:   # a unit of work inside another: one command
            yield
            return
        token = _in_use.set(_CalendarUse(self))
        try:
            yield
        finally:
            _in_use.reset(token)

    def get(self) -> WorkCalendar:
        """Return the calendar, loading it on first use, after a new generation was observed and after ``ttl``."""
        return self.current()[0]

    def current(self) -> tuple[WorkCalendar, int | None]:
        """Return the calendar as :meth:`get` does, and the generation its rows were read at (None: not known).

        Known when the loader said (:meth:`~engine.persistence.calendar_repository.CalendarRepository.load_calendar`
        does) and the read is outside a command's scope, whose calendar may be older than the cache.
        """
        use = _in_use.get()
        if use is not None and use.provider is self and use.calendar is not None:
            return use.calendar, None
        with self._lock:
            if self._calendar is None or time.monotonic() - self._loaded_at > self._ttl:
                # Loaded after the observation of ``seen``: the rows read hold that generation or a newer one.
                seen = self._seen
                loaded = self._load()
                calendar, generation = loaded if isinstance(loaded, tuple) else (loaded, None)
                self._calendar, self._loaded_at = calendar, time.monotonic()
                self._exact = generation is not None
                self._generation = generation if self._exact else seen
            calendar, generation, exact = self._calendar, self._generation, self._exact
        if use is not None and use.provider is self:
            use.calendar = calendar
            use.generation = generation if generation is not None else use.observed
            return calendar, None
        return calendar, generation if exact else None

    def observe(self, generation: int) -> None:
        """Note the calendar generation committed when a command began; the next :meth:`get` reloads if it moved.

        Called with the case row's read (no statement of its own), so it must stay cheap: the usual case, the
        generation the calendar was loaded at, takes no lock. A calendar read at a newer generation than the one
        observed (an import committed after the command's read) is kept: it is the newer schedule.
        """
        use = _in_use.get()
        if use is not None and use.provider is self and use.observed is None:
            use.observed = generation
        if generation == self._generation and generation == self._seen:
            return
        with self._lock:
            self._seen = generation
            known = self._generation
            if known is None or generation > known or (generation < known and not self._exact):
                self._calendar = None

    def invalidate(self) -> None:
        """Forget the cached calendar (after a year was imported or replaced)."""
        with self._lock:
            self._calendar = None

    def wrap(self, outer: Callable[[WorkCalendar], WorkCalendar]) -> None:
        """Pass every calendar loaded from now on through ``outer``.

        Replay from a history file uses it to guard the years the file does not carry
        (:mod:`engine.replay_calendar`).
        """
        with self._lock:
            inner = self._load

            def load() -> WorkCalendar | tuple[WorkCalendar, int]:
                loaded = inner()
                return (outer(loaded[0]), loaded[1]) if isinstance(loaded, tuple) else outer(loaded)
            self._load = load
            self._calendar = None


def calendar_functions(provider: CalendarProvider) -> dict[str, Callable[..., Any]]:
    """Return the expression functions bound to ``provider``.

    They are workdays_after, days_after, is_workday, workdays_before and the readers of the case's clocks:
    legal_due, committed_due, accepted_on (the 受理 date) and case_received_on (the receipt date).
    """

    def workdays_after(start: Any, n: Any) -> str:
        """End of the period of ``n`` working days after ``start`` (start day not counted), as ISO text."""
        due = provider.get().workdays_after(_business_date(start), _count(n))
        return period_end(due.date).isoformat()

    def days_after(start: Any, n: Any) -> str:
        """End of the period of ``n`` natural days after ``start`` (moved past a closing day), as ISO text."""
        due = provider.get().days_after(_business_date(start), _count(n))
        return period_end(due.date).isoformat()

    def is_workday(day: Any) -> bool:
        """Whether ``day`` is a statutory working day."""
        return provider.get().is_workday(_business_date(day))

    def workdays_before(end: Any, n: Any) -> str:
        """The instant when ``n`` working days are left of the period ending at ``end``, as ISO text."""
        last = _last_day(end)
        if last is None:
            return NEVER.isoformat()
        return period_end(provider.get().workdays_before(last, _count(n))).isoformat()

    def legal_due() -> str:
        """The end of the case's 法定 period (NEVER while that clock is paused or not started)."""
        return _clock_due("legal")

    def committed_due() -> str:
        """The end of the case's 承诺 period (NEVER while that clock is paused or not started)."""
        return _clock_due("committed")

    def accepted_on() -> str:
        """The 受理 date (T0 of the case's 法定 clock, else of its 承诺 clock) as ``YYYY-MM-DD``.

        A clock starting at 受理 (``startsAt``) has its T0 once the accepting task completed, back-dated by
        the deemed-acceptance rule when it applies; counting a period from it, e.g. the 容缺 deadline
        ``workdays_after(accepted_on(), 5)``, never needs a date typed by hand.
        """
        doc = _case_clocks.get()
        if doc is None:
            raise ExpressionFailed("accepted_on() 只能在办件的流程中使用", details={"reason": "context"})
        for kind in ("legal", "committed"):
            entry = doc.get(kind) or {}
            if "clock" in entry:
                return Clock.from_dict(entry["clock"]).t0.isoformat()
        raise ExpressionFailed("办件尚未受理，没有受理日期（accepted_on）", details={"reason": "not_accepted"})

    def _clock_due(kind: str) -> str:
        doc = _case_clocks.get()
        if doc is None:
            raise ExpressionFailed(f"{kind}_due() 只能在办件的流程中使用", details={"reason": "context"})
        entry = doc.get(kind)
        if entry is None:
            raise ExpressionFailed(f"本流程没有声明{ClockKind(kind).zh}（tb:clock kind=\"{kind}\"）",
                                   details={"reason": "no_clock", "clock": kind})
        if "clock" not in entry:
            return NEVER.isoformat()
        clock, calendar = Clock.from_dict(entry["clock"]), provider.get()
        # A pause that began after the deadline moves nothing (第七十四条): the breach and its timers stand.
        if clock.closed or (clock.paused and not clock.expired_before_pause(calendar)):
            return NEVER.isoformat()
        return period_end(clock.due(calendar).date).isoformat()

    def case_received_on() -> str:
        """The case's receipt date (收件, YYYY-MM-DD): the earliest clock start or pending receipt."""
        doc = _case_clocks.get()
        days = [business_date(datetime.fromisoformat(e["pending"]["received_at"])) if e.get("pending")
                else date.fromisoformat(e["clock"]["t0"]) for e in (doc or {}).values()]
        if not days:
            raise ExpressionFailed("case_received_on() 需要流程声明时限（tb:clock）并在办件中使用",
                                   details={"reason": "context"})
        return min(days).isoformat()

    return {"workdays_after": workdays_after, "days_after": days_after, "is_workday": is_workday,
            "workdays_before": workdays_before, "legal_due": legal_due, "committed_due": committed_due,
            "accepted_on": accepted_on, "case_received_on": case_received_on}


def _last_day(value: Any) -> date | None:
    """The last business date of a period given by its end: a date, or an instant (midnight ends the day before)."""
    if isinstance(value, str) and ("T" in value or " " in value.strip()):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ExpressionFailed(f"时间 {value!r} 格式不正确，应为 ISO 8601", details={"reason": "value"}) from None
    if isinstance(value, datetime):
        if business_date(value).year == NEVER.year:
            return None
        return business_date(value - timedelta(microseconds=1))
    return _business_date(value)


def _business_date(value: Any) -> date:
    if isinstance(value, datetime):
        return business_date(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ExpressionFailed(f"日期 {value!r} 格式不正确，应为 YYYY-MM-DD 或 ISO 8601 时间",
                                   details={"reason": "value"}) from None
        return business_date(parsed) if "T" in value or " " in value.strip() else parsed.date()
    raise ExpressionFailed(f"应为日期，得到 {type(value).__name__}", details={"reason": "type"})


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ExpressionFailed(f"天数应为整数，得到 {n!r}", details={"reason": "type"})
    return n




