"""SQL for the auditors' tables: archive package jobs and the sealed daily chain heads."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Sequence

from sqlalchemy import and_, bindparam, case, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from .compiled import hot
from .models import Archive, Case, CaseEvent, ChainHead, ChainHeadCase

archives = Archive.__table__
heads = ChainHead.__table__
head_cases = ChainHeadCase.__table__
events = CaseEvent.__table__
cases = Case.__table__

_ENQUEUE = {
    name: hot(dialect.insert(archives).values(
        case_id=bindparam("b_case_id"), case_no=bindparam("b_case_no"), state="pending", attempts=0,
        enqueued_at=bindparam("b_at"), available_at=bindparam("b_at")).inline().on_conflict_do_update(
        index_elements=[archives.c.case_id], set_={
            "state": "pending", "attempts": 0, "enqueued_at": bindparam("b_at"), "available_at": bindparam("b_at"),
            "locked_by": None, "locked_until": None, "last_error": None}))
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}

UNFINISHED = "归档生成未完成（进程中断）"
"""``last_error`` of a job whose worker stopped while building it (its lease ran out)."""

SEAL_LOCK = 7_424_631_001
"""PostgreSQL advisory lock key held while sealing, so concurrent sealers never fork a district's chain."""


class ArchiveRepository:
    """The ``archives`` job rows: queued in the closing transaction, leased by workers, finished once."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def _conn(self) -> Any:
        return self.uow.connection

    def enqueue(self, case_id: int, case_no: str, now: datetime) -> None:
        """Queue (or re-queue) the case's package for building from ``now``."""
        # Deferred: sent with the closing transaction's other writes and COMMIT.
        self.uow.defer(_ENQUEUE[self._conn.dialect.name], {"b_case_id": case_id, "b_case_no": case_no, "b_at": now})

    def enqueue_missing(self, now: datetime) -> int:
        """Queue every closed case that has no job yet (cases closed before archiving existed); return how many."""
        at = literal(now, archives.c.enqueued_at.type)
        missing = (select(cases.c.id, cases.c.case_no, literal("pending"), literal(0), at, at)
                   .where(cases.c.status == "completed",
                          ~select(archives.c.id).where(archives.c.case_id == cases.c.id).exists()))
        result = self._conn.execute(insert(archives).from_select(
            ["case_id", "case_no", "state", "attempts", "enqueued_at", "available_at"], missing)
            .returning(archives.c.id))
        return len(result.all())

    def claim(self, now: datetime, *, worker: str, lease_until: datetime, limit: int,
              case_id: int | None = None, max_attempts: int | None = None) -> list[Any]:
        """Lease due jobs (pending and available, or building with an expired lease); return their rows.

        A ``building`` job whose lease ran out was not finished by its worker (the process died: the OOM
        killer, a crash in native code), so its ``except`` path never recorded the failure. With
        ``max_attempts``, such a job that has had its last attempt becomes ``failed`` here
        (:data:`UNFINISHED`) instead of being leased again, and killing one more worker.
        """
        lapsed = and_(archives.c.state == "building", archives.c.locked_until < now)
        if max_attempts is not None:
            dead = and_(lapsed, archives.c.attempts >= max_attempts)
            if case_id is not None:
                dead = and_(dead, archives.c.case_id == case_id)
            self._conn.execute(update(archives).where(dead).values(
                state="failed", locked_by=None, locked_until=None, last_error=UNFINISHED))
            lapsed = and_(lapsed, archives.c.attempts < max_attempts)
        due = or_(and_(archives.c.state == "pending", archives.c.available_at <= now), lapsed)
        stmt = select(archives.c.id).where(due).order_by(archives.c.available_at, archives.c.id).limit(limit)
        if case_id is not None:
            stmt = select(archives.c.id).where(archives.c.case_id == case_id, due)
        if self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(self._conn.execute(stmt).scalars())
        if not ids:
            return []
        rows = self._conn.execute(update(archives).where(archives.c.id.in_(ids)).values(
            state="building", locked_by=worker, locked_until=lease_until, attempts=archives.c.attempts + 1,
            last_error=case((archives.c.state == "building", UNFINISHED), else_=archives.c.last_error))
            .returning(archives.c.id, archives.c.case_id, archives.c.case_no, archives.c.attempts))
        return sorted(rows.all())

    def finish(self, archive_id: int, worker: str, **values: Any) -> bool:
        """Mark a leased job built with ``values``; False when the lease was lost to another worker."""
        result = self._conn.execute(update(archives).where(
            archives.c.id == archive_id, archives.c.state == "building", archives.c.locked_by == worker)
            .values(state="built", locked_by=None, locked_until=None, last_error=None, **values))
        return result.rowcount == 1

    def fail(self, archive_id: int, worker: str, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed build: pending again from ``retry_at``, or ``failed`` when None."""
        self._conn.execute(update(archives).where(archives.c.id == archive_id, archives.c.locked_by == worker)
                           .values(state="pending" if retry_at is not None else "failed", locked_by=None,
                                   locked_until=None, last_error=error[:2000],
                                   **({"available_at": retry_at} if retry_at is not None else {})))

    def by_case(self, case_id: int) -> Any:
        """The job row of a case, or None."""
        return self._conn.execute(select(archives).where(archives.c.case_id == case_id)).one_or_none()

    def listing(self, *, state: str | None, limit: int, case_id: int | None = None) -> Sequence[Any]:
        """Newest jobs first."""
        stmt = (select(archives).order_by(archives.c.enqueued_at.desc(), archives.c.id.desc()).limit(limit))
        if state is not None:
            stmt = stmt.where(archives.c.state == state)
        if case_id is not None:
            stmt = stmt.where(archives.c.case_id == case_id)
        return self._conn.execute(stmt).all()


def day_heads_query(start: datetime, end: datetime) -> Any:
    """Per case with events in [start, end): district, case id and number, last seq there, its hash, count.

    Ordered by district, then case id: what a day's heads are sealed from, and what verify recounts.
    """
    grouped = (select(func.coalesce(cases.c.owning_district, "-").label("district"),
                      events.c.case_id, cases.c.case_no, func.max(events.c.seq).label("seq"),
                      func.count().label("n"))
               .select_from(events.join(cases, cases.c.id == events.c.case_id))
               .where(events.c.occurred_at >= start, events.c.occurred_at < end)
               .group_by(cases.c.owning_district, events.c.case_id, cases.c.case_no)).subquery()
    return (select(grouped.c.district, grouped.c.case_id, grouped.c.case_no, grouped.c.seq, grouped.c.n,
                   events.c.hash)
            .join(events, and_(events.c.case_id == grouped.c.case_id, events.c.seq == grouped.c.seq))
            .order_by(grouped.c.district, grouped.c.case_id))


class ChainHeadRepository:
    """Sealed daily heads per district, and the facts they are sealed from."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def _conn(self) -> Any:
        return self.uow.connection

    def lock_sealing(self) -> None:
        """Serialize sealers (PostgreSQL advisory lock; SQLite writers are serialized by BEGIN IMMEDIATE)."""
        if self._conn.dialect.name == "postgresql":
            self._conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK})

    def last_sealed_day(self) -> date | None:
        """The latest day any district has a head for."""
        return self._conn.execute(select(func.max(heads.c.day))).scalar()

    def first_event_at(self) -> datetime | None:
        """When the earliest audit event happened."""
        return self._conn.execute(select(func.min(events.c.occurred_at))).scalar()

    def sealed_districts(self, day: date) -> set[str]:
        """Districts that already have a head for ``day``."""
        return set(self._conn.execute(select(heads.c.district).where(heads.c.day == day)).scalars())

    def head(self, district: str, day: date) -> Any:
        """The sealed head of ``district`` for ``day``."""
        return self._conn.execute(select(heads).where(heads.c.district == district, heads.c.day == day)).one()

    def day_heads(self, start: datetime, end: datetime) -> list[Any]:
        """Per case with events in [start, end): district, case, its last seq there, that event's hash, count."""
        return self._conn.execute(day_heads_query(start, end)).all()

    def previous_head(self, district: str) -> str | None:
        """The district's latest head hash (by insertion), or None before its first."""
        return self._conn.execute(select(heads.c.head_hash).where(heads.c.district == district)
                                  .order_by(heads.c.id.desc()).limit(1)).scalar()

    def insert(self, head: dict[str, Any], entries: list[dict[str, Any]]) -> int:
        """Insert one head and its case entries; return the head's id."""
        head_id = self._conn.execute(insert(heads).returning(heads.c.id), [head]).scalar_one()
        for start in range(0, len(entries), 1000):
            self._conn.execute(insert(head_cases), [{**e, "head_id": head_id} for e in entries[start:start + 1000]])
        return int(head_id)
