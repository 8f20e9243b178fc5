"""Deterministic replay (DESIGN §8): re-run a case from its pinned definition and inputs, compare the effects.

A scratch SQLite database, migrated to head, receives exactly what the case needs: its pinned definition
version (BPMN, resources, the pinned form versions) and every version a ``CaseMigrated`` moved it to (replay
issues the migration again at that event, so the spec switches there), the matter version it was received
under and that matter's grants, the users its events name, and the calendar facts; before each command the
scratch holds only the facts loaded by then, so a year imported later (and the DeadlinesRecomputed it
caused) replays too, and only the grants as they stood then (:mod:`engine.replay_inputs`, which also refuses
a pinned definition missing from the store or edited in it). A history file carries only the calendar years
its case can need: a command that consults another year the case had loaded refuses the replay
(:mod:`engine.replay_calendar`).
A fresh engine on a :class:`ManualClock` then walks the recorded events in order: at each *input* event the
clock is set to the recorded instant and the command that produced the event is issued as the recorded
actor. Every event the replay writes is compared with the recorded one at the same position by type,
element, actor, instant and payload; database ids (inbox task ids, 督办 item ids) differ between the two
databases and are compared through a 1:1 mapping made where the ids are born (``TaskCreated``,
``SupervisionRaised``, ``ExtensionRequested``). The case number is reused, so it matches too.

An effect recorded before the engine added a field to its type (``ClocksStarted``'s budget of a clock started
at 受理) is compared without that field; one that records it must match it exactly (:mod:`engine.replay_shapes`).
A 受理 recorded before 受理 ended the 补正 pauses of the other clocks has a ``ClocksStarted`` without
``resumed`` where the clocks stayed paused: replay re-issues it so (``CompleteTask.resume_pauses``), and the
``ClockResumed`` someone recorded later by hand replays as recorded.

Replay does not re-check permissions: the record shows the command was allowed, so the replay actor holds the
task's candidate groups and the roles the clock and 督办 commands ask for. An input event with no command to
replay it is reported as unsupported, never passed over. Tampering is :mod:`engine.verification`'s job: an
edited input replays as edited, and shows here only where it changes an effect.

The parts live next to this module, which holds the :class:`Replayer` and the seeding of its scratch database:
what replay reads and reports (:mod:`engine.replay_results`), the command each input event is re-issued as
(:mod:`engine.replay_commands`), and the walk that issues them and compares what they wrote
(:mod:`engine.replay_walk`).
"""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time as dtime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator, Mapping

from sqlalchemy import delete, insert, select

from .bootstrap import Engine, bootstrap
from .case_history import CaseHistory, load_case_history
from .clock import CST, ManualClock
from .errors import NotFound
from .file_echo import clipped
from .migrations import upgrade_database
from .persistence.models import CalendarDay, Case, CaseCounter, FormVersion, MatterVersion, ProcessDefinition, User
from .replay_calendar import CalendarVersions, WithheldYears, calendar_line
from .replay_commands import _Run
from .replay_inputs import GrantsAsOf, check_pins_against_chain
from .replay_results import RecordedEvent, ReplayDivergence, ReplayedState, ReplayResult, T
from .replay_walk import _case_row, _split_after_end, _walk


class Replayer:
    """Replays cases of ``engine``'s database in scratch databases; one template migration per replayer."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._workdir: Path | None = None
        self._template: Path | None = None

    def close(self) -> None:
        """Remove the scratch folder."""
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = self._template = None

    def __enter__(self) -> "Replayer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def find(self, case_ref: str | int) -> int:
        """Return the id of the case named by its id or its 办件编号; NotFound otherwise."""
        with self.engine.database.read_sessions() as session:
            stmt = select(Case.id)
            stmt = stmt.where(Case.id == int(case_ref)) if str(case_ref).isdigit() else stmt.where(
                Case.case_no == str(case_ref))
            found = session.execute(stmt).scalar()
        if found is None:
            raise NotFound(f"办件 {case_ref} 不存在", details={"case": str(case_ref)})
        return int(found)

    def case_ids(self, since: date | None = None) -> list[int]:
        """Return the ids of every case (started on or after ``since``, a CST business date), in id order."""
        return [case_id for case_id, _ in self.cases(since)]

    def cases(self, since: date | None = None) -> list[tuple[int, str]]:
        """Return the id and 办件编号 of every case (started on or after ``since``, CST), in id order."""
        stmt = select(Case.id, Case.case_no).order_by(Case.id)
        if since is not None:
            stmt = stmt.where(Case.started_at >= datetime.combine(since, dtime(0), tzinfo=CST))
        with self.engine.database.read_sessions() as session:
            return [(case_id, case_no) for case_id, case_no in session.execute(stmt)]

    def replay_case(self, case_ref: str | int) -> ReplayResult:
        """Replay one case (id or 办件编号) of the engine's database and return the first divergence, if any."""
        return self.replay_history(load_case_history(self.engine.database, self.find(case_ref)))

    def replay_history(self, history: CaseHistory) -> ReplayResult:
        """Replay a case from its history (read from a database or a history file); no source database is read."""
        with self._scratch(history) as (run, recorded):
            process_part, stray = _split_after_end(recorded)
            divergence = _walk(run, process_part) if stray is None else ReplayDivergence(
                stray.seq, "unsupported", stray.to_dict(), None,
                f"第 {stray.seq} 个事件 {clipped(stray.event_type)} 出现在评价事件之后，重放不支持")
            if divergence is None and run.case_id is not None:
                divergence = _case_row(run, history, recorded)
        return ReplayResult(history.case["id"], history.case_no, len(recorded), divergence)

    @staticmethod
    def calendar_line(history: CaseHistory) -> str:
        """One line for people: the holiday schedules a replay of ``history`` counts with."""
        return calendar_line(history.calendar, history.calendar_replaced, history.calendar_imports)

    def state_at(self, case_ref: str | int, seq: int,
                 inspect: Callable[[Engine, int, Mapping[int, int]], T]) -> ReplayedState[T]:
        """Replay one case up to the command that wrote event ``seq`` and inspect the scratch database then.

        ``inspect(engine, case_id, task_ids)`` gets the scratch engine, the replayed case's id there and the
        mapping of its task ids to the recorded ones; it is not called when the replay diverges first.
        """
        history = load_case_history(self.engine.database, self.find(case_ref))
        with self._scratch(history) as (run, recorded):
            # The state after a 好差评 event is the state the process ended in.
            divergence = _walk(run, _split_after_end(recorded)[0], until=seq)
            if divergence is not None or run.case_id is None:
                return ReplayedState(divergence, None)
            return ReplayedState(None, inspect(run.engine, run.case_id, dict(run.tasks)))

    @contextmanager
    def _scratch(self, history: CaseHistory) -> Iterator[tuple[_Run, list[RecordedEvent]]]:
        """A scratch engine seeded for the case, with its recorded events; removed afterwards."""
        case = SimpleNamespace(**history.case)
        recorded = [RecordedEvent(e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id, e.payload)
                    for e in history.events]
        folder = Path(tempfile.mkdtemp(dir=self._scratch_dir()))
        try:
            url = f"sqlite:///{folder / 'replay.sqlite'}"
            shutil.copy(self._template_path(), folder / "replay.sqlite")
            start = (recorded[0].occurred_at if recorded else case.started_at).astimezone(CST)
            clock = ManualClock(start, monotonic=False)   # a host whose clock was behind wrote earlier instants
            config = replace(self.engine.config, database_url=url, materials_dir=folder / "materials")
            scratch = bootstrap(config, clock=clock)
            try:
                with scratch.database.engine.connect() as reader:   # one read connection for the whole walk
                    run = _Run(scratch, clock, case, reader=reader)
                    _seed(run, history)
                    yield run, recorded
            finally:
                scratch.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def replay_all(self, since: date | None = None) -> Iterator[ReplayResult]:
        """Replay every case (started on or after ``since``) in id order, yielding each result."""
        for case_id in self.case_ids(since):
            yield self.replay_case(case_id)

    def _scratch_dir(self) -> Path:
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="tongban-replay-"))
        return self._workdir

    def _template_path(self) -> Path:
        if self._template is None:
            path = self._scratch_dir() / "template.sqlite"
            upgrade_database(f"sqlite:///{path}")
            self._template = path
        return self._template

def _seed(run: _Run, history: CaseHistory) -> None:
    """Copy into the scratch database exactly the rows the case's commands read (see CaseHistory)."""
    case = run.source_case
    # Refused before anything runs: a pinned definition or form missing from the store, or edited in it (or
    # missing because the event naming it was edited: then the broken link is the reason).
    check_pins_against_chain(history)
    with run.engine.database.writer.begin() as conn:
        conn.execute(delete(CalendarDay.__table__))
        for table, rows in ((ProcessDefinition, history.definitions), (FormVersion, history.forms),
                            (MatterVersion, history.matters), (User, history.users)):
            if rows:
                conn.execute(insert(table.__table__), rows)
        day, number = case.case_no[2:10], case.case_no[10:]
        if case.case_no.startswith("TB") and day.isdigit() and number.isdigit():
            # The replayed case gets the recorded 办件编号 from the per-day counter.
            conn.execute(insert(CaseCounter.__table__), [{"day": day, "last": int(number) - 1}])
    run.users = {u["username"]: u for u in history.users}
    run.grants = GrantsAsOf(history.grants)   # written as of each command's instant (a later revocation is not)
    run.calendar = CalendarVersions(history.calendar, history.calendar_replaced, history.calendar_imports)
    if history.calendar_withheld or history.calendar_lost:
        # A trimmed calendar, or a replaced schedule that was not kept: consulting a year whose schedule in
        # force then the history lacks refuses the replay.
        run.withheld = WithheldYears(history.calendar_withheld, case_no=history.case_no,
                                     lost=history.calendar_lost)
        run.engine.calendar.wrap(run.withheld.guard)
    run.materials = list(history.materials)
    run.messages = {m["idempotency_key"]: m for m in history.messages}
