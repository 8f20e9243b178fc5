"""A small set of case rows with hand-computable metrics, written straight into the tables.

The clock stands at Wednesday 2026-12-02 10:00 Beijing time. November 2026 holds 9 received cases (C1-C6,
C8, C11, C12), C7 was received in October and completed in November, C9 was received on 1 December at
00:30 (Beijing time: it belongs to December although it is still 30 November in UTC). ``EXPECTED_NOVEMBER``
and the per-district and per-matter figures below were worked out by hand from the rows.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, insert

from engine import CST
from engine.persistence.models import Case, MatterVersion, ProcessDefinition

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=CST)
M1, M2 = "TESTM1", "TESTM2"
MATTER_NAMES = {M1: "测试事项甲", M2: "测试事项乙"}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant of 2026 in Beijing time."""
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


def midnight_after(month: int, day: int) -> datetime:
    """The end of a due day (the stored due instants are the midnight after it)."""
    return at(month, day, 0) + timedelta(days=1)


# name: owning, receiving, department, matter, started, accepted, ended, and the other columns
ROWS: dict[str, dict[str, Any]] = {
    "C1": dict(owning="500103", dept="zhujian", matter=M1, started=at(11, 2), accepted=at(11, 2), ended=at(11, 10, 15),
               channel="counter", visits=1, legal=(6, 20, False), committed=(6, 10, False)),
    "C2": dict(owning="500103", dept="zhujian", matter=M1, started=at(11, 3), accepted=at(11, 4), ended=at(11, 20),
               channel="counter", corrections=1, visits=2, legal=(12, 20, False), committed=(12, 10, True)),
    "C3": dict(owning="500103", receiving="500101", dept="zhujian", matter=M2, started=at(11, 5), accepted=at(11, 5),
               ended=at(11, 6), channel="counter", tolerance=True, visits=2, legal=(1, 20, False),
               committed=(1, 10, False)),
    "C4": dict(owning="500101", dept="shichang", matter=M2, started=at(11, 10), accepted=at(11, 10),
               legal_due_at=midnight_after(11, 20), legal_yellow_at=midnight_after(11, 19),
               committed_due_at=midnight_after(11, 15), committed_yellow_at=midnight_after(11, 14)),
    "C5": dict(owning="500101", dept="shichang", matter=M2, started=at(11, 12)),
    "C6": dict(owning="500103", dept="zhujian", matter=M1, started=at(11, 16), accepted=at(11, 16),
               committed_yellow_at=midnight_after(12, 1), committed_due_at=midnight_after(12, 3),
               legal_yellow_at=midnight_after(12, 10), legal_due_at=midnight_after(12, 14)),
    "C7": dict(owning="500103", dept="zhujian", matter=M1, started=at(10, 28), accepted=at(10, 29), ended=at(11, 5),
               visits=0, legal=(5, 20, False), committed=(5, 10, False)),
    "C8": dict(owning="500101", dept="shichang", matter=M2, started=at(11, 20, 9), accepted=at(11, 20, 9),
               ended=at(11, 20, 11), channel="counter", visits=1, legal=(0, 20, False), committed=(0, 0, False)),
    "C9": dict(owning="500114", dept="zhujian", matter=M1, started=at(12, 1, 0, 30)),
    "C11": dict(owning="500101", dept=None, matter=None, started=at(11, 18), accepted=at(11, 18), ended=at(11, 19)),
    "C12": dict(owning="500103", dept="zhujian", matter=M1, started=at(11, 30, 23, 30)),
}

EXPECTED_NOVEMBER = {
    "received": 9, "accepted": 7, "completed": 6, "cross_district": 1, "one_visit": 4, "corrected": 1,
    "tolerated": 1, "late_legal": 0, "late_committed": 1, "in_progress": 4, "overdue_legal": 1,
    "overdue_committed": 1, "overdue": 1, "near_due": 1,
    "legal_cases": 5, "legal_avg_days": 4.8, "legal_p90_days": 12, "legal_avg_limit": 20.0, "legal_speedup": 0.76,
    "committed_cases": 5, "committed_avg_days": 4.8, "committed_p90_days": 12, "committed_avg_limit": 8.0,
    "committed_speedup": 0.4, "one_visit_rate": 0.6667, "correction_rate": 0.1667, "tolerance_rate": 0.1667,
    "cross_district_rate": round(1 / 9, 4),
}
EXPECTED_BY_DISTRICT = {
    "500103": {"received": 5, "accepted": 4, "completed": 4, "in_progress": 2, "near_due": 1, "overdue": 0,
               "cross_district": 1, "legal_avg_days": 6.0, "legal_p90_days": 12, "one_visit_rate": 0.5},
    "500101": {"received": 4, "accepted": 3, "completed": 2, "in_progress": 2, "near_due": 0, "overdue": 1,
               "cross_district": 0, "legal_avg_days": 0.0, "legal_p90_days": 0, "one_visit_rate": 1.0},
}
EXPECTED_BY_MATTER = {
    M1: {"received": 4, "completed": 3, "in_progress": 2, "legal_avg_days": round(23 / 3, 2), "late_committed": 1},
    M2: {"received": 4, "completed": 2, "in_progress": 2, "legal_avg_days": 0.5, "overdue": 1},
    "": {"received": 1, "completed": 1, "in_progress": 0, "legal_avg_days": None},
}


def insert_dataset(engine: Engine) -> dict[str, int]:
    """Insert the matters, a definition and the case rows; return case ids by name."""
    now = NOW.astimezone(timezone.utc)
    with engine.begin() as conn:
        definition_id = conn.execute(insert(ProcessDefinition).returning(ProcessDefinition.id), [{
            "process_key": "metrics_test", "version": 1, "name": "效能测试流程", "content_hash": "0" * 64,
            "bpmn_xml": "<bpmn/>", "resources": {}, "form_refs": {}, "meta": {}, "deployed_at": now}]).scalar_one()
        for code, name in MATTER_NAMES.items():
            conn.execute(insert(MatterVersion), [{
                "code": code, "version": 1, "content_hash": code.ljust(64, "0"), "name": name,
                "process_key": "metrics_test", "doc": {"code": code, "name": name}, "deployed_at": now,
                "deployed_by": "test"}])
        ids = {}
        for n, (name, row) in enumerate(ROWS.items(), start=1):
            ids[name] = conn.execute(insert(Case).returning(Case.id), [_case_row(n, name, row, definition_id)]
                                     ).scalar_one()
    return ids


def _case_row(n: int, name: str, row: dict[str, Any], definition_id: int) -> dict[str, Any]:
    ended = row.get("ended")
    values: dict[str, Any] = {
        "case_no": f"TBTEST{n:06d}", "definition_id": definition_id, "process_key": "metrics_test",
        "title": f"效能测试办件 {name}", "status": "completed" if ended else "running",
        "owning_district": row["owning"], "receiving_district": row.get("receiving", row["owning"]),
        "started_by": "window_yz", "started_at": row["started"], "updated_at": ended or row["started"],
        "ended_at": ended, "event_seq": 0, "chain_head": "0" * 64, "serializer_version": "test",
        "workflow_state": "", "version": 1, "matter_code": row["matter"], "matter_version": 1 if row["matter"] else None,
        "department": row["dept"], "channel": row.get("channel"), "accepted_at": row.get("accepted"),
        "corrections": row.get("corrections", 0), "tolerance": row.get("tolerance", False),
        "visits": row.get("visits", 0), "facts_version": 1,
    }
    for key in ("legal_due_at", "legal_yellow_at", "committed_due_at", "committed_yellow_at"):
        values[key] = row.get(key)
    for kind in ("legal", "committed"):
        used, limit, late = row.get(kind, (None, None, None))
        values.update({f"{kind}_used_days": used, f"{kind}_limit_days": limit, f"{kind}_late": late})
    return values
