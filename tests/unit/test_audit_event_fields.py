"""The three shapes of an audit event share one field list (engine.audit.AuditEvent), with their public shape kept.

Positional construction, field order, ``to_dict`` and the hash over a :class:`ChainedEvent` are what callers
(archives, history files, replay reports, goldens) rely on; these tests pin them.
"""
from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime, timezone

from sqlalchemy import select

from engine.audit import AuditEvent, ChainedEvent, event_hash, verify_chain
from engine.case_history import StoredEvent, event_columns
from engine.history_file import EVENT_FIELDS
from engine.replay_results import RecordedEvent

SEVEN = ("seq", "event_type", "occurred_at", "actor", "element_id", "task_id", "payload")
AT = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
ROW = (3, "TaskCompleted", AT, "rv01", "Task_review", 17, {"data": {"decision": "同意"}})


def names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def test_each_event_shape_keeps_its_fields_in_their_order():
    assert names(AuditEvent) == SEVEN
    assert names(RecordedEvent) == SEVEN
    assert names(StoredEvent) == (*SEVEN, "prev_hash", "hash")
    assert names(ChainedEvent) == ("case_no", *SEVEN, "prev_hash", "hash")
    assert EVENT_FIELDS == (*SEVEN, "prev_hash", "hash")


def test_positional_constructions_fill_the_same_fields():
    recorded = RecordedEvent(*ROW)
    stored = StoredEvent(*ROW, "0" * 64, "a" * 64)
    chained = ChainedEvent("CQ-1", *ROW, "0" * 64, "a" * 64)
    for event in (recorded, stored, chained):
        assert tuple(getattr(event, name) for name in SEVEN) == ROW
    assert (chained.case_no, chained.prev_hash, chained.hash) == ("CQ-1", "0" * 64, "a" * 64)
    assert stored.chained("CQ-1") == chained


def test_recorded_event_to_dict_keeps_its_keys_order_and_cst_instant():
    shown = RecordedEvent(*ROW).to_dict()
    assert list(shown) == list(SEVEN)
    assert json.dumps(shown, ensure_ascii=False) == (
        '{"seq": 3, "event_type": "TaskCompleted", "occurred_at": "2026-03-02T09:00:00+08:00", "actor": "rv01", '
        '"element_id": "Task_review", "task_id": 17, "payload": {"data": {"decision": "同意"}}}')


def test_the_hash_of_a_chained_event_is_unchanged_and_verify_chain_reads_its_fields():
    fields_ = dict(zip(SEVEN, ROW), seq=1)
    digest = event_hash("0" * 64, case_no="CQ-1", **fields_)
    assert event_hash("0" * 64, case_no="CQ-1", **dict(zip(SEVEN, ROW))) == (
        "9e93f88a97c2a1d31582e479f86d64590aaa486e9310de1afe7fe877e894e1ad")   # computed by the code before
    assert verify_chain([ChainedEvent("CQ-1", *fields_.values(), "0" * 64, digest)], expected_head=digest).ok
    for changed in ({"case_no": "CQ-2"}, {"actor": "rv02"}, {"payload": {}}):
        event = ChainedEvent(**{"case_no": "CQ-1", **fields_, "prev_hash": "0" * 64, "hash": digest, **changed})
        assert verify_chain([event]).reason == "content does not match its hash"


def test_event_columns_select_the_rows_each_shape_builds_from():
    assert [c.key for c in event_columns(RecordedEvent)] == list(SEVEN)
    assert [c.key for c in event_columns(StoredEvent)] == [*SEVEN, "prev_hash", "hash"]
    assert [c.name for c in select(*event_columns(StoredEvent)).selected_columns] == [*SEVEN, "prev_hash", "hash"]
