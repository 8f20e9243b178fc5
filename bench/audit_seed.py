"""Seed many audited cases fast: valid hash chains built with ``engine.audit``, COPYed into PostgreSQL.

Each case gets the ten events of a short 补正循环 run (started, two rounds of the work task, completed),
with a 办件编号, an actor, elements, task ids and form data, chained exactly as the engine chains them
(``engine.audit.event_hash``), and its head on the case row. Like the engine, the last event of each command
that wrote a snapshot (start, both completions) records the snapshot's digest, and the case row holds a
final snapshot of about 12 KB shaped like SpiffWorkflow's (its own task ids), so verification hashes what it
would hash in production. Rows go in through ``COPY`` in one pass, so
100,000 cases (1,000,000 events) load in well under a minute plus the hashing.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from engine.audit import GENESIS, STATE_DIGEST, event_hash, state_digest

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
BATCH = 5_000
CASE_COLUMNS = ("id", "case_no", "definition_id", "process_key", "title", "status", "owning_district",
                "receiving_district", "started_by", "started_at", "updated_at", "ended_at", "event_seq",
                "chain_head", "serializer_version", "workflow_state", "version")
EVENT_COLUMNS = ("case_id", "seq", "event_type", "occurred_at", "actor", "element_id", "task_id", "payload",
                 "prev_hash", "hash")


def _template(case: int) -> list[tuple[str, str | None, str | None, int | None, dict[str, Any]]]:
    """The ten events of one case: (type, actor, element, task id, payload).

    Payloads are shaped like the engine's: what a case submits (start data, opinions) is its own, while
    clocks repeat per day and task and flow payloads per element, as they do in production logs.
    """
    task, day = case * 2, (START + timedelta(minutes=case)).date().isoformat()
    created = {"name": "办理", "candidate_groups": ["reviewer@500103/zhujian"], "form_key": "loop_round"}
    return [
        ("CaseStarted", "window_yz", None, None,
         {"process_key": "loop", "definition_version": 1, "content_hash": "b" * 64,
          "owning_district": "500103", "receiving_district": "500103",
          "data": {"applicant": f"重庆某建设有限公司第{case}分公司", "applicant_id_number": "500103198506120317",
                   "project": f"渝中区某项目 {case} 号楼"}}),
        ("ClocksStarted", "window_yz", None, None,
         {"clocks": {"legal": {"budget": {"amount": 20, "unit": "workday"}, "t0": day},
                     "committed": {"budget": {"amount": 10, "unit": "workday"}, "t0": day}}}),
        ("FlowAdvanced", "window_yz", None, None, {"elements": ["start"]}),
        ("TaskCreated", "window_yz", "work", task, created),
        ("TaskClaimed", "rv", "work", task, {}),
        ("TaskCompleted", "rv", "work", task,
         {"data": {"round": 0, "done": False, "opinion": f"办件 {case}：缺少第 {case % 7 + 1} 项材料，请补正"}}),
        ("FlowAdvanced", "rv", None, None, {"elements": ["decide", "work"]}),
        ("TaskCreated", "rv", "work", task + 1, created),
        ("TaskCompleted", "rv", "work", task + 1,
         {"data": {"round": 1, "done": True, "opinion": f"办件 {case}：补正材料齐全，同意"}}),
        ("CaseCompleted", "rv", None, None, {}),
    ]


_COMMAND_ENDS = (3, 7, 9)
"""Indexes in :func:`_template` of the last event of a command that wrote a snapshot (start, two completions)."""


def _snapshot(case_id: int, *, final: bool) -> str:
    """A workflow snapshot of the case's own shape and size (36 tasks, about 12 KB of JSON)."""
    ids = [hashlib.md5(f"{case_id}:{i}".encode()).hexdigest() for i in range(36)]
    tasks = {tid: {"id": tid, "parent": ids[i - 1] if i else None, "children": [ids[i + 1]] if i < 35 else [],
                   "last_state_change": 1772413200.0 + case_id + i, "state": 64 if final or i < 30 else 16,
                   "task_spec": ("start", "decide", "work", "join", "end")[i % 5], "triggered": False,
                   "internal_data": {}, "data": {"round": i % 3, "done": final and i > 33}, "typename": "Task"}
             for i, tid in enumerate(ids)}
    return json.dumps({"spec": "loop", "data": {"round": 1, "done": final}, "root": ids[0], "last_task": ids[-1],
                       "success": True, "completed": final, "tasks": tasks, "subprocesses": {}, "bpmn_events": [],
                       "correlations": {}, "typename": "TongbanWorkflow"}, ensure_ascii=False, separators=(",", ":"))


def chained_case(case_id: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """One case row and its event rows (COPY order), with a valid hash chain."""
    case_no = f"BA{case_id:012d}"
    at, prev, rows = START + timedelta(minutes=case_id), GENESIS, []
    snapshot = _snapshot(case_id, final=True)
    for seq, (kind, actor, element, task, payload) in enumerate(_template(case_id), start=1):
        if seq - 1 in _COMMAND_ENDS:   # earlier snapshots are gone: only their digests stay on the chain
            written = snapshot if seq - 1 == _COMMAND_ENDS[-1] else f"{case_id}:{seq}"
            payload = {**payload, STATE_DIGEST: state_digest(written)}
        occurred = at + timedelta(seconds=seq)
        digest = event_hash(prev, case_no=case_no, seq=seq, event_type=kind, occurred_at=occurred, actor=actor,
                            element_id=element, task_id=task, payload=payload)
        rows.append((case_id, seq, kind, occurred, actor, element, task, json.dumps(payload, ensure_ascii=False),
                     prev, digest))
        prev = digest
    return (case_id, case_no, None, "loop", "审计基准办件", "completed", "500103", "500103", "window_yz", at,
            occurred, occurred, len(rows), prev, "bench", snapshot, 1), rows


def seed_cases(raw_connection: Any, definition_id: int, cases: int,
               progress: Callable[[int], None] = lambda done: None) -> int:
    """COPY ``cases`` chained cases (ids 1..n) and their events, a batch per transaction; return the event count."""
    events = 0
    cursor = raw_connection.cursor()
    for first in range(1, cases + 1, BATCH):
        built = [chained_case(case_id) for case_id in range(first, min(first + BATCH, cases + 1))]
        with cursor.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
            for case, _rows in built:
                copy.write_row((*case[:2], definition_id, *case[3:]))
        with cursor.copy(f"COPY case_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for _case, rows in built:
                for row in rows:
                    copy.write_row(row)
                events += len(rows)
        raw_connection.commit()
        progress(first + len(built) - 1)
    cursor.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), %s)", (cases,))
    raw_connection.commit()
    raw_connection.autocommit = True
    cursor.execute("VACUUM ANALYZE cases")
    cursor.execute("VACUUM ANALYZE case_events")
    raw_connection.autocommit = False
    return events
