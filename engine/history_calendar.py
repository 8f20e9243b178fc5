"""The working-day calendar each event of a case's history was counted with, for its clock figures (DESIGN §4, §8).

A history shows each event's due dates and days used and left as they stood then, so it counts them with the
calendar the command that wrote the event counted with, as replay does
(:class:`~engine.replay_calendar.CalendarVersions`). A command records its calendar generation on the first
event it writes (:data:`~engine.audit.CALENDAR_GENERATION`; :func:`command_generations` gives it to the events
it wrote after): such an event gets the calendar after that many loads of the load log, whatever its instant
(a host whose clock is behind the importer's, a command that overlapped an import). An event recorded before
generations were, or in a database whose log does not account for every version, gets the holiday schedules
in force at its instant: those loaded by then and not replaced by then.

At the current generation, and at any instant from the calendar's last load on, the calendar is the one in force
now, so such events use the engine's own cached one: a history all of whose events are at the current generation
(the usual case) costs no query. What the current generation and the last load are, is read in one aggregate
statement each time the engine reloads its calendar
(:meth:`~engine.persistence.calendar_repository.CalendarRepository.change_mark`); an earlier generation or instant
reads every version and the log once, and builds one calendar per version, not per event.

What the figures cannot show as they stood is said in words (:func:`calendar_note`): a year whose schedule
then was replaced before tongban kept replaced schedules (:class:`LostVersion`) is counted with today's
schedule of that year; a year not loaded then was counted weekends only, a provisional estimate; rows that do
not form versions (edited by hand) leave today's calendar for every earlier generation and instant.
"""
from __future__ import annotations

import threading
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any, Callable, Hashable, Iterable, Mapping, Protocol, Sequence


from .audit import CALENDAR_GENERATION
from .calendar import WorkCalendar, business_date
from .clock import CST
from .persistence.calendar_repository import CalendarMark, CalendarRepository, LostVersion, calendar_from_rows
from .persistence.models import CalendarImport
from .replay_calendar import CalendarVersions, CalendarVersionsInvalid

NOW = ("now",)
"""The key of the calendar in force now (the engine's own), followed by the generation it was read at (or, not
known, the calendar object's id): a reader that had the engine reload hands out two, which must not share one."""


@dataclass(frozen=True)
class InForce:
    """The calendar that counts at one event (its command's generation, or its instant).

    Attributes:
        calendar: the working-day calendar.
        key: equal for two events exactly when one calendar serves both.
        lost: years counted with today's schedule, the one in force then not having been kept.
        problem: why the stored versions could not be read (today's calendar is used), else None.
    """

    calendar: WorkCalendar
    key: Hashable
    lost: tuple[int, ...] = ()
    problem: str | None = None


def calendar_note(in_force: InForce, first: date, due_dates: Sequence[str | None], today: date) -> str | None:
    """What the clock figures on business date ``today`` do not show as they stood then, in words; None when nothing.

    The clocks counted the days from ``first`` (the case's first day) to the later of ``today`` and their
    due dates, so only the years in between matter. ``due_dates`` are the clocks' (None: not started).
    """
    dues = [date.fromisoformat(d) for d in due_dates if d]
    if not dues:
        return None
    years = range(min(first, today).year, max(*dues, today).year + 1)
    said = []
    if in_force.problem is not None:
        said.append(f"节假日安排的历史版本记录有误（{in_force.problem}），时限按现行安排计算")
    lost = [year for year in in_force.lost if year in years]
    if lost:
        said.append(f"{_years(lost)} 年当时施行的节假日安排已被替换且未保存，时限按该年现行安排计算")
    unknown = [year for year in years if year not in in_force.calendar.known_years]
    if unknown:
        said.append(f"{_years(unknown)} 年的节假日安排当时尚未载入，到期日为仅按周末推算的暂定日期")
    return "；".join(said) or None


class CalendarAt(Protocol):
    """The calendar of an event: by its command's calendar generation when it has one, else by its instant."""

    def __call__(self, instant: datetime, generation: int | None = None) -> InForce:
        """The calendar of an event at ``instant`` whose command recorded ``generation`` (None: by instant)."""
        ...


def recorded_generation(payload: Mapping[str, Any] | None) -> int | None:
    """The calendar generation an event records (:data:`~engine.audit.CALENDAR_GENERATION`), else None."""
    value = (payload or {}).get(CALENDAR_GENERATION)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def command_generations(events: Iterable[tuple[int, datetime, Mapping[str, Any] | None]],
                        before: tuple[int, datetime, int | None] | None = None) -> list[int | None]:
    """The calendar generation the command that wrote each event counted with (None: not recorded, by instant).

    ``events`` are ``(seq, occurred_at, payload)`` in order; ``before``, the same with the generation found, of
    the event before the first. A command records its generation on the first event it writes; the others follow
    it directly, at the same instant (one transaction), and take it. So an event without one takes the generation
    of the event right before it when both have one instant, and is a command of its own otherwise (one recorded
    before generations were: it goes by instant).
    """
    found: list[int | None] = []
    previous = before
    for seq, occurred_at, payload in events:
        generation = recorded_generation(payload)
        if generation is None and previous is not None and previous[0] == seq - 1 and previous[1] == occurred_at:
            generation = previous[2]
        found.append(generation)
        previous = (seq, occurred_at, generation)
    return found


class CalendarNotes:
    """:func:`calendar_note` for the events of one case, cheap for the usual event that needs none.

    Args:
        at: the calendar of an event (:meth:`HistoryCalendars.reader`).
        started: when the case started (its clocks count from then on).
    """

    def __init__(self, at: Callable[[datetime], InForce], started: datetime):
        self._at = at
        self._first = business_date(started)
        self._unknown: dict[Hashable, tuple[datetime, str]] = {}

    def __call__(self, instant: datetime, due_dates: Sequence[str | None], found: InForce | None = None) -> str | None:
        """The note for clocks with ``due_dates`` (None: not started) shown at ``instant``, or None.

        ``found``: the calendar they were counted with (default: the one in force at ``instant``).
        """
        dues = [d for d in due_dates if d]
        if not dues:
            return None
        found = found if found is not None else self._at(instant)
        if not found.lost and found.problem is None:
            # Nothing to say while the instant and every due date lie before the first year not loaded.
            until, first_day = self._unknown.get(found.key) or self._first_unknown(found)
            if instant < until and max(dues) < first_day:
                return None
        return calendar_note(found, self._first, dues, business_date(instant))

    def _first_unknown(self, found: InForce) -> tuple[datetime, str]:
        """The start of the first year from the case's on that ``found`` has not loaded, as instant and ISO day."""
        year = self._first.year
        while year in found.calendar.known_years:
            year += 1
        # In UTC, as the instants read from the database are: comparing them then needs no offsets.
        self._unknown[found.key] = datetime(year, 1, 1, tzinfo=CST).astimezone(timezone.utc), f"{year:04d}-01-01"
        return self._unknown[found.key]


_RELOADS = 3
"""How many times a reader has the engine reload a calendar older than the tables' mark before it gives up."""
_NOW = InForce(WorkCalendar({}, ()), NOW)
"""Stands for the engine's calendar of the moment among the cached generations."""


def _years(years: Iterable[int]) -> str:
    return "、".join(str(year) for year in years)


@dataclass
class _Versions:
    """Every version the database keeps and its load log, read once per calendar mark, and what was worked out.

    ``bounds`` are the instants the rows in force change at (a load, a replacement, a lost schedule's start);
    ``slots`` the calendar in force between two bounds, by the index of the interval; ``generations`` the
    calendar of each generation asked for, and whether the engine's calendar held the versions read (None: the
    log cannot say, go by instant); ``built`` each calendar,
    by :attr:`InForce.key`; ``now`` the version of each year in force when read (year -> its load), at calendar
    generation ``generation`` (the log's length in the same snapshot).
    """

    versions: CalendarVersions | None
    lost: list[LostVersion]
    current: dict[int, list[dict[str, Any]]]
    problem: str | None = None
    generation: int | None = None
    bounds: list[datetime] = field(default_factory=list)
    now: dict[int, datetime] = field(default_factory=dict)
    slots: dict[int, InForce] = field(default_factory=dict)
    generations: dict[tuple[int, bool], InForce | None] = field(default_factory=dict)
    built: dict[Hashable, WorkCalendar] = field(default_factory=dict)


class HistoryCalendars:
    """Hands out the calendar of past events; one per engine, shared by every reader's thread.

    Args:
        provider: the engine's :class:`~engine.calendar_functions.CalendarProvider` (``current()`` and
            ``observe()``), whose calendar stands for the one in force now.
        database: the engine's :class:`~engine.persistence.db.Database` (``read_sessions`` and ``snapshot``).
    """

    def __init__(self, provider: Any, database: Any):
        self._provider = provider
        self._database = database
        self._lock = threading.Lock()
        self._seen: WorkCalendar | None = None
        self._mark: CalendarMark | None = None
        self._versions: _Versions | None = None
        self._futile: set[int] = set()
        """Generations, beyond the current mark's, that a reload did not reach (a load log shortened by hand)."""

    def reader(self, *, refresh: bool = True) -> CalendarAt:
        """Return ``at(instant, generation=None)`` over the calendar as it stands now (one read's worth).

        ``generation``: the calendar generation the event's command counted with (:func:`command_generations`);
        None: the event's instant decides. An event counted with a newer generation than this reader knows of
        (an import by another process since the engine last looked) has the engine reload first, once per reader
        (``refresh``); once for the same mark when the reload does not reach it.
        """
        for _ in range(_RELOADS):
            calendar, loaded = self._provider.current()
            mark = self._mark_after(calendar)
            if loaded is None or mark is None or loaded >= mark.generation:
                break
            # Another process imported since the engine loaded its calendar, and the engine has run no command
            # to notice: "now" would be the older schedule. Have it reload (it keeps whatever is newer).
            self._provider.observe(mark.generation)
        last_load = mark.last_load if mark else None
        generation_now = mark.generation if mark else None
        now = InForce(calendar, (*NOW, loaded if loaded is not None else id(calendar)))
        fresh: list[CalendarAt] = []

        def at(instant: datetime, generation: int | None = None) -> InForce:
            if generation is not None:
                if generation == generation_now == loaded:
                    return now
                if (refresh and generation_now is not None and generation > generation_now
                        and generation not in self._futile):
                    if not fresh:
                        self._provider.observe(generation)
                        fresh.append(self.reader(refresh=False))
                        with self._lock:
                            if self._mark is not None and self._mark.generation < generation:
                                self._futile.add(generation)    # the log does not reach it: go by the rows
                    return fresh[0](instant, generation)
                found = self._by_generation(now, loaded, generation)
                if found is not None:
                    return found
            if last_load is None or instant >= last_load:
                return now
            return self._earlier(now, instant)
        return at

    def _mark_after(self, calendar: WorkCalendar) -> CalendarMark | None:
        """The calendar tables' mark, read again whenever the engine's calendar is another object than last time.

        Read after the calendar, so its generation is never older than the calendar's.
        """
        with self._lock:
            if calendar is not self._seen:
                # The engine reloaded its calendar: a cheap look tells whether anything was loaded since.
                with self._database.read_sessions() as session:
                    mark = CalendarRepository(session).change_mark()
                if mark != self._mark:
                    self._mark, self._versions = mark, None
                    self._futile = set()
                self._seen = calendar
            return self._mark

    def _loaded(self) -> _Versions:
        versions = self._versions
        if versions is None:
            with self._lock:
                versions = self._versions = self._versions or self._read()
        return versions

    def _by_generation(self, now: InForce, loaded: int | None, generation: int) -> InForce | None:
        """The calendar after the first ``generation`` loads; None when the log cannot say (go by instant).

        ``now`` is the engine's calendar, read at generation ``loaded`` (None: not known); it serves when it holds
        the versions asked for.
        """
        versions = self._loaded()
        if versions.versions is None:
            return replace(now, problem=versions.problem)
        engine_current = loaded is not None and loaded == versions.generation
        key = (generation, engine_current)
        if key not in versions.generations:
            with self._lock:
                versions.generations[key] = self._at_generation(versions, versions.versions, generation,
                                                                engine_current=engine_current)
        found = versions.generations[key]
        return now if found is _NOW else found

    @staticmethod
    def _at_generation(versions: _Versions, rows: CalendarVersions, generation: int, *,
                       engine_current: bool) -> InForce | None:
        # A log that does not name every version's load (rows written behind its back), or a generation it
        # does not reach (edited, or loads since this mark): replay goes by instant, so does the history.
        if not rows.by_generation or not 0 <= generation <= len(rows.imports):
            return None
        in_force = rows.loads_in_force(generation)
        if engine_current and in_force == versions.now:
            return _NOW       # the versions the engine's own calendar holds
        found, missing = rows.at_generation(generation)
        lost = tuple(sorted(missing))
        key = ("generation", tuple(sorted(in_force.items())))
        if key not in versions.built:
            # A lost schedule's year is counted with today's schedule of that year (the note says so).
            stand_in = [row for year in lost for row in versions.current.get(year, ())]
            versions.built[key] = calendar_from_rows([*found, *stand_in])
        return InForce(versions.built[key], key, lost)

    def _earlier(self, now: InForce, instant: datetime) -> InForce:
        versions = self._loaded()
        if versions.versions is None:
            return replace(now, problem=versions.problem)
        slot = bisect_right(versions.bounds, instant)
        found = versions.slots.get(slot)
        if found is None:
            with self._lock:
                found = versions.slots[slot] = self._in_force(versions, versions.versions, instant)
        return found

    @staticmethod
    def _in_force(versions: _Versions, rows: CalendarVersions, instant: datetime) -> InForce:
        lost = tuple(sorted({v.year for v in versions.lost
                             if instant < v.replaced_at and (v.loaded_at is None or v.loaded_at <= instant)}))
        key = (rows.key(instant), lost)
        if key not in versions.built:
            # A lost schedule's year is counted with today's schedule of that year (the note says so).
            stand_in = [row for year in lost for row in versions.current.get(year, ())]
            versions.built[key] = calendar_from_rows([*rows.in_force(instant), *stand_in])
        return InForce(versions.built[key], key, lost)

    def _read(self) -> _Versions:
        with self._database.snapshot() as session:   # one state: a version is in force or replaced, not both
            repository = CalendarRepository(session)
            current, replaced, lost = repository.current_rows(), repository.replaced_rows(), repository.lost_versions()
            columns = CalendarImport.__table__.columns.keys()
            imports = [{name: getattr(entry, name) for name in columns} for entry in repository.imports()]
        by_year: dict[int, list[dict[str, Any]]] = {}
        for row in current:
            by_year.setdefault(row["year"], []).append(row)
        now = {row["year"]: row["loaded_at"] for row in current}
        bounds = sorted({*(row["loaded_at"] for row in [*current, *replaced]),
                         *(row["replaced_at"] for row in replaced),
                         *(v.loaded_at for v in lost if v.loaded_at is not None), *(v.replaced_at for v in lost)})
        try:
            return _Versions(CalendarVersions(current, replaced, imports), lost, by_year, bounds=bounds, now=now,
                             generation=len(imports))
        except CalendarVersionsInvalid as exc:
            return _Versions(None, lost, by_year, exc.details.get("problem"), generation=len(imports))
