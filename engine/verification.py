"""Tamper evidence: check each case's hash chain from the stored events, one case or all of them.

Every event row carries the hash of the previous one (``engine.audit``); the case row carries the head.
Verification re-computes every hash from the stored fields, so an edited payload, a deleted or re-ordered
event, or a truncated tail (the head no longer matches) is found, with the first broken link reported.
``--all`` reads the cases in batches and each batch's events in one ordered, streamed query, so it runs in
constant memory at thousands of cases a second.
A case whose tail was cut and whose head was moved back is caught by the case row's event count
(``event_seq``); one whose count was moved back too verifies on its own, and the districts' sealed daily heads
(:mod:`engine.chain_heads`) catch that, for one case here and for all in ``check_chain_heads``; a recount of
the case's sealed days (:mod:`engine.chain_recount`) finds its day's head deleted, an event written into a
sealed day, or the case moved to another district.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import groupby
from operator import itemgetter
from typing import Any, Iterable, Iterator

from sqlalchemy import Text, cast, func, literal, select

from .audit import COUNT_DIFFERS, STATE_DIFFERS, STATE_MISSING, ChainCheck, check_state, state_digest, verify_rows
from .chain_heads import case_heads_problem, first_sealed_problem
from .chain_recount import case_days_problem
from .errors import NotFound
from .persistence.models import Case, CaseEvent


# The payload as its stored JSON text (verify_rows parses each distinct text once).
_EVENT_COLUMNS = (CaseEvent.case_id, CaseEvent.seq, CaseEvent.event_type, CaseEvent.occurred_at, CaseEvent.actor,
                  CaseEvent.element_id, CaseEvent.task_id, cast(CaseEvent.payload, Text), CaseEvent.prev_hash,
                  CaseEvent.hash)
# On PostgreSQL the server writes the instant as the chain hashes it: reading a timestamptz into a datetime,
# moving it to UTC and formatting it again took a fifth of a ``verify --all`` pass in Python.
_PG_EVENT_COLUMNS = (*_EVENT_COLUMNS[:3],
                     func.to_char(func.timezone(literal("UTC"), CaseEvent.occurred_at),
                                  literal('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')).label("occurred_at"),
                     *_EVENT_COLUMNS[4:])


@dataclass(frozen=True)
class CaseVerification:
    """The outcome for one case: ``ok``, how many events were checked, and where the chain breaks."""

    case_id: int
    case_no: str
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None
    state_checked: bool = False
    """Whether the case's workflow snapshot was compared with the digest on its chain (older chains have none)."""
    state_differs: bool = False
    """The chain holds but the snapshot is not the one written with ``broken_seq`` (not ``ok`` then)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (CLI ``--json`` and API)."""
        return {"case_id": self.case_id, "case_no": self.case_no, "ok": self.ok, "checked": self.checked,
                "broken_seq": self.broken_seq, "reason": self.reason, "state_checked": self.state_checked,
                "state_differs": self.state_differs}


def verify_case(engine: Any, case_ref: str | int) -> CaseVerification:
    """Verify one case, named by its id or its case number (办件编号)."""
    with engine.database.read_sessions() as session:
        stmt = select(Case.id, Case.case_no, Case.chain_head, Case.event_seq, _state_column(session))
        stmt = stmt.where(Case.id == int(case_ref)) if str(case_ref).isdigit() else stmt.where(
            Case.case_no == str(case_ref))
        row = session.execute(stmt).one_or_none()
        if row is None:
            raise NotFound(f"办件 {case_ref} 不存在", details={"case": str(case_ref)})
        result = _verify(session, row.id, row.case_no, row.chain_head, row.event_seq, _digest(session, row.state))
        # A tail cut with the head moved back also leaves the snapshot without its digest on the chain (or the
        # chain without any digest): the sealed head names the cause, so it is reported first. So does a head
        # that no longer matches its list (a sealed entry edited to match the cut).
        snapshot_problem = result.state_differs or result.reason == chinese_reason(STATE_MISSING)
        sealed = (first_sealed_problem(session, row.id) or case_heads_problem(session, row.id)
                  or case_days_problem(session, row.id) if result.ok or snapshot_problem else None)
        if sealed is not None:
            return replace(result, ok=False, broken_seq=sealed.seq, reason=sealed.describe(), state_differs=False)
        return result


def verify_all(engine: Any, *, batch: int = 500) -> Iterator[CaseVerification]:
    """Verify every case in id order, yielding each result as it is known.

    Cases are read ``batch`` at a time, and the events of a batch in one query ordered by (case, seq),
    streamed: each case's chain is checked as its rows arrive, so memory stays flat and the round trips
    per case stay far below one.
    """
    last = 0
    while True:
        with engine.database.read_sessions() as session:
            cases = session.execute(select(Case.id, Case.case_no, Case.chain_head, Case.event_seq,
                                           _state_column(session)).where(Case.id > last)
                                    .order_by(Case.id).limit(batch)).all()
            if not cases:
                return
            # Core, not the ORM: its per-row bookkeeping cost twice the reading itself.
            rows = session.connection().execute(
                select(*_event_columns(session)).where(CaseEvent.case_id.between(cases[0].id, cases[-1].id))
                .order_by(CaseEvent.case_id, CaseEvent.seq).execution_options(yield_per=2000))
            try:
                yield from _verify_batch(cases, rows, hashed=_hashed_in_sql(session))
            finally:
                rows.close()
        if len(cases) < batch:
            return
        last = cases[-1].id


def _verify_batch(cases: list[Any], rows: Iterable[Any], *, hashed: bool) -> Iterator[CaseVerification]:
    """Pair each case (in id order) with its group of event rows (ordered by case id, then seq)."""
    groups = groupby(rows, key=itemgetter(0))
    pending = next(groups, None)
    for case in cases:
        # Events of an id between two listed cases cannot exist (case_events.case_id references cases.id).
        while pending is not None and pending[0] < case.id:
            pending = next(groups, None)
        mine: Iterable[Any] = ()
        if pending is not None and pending[0] == case.id:
            mine, pending = pending[1], None
        check = verify_rows(case.case_no, mine, expected_head=case.chain_head, expected_count=case.event_seq)
        yield _result(case.id, case.case_no, check, case.state if hashed else _snapshot_digest(case.state))
        if pending is None:
            pending = next(groups, None)   # skips what a broken chain left unread of its own group


def _verify(session: Any, case_id: int, case_no: str, head: str, count: int,
            snapshot: str | None) -> CaseVerification:
    events = session.connection().execute(select(*_event_columns(session)).where(CaseEvent.case_id == case_id)
                                          .order_by(CaseEvent.seq).execution_options(yield_per=1000))
    try:
        check = verify_rows(case_no, events, expected_head=head, expected_count=count)
    finally:
        events.close()   # a broken chain stops reading early: release the server-side cursor now
    return _result(case_id, case_no, check, snapshot)


def _result(case_id: int, case_no: str, check: ChainCheck, snapshot: str | None) -> CaseVerification:
    """``snapshot``: the digest of the case's stored workflow snapshot, compared with the chain's last one."""
    check = check_state(check, snapshot)
    return CaseVerification(case_id, case_no, check.ok, check.checked, check.broken_seq,
                            chinese_reason(check.reason),
                            state_checked=check.state_digest is not None or check.digests_expected,
                            state_differs=(check.reason or "").startswith(STATE_DIFFERS))


def _event_columns(session: Any) -> tuple[Any, ...]:
    return _PG_EVENT_COLUMNS if _hashed_in_sql(session) else _EVENT_COLUMNS


def _hashed_in_sql(session: Any) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _state_column(session: Any) -> Any:
    """The case's snapshot as verification reads it: its digest on PostgreSQL, else the text (hashed here).

    PostgreSQL hashes the snapshot where it is stored, so ``verify --all`` reads 64 characters per case
    instead of the whole snapshot.
    """
    if _hashed_in_sql(session):
        return func.encode(func.sha256(func.convert_to(Case.workflow_state, literal("UTF8"))),
                           literal("hex")).label("state")
    return Case.workflow_state.label("state")


def _digest(session: Any, state: str | None) -> str | None:
    return state if _hashed_in_sql(session) else _snapshot_digest(state)


def _snapshot_digest(snapshot: str | None) -> str | None:
    return None if snapshot is None else state_digest(snapshot)


def chinese_reason(reason: str | None) -> str | None:
    """The reason in the words an auditor reads (verify_chain's reasons are fixed English phrases)."""
    if reason is None:
        return None
    if reason.startswith("expected seq"):
        expected, found = reason.removeprefix("expected seq ").split(", found ")
        return f"事件序号不连续：应为 {expected}，实际为 {found}（有事件被删除或插入）"
    if reason.startswith(STATE_DIFFERS):
        seq = reason.removeprefix(STATE_DIFFERS).strip()
        return f"办件的流程状态快照与第 {seq} 个事件记下的摘要不符：当前快照不是引擎在该事件时写入的那一份"
    if reason == STATE_MISSING:
        return ("链上没有流程状态快照的摘要，而写下这条链的引擎每次写快照都会记下摘要"
                "（带摘要的末尾事件可能被删除后链头被改回）")
    if reason.startswith(COUNT_DIFFERS):
        counts = [int(n) for n in re.findall(r"\d+", reason.removeprefix(COUNT_DIFFERS))]
        if len(counts) != 2:
            return "事件数与办件记录不符（可能末尾事件被删除后链头被改回，或办件记录被改动）"
        recorded, found = counts
        if recorded > found:
            return (f"事件数与办件记录不符：记录为 {recorded} 个，链上只有 {found} 个"
                    "（可能末尾事件被删除后链头被改回，或办件记录被改动）")
        return (f"事件数与办件记录不符：记录为 {recorded} 个，链上却有 {found} 个"
                "（可能办件记录被改动，或链上多出了事件）")
    return {
        "prev_hash does not match the previous event": "与前一事件的哈希链接不符（有事件被删除、插入或重排）",
        "content does not match its hash": "事件内容与其哈希不符（内容被修改）",
        "chain head differs from the case's recorded head": ("最后一个事件与办件记录的链头不符"
                                                              "（末尾事件被删除，或办件记录被改动）"),
    }.get(reason, reason)
