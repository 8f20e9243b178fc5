"""The outbox and buffer (``messages``), rejected envelopes and linked cases, in Core statements.

Workers claim due rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single-writer lock on
SQLite) exactly as the timer worker does; delivery then locks the one row again inside the receiver's
transaction and only a row still ``pending`` is delivered, so a lease that ran out never delivers twice.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from .models import Case, CaseLink, Message, MessageRejection

messages = Message.__table__
rejections = MessageRejection.__table__
links = CaseLink.__table__
cases = Case.__table__


class MessageRepository:
    """Rows of ``messages``, ``message_rejections`` and ``case_links`` for the unit of work's transaction."""

    def __init__(self, uow: Any):
        self.uow = uow

    @property
    def _conn(self) -> Any:
        return self.uow.connection

    def insert(self, rows: list[dict[str, Any]]) -> None:
        """Write outbox rows (a known idempotency key fails the transaction: nothing is sent twice)."""
        if rows:
            self._conn.execute(insert(messages), rows)

    def insert_one(self, row: dict[str, Any]) -> int:
        """Write one message row and return its id."""
        return int(self._conn.execute(insert(messages).returning(messages.c.id), [row]).scalar_one())

    def sent_count(self, case_id: int, element_id: str) -> int:
        """How many messages ``element_id`` of the case has thrown so far (its occurrence counter)."""
        return int(self._conn.execute(select(func.count()).select_from(messages).where(
            messages.c.sender_case_id == case_id, messages.c.sender_element == element_id)).scalar_one())

    def key_exists(self, key: str) -> bool:
        """Whether a message with this idempotency key was ever written."""
        return self._conn.execute(select(messages.c.id).where(messages.c.idempotency_key == key)).first() is not None

    def claim(self, now: datetime, *, worker: str, lease_until: datetime, limit: int) -> list[int]:
        """Lease up to ``limit`` pending messages that are due; return their ids, oldest first."""
        due = (select(messages.c.id).where(messages.c.state == "pending", messages.c.available_at <= now,
                                           or_(messages.c.locked_until.is_(None), messages.c.locked_until < now))
               .order_by(messages.c.available_at, messages.c.id).limit(limit))
        if self._conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(self._conn.execute(due).scalars())
        if ids:
            self._conn.execute(update(messages).where(messages.c.id.in_(ids))
                               .values(locked_by=worker, locked_until=lease_until))
        return ids

    def lock(self, message_id: int) -> Any:
        """Read one message row for update (None when there is no such row)."""
        stmt = select(messages).where(messages.c.id == message_id).with_for_update()
        return self._conn.execute(stmt).mappings().one_or_none()

    def get(self, message_id: int) -> Any:
        """Read one message row."""
        return self._conn.execute(select(messages).where(messages.c.id == message_id)).mappings().one_or_none()

    def mark_delivered(self, message_id: int, receiver_case_id: int, now: datetime) -> None:
        """The receiver caught the message in this transaction."""
        self._conn.execute(update(messages).where(messages.c.id == message_id).values(
            state="delivered", receiver_case_id=receiver_case_id, delivered_at=now, locked_by=None,
            locked_until=None, attempts=messages.c.attempts + 1))

    def defer(self, message_id: int, *, until: datetime, error: str | None = None, failed: bool = False,
              state: str = "pending") -> None:
        """Keep the message for later (buffered, or after a failure), or move it to ``state``."""
        values: dict[str, Any] = {"available_at": until, "locked_by": None, "locked_until": None, "state": state}
        if error is not None:
            values["last_error"] = error[:2000]
        if failed:
            values["attempts"] = messages.c.attempts + 1
        self._conn.execute(update(messages).where(messages.c.id == message_id).values(**values))

    def resolve(self, message_id: int, *, state: str, by: str, now: datetime) -> None:
        """An administrator sent a message back to the queue (``pending``) or discarded it."""
        values: dict[str, Any] = {"state": state, "resolved_by": by, "locked_by": None, "locked_until": None}
        if state == "pending":
            values.update(available_at=now, attempts=0, expires_at=None)
        self._conn.execute(update(messages).where(messages.c.id == message_id).values(**values))

    def reject(self, row: dict[str, Any]) -> None:
        """Record a refused envelope (forged or replayed)."""
        self._conn.execute(insert(rejections), [row])

    def list(self, *, states: tuple[str, ...] | None = None, limit: int = 200,
             message_id: int | None = None) -> list[dict[str, Any]]:
        """Messages, newest first, optionally in some states, with the sender's and receiver's case numbers."""
        sender, receiver = cases.alias("sender"), cases.alias("receiver")
        stmt = (select(messages, sender.c.case_no.label("sender_case_no"),
                       receiver.c.case_no.label("receiver_case_no"))
                .select_from(messages.outerjoin(sender, sender.c.id == messages.c.sender_case_id)
                             .outerjoin(receiver, receiver.c.id == messages.c.receiver_case_id))
                .order_by(messages.c.id.desc()).limit(limit))
        if states:
            stmt = stmt.where(messages.c.state.in_(states))
        if message_id is not None:
            stmt = stmt.where(messages.c.id == message_id)
        return [dict(row) for row in self._conn.execute(stmt).mappings()]

    def rejections(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Refused envelopes, newest first."""
        stmt = select(rejections).order_by(rejections.c.id.desc()).limit(limit)
        return [dict(row) for row in self._conn.execute(stmt).mappings()]

    def counts(self) -> dict[str, int]:
        """Number of messages per state."""
        rows = self._conn.execute(select(messages.c.state, func.count()).group_by(messages.c.state))
        return {state: int(n) for state, n in rows}

    def case_by_no(self, case_no: str) -> int | None:
        """The id of the case with this number."""
        return self._conn.execute(select(cases.c.id).where(cases.c.case_no == case_no)).scalar()

    def case_facts(self, case_id: int) -> Any:
        """Number, districts and matter of a case (no lock)."""
        stmt = select(cases.c.id, cases.c.case_no, cases.c.owning_district, cases.c.receiving_district,
                      cases.c.matter_code, cases.c.matter_version, cases.c.started_at, cases.c.title,
                      cases.c.status).where(cases.c.id == case_id)
        return self._conn.execute(stmt).mappings().one_or_none()

    def link(self, rows: list[dict[str, Any]]) -> None:
        """Link cases (both directions are separate rows)."""
        if rows:
            self._conn.execute(insert(links), rows)

    def partners(self, case_id: int) -> list[dict[str, Any]]:
        """The cases linked to ``case_id`` with their number, status, districts and this case's role."""
        stmt = (select(links.c.partner_case_id, links.c.relation, links.c.role, cases.c.case_no, cases.c.status,
                       cases.c.process_key, cases.c.owning_district, cases.c.receiving_district)
                .select_from(links.join(cases, cases.c.id == links.c.partner_case_id))
                .where(links.c.case_id == case_id).order_by(links.c.id))
        return [dict(row) for row in self._conn.execute(stmt).mappings()]
