"""After a replay reproduced every event, compare the case row's state with the one the replay left.

The events are hash-chained, the workflow snapshot is digested in the chain, but the case row's clocks (the
法定/承诺 budgets, T0, pauses and extensions) and the due instants derived from them are plain columns: an
edit of ``cases.clocks`` (a 20-day budget made 60) or of ``legal_due_at`` passed both ``verify`` and
``replay``, while the case page, the inbox lights and the 督办 timers read them. Every one of them follows from
the recorded inputs (``ClocksStarted``, ``ClockPaused``, ``DeadlineExtended`` ...), so the replay derives them
again and any difference is reported as a divergence of the case row (reason ``case_row``).

Clocks are compared as the engine reads them (:meth:`~engine.legal_clock.Clock.from_dict`, then
:meth:`~engine.legal_clock.Clock.to_dict`), so a stored document written by an older engine with the same
meaning still matches. A history file exported before these columns were carried compares status and end only.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from sqlalchemy import select

from .audit import canonical_json
from .legal_clock import Clock
from .legal_clock_records import ClockInvalid
from .persistence.models import Case

ROW_STATE_COLUMNS = ("clocks", "legal_due_at", "legal_yellow_at", "committed_due_at", "committed_yellow_at")
"""The case row's clock columns a history carries (besides ``status`` and ``ended_at``) for this comparison."""
COMPARED = ("status", "ended_at") + ROW_STATE_COLUMNS
NAMES = {"status": "状态", "ended_at": "办结时间", "clocks": "时限（法定/承诺计时）", "legal_due_at": "法定到期时间",
         "legal_yellow_at": "法定预警时间", "committed_due_at": "承诺到期时间", "committed_yellow_at": "承诺预警时间"}


def differences(recorded: Mapping[str, Any], replay_reader: Any, case_id: int) -> tuple[dict, dict] | None:
    """Return the differing columns as (recorded, replayed), each normalized; None when the row matches.

    ``recorded`` is the source case row as the history carries it; only the columns it carries are compared.
    ``replay_reader`` is a connection to the scratch database holding the replayed case ``case_id``.
    """
    carried = [c for c in COMPARED if c in recorded]
    row = replay_reader.execute(select(*(Case.__table__.c[c] for c in carried)).where(Case.id == case_id)).one()
    replay_reader.rollback()
    want = {c: _normal(c, recorded[c]) for c in carried}
    got = {c: _normal(c, value) for c, value in zip(carried, row)}
    differing = [c for c in carried if canonical_json(want[c]) != canonical_json(got[c])]
    if not differing:
        return None
    return {c: want[c] for c in differing}, {c: got[c] for c in differing}


def message(differing: Mapping[str, Any]) -> str:
    """The divergence's one line, naming the columns that differ in Chinese."""
    return f"办件记录的{'、'.join(NAMES[c] for c in differing)}与按记录事件重放的结果不同（办件记录被改动）"


def _normal(column: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if column == "clocks":
        return _clocks(value)
    return value


def _clocks(doc: Any) -> Any:
    """Each clock kind: the clock as the engine reads it, or ``pending`` while it waits for 受理."""
    if not isinstance(doc, Mapping):
        return doc
    out: dict[str, Any] = {}
    for kind, entry in doc.items():
        if not isinstance(entry, Mapping):
            out[kind] = entry
        elif "clock" in entry:
            try:
                out[kind] = Clock.from_dict(entry["clock"]).to_dict()
            except ClockInvalid:
                out[kind] = entry["clock"]          # unreadable: shown as stored, and it differs
        else:
            out[kind] = "pending" if entry.get("pending") else entry
    return out
