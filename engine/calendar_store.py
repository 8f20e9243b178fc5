"""The calendar's entry points for the CLI, the web app and start-up, over the engine's database.

``engine`` is the bootstrap :class:`~engine.bootstrap.Engine` (``services.uow()``, ``clock``,
``database.read_sessions``, ``calendar``), duck-typed as the composition root's callers are. Each function runs
in a session or unit of work of its own; the storage rules are
:class:`~engine.persistence.calendar_repository.CalendarRepository`'s.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .calendar import WorkCalendar, YearSchedule, business_date
from .errors import Conflict
from .persistence.calendar_repository import (
    SYSTEM_ACTOR, CalendarLoad, CalendarRepository, CalendarYearInfo, ImportOutcome,
)
from .storable import refuse_unstorable


def load_work_calendar(engine: Any, *, strict: bool = False) -> WorkCalendar:
    """Read the whole calendar in a read-only session and return it."""
    with engine.database.read_sessions() as session:
        return CalendarRepository(session).load_calendar(strict=strict)[0]


def calendar_years(engine: Any) -> list[CalendarYearInfo]:
    """Return every loaded year, oldest first."""
    with engine.database.read_sessions() as session:
        return CalendarRepository(session).years()


def calendar_log(engine: Any, year: int | None = None) -> list[CalendarLoad]:
    """Return the load log, oldest first (see :meth:`CalendarRepository.load_log`)."""
    with engine.database.read_sessions() as session:
        return CalendarRepository(session).load_log(year)


@dataclass(frozen=True)
class CalendarCoverage:
    """Whether the loaded holiday schedules cover today and the next ``days`` days (DOMAIN §6: 60)."""

    today: date
    horizon: date
    missing_years: tuple[int, ...]

    @property
    def ok(self) -> bool:
        """True when every year between today and the horizon is loaded."""
        return not self.missing_years

    def warning(self) -> str:
        """The operator's warning in Chinese (empty when covered)."""
        if self.ok:
            return ""
        years = "、".join(str(y) for y in self.missing_years)
        return (f"节假日安排未覆盖今天（{self.today}）起至 {self.horizon}：{years} 年尚未载入。国务院办公厅通知"
                f"发布后请运行 tongban calendar import 载入，在此之前该年的期限均为暂定")


def calendar_coverage(engine: Any, *, days: int = 60) -> CalendarCoverage:
    """Check that the calendar covers today (the engine clock's) + ``days``; warn at start-up and in health."""
    today = business_date(engine.clock.now())
    horizon = today + timedelta(days=days)
    return CalendarCoverage(today, horizon, load_work_calendar(engine).missing_years(today, horizon))


def import_calendar_year(engine: Any, schedule: YearSchedule, *, actor: str,
                         replace: bool = False) -> ImportOutcome:
    r"""Load one year's schedule in its own transaction (see :meth:`CalendarRepository.import_year`).

    Raises:
        InvalidInput: ``actor``, the schedule's source or a day's note holds text no database stores (a CLI
            ``--source``/``--actor``, a YAML ``"\0"`` escape), named ``actor``, ``source`` or ``notes.<date>``.
        CalendarYearExists: the year holds different content and ``replace`` is False.
    """
    refuse_unstorable(actor=actor, source=schedule.source,
                      notes={day.isoformat(): fact.note for day, fact in schedule.facts.items()})
    with engine.services.uow() as uow:
        outcome = CalendarRepository(uow.session).import_year(schedule, actor=actor, now=engine.clock.now(),
                                                                replace=replace)
        uow.commit()
    _invalidate(engine)
    return outcome


def _invalidate(engine: Any) -> None:
    # Timer expressions read the calendar through the engine's provider; make it see the new facts now.
    provider = getattr(engine, "calendar", None)
    if provider is not None:
        provider.invalidate()


def ensure_calendar_seeded(engine: Any, *, actor: str = SYSTEM_ACTOR) -> list[ImportOutcome]:
    """Seed every year ``chinesecalendar`` covers that is missing; idempotent, meant for every start-up.

    Two processes starting together may both try; the loser's insert collides, and one retry then finds
    the years present.

    Returns:
        The years loaded now (empty when the calendar was already seeded).
    """
    for attempt in (1, 2):
        try:
            with engine.services.uow() as uow:
                outcomes = CalendarRepository(uow.session).seed_from_chinesecalendar(actor=actor,
                                                                                     now=engine.clock.now())
                uow.commit()
            if outcomes:
                _invalidate(engine)
            return outcomes
        except Conflict:
            if attempt == 2:
                raise
    return []
