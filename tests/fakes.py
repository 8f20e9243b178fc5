"""Hand-written fakes (cosmicpython style): a unit of work and catalog that keep everything in memory."""
from __future__ import annotations

import itertools

from pathlib import Path
from typing import Any

from engine.deployment import LoadedDefinition
from engine.errors import Conflict, NotFound
from engine.expressions import Evaluator
from engine.forms import parse_form
from engine.persistence.case_records import CaseRecord, TaskRecord
from engine.spiff.parser import parse_unit

ROOT = Path(__file__).resolve().parent.parent


class FakeCases:
    """In-memory stand-in for CaseRepository with the same methods the handlers call."""

    def __init__(self) -> None:
        self.cases: dict[int, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.candidates: list[tuple[int, str]] = []
        self.events: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}
        self._ids = itertools.count(1)

    def _case(self, case_id: int) -> CaseRecord:
        row = self.cases[case_id]
        return CaseRecord(**{k: row.get(k) for k in CaseRecord.__dataclass_fields__ if k != "changes"})

    def lock_by_task(self, task_id: int) -> tuple[TaskRecord, CaseRecord]:
        row = self.tasks.get(task_id)
        if row is None:
            raise NotFound("任务不存在或无权访问")
        task = TaskRecord(**{k: row[k] for k in TaskRecord.__dataclass_fields__})
        return task, self._case(row["case_id"])

    def lock(self, case_id: int) -> CaseRecord:
        if case_id not in self.cases:
            raise NotFound("办件不存在或无权访问")
        return self._case(case_id)

    def insert(self, values: dict[str, Any]) -> CaseRecord:
        case_id = next(self._ids)
        self.cases[case_id] = {**values, "id": case_id}
        return self._case(case_id)

    def save(self, case: CaseRecord, *, events: Any = (), task_update: Any = None) -> None:
        stored = self.cases[case.id]
        if stored["version"] != case.version:
            raise Conflict("办件已被其他操作更新，请刷新后重试")
        self.events += list(events)
        if task_update is not None:
            self.update_task(task_update[0], **task_update[1])
        stored.update({k: getattr(case, k) for k in CaseRecord.__dataclass_fields__ if k != "changes"})
        stored["version"] = case.version = case.version + 1

    def update_task(self, task_id: int, **values: Any) -> None:
        self.tasks[task_id].update(values)

    def next_number(self, day: str) -> int:
        self.counters[day] = self.counters.get(day, 0) + 1
        return self.counters[day]

    def insert_tasks(self, rows: list[dict[str, Any]]) -> list[int]:
        ids = []
        for row in rows:
            task_id = next(self._ids)
            self.tasks[task_id] = {"assignee": None, **row, "id": task_id}
            ids.append(task_id)
        return ids

    def insert_candidates(self, pairs: list[dict[str, Any]]) -> None:
        self.candidates += [(p["task_id"], p["group_key"]) for p in pairs]

    def open_rows(self, case_id: int, spiff_ids: Any) -> dict[str, int]:
        wanted = set(spiff_ids)
        return {row["spiff_task_id"]: task_id for task_id, row in self.tasks.items()
                if row["case_id"] == case_id and row["spiff_task_id"] in wanted and row["state"] == "open"}

    def close_tasks(self, case_id: int, spiff_ids: Any, *, state: str, at: Any) -> None:
        for row in self.tasks.values():
            if row["case_id"] == case_id and row["spiff_task_id"] in set(spiff_ids) and row["state"] == "open":
                row.update(state=state, completed_at=at)

    def insert_timers(self, rows: list[dict[str, Any]]) -> None:
        self.timers += rows

    def finish_timers(self, case_id: int, spiff_ids: Any, *, at: Any) -> None:
        for row in self.timers:
            if row["case_id"] == case_id and row["spiff_task_id"] in set(spiff_ids):
                row["state"] = "done"

    def append_events(self, rows: list[dict[str, Any]]) -> None:
        self.events += rows


class FakeTimers:
    """The timer rows' worker side: a moved timer (a cycle's next slot) follows in ``FakeCases.timers``."""

    def __init__(self, cases: FakeCases):
        self.cases = cases

    def reschedule(self, case_id: int, moves: dict[str, Any]) -> None:
        for row in self.cases.timers:
            if row["case_id"] == case_id and row["spiff_task_id"] in moves and row["state"] == "waiting":
                row["due_at"] = moves[row["spiff_task_id"]]


class FakeDefinitions:
    """Knows the definitions the fake catalog holds."""

    def __init__(self, catalog: "FakeCatalog"):
        self.catalog = catalog

    def latest_id(self, process_key: str, version: int | None = None) -> int:
        matches = [d for d in self.catalog.loaded.values() if d.process_key == process_key
                   and (version is None or d.version == version)]
        if not matches:
            raise NotFound(f"流程 {process_key} 尚未部署")
        return max(matches, key=lambda d: d.version).id


class FakeUnitOfWork:
    """A unit of work over FakeCases; ``committed`` counts commits, uncommitted work is discarded on exit."""

    def __init__(self, cases: FakeCases, catalog: "FakeCatalog"):
        self.store, self.catalog = cases, catalog
        self.committed = 0

    def __enter__(self) -> "FakeUnitOfWork":
        import copy
        self._backup = copy.deepcopy((self.store.cases, self.store.tasks, self.store.candidates,
                                      self.store.events, self.store.timers))
        self._done = False
        self.cases, self.definitions = self.store, FakeDefinitions(self.catalog)
        self.timers = FakeTimers(self.store)
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self._done:
            (self.store.cases, self.store.tasks, self.store.candidates, self.store.events,
             self.store.timers) = self._backup

    def check_calendar(self) -> None:
        """No calendar generation to read: the unit tests' calendar never changes."""

    def commit(self) -> None:
        self._done = True
        self.committed += 1


class FakeCatalog:
    """Definitions parsed from files, handed out by id like DefinitionCatalog.get."""

    def __init__(self) -> None:
        self.loaded: dict[int, LoadedDefinition] = {}

    def add(self, bpmn: Path, process_key: str, *, version: int = 1) -> LoadedDefinition:
        process = parse_unit([(bpmn.name, bpmn.read_bytes())], Evaluator(), max_bytes=10**7).processes[process_key]
        forms = {key: parse_form((ROOT / "forms" / f"{key}.form").read_bytes()) for key in process.form_keys}
        loaded = LoadedDefinition(len(self.loaded) + 1, process_key, version, process.name, "hash", process.spec,
                                  process.subprocess_specs, process.user_tasks, forms, tuple(process.clocks))
        self.loaded[loaded.id] = loaded
        return loaded

    def get(self, uow: Any, definition_id: int) -> LoadedDefinition:
        return self.loaded[definition_id]


