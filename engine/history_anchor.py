"""A history file's chain held against the database at hand: the one anchor an unkeyed chain has.

The hash chain is not keyed: whoever edits a history file can compute every hash again, and the file then
verifies on its own. What a forger cannot change is the chain the case's own database holds. So when the
connected database has the case (by 办件编号), the file's events (seq, hash) and chain head are compared with
it: a file equal to the database's chain, or to its first events (exported before the case went on), agrees;
any other file does not, and the first event that differs is named. When the database does not have the case
(or cannot be read), the file was checked on its own, and the verdict says so.

A database that was never created is not created here (a SQLite file that does not exist or is empty is not
opened): ``verify --file`` works offline.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .persistence.models import Case, CaseEvent
from .verification import CaseVerification

SAME = "same"
"""The database holds the case with exactly the file's chain."""
EARLIER = "earlier"
"""The file's chain is the first events of the database's: exported before the case went on."""
DIFFERS = "differs"
"""The database holds the case with another chain (the file is not ``ok`` then)."""
ABSENT = "absent"
"""The database does not hold the case: the file was checked on its own."""
UNAVAILABLE = "unavailable"
"""The database could not be read (not set up, not reachable): the file was checked on its own."""
NOT_CHECKED = "not_checked"
"""Not compared: no database was given, or the file's own chain is already broken."""


@dataclass(frozen=True)
class HistoryVerification(CaseVerification):
    """A history file's :class:`~engine.verification.CaseVerification`, with how it compares with the database."""

    database: str = NOT_CHECKED
    """:data:`SAME`, :data:`EARLIER`, :data:`DIFFERS`, :data:`ABSENT`, :data:`UNAVAILABLE` or :data:`NOT_CHECKED`."""
    database_events: int | None = None
    """How many events the database's chain of the case has, when it holds the case."""

    @property
    def on_its_own(self) -> bool:
        """Whether the verdict rests on the file alone (an unkeyed chain: a re-hashed edit verifies too)."""
        return self.database in (ABSENT, UNAVAILABLE, NOT_CHECKED)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``tongban verify --file --json``): the case verification's, plus ``database``."""
        return {**super().to_dict(), "database": self.database, "database_events": self.database_events}


Comparison = tuple[str, "int | None", "int | None", "str | None"]
"""``(state, database_events, first_differing_seq, reason)``, see :func:`compare_with_database`."""


def compare_with_database(engine: Any, case_no: str, hashes: list[tuple[int, str]], head: str) -> Comparison:
    """Compare a file's ``(seq, hash)`` list and chain head with the database's chain of ``case_no``.

    Returns:
        ``(state, database_events, seq, reason)``: the state is one of :data:`SAME`, :data:`EARLIER`,
        :data:`DIFFERS` (with the first seq that differs and the Chinese reason), :data:`ABSENT` or
        :data:`UNAVAILABLE`; ``database_events`` is the length of the database's chain when it holds the case.
    """
    if _never_created(engine.database.engine.url):
        return UNAVAILABLE, None, None, None
    try:
        with engine.database.snapshot() as session:
            case = session.execute(select(Case.id, Case.chain_head).where(Case.case_no == case_no)).one_or_none()
            if case is None:
                return ABSENT, None, None, None
            stored = session.execute(select(CaseEvent.seq, CaseEvent.hash).where(CaseEvent.case_id == case.id)
                                     .order_by(CaseEvent.seq)).all()
    except SQLAlchemyError:
        return UNAVAILABLE, None, None, None
    count = len(stored)
    for (seq, digest), (stored_seq, stored_digest) in zip(hashes, stored):
        if (seq, digest) != (stored_seq, stored_digest):
            return DIFFERS, count, seq, f"{_DIFFERS}：第 {seq} 个事件不同"
    if len(hashes) > count:
        seq = hashes[count][0]
        return DIFFERS, count, seq, f"{_DIFFERS}：数据库中的办件只有 {count} 个事件，文件却有第 {seq} 个"
    if len(hashes) == count and head != case.chain_head:
        return DIFFERS, count, count, (f"{_DIFFERS}：事件相同，但数据库中办件记录的链头不同"
                                       f"（请用 tongban verify {case_no} 校验数据库中的办件）")
    return (SAME if len(hashes) == count else EARLIER), count, None, None


_DIFFERS = "文件与数据库中的办件记录不符"


def _never_created(url: Any) -> bool:
    """A file SQLite database that does not exist or is empty (opening it would create it)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    path = Path(url.database)
    return not path.is_file() or path.stat().st_size == 0
