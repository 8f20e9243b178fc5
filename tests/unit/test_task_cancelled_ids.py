"""TaskCancelled carries the inbox row's ``task_id`` as a column; events recorded without it stay comparable.

The hash covers the column, so an old event (``task_id`` None) keeps verifying as stored while a new one's id
cannot be changed or dropped unseen. Replay compares a recorded ``TaskCancelled`` without a task id with the
replayed one's left out (:func:`engine.replay_shapes.as_recorded`), and a recorded id exactly.
"""
from __future__ import annotations

from datetime import datetime, timezone

from engine import events as ev
from engine.audit import GENESIS, ChainedEvent, event_hash, verify_chain
from engine.replay_shapes import as_recorded

AT = datetime(2026, 3, 6, 1, 0, tzinfo=timezone.utc)


def shape(event_type: str, task_id: object, element_id: str = "vote") -> dict:
    """An event's JSON shape as replay compares it (``RecordedEvent.to_dict``)."""
    return {"seq": 7, "event_type": event_type, "occurred_at": AT.isoformat(), "actor": "timer-worker",
            "element_id": element_id, "task_id": task_id, "payload": {}}


def chain(task_ids: list[int | None]) -> list[ChainedEvent]:
    """A chain of TaskCancelled events with these task ids, hashed as the engine hashes them."""
    out, prev = [], GENESIS
    for seq, task_id in enumerate(task_ids, start=1):
        digest = event_hash(prev, case_no="CQ-1", seq=seq, event_type="TaskCancelled", occurred_at=AT,
                            actor="timer-worker", element_id="vote", task_id=task_id, payload={})
        out.append(ChainedEvent("CQ-1", seq, "TaskCancelled", AT, "timer-worker", "vote", task_id, {}, prev, digest))
        prev = digest
    return out


def test_the_task_id_is_a_column_and_the_payload_stays_empty():
    event = ev.TaskCancelled(element_id="vote", task_id=12)
    assert (event.element_id, event.task_id, event.payload()) == ("vote", 12, {})
    assert ev.TaskCancelled(element_id="vote").task_id is None


def test_the_hash_covers_the_task_id():
    old = event_hash(GENESIS, case_no="CQ-1", seq=1, event_type="TaskCancelled", occurred_at=AT,
                     actor="timer-worker", element_id="vote", task_id=None, payload={})
    new = event_hash(GENESIS, case_no="CQ-1", seq=1, event_type="TaskCancelled", occurred_at=AT,
                     actor="timer-worker", element_id="vote", task_id=12, payload={})
    assert old != new


def test_an_old_chain_verifies_as_stored_and_a_new_one_refuses_an_edited_or_dropped_id():
    assert verify_chain(chain([None, None])).ok
    new = chain([12, 13])
    assert verify_chain(new).ok
    for task_id in (None, 14):
        edited = [new[0], ChainedEvent(*(task_id if f == "task_id" else getattr(new[1], f)
                                         for f in ChainedEvent.__dataclass_fields__))]
        check = verify_chain(edited)
        assert (check.ok, check.broken_seq) == (False, 2)


def test_a_recorded_cancellation_without_a_task_is_compared_without_the_replayed_one():
    assert as_recorded(shape("TaskCancelled", 12), shape("TaskCancelled", None)) == shape("TaskCancelled", None)
    # Unmapped (a task the replay never matched to a recorded one) is left out too: the record names none.
    assert as_recorded(shape("TaskCancelled", "replay:9"), shape("TaskCancelled", None))["task_id"] is None


def test_a_recorded_task_id_is_compared_exactly():
    for replayed in (12, 13, "replay:12", None):
        assert as_recorded(shape("TaskCancelled", replayed), shape("TaskCancelled", 12)) \
            == shape("TaskCancelled", replayed)


def test_only_a_cancellation_is_compared_without_its_task():
    for event_type in ("TaskCompleted", "TaskCreated", "TaskClaimed"):
        assert as_recorded(shape(event_type, 12), shape(event_type, None))["task_id"] == 12
    # Another event type at that position is a divergence of its own: nothing is left out.
    assert as_recorded(shape("TaskCancelled", 12), shape("FlowAdvanced", None))["task_id"] == 12
