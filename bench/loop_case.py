"""The long case the auditor benchmarks share: ``tests/data/processes/loop.bpmn`` (补正循环) driven N rounds.

Each round completes the looping task once (three events), so 333 rounds give a case of 1,002 events, built
through the engine in a temporary SQLite database on a manual clock ten minutes a round.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, EngineConfig, ManualClock, StartCase, bootstrap,
    ensure_calendar_seeded, upgrade_database,
)

ROOT = Path(__file__).resolve().parent.parent
LOOP_BPMN = ROOT / "tests" / "data" / "processes" / "loop.bpmn"
REVIEWER = Actor("rv", ("reviewer",), "500103")
CLERK = Actor("window_yz", ("window_clerk",), "500103", "zwzx")


@contextmanager
def loop_case(rounds: int, name: str = "loop") -> Iterator[tuple[Any, int]]:
    """Yield ``(engine, case_id)`` of a loop case driven ``rounds`` times; the database is removed after."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / f'{name}.sqlite'}"
        upgrade_database(url)
        clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
        engine = bootstrap(EngineConfig(database_url=url, processes_dir=ROOT / "processes",
                                        forms_dir=ROOT / "forms", materials_dir=Path(folder) / "m"), clock=clock)
        try:
            ensure_calendar_seeded(engine)
            engine.handle(DeployDefinitions((("loop.bpmn", LOOP_BPMN.read_bytes()),)))
            ref = engine.handle(StartCase("loop", CLERK))
            task_id = engine.queries.tasks(REVIEWER, limit=1).items[0]["id"]
            for round_no in range(rounds):
                clock.advance(minutes=10)
                task_id = engine.handle(CompleteTask(task_id, REVIEWER, {"round": round_no, "done": False})
                                        ).created_task_ids[0]
            yield engine, ref.case_id
        finally:
            engine.close()
