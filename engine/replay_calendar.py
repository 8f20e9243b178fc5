"""Replay with a trimmed calendar: refuse, never estimate, when a command consults a year the history left out.

A history file carries the calendar rows of the years its case can need (:func:`engine.case_history.trim_calendar`)
and names every other year the source had loaded, with the instant it was loaded. Replay must compute what the
live run computed. For a year outside the carried ones that was *not* loaded at a command's instant, both runs
see an unloaded year (a weekends-only, provisional estimate): identical. For one that *was* loaded then, the
live run read its holidays and 调休 while the replay would estimate, and could write a different deadline
without noticing (due instants live in the timers table, not in every event). So every calendar the scratch
engine loads is a :class:`GuardedCalendar`: consulting such a year raises :class:`CalendarNotCarried`, which
the replay walk turns into a refusal of the whole replay (``HISTORY_CALENDAR_MISSING``, HTTP 409, exit 2),
even if the command swallowed the error on its way.

A year may have been replaced (``calendar import --replace``) while the case ran: :class:`CalendarVersions`
gives each command the version of each year in force at its instant. A version replaced before tongban kept
replaced schedules is lost (:class:`~engine.persistence.calendar_repository.LostVersion`): consulting its year
while it was in force refuses the replay in the same way (:class:`CalendarVersionLost`,
``HISTORY_CALENDAR_REPLACED``).

A command recorded with the calendar generation it counted with (:data:`engine.audit.CALENDAR_GENERATION`)
is seeded by that generation instead of its instant: the calendar after the first N loads of the import log
(:meth:`CalendarVersions.at_generation`), whatever the hosts' clocks said or however the command overlapped an
import. Commands recorded before that, and histories whose rows the log does not account for, go by instant.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Mapping, Sequence

from .calendar import DayFact, DayKind, WorkCalendar, content_hash
from .clock import CST
from .errors import Conflict
from .persistence.calendar_repository import DAY_COLUMNS, LostVersion


class CalendarNotCarried(Conflict):
    """A replayed command consulted a year whose calendar the history left out though the case had it loaded."""

    code = "HISTORY_CALENDAR_MISSING"


class CalendarVersionLost(Conflict):
    """A replayed command consulted a year while a schedule of it was in force whose days were not kept."""

    code = "HISTORY_CALENDAR_REPLACED"


class CalendarVersionsInvalid(Conflict):
    """The calendar rows of a history do not form one schedule per year at a time (edited, or a clock went back)."""

    code = "HISTORY_CALENDAR_INVALID"


def versions_problem(current: Sequence[dict[str, Any]], replaced: Sequence[dict[str, Any]]) -> str | None:
    """What makes these rows something other than versions of each year that follow each other, else None.

    Each version of a year (its rows share ``loaded_at`` and ``replaced_at``; none for the one in force) counts
    from its load until it was replaced, and the next starts no earlier; a day appears once in a version, in the
    year it belongs to. Then the rows in force at any instant hold each day at most once.
    """
    versions: dict[tuple[int, Any, Any], set[Any]] = {}
    for row in [*current, *replaced]:
        if row["day"].year != row["year"]:
            return f"{row['day']} 记在 {row['year']} 年"
        end = row.get("replaced_at")
        if end is not None and end < row["loaded_at"]:
            return f"{row['day']} 的 replaced_at 早于其 loaded_at"
        days = versions.setdefault((row["year"], row["loaded_at"], end), set())
        if row["day"] in days:
            return f"{row['day']} 在同一版本中出现两次"
        days.add(row["day"])
    ordered = sorted(versions, key=lambda v: (v[0], v[1], v[2] is None, v[2] or v[1]))
    for earlier, later in zip(ordered, ordered[1:]):
        if earlier[0] == later[0] and (earlier[2] is None or earlier[2] > later[1]):
            return f"{earlier[0]} 年的两个版本同时有效（{later[1].isoformat()} 载入的版本开始时前一版本尚未被替换）"
    return None


def imports_problem(current: Sequence[dict[str, Any]], replaced: Sequence[dict[str, Any]],
                    imports: Sequence[dict[str, Any]], withheld: Mapping[int, Any]) -> str | None:
    """What makes a history's calendar rows other than the loads its own log (``calendar_imports``) records.

    Only for a history with a log (format /4): each carried version of a year (its rows loaded at one instant)
    must hash to the content hash the log records for that load, the version in force must be the year's last
    load, and every year the log has loaded must be carried or withheld. Replay counts with these rows; the log
    is what a command's calendar generation points into, so rows that disagree with it would replay deadlines
    from a schedule the case never saw. None when they agree (or there is no log).
    """
    if not imports:
        return None
    logged = {(entry["year"], entry["at"]): entry for entry in imports if entry["action"] != "unchanged"}
    versions: dict[tuple[int, datetime], dict[date, DayFact]] = {}
    for row in [*current, *replaced]:
        versions.setdefault((row["year"], row["loaded_at"]), {})[row["day"]] = DayFact(DayKind(row["kind"]),
                                                                                        row["note"])
    for (year, loaded_at), facts in sorted(versions.items()):
        entry = logged.get((year, loaded_at))
        when = loaded_at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
        if entry is None:
            return f"{year} 年于 {when} 载入的节假日安排在载入记录中没有"
        if entry["content_hash"] != content_hash(facts):
            return (f"{year} 年于 {when} 载入的节假日安排与载入记录的内容哈希不符"
                    f"（应为 {entry['content_hash'][:12]}，实际为 {content_hash(facts)[:12]}）")
    in_force: dict[int, datetime] = {}
    for entry in imports:
        if entry["action"] != "unchanged":
            in_force[entry["year"]] = entry["at"]
    carried = {row["year"]: row["loaded_at"] for row in current}
    for year, loaded_at in sorted(in_force.items()):
        if year in carried and carried[year] != loaded_at:
            return f"{year} 年在用的节假日安排不是载入记录中该年最后一次载入的安排"
        if year not in carried and year not in withheld:
            return f"载入记录中有 {year} 年的节假日安排，文件却既未携带也未列为未携带"
    extra = sorted(set(carried) - set(in_force))
    return f"{extra[0]} 年的节假日安排在载入记录中没有" if extra else None


def calendar_line(current: Sequence[dict[str, Any]], replaced: Sequence[dict[str, Any]],
                  imports: Sequence[dict[str, Any]]) -> str:
    """One line for people: which calendar a replay from a history counted with (the carried years' schedules)."""
    facts: dict[int, dict[date, DayFact]] = {}
    for row in current:
        facts.setdefault(row["year"], {})[row["day"]] = DayFact(DayKind(row["kind"]), row["note"])
    if not facts:
        return "节假日安排：历史文件未携带任何年份的安排（各年均按未载入计算）"
    years = "、".join(f"{year} 年（内容哈希 {content_hash(days)[:12]}）" for year, days in sorted(facts.items()))
    earlier = len({(row["year"], row["loaded_at"]) for row in replaced})
    also = f"，另有 {earlier} 个被替换的版本" if earlier else ""
    checked = "，与文件中的载入记录相符" if imports else "；文件没有载入记录，未能核对"
    return f"节假日安排：按历史文件携带的 {years}计算{also}{checked}"


class CalendarVersions:
    """Every calendar row a history carries, in force now or replaced: which were in force at an instant.

    Versions of one year follow each other (a replacement's rows are loaded at the instant the old ones stop),
    so the rows in force at an instant never hold one day twice; rows that do not are refused
    (:func:`versions_problem`, :class:`CalendarVersionsInvalid`).
    """

    def __init__(self, current: Sequence[dict[str, Any]], replaced: Sequence[dict[str, Any]] = (),
                 imports: Sequence[dict[str, Any]] = ()):
        problem = versions_problem(current, replaced)
        if problem is not None:
            raise CalendarVersionsInvalid(f"办件历史中的节假日安排不成其为逐年依次生效的版本：{problem}，无法重放",
                                          details={"problem": problem})
        self._rows = sorted([*current, *replaced], key=itemgetter("loaded_at"))
        self._loads = [row["loaded_at"] for row in self._rows]
        self._ends = sorted(row["replaced_at"] for row in replaced)
        self.imports = list(imports)
        """The ``calendar_imports`` rows (the load log) in id order: generation N is its first N rows."""
        self._versions: dict[tuple[int, datetime], list[dict[str, Any]]] = {}
        for row in self._rows:
            self._versions.setdefault((row["year"], row["loaded_at"]), []).append(
                {name: row[name] for name in DAY_COLUMNS})
        logged = {(entry["year"], entry["at"]) for entry in self.imports if entry["action"] != "unchanged"}
        self.by_generation = bool(self.imports) and logged >= self._versions.keys()
        """Whether commands can be seeded by generation: the log names the load of every version carried (a
        calendar written behind the log's back, as old test fixtures did, goes by instant)."""

    def loads_in_force(self, generation: int) -> dict[int, datetime]:
        """Which version of each year is in force after the first ``generation`` loads: year -> when it was loaded.

        Raises:
            CalendarVersionsInvalid: the log holds fewer loads (the history was cut, or the number edited).
        """
        if not 0 <= generation <= len(self.imports):
            raise CalendarVersionsInvalid(
                f"办件事件记录按第 {generation} 次节假日安排载入后的日历办理，而办件历史只有 {len(self.imports)} 次载入"
                f"记录，无法重放", details={"generation": generation, "loads": len(self.imports)})
        in_force: dict[int, datetime] = {}
        for entry in self.imports[:generation]:
            if entry["action"] != "unchanged":
                in_force[entry["year"]] = entry["at"]
        return in_force

    def at_generation(self, generation: int) -> tuple[list[dict[str, Any]], dict[int, datetime]]:
        """The calendar after the first ``generation`` loads: its ``calendar_days`` rows, and what it lacks.

        What it lacks are the versions then in force whose rows the history does not hold (year -> the instant
        that version was loaded): a year left out of a history file, or a schedule replaced before replaced
        schedules were kept.

        Raises:
            CalendarVersionsInvalid: the log holds fewer loads (the history was cut, or the number edited).
        """
        rows: list[dict[str, Any]] = []
        missing: dict[int, datetime] = {}
        for year, loaded_at in sorted(self.loads_in_force(generation).items()):
            version = self._versions.get((year, loaded_at))
            if version is None:
                missing[year] = loaded_at
            else:
                rows += version
        return rows, missing

    def key(self, instant: datetime) -> tuple[int, int]:
        """What changes when the rows in force change: rows loaded, and rows replaced, by ``instant``."""
        return bisect_right(self._loads, instant), bisect_right(self._ends, instant)

    def in_force(self, instant: datetime) -> list[dict[str, Any]]:
        """The ``calendar_days`` rows in force at ``instant`` (loaded by then, not replaced by then)."""
        return [{name: row[name] for name in DAY_COLUMNS} for row in self._rows[:self.key(instant)[0]]
                if row.get("replaced_at") is None or row["replaced_at"] > instant]


@dataclass
class WithheldYears:
    """The years a history left out (year -> instant loaded), its lost versions, and the command being replayed."""

    loaded: Mapping[int, datetime]
    case_no: str = ""
    lost: Sequence[LostVersion] = ()
    seq: int = 0
    event_type: str = ""
    instant: datetime | None = None
    missing: Mapping[int, datetime] | None = None
    refused: Conflict | None = field(default=None, init=False)

    def at(self, seq: int, event_type: str, instant: datetime,
           missing: Mapping[int, datetime] | None = None) -> None:
        """The replay is about to issue the command of event ``seq`` at ``instant``.

        ``missing``: the command is seeded by its calendar generation, and these versions (year -> when
        loaded) were in force then without their rows in the history; None: it is seeded by its instant.
        """
        self.seq, self.event_type, self.instant, self.missing = seq, event_type, instant, missing

    def check(self, year: int) -> None:
        """Raise (and remember) the refusal when ``year``'s schedule in force now is not in the history.

        Raises:
            CalendarNotCarried: ``year`` was loaded by now but the history left it out.
            CalendarVersionLost: a schedule of ``year`` whose days were not kept was in force now.
        """
        if self.missing is not None:
            self._check_generation(year)
            return
        self._check_lost(year)
        loaded = self.loaded.get(year)
        if loaded is None or self.instant is None or loaded > self.instant:
            return
        self._refuse_not_carried(year, loaded)

    def _check_generation(self, year: int) -> None:
        """The generation's version of ``year`` lacks its rows: left out of the file, or replaced and not kept."""
        loaded = self.missing.get(year) if self.missing is not None else None
        if loaded is None:
            return
        if year in self.loaded:
            self._refuse_not_carried(year, loaded)
        lost = next((v for v in self.lost if v.year == year and v.loaded_at == loaded), None)
        self._refuse_lost(year, lost.replaced_at if lost is not None else None)

    def _refuse_not_carried(self, year: int, loaded: datetime) -> None:
        if self.refused is None:
            self.refused = CalendarNotCarried(
                f"历史文件未携带 {year} 年的节假日安排（原系统于 {loaded.astimezone(CST):%Y-%m-%d %H:%M} 载入），"
                f"而重放第 {self.seq} 个事件（{self.event_type}）时需要查询该年的工作日：缺少这些数据，算出的期限"
                f"可能与原办理不同，因此拒绝重放。请在原系统中直接重放该办件（tongban replay {self.case_no}）",
                details={"year": year, "loaded_at": loaded.isoformat(), "seq": self.seq,
                         "event_type": self.event_type})
        raise self.refused

    def _check_lost(self, year: int) -> None:
        now = self.instant
        for version in self.lost:
            if version.year != year or now is None or now >= version.replaced_at \
                    or (version.loaded_at is not None and version.loaded_at > now):
                continue
            self._refuse_lost(year, version.replaced_at)

    def _refuse_lost(self, year: int, replaced_at: datetime | None) -> None:
        if self.refused is None:
            when = f"已于 {replaced_at.astimezone(CST):%Y-%m-%d %H:%M} 被替换" if replaced_at is not None \
                else "已被替换"
            self.refused = CalendarVersionLost(
                f"{year} 年的节假日安排{when}，替换前的内容未被保存（该次替换早于系统保存被替换的安排），而重放第 "
                f"{self.seq} 个事件（{self.event_type}）时需要查询该年在替换前的工作日：缺少这些数据，算出的期限可能"
                f"与原办理不同，因此拒绝重放",
                details={"year": year, "replaced_at": replaced_at.isoformat() if replaced_at else None,
                         "seq": self.seq, "event_type": self.event_type})
        raise self.refused

    def raise_if_refused(self) -> None:
        """Raise the refusal a command met, even if the command caught it on its way out."""
        if self.refused is not None:
            raise self.refused

    def guard(self, calendar: WorkCalendar) -> WorkCalendar:
        """``calendar`` as a :class:`GuardedCalendar` (for :meth:`engine.calendar_functions.CalendarProvider.wrap`)."""
        return GuardedCalendar(calendar, self)


class GuardedCalendar(WorkCalendar):
    """A :class:`WorkCalendar` that checks every year it is asked about against the withheld years."""

    def __init__(self, base: WorkCalendar, withheld: WithheldYears):
        super().__init__(base.facts, base.known_years, strict=base.strict)
        self._withheld = withheld

    def fact(self, day: date) -> DayFact | None:
        """Return the dated fact for ``day`` (refused for a withheld year loaded by now)."""
        self._withheld.check(day.year)
        return super().fact(day)

    def is_known(self, day: date) -> bool:
        """True when ``day``'s year is loaded (refused for a withheld year loaded by now)."""
        self._withheld.check(day.year)
        return super().is_known(day)

    def missing_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years between ``first`` and ``last`` not loaded (refused if one is withheld and loaded by now)."""
        low, high = sorted((first.year, last.year))
        for year in range(low, high + 1):
            self._withheld.check(year)
        return super().missing_years(first, last)

    def year_facts(self, year: int) -> list[tuple[date, DayFact]]:
        """The dated facts of ``year`` (refused for a withheld year loaded by now)."""
        self._withheld.check(year)
        return super().year_facts(year)

    def _workday(self, day: date) -> bool:
        self._withheld.check(day.year)
        return super()._workday(day)
