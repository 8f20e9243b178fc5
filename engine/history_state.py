"""A case's state as of one event of its history, rebuilt by deterministic replay (DESIGN §8).

The audit log records inputs and effects, not the workflow's data after each step, so the state at an
earlier event is rebuilt rather than stored: :meth:`engine.replay.Replayer.state_at` re-runs the case from
its pinned definition up to the command that wrote the event, in a scratch database, and
:func:`snapshot` reads the case there: its tasks (with the recorded task ids), its data and its clocks.
A replay that diverges from the record before that event cannot vouch for the state, so it is refused.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select

from .errors import Conflict
from .persistence.models import Case, TaskItem


@dataclass(frozen=True)
class ReplayedCase:
    """The replayed case right after the command that wrote the event asked for.

    Attributes:
        through_seq: the last event that command wrote (events of one command share one state).
        status: the case's status then (running, completed).
        tasks: every inbox task made by then: recorded task id, element, name, state, assignee, completer.
        data: the case's process data then, as the most recent step left it.
        clocks: the stored clock document then (``cases.clocks``), None without clocks.
    """

    through_seq: int
    status: str
    tasks: list[dict[str, Any]]
    data: dict[str, Any]
    clocks: dict[str, Any] | None


def snapshot(engine: Any, case_id: int, task_ids: Mapping[int, int]) -> ReplayedCase:
    """Read the replayed case ``case_id`` in the scratch ``engine``; ``task_ids`` maps its task ids to recorded ones."""
    with engine.database.read_sessions() as session:
        case = session.get(Case, case_id)
        tasks = session.scalars(select(TaskItem).where(TaskItem.case_id == case_id)
                                .order_by(TaskItem.created_at, TaskItem.id)).all()
        svc = engine.services
        with svc.uow() as uow:
            definition = svc.catalog.get(uow, case.definition_id)
        workflow = svc.runner.checkout(case.id, case.version, case.definition_id, case.workflow_state,
                                       definition.spec, definition.subprocess_specs)
        rows = [{"task_id": task_ids.get(t.id), "element_id": t.element_id, "name": t.name, "state": t.state,
                 "assignee": t.assignee, "completed_by": t.completed_by} for t in tasks]
        return ReplayedCase(case.event_seq, case.status, rows, _json_native(svc.runner.current_data(workflow)),
                            dict(case.clocks) if case.clocks else None)


def _json_native(data: Mapping[str, Any]) -> dict[str, Any]:
    # Process data is JSON-like already; anything else (a date a script made) is shown as its text.
    return json.loads(json.dumps(dict(data), ensure_ascii=False, default=str))


class StateReplayer:
    """One :class:`~engine.replay.Replayer` per engine (its migrated template is reused), one replay at a time.

    Rebuilt states are kept for the most recent ``capacity`` (case, chain head, event) keys: an auditor
    stepping back and forth through one case replays each event once, and a new event on the case (a new
    chain head) never serves a stale answer.
    """

    def __init__(self, engine: Any, capacity: int = 64):
        self.engine = engine
        self.capacity = capacity
        self._lock = threading.Lock()
        self._replayer: Any = None
        self._cache: OrderedDict[tuple[int, str, int], ReplayedCase] = OrderedDict()

    def state(self, case_id: int, chain_head: str, seq: int) -> ReplayedCase:
        """Return the case as of event ``seq``.

        Raises:
            Conflict: ``STATE_UNAVAILABLE`` when the replay diverges from the record before that event.
        """
        key = (case_id, chain_head, seq)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            outcome = self._shared().state_at(case_id, seq, snapshot)
            if outcome.divergence is not None or outcome.value is None:
                div = outcome.divergence
                where = f"在第 {div.seq} 条事件处" if div is not None else ""
                raise Conflict(f"重放{where}与记录不一致，无法重建第 {seq} 条事件时的状态",
                               code="STATE_UNAVAILABLE",
                               details={"seq": seq, "divergence_seq": div.seq if div else None,
                                        "reason": div.reason if div else None,
                                        "message": div.message if div else None})
            self._cache[key] = outcome.value
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
            return outcome.value

    def replay_case(self, case_ref: str | int) -> Any:
        """Replay a whole case on the shared replayer (its template is migrated once per engine)."""
        with self._lock:
            return self._shared().replay_case(case_ref)

    def _shared(self) -> Any:
        if self._replayer is None:
            from .replay import Replayer   # replay builds engines: importing it here keeps bootstrap acyclic
            self._replayer = Replayer(self.engine)
        return self._replayer

    def close(self) -> None:
        """Remove the replayer's scratch folder."""
        with self._lock:
            if self._replayer is not None:
                self._replayer.close()
                self._replayer = None
            self._cache.clear()
