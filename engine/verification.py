"""Tamper evidence: check each case's hash chain from the stored events, one case or all of them.

Every event row carries the hash of the previous one (``engine.audit``); the case row carries the head.
Verification re-computes every hash from the stored fields, so an edited payload, a deleted or re-ordered
event, or a truncated tail (the head no longer matches) is found, with the first broken link reported.
Cases are read one at a time and their events streamed in order, so ``--all`` runs in constant memory.
A case whose tail was cut *and* whose head was moved back verifies on its own; the districts' sealed
daily heads (:mod:`engine.chain_heads`) catch that, for one case here and for all in ``check_chain_heads``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterator

from sqlalchemy import select

from .audit import ChainedEvent, verify_chain
from .chain_heads import first_sealed_problem
from .errors import NotFound
from .persistence.models import Case, CaseEvent


@dataclass(frozen=True)
class CaseVerification:
    """The outcome for one case: ``ok``, how many events were checked, and where the chain breaks."""

    case_id: int
    case_no: str
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (CLI ``--json`` and API)."""
        return {"case_id": self.case_id, "case_no": self.case_no, "ok": self.ok, "checked": self.checked,
                "broken_seq": self.broken_seq, "reason": self.reason}


def verify_case(engine: Any, case_ref: str | int) -> CaseVerification:
    """Verify one case, named by its id or its case number (办件编号)."""
    with engine.database.read_sessions() as session:
        stmt = select(Case.id, Case.case_no, Case.chain_head)
        stmt = stmt.where(Case.id == int(case_ref)) if str(case_ref).isdigit() else stmt.where(
            Case.case_no == str(case_ref))
        row = session.execute(stmt).one_or_none()
        if row is None:
            raise NotFound(f"办件 {case_ref} 不存在", details={"case": str(case_ref)})
        result = _verify(session, row.id, row.case_no, row.chain_head)
        sealed = first_sealed_problem(session, row.id) if result.ok else None
        if sealed is not None:
            return replace(result, ok=False, broken_seq=sealed.seq, reason=sealed.describe())
        return result


def verify_all(engine: Any, *, batch: int = 500) -> Iterator[CaseVerification]:
    """Verify every case in id order, yielding each result as it is known."""
    last = 0
    while True:
        with engine.database.read_sessions() as session:
            rows = session.execute(select(Case.id, Case.case_no, Case.chain_head).where(Case.id > last)
                                   .order_by(Case.id).limit(batch)).all()
            for row in rows:
                yield _verify(session, row.id, row.case_no, row.chain_head)
        if len(rows) < batch:
            return
        last = rows[-1].id


def _verify(session: Any, case_id: int, case_no: str, head: str) -> CaseVerification:
    events = session.execute(select(CaseEvent.seq, CaseEvent.event_type, CaseEvent.occurred_at, CaseEvent.actor,
                                    CaseEvent.element_id, CaseEvent.task_id, CaseEvent.payload,
                                    CaseEvent.prev_hash, CaseEvent.hash)
                             .where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
                             .execution_options(yield_per=1000))
    try:
        check = verify_chain((ChainedEvent(case_no, *row) for row in events), expected_head=head)
    finally:
        events.close()   # a broken chain stops reading early: release the server-side cursor now
    return CaseVerification(case_id, case_no, check.ok, check.checked, check.broken_seq,
                            chinese_reason(check.reason))


def chinese_reason(reason: str | None) -> str | None:
    """The reason in the words an auditor reads (verify_chain's reasons are fixed English phrases)."""
    if reason is None:
        return None
    if reason.startswith("expected seq"):
        expected, found = reason.removeprefix("expected seq ").split(", found ")
        return f"事件序号不连续：应为 {expected}，实际为 {found}（有事件被删除或插入）"
    return {
        "prev_hash does not match the previous event": "与前一事件的哈希链接不符（有事件被删除、插入或重排）",
        "content does not match its hash": "事件内容与其哈希不符（内容被修改）",
        "chain head differs from the case's recorded head": "最后一个事件与办件记录的链头不符（末尾事件被删除）",
    }.get(reason, reason)
