"""Daily chain heads per district: a sealed, append-only record that makes a cut tail of a case detectable.

A case's hash chain shows any edit inside it, but someone who deletes a case's last events and moves the
case row's head back leaves a chain that verifies. Once a day (the worker, or ``tongban audit seal``)
every district with events that day gets a head: for each of its cases, the last event of the day (seq
and hash), a hash over those, the day's event count, and the district's previous head hash, so the heads
form a chain of their own. The table refuses UPDATE and DELETE. ``tongban verify`` then finds every
sealed event that is missing or different, and names the district, day and case.

A day (China Standard Time) is sealed once it has ended, plus :data:`SEAL_GRACE` for commands still
committing at midnight. Events after the last sealed day are covered by the next seal, not before.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any, Iterator

from sqlalchemy import and_, func, select

from .audit import GENESIS, canonical_json
from .clock import CST
from .errors import InvalidInput
from .persistence.models import CaseEvent, ChainHead, ChainHeadCase

SEAL_GRACE = timedelta(minutes=5)
NO_DISTRICT = "-"
"""The district a case without an owning district is sealed under."""


@dataclass(frozen=True)
class SealedDay:
    """One district's head for one day; ``created`` is False when it had been sealed before."""

    district: str
    day: date
    event_count: int
    case_count: int
    head_hash: str
    created: bool


@dataclass(frozen=True)
class HeadProblem:
    """A sealed fact that no longer holds: where (district, day, case, event) and what differs."""

    district: str
    day: date
    case_no: str | None
    seq: int | None
    reason: str
    expected: str | None = None
    got: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``tongban verify --all --json``)."""
        return {"kind": "chain_head", **asdict(self), "day": self.day.isoformat()}

    def describe(self) -> str:
        """One line for people."""
        where = f"区县 {self.district} {self.day.isoformat()} 的链头"
        return f"{where}：办件 {self.case_no}：{self.reason}" if self.case_no else f"{where}：{self.reason}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants a CST calendar day starts and ends."""
    start = datetime.combine(day, time(0), tzinfo=CST)
    return start, start + timedelta(days=1)


def cases_hash(entries: list[tuple[str, int, str]]) -> str:
    """Hash over (case_no, seq, hash) of a day's cases, in case-id order."""
    digest = hashlib.sha256()
    for case_no, seq, event_hash in entries:
        digest.update(f"{case_no}\t{seq}\t{event_hash}\n".encode())
    return digest.hexdigest()


def head_hash(prev_hash: str, *, district: str, day: date, event_count: int, case_count: int,
              cases: str) -> str:
    """The head's own hash, linking it to the district's previous head."""
    body = canonical_json({"district": district, "day": day.isoformat(), "event_count": event_count,
                           "case_count": case_count, "cases_hash": cases})
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def seal_days(engine: Any, *, day: date | None = None, actor: str = "system:seal") -> list[SealedDay]:
    """Seal ``day``, or every day not sealed yet up to the last one that has ended; return the heads.

    Raises:
        InvalidInput: ``day`` has not ended yet (``SEAL_DAY_NOT_OVER``), or sealing it would skip an earlier
            day not sealed yet (``SEAL_DAY_GAP``): days are sealed in order.
    """
    now = engine.clock.now()
    last = (now - SEAL_GRACE).astimezone(CST).date() - timedelta(days=1)
    if day is not None and day > last:
        raise InvalidInput(f"{day.isoformat()} 尚未结束（或刚结束不足 {SEAL_GRACE.seconds // 60} 分钟），不能封存",
                           code="SEAL_DAY_NOT_OVER", details={"day": day.isoformat(), "last": last.isoformat()})
    with engine.services.uow() as uow:
        sealed, first = uow.chain_heads.last_sealed_day(), uow.chain_heads.first_event_at()
    if first is None:
        return []
    # Days are sealed in order, all districts of a day together, so "the latest sealed day" is the frontier.
    start = sealed + timedelta(days=1) if sealed is not None else first.astimezone(CST).date()
    if day is not None and day > start:
        raise InvalidInput(f"{start.isoformat()} 起的日期尚未封存：请先运行 tongban audit seal"
                           f"（不带 --day）按日期顺序封存", code="SEAL_DAY_GAP",
                           details={"day": day.isoformat(), "next": start.isoformat()})
    days = [day] if day is not None else [start + timedelta(days=n) for n in range((last - start).days + 1)]
    results: list[SealedDay] = []
    for one in days:
        results += _seal_one(engine, one, now, actor)
    return results


def _seal_one(engine: Any, day: date, now: datetime, actor: str) -> list[SealedDay]:
    start, end = day_bounds(day)
    results = []
    with engine.services.uow() as uow:
        repo = uow.chain_heads
        repo.lock_sealing()
        existing = repo.sealed_districts(day)
        for district, rows in groupby(repo.day_heads(start, end), key=lambda r: r.district):
            rows = list(rows)
            count = sum(r.n for r in rows)
            if district in existing:
                sealed = repo.head(district, day)
                results.append(SealedDay(district, day, sealed.event_count, sealed.case_count, sealed.head_hash,
                                         False))
                continue
            digest = cases_hash([(r.case_no, r.seq, r.hash) for r in rows])
            prev = repo.previous_head(district) or GENESIS
            head = head_hash(prev, district=district, day=day, event_count=count, case_count=len(rows),
                             cases=digest)
            repo.insert({"district": district, "day": day, "event_count": count, "case_count": len(rows),
                         "cases_hash": digest, "prev_hash": prev, "head_hash": head, "sealed_at": now,
                         "sealed_by": actor},
                        [{"case_id": r.case_id, "case_no": r.case_no, "seq": r.seq, "hash": r.hash} for r in rows])
            results.append(SealedDay(district, day, count, len(rows), head, True))
        uow.commit()
    return results


def heads_problems(session: Any) -> Iterator[HeadProblem]:
    """Every head whose link to the district's previous head, list of cases or own hash no longer holds."""
    entries: dict[int, tuple[str, int]] = {}
    rows = session.execute(select(ChainHeadCase.head_id, ChainHeadCase.case_no, ChainHeadCase.seq,
                                  ChainHeadCase.hash).order_by(ChainHeadCase.head_id, ChainHeadCase.case_id)
                           .execution_options(yield_per=5000))
    for head_id, group in groupby(rows, key=lambda r: r.head_id):
        listed = [(r.case_no, r.seq, r.hash) for r in group]
        entries[head_id] = (cases_hash(listed), len(listed))
    prev_by_district: dict[str, str] = {}
    for head in session.scalars(select(ChainHead).order_by(ChainHead.district, ChainHead.id)):
        problem = _head_problem(head, prev_by_district.get(head.district, GENESIS),
                                *entries.get(head.id, (cases_hash([]), 0)))
        if problem is not None:
            yield problem
        prev_by_district[head.district] = head.head_hash


def _head_problem(head: ChainHead, prev: str, digest: str, count: int) -> HeadProblem | None:
    """What is wrong with one head, given the head before it and the hash and number of its listed cases."""
    if head.prev_hash != prev:
        return HeadProblem(head.district, head.day, None, None, "与前一日链头的链接不符（有链头被删除或改动）",
                           prev, head.prev_hash)
    if (digest, count) != (head.cases_hash, head.case_count):
        return HeadProblem(head.district, head.day, None, None, "封存的办件清单与链头哈希不符（清单被改动）",
                           head.cases_hash, digest)
    if head_hash(prev, district=head.district, day=head.day, event_count=head.event_count,
                 case_count=head.case_count, cases=head.cases_hash) != head.head_hash:
        return HeadProblem(head.district, head.day, None, None, "链头内容与其哈希不符（链头被改动）")
    return None


def case_heads_problem(session: Any, case_id: int) -> HeadProblem | None:
    """The first problem with the heads that seal one case: their lists, their own hashes and their links.

    A cut tail whose sealed entry was edited to match the cut no longer disagrees with the case's events, but
    the head that lists it no longer matches its list. Each head is checked against the head before it and
    the head after it in its district, as :func:`heads_problems` checks them all.
    """
    heads = session.scalars(select(ChainHead).where(ChainHead.id.in_(
        select(ChainHeadCase.head_id).where(ChainHeadCase.case_id == case_id))).order_by(ChainHead.id)).all()
    for head in heads:
        listed = [(r.case_no, r.seq, r.hash) for r in session.execute(
            select(ChainHeadCase.case_no, ChainHeadCase.seq, ChainHeadCase.hash)
            .where(ChainHeadCase.head_id == head.id).order_by(ChainHeadCase.case_id))]
        in_district = select(ChainHead).where(ChainHead.district == head.district)
        before = session.scalars(in_district.where(ChainHead.id < head.id).order_by(ChainHead.id.desc())
                                 .limit(1)).first()
        problem = _head_problem(head, before.head_hash if before else GENESIS, cases_hash(listed), len(listed))
        if problem is not None:
            return problem
        after = session.scalars(in_district.where(ChainHead.id > head.id).order_by(ChainHead.id).limit(1)).first()
        if after is not None and after.prev_hash != head.head_hash:
            return HeadProblem(after.district, after.day, None, None, "与前一日链头的链接不符（有链头被删除或改动）",
                               head.head_hash, after.prev_hash)
    return None


def entries_problems(session: Any) -> Iterator[HeadProblem]:
    """Every sealed case whose sealed event is missing or different now (one problem per case, its first)."""
    stmt = (select(ChainHead.district, ChainHead.day, ChainHeadCase.case_id, ChainHeadCase.case_no,
                   ChainHeadCase.seq, ChainHeadCase.hash, CaseEvent.hash.label("now_hash"))
            .join(ChainHead, ChainHead.id == ChainHeadCase.head_id)
            .outerjoin(CaseEvent, and_(CaseEvent.case_id == ChainHeadCase.case_id,
                                       CaseEvent.seq == ChainHeadCase.seq))
            .where(func.coalesce(CaseEvent.hash, "") != ChainHeadCase.hash)
            .order_by(ChainHeadCase.case_id, ChainHeadCase.seq).execution_options(yield_per=1000))
    for _case_id, rows in groupby(session.execute(stmt), key=lambda r: r.case_id):
        yield _entry_problem(next(iter(rows)))


def first_sealed_problem(session: Any, case_id: int) -> HeadProblem | None:
    """The earliest sealed event of one case that is missing or different now, if any."""
    stmt = (select(ChainHead.district, ChainHead.day, ChainHeadCase.case_id, ChainHeadCase.case_no,
                   ChainHeadCase.seq, ChainHeadCase.hash, CaseEvent.hash.label("now_hash"))
            .join(ChainHead, ChainHead.id == ChainHeadCase.head_id)
            .outerjoin(CaseEvent, and_(CaseEvent.case_id == ChainHeadCase.case_id,
                                       CaseEvent.seq == ChainHeadCase.seq))
            .where(ChainHeadCase.case_id == case_id, func.coalesce(CaseEvent.hash, "") != ChainHeadCase.hash)
            .order_by(ChainHeadCase.seq).limit(1))
    row = session.execute(stmt).first()
    return None if row is None else _entry_problem(row)


def _entry_problem(row: Any) -> HeadProblem:
    if row.now_hash is None:
        reason = (f"封存时第 {row.seq} 个事件存在（哈希 {row.hash[:16]}…），现已不存在"
                  f"（办件末尾的事件被删除）")
    else:
        reason = f"第 {row.seq} 个事件的哈希与封存时不符（事件被替换）"
    return HeadProblem(row.district, row.day, row.case_no, row.seq, reason, row.hash, row.now_hash)
