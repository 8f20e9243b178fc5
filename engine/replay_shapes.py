"""Events recorded by an older engine: the fields the engine added since, which replay compares only when recorded.

The engine sometimes records more in an event than it used to. An input tells the replayed command which
behaviour it was recorded under (``TimersFired`` without ``missed`` replays with ``merge_missed=False``). An
effect has no command of its own, so the comparison takes the shape of the recorded event instead: a field
added since is left out of the replayed event where the recorded one predates it, and compared exactly
wherever the recorded event has it (an edited value is a divergence). Nothing is rewritten in the log, so the
hash chain and ``verify`` see old events as they were stored.

Added fields so far:

* ``ClocksStarted``: ``budget`` in the entry of a clock started at 受理 (the entry with ``deemed``). Before, only
  a clock whose length came from the case data (``amount_from``, always with its ``budget``) recorded it; a
  clock started with the case (收件) always did.
* ``TaskCancelled``: ``task_id``, the inbox row the withdrawal closed (a column, not the payload). Before, the
  event named the element only: a recorded ``task_id`` of None is compared with the replayed one left out.

A field may also record a behaviour the engine added; then the input that caused the effect replays under the
behaviour its recorded effect shows (:func:`resumed_at_acceptance`):

* ``ClocksStarted``: ``resumed``, the other clocks a 受理 resumed from a 补正 pause. Before, 受理 left them
  paused until someone resumed them by hand (a ``ClockResumed`` later in the log).
"""
from __future__ import annotations

from typing import Any, Collection, Mapping, Sequence


def as_recorded(replayed: dict[str, Any], recorded: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``replayed`` (an event's JSON shape) without the fields added since ``recorded`` was written.

    Both are :meth:`engine.replay_results.RecordedEvent.to_dict` shapes of the same position in the log. A field is left
    out only where the recorded event lacks it and predates it; in every other case ``replayed`` is returned
    as it is.
    """
    if replayed.get("event_type") == "TaskCancelled" == recorded.get("event_type"):
        older = recorded.get("task_id") is None and replayed.get("task_id") is not None
        return {**replayed, "task_id": None} if older else replayed
    if replayed.get("event_type") != "ClocksStarted" or recorded.get("event_type") != "ClocksStarted":
        return replayed
    was, now = (recorded.get("payload") or {}).get("clocks"), (replayed.get("payload") or {}).get("clocks")
    if not isinstance(was, Mapping) or not isinstance(now, Mapping):
        return replayed
    clocks = {kind: _started_as_recorded(entry, was.get(kind)) for kind, entry in now.items()}
    if clocks == now:
        return replayed
    return {**replayed, "payload": {**replayed["payload"], "clocks": clocks}}


def _started_as_recorded(entry: Any, recorded: Any) -> Any:
    """One clock's ``ClocksStarted`` entry without ``budget`` when its recorded 受理 entry predates it."""
    older = isinstance(recorded, Mapping) and "deemed" in recorded and "budget" not in recorded \
        and "amount_from" not in recorded
    if older and isinstance(entry, Mapping) and "amount_from" not in entry and "budget" in entry:
        return {key: value for key, value in entry.items() if key != "budget"}
    return entry


def resumed_at_acceptance(completed: Any, rest: Sequence[Any], effects: Collection[str]) -> bool:
    """Whether the recorded completion ``completed`` is replayed ending the 补正 pauses of other clocks.

    ``rest`` are the recorded events after it (:class:`engine.replay_results.RecordedEvent`) and ``effects`` the event
    types no command replays. The completion's effects run up to the next input; a one-time 补正 notice the
    same completion gave (``ClockPaused`` of its task) is one of them. False when its ``ClocksStarted`` lacks
    ``resumed``: it then resumed nothing (the same either way), or it was recorded before 受理 ended the
    pauses and the clocks stayed paused. True when it started no clock (nothing to resume then).
    """
    for later in rest:
        if later.event_type == "ClocksStarted" and later.element_id == completed.element_id:
            return "resumed" in (later.payload or {})
        if later.event_type not in effects and not (later.event_type == "ClockPaused"
                                                    and later.task_id == completed.task_id):
            break
    return True
