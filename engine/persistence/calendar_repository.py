"""The statutory calendar's storage: dated facts per loaded year, and an append-only log of every load.

A year is loaded when ``calendar_days`` holds rows for it; ``calendar_imports`` records who loaded which
content (by hash) and when. Loading a year that already holds different content is refused unless the caller
explicitly asks to replace it; a replaced schedule's rows move to ``calendar_replaced_days`` with the instant
they stopped counting, so the schedule in force at any past instant can be read again (replay needs it). The
arithmetic itself lives in :mod:`engine.calendar`; this module only turns rows into a
:class:`~engine.calendar.WorkCalendar`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Literal, Mapping

from sqlalchemy import delete, func, insert, literal, select, text, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import CST
from ..calendar import (
    CalendarYearExists, DayFact, DayKind, WorkCalendar, YearSchedule, content_hash,
    facts_from_chinesecalendar,
)
from ..errors import Conflict
from .calendar_generation import GENERATION
from .models import CalendarDay, CalendarImport, CalendarReplacedDay

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


def calendar_from_rows(rows: Iterable[Mapping[str, Any]], *, strict: bool = False) -> WorkCalendar:
    """A :class:`WorkCalendar` over rows shaped like ``calendar_days`` (``day``, ``kind``, ``note``, ``year``).

    The rows in force now (:meth:`CalendarRepository.load_calendar`) or at a past instant (the history's).
    """
    facts: dict[date, DayFact] = {}
    years: set[int] = set()
    for row in rows:
        facts[row["day"]] = DayFact(DayKind(row["kind"]), row["note"])
        years.add(row["year"])
    return WorkCalendar(facts, years, strict=strict)


@dataclass(frozen=True)
class ImportOutcome:
    """What loading one year did.

    Attributes:
        year: the year loaded.
        action: ``created`` (new year), ``replaced`` (different content, replace asked) or ``unchanged``.
        content_hash: hash of the content now stored.
        previous_hash: hash of the content it replaced (``replaced`` only).
    """

    year: int
    action: Literal["created", "replaced", "unchanged"]
    content_hash: str
    previous_hash: str | None = None


DAY_COLUMNS = ("day", "kind", "note", "year", "source", "loaded_at", "loaded_by")
"""The columns of a dated fact, in force (``calendar_days``) or replaced (``calendar_replaced_days``)."""


@dataclass(frozen=True)
class LostVersion:
    """A schedule of ``year`` replaced before tongban kept replaced schedules: its days are unknown.

    Attributes:
        year: the calendar year.
        loaded_at: when the lost schedule was loaded (None when the log does not say).
        replaced_at: when it was replaced.
    """

    year: int
    loaded_at: datetime | None
    replaced_at: datetime


@dataclass(frozen=True)
class CalendarLoad:
    """One entry of the load log, with whether the schedule it replaced was kept.

    Attributes:
        year: the calendar year loaded.
        action: ``created``, ``replaced`` or ``unchanged``.
        content_hash: hash of the content loaded.
        previous_hash: hash of the content it replaced (``replaced`` only).
        source: the notice or package the facts came from.
        actor: who loaded it.
        at: when.
        previous_kept: for ``replaced``, whether the replaced schedule's days were kept (False for a replacement
            made before tongban kept them); None otherwise.
    """

    year: int
    action: str
    content_hash: str
    previous_hash: str | None
    source: str
    actor: str
    at: datetime
    previous_kept: bool | None


@dataclass(frozen=True)
class CalendarMark:
    """How the calendar tables stand (equal marks: nothing loaded or replaced in between).

    Attributes:
        days: facts in force.
        last_load: when the latest was loaded (None: no year is). Every replaced schedule stopped by then.
        replaced: facts kept of replaced schedules.
        generation: loads logged (:mod:`.calendar_generation`), read in the same statement.
    """

    days: int
    last_load: datetime | None
    replaced: int
    generation: int = 0


@dataclass(frozen=True)
class CalendarYearInfo:
    """One loaded year as stored.

    Attributes:
        year: the calendar year.
        source: the notice or package the facts came from.
        content_hash: hash of the stored facts.
        days: number of dated facts.
        loaded_at: when the current content was loaded.
        loaded_by: who loaded it.
    """

    year: int
    source: str
    content_hash: str
    days: int
    loaded_at: datetime
    loaded_by: str


class CalendarRepository:
    """Reads and writes the calendar tables through an ORM session (a unit of work's or a read session).

    Args:
        session: the session to work in; the caller owns its transaction.
    """

    def __init__(self, session: Session):
        self.session = session

    def load_calendar(self, *, strict: bool = False) -> tuple[WorkCalendar, int]:
        """The calendar over every loaded year and the generation its rows were read at, in one statement.

        One statement reads one snapshot on both databases, so the rows are that generation's (a load adds its
        log row in the transaction that changes the days; see :mod:`.calendar_generation`). Joined to one row,
        the generation comes back even when no year is loaded.

        Args:
            strict: the calendar refuses dates in years that are not loaded.
        """
        days = CalendarDay.__table__
        one = select(literal(1).label("one")).subquery()
        rows = list(self.session.execute(select(GENERATION, days.c.day, days.c.kind, days.c.note, days.c.year)
                                         .select_from(one.outerjoin(days, true()))))
        calendar = calendar_from_rows(({"day": day, "kind": kind, "note": note, "year": year}
                                       for _, day, kind, note, year in rows if day is not None), strict=strict)
        return calendar, int(rows[0][0])

    def year_facts(self, year: int) -> dict[date, DayFact]:
        """Return the stored facts of ``year`` (empty when the year is not loaded)."""
        rows = self.session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.note)
                                    .where(CalendarDay.year == year))
        return {day: DayFact(DayKind(kind), note) for day, kind, note in rows}

    def years(self) -> list[CalendarYearInfo]:
        """Return every loaded year, oldest first."""
        by_year: dict[int, list[CalendarDay]] = {}
        for row in self.session.scalars(select(CalendarDay).order_by(CalendarDay.day)):
            by_year.setdefault(row.year, []).append(row)
        return [CalendarYearInfo(
            year=year, source=rows[0].source, days=len(rows), loaded_at=rows[0].loaded_at,
            loaded_by=rows[0].loaded_by,
            content_hash=content_hash({row.day: DayFact(DayKind(row.kind), row.note) for row in rows}))
            for year, rows in sorted(by_year.items())]

    def import_year(self, schedule: YearSchedule, *, actor: str, now: datetime,
                    replace: bool = False) -> ImportOutcome:
        """Store ``schedule`` as its year's content and log the load.

        Identical content is a logged no-op; different content needs ``replace``.

        Raises:
            CalendarYearExists: the year holds different content and ``replace`` is False (nothing written).
        """
        self._one_load_at_a_time()
        existing = self.year_facts(schedule.year)
        new_hash, old_hash = schedule.content_hash, content_hash(existing) if existing else None
        if old_hash == new_hash:
            outcome = ImportOutcome(schedule.year, "unchanged", new_hash)
        elif old_hash is None:
            outcome = ImportOutcome(schedule.year, "created", new_hash)
        elif not replace:
            raise CalendarYearExists(
                f"{schedule.year} 年已载入不同的节假日安排（现有摘要 {old_hash[:12]}，新内容摘要 {new_hash[:12]}）；"
                f"核对无误后请加 --replace 替换", details={"year": schedule.year, "current_hash": old_hash,
                                                          "new_hash": new_hash})
        else:
            self._refuse_going_back(schedule.year, now)
            self._keep_replaced(schedule.year, now)
            outcome = ImportOutcome(schedule.year, "replaced", new_hash, old_hash)
            log.warning("%s 年节假日安排已由 %s 替换：摘要 %s → %s（依据：%s）", schedule.year, actor, old_hash[:12],
                        new_hash[:12], schedule.source)
        if outcome.action != "unchanged":
            self._insert_days(schedule, actor=actor, now=now)
        self.session.execute(insert(CalendarImport).values(
            year=schedule.year, action=outcome.action, content_hash=new_hash, previous_hash=old_hash,
            source=schedule.source[:128], actor=actor[:64], at=now))
        return outcome

    def seed_from_chinesecalendar(self, *, actor: str, now: datetime,
                                  years: Iterable[int] | None = None) -> list[ImportOutcome]:
        """Load every year the ``chinesecalendar`` package covers that is not loaded yet.

        Years already loaded are left alone whatever they hold (an administrator's import wins over the
        package), so seeding is idempotent and safe to run at every start.

        Returns:
            One ``created`` outcome per year loaded now (empty when nothing was missing).
        """
        self._one_load_at_a_time()   # before reading what is loaded: a seeding that waited sees the other's years
        loaded = set(self.session.scalars(select(CalendarDay.year).distinct()))
        return [self.import_year(schedule, actor=actor, now=now)
                for schedule in facts_from_chinesecalendar(years) if schedule.year not in loaded]

    def imports(self, year: int | None = None) -> list[CalendarImport]:
        """Return the load log, oldest first, optionally for one year."""
        stmt = select(CalendarImport).order_by(CalendarImport.id)
        if year is not None:
            stmt = stmt.where(CalendarImport.year == year)
        return list(self.session.scalars(stmt))

    def current_rows(self) -> list[dict[str, Any]]:
        """Every fact in force (:data:`DAY_COLUMNS`), oldest load first."""
        table = CalendarDay.__table__
        return [row._asdict() for row in self.session.execute(
            select(*(table.c[name] for name in DAY_COLUMNS)).order_by(table.c.loaded_at, table.c.day))]

    def change_mark(self) -> CalendarMark:
        """What changes whenever a year is loaded or replaced, read in one aggregate statement."""
        days = CalendarDay.__table__
        replaced = select(func.count()).select_from(CalendarReplacedDay.__table__).scalar_subquery()
        count, last, kept, generation = self.session.execute(
            select(func.count(), func.max(days.c.loaded_at), replaced, GENERATION).select_from(days)).one()
        return CalendarMark(int(count), last, int(kept), int(generation))

    def replaced_rows(self) -> list[dict[str, Any]]:
        """Every replaced fact (:data:`DAY_COLUMNS` and ``replaced_at``), oldest load first."""
        table = CalendarReplacedDay.__table__
        return [row._asdict() for row in self.session.execute(
            select(*(table.c[name] for name in (*DAY_COLUMNS, "replaced_at")))
            .order_by(table.c.loaded_at, table.c.id))]

    def load_log(self, year: int | None = None) -> list[CalendarLoad]:
        """The load log, oldest first (optionally of one year), saying of each replacement whether it kept the old.

        A ``replaced`` load with no row in ``calendar_replaced_days`` of its year and instant replaced a schedule
        whose days are gone: it was replaced before revision ``6a1f3c8e2b95``.
        """
        stmt = select(CalendarReplacedDay.year, CalendarReplacedDay.replaced_at).distinct()
        if year is not None:
            stmt = stmt.where(CalendarReplacedDay.year == year)
        kept = {(found, at) for found, at in self.session.execute(stmt)}
        return [CalendarLoad(entry.year, entry.action, entry.content_hash, entry.previous_hash, entry.source,
                             entry.actor, entry.at,
                             (entry.year, entry.at) in kept if entry.action == "replaced" else None)
                for entry in self.imports(year)]

    def lost_versions(self) -> list[LostVersion]:
        """The schedules replaced before their rows were kept (:meth:`load_log`), oldest first.

        The lost schedule had counted since the year's previous load (None when the log has none).
        """
        loaded: dict[int, datetime] = {}
        lost = []
        for entry in self.load_log():
            if entry.previous_kept is False:
                lost.append(LostVersion(entry.year, loaded.get(entry.year), entry.at))
            if entry.action != "unchanged":
                loaded[entry.year] = entry.at
        return lost

    def _one_load_at_a_time(self) -> None:
        """Make loads commit one after another, in the order of their log ids, before reading anything.

        A generation N must mean the first N rows of the log (replay seeds a command with the calendar after
        that many loads): with two loads in flight on PostgreSQL, the later id could commit first. The lock
        lets readers (the generation's count) through and holds the next load until this one commits. SQLite
        has one writer at a time already.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("LOCK TABLE calendar_imports IN SHARE ROW EXCLUSIVE MODE"))

    def _refuse_going_back(self, year: int, now: datetime) -> None:
        """Refuse a replacement dated before the schedule it replaces was loaded (this host's clock is behind).

        The replaced schedule would count from its load until before it: two versions of the year in force at
        once, which neither replay nor an auditor could read.
        """
        loaded = self.session.scalar(select(func.max(CalendarDay.loaded_at)).where(CalendarDay.year == year))
        if loaded is not None and loaded > now:
            raise Conflict(
                f"{year} 年现有节假日安排载入于 {loaded.astimezone(CST):%Y-%m-%d %H:%M:%S}，晚于本机当前时间 "
                f"{now.astimezone(CST):%Y-%m-%d %H:%M:%S}：请核对各服务器的系统时间后再替换",
                code="CALENDAR_CLOCK_BEHIND", details={"year": year, "loaded_at": loaded.isoformat(),
                                                        "now": now.isoformat()})

    def _keep_replaced(self, year: int, now: datetime) -> None:
        """Move ``year``'s facts to ``calendar_replaced_days``, marked replaced at ``now``."""
        days = CalendarDay.__table__
        rows = [{**row._asdict(), "replaced_at": now} for row in self.session.execute(
            select(*(days.c[name] for name in DAY_COLUMNS)).where(days.c.year == year).order_by(days.c.day))]
        if rows:
            self.session.execute(insert(CalendarReplacedDay), rows)
        self.session.execute(delete(CalendarDay).where(CalendarDay.year == year))

    def _insert_days(self, schedule: YearSchedule, *, actor: str, now: datetime) -> None:
        rows = [{"day": day, "kind": fact.kind.value, "note": fact.note, "year": schedule.year,
                 "source": schedule.source[:128], "loaded_at": now, "loaded_by": actor[:64]}
                for day, fact in sorted(schedule.facts.items())]
        if not rows:  # cannot happen for a parsed schedule, which always lists holidays
            return
        try:
            self.session.execute(insert(CalendarDay), rows)
        except IntegrityError:
            # Another transaction loaded the same days first (PostgreSQL reports it here, not at commit).
            raise Conflict(f"{schedule.year} 年的节假日安排正被同时载入，请重试") from None
