"""A history file's chain held against the database at hand: the one anchor an unkeyed chain has.

The hash chain is not keyed: whoever edits a history file can compute every hash again, and the file then
verifies on its own. What a forger cannot change is the chain the case's own database holds. So when the
connected database has the case (by 办件编号), the file's events (seq, hash) and chain head are compared with
it: a file equal to the database's chain, or to its first events (exported before the case went on), agrees;
any other file does not, and the first event that differs is named. The file's case row is covered by no
hash, so a file whose events agree is also held against the database's case row, field by field
(:mod:`engine.history_case_fields`): each field that differs is named with both values. When the database
does not have the case (or cannot be read), the file was checked on its own, and the verdict says so.

A database that was never created is not created here (a SQLite file that does not exist or is empty is not
opened): ``verify --file`` works offline.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .case_history import CaseHistory
from .file_echo import clipped
from .history_case_fields import FieldProblem, database_fields, field_problems, file_fields
from .persistence.models import Case, CaseEvent
from .verification import CaseVerification

SAME = "same"
"""The database holds the case with exactly the file's chain."""
EARLIER = "earlier"
"""The file's chain is the first events of the database's: exported before the case went on."""
DIFFERS = "differs"
"""The database holds the case with another chain, or the same events and another case row (not ``ok``)."""
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
    fields: tuple[FieldProblem, ...] = ()
    """The fields of the file's case row that differ from the database's (its events agree then)."""

    @property
    def on_its_own(self) -> bool:
        """Whether the verdict rests on the file alone (an unkeyed chain: a re-hashed edit verifies too)."""
        return self.database in (ABSENT, UNAVAILABLE, NOT_CHECKED)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``tongban verify --file --json``): the case verification's, plus the comparison's.

        That is ``database``, ``database_events`` and ``fields``: each field of the case row that differs
        (:meth:`engine.history_case_fields.FieldProblem.to_dict`), empty unless the events agree.
        """
        return {**super().to_dict(), "database": self.database, "database_events": self.database_events,
                "fields": [problem.to_dict() for problem in self.fields]}


@dataclass(frozen=True)
class Comparison:
    """How a file compares with the database, see :func:`compare_with_database`."""

    state: str
    """:data:`SAME`, :data:`EARLIER`, :data:`DIFFERS`, :data:`ABSENT` or :data:`UNAVAILABLE`."""
    database_events: int | None = None
    """The length of the database's chain, when it holds the case."""
    seq: int | None = None
    """The first event that differs (:data:`DIFFERS` on the events or the head; None when only fields differ)."""
    reason: str | None = None
    """Why it differs, in Chinese."""
    fields: tuple[FieldProblem, ...] = ()
    """The case row's fields that differ, when the events agree."""


def compare_with_database(engine: Any, history: CaseHistory) -> Comparison:
    """Compare a file's events (seq, hash), chain head and case row with the database's case of its 办件编号.

    Events and head first; a file whose events agree is then held against the case row
    (:func:`engine.history_case_fields.field_problems`): in every field when it is the whole chain, in the
    fields set at the start when it is the chain's first events. Positions are event seqs (1-based).
    """
    if _never_created(engine.database.engine.url):
        return Comparison(UNAVAILABLE)
    hashes = [(e.seq, e.hash) for e in history.events]
    try:
        with engine.database.snapshot() as session:
            case = session.execute(select(Case.id, Case.chain_head)
                                   .where(Case.case_no == history.case_no)).one_or_none()
            if case is None:
                return Comparison(ABSENT)
            stored = session.execute(select(CaseEvent.seq, CaseEvent.hash).where(CaseEvent.case_id == case.id)
                                     .order_by(CaseEvent.seq)).all()
            theirs = database_fields(session, case.id)
    except SQLAlchemyError:
        return Comparison(UNAVAILABLE)
    count = len(stored)
    for (seq, digest), (stored_seq, stored_digest) in zip(hashes, stored):
        if (seq, digest) != (stored_seq, stored_digest):
            return Comparison(DIFFERS, count, seq, f"{_DIFFERS}：第 {seq} 个事件不同")
    if len(hashes) > count:
        seq = hashes[count][0]
        return Comparison(DIFFERS, count, seq, f"{_DIFFERS}：数据库中的办件只有 {count} 个事件，文件却有第 {seq} 个")
    whole = len(hashes) == count
    if whole and history.case["chain_head"] != case.chain_head:
        return Comparison(DIFFERS, count, count, f"{_DIFFERS}：事件相同，但数据库中办件记录的链头不同（请用 "
                                                 f"tongban verify {clipped(history.case_no)} 校验数据库中的办件）")
    problems = tuple(field_problems(file_fields(history), theirs, all_fields=whole))
    if problems:
        listed = "；".join(p.message for p in problems)
        return Comparison(DIFFERS, count, None, f"{_DIFFERS}：事件相同，但办件记录有 {len(problems)} 个字段不同"
                                                f"（办件记录的字段不在哈希链内）：{listed}", problems)
    return Comparison(SAME if whole else EARLIER, count)


_DIFFERS = "文件与数据库中的办件记录不符"


def _never_created(url: Any) -> bool:
    """A file SQLite database that does not exist or is empty (opening it would create it)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    path = Path(url.database)
    return not path.is_file() or path.stat().st_size == 0
