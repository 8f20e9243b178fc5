"""Applicants without an account: 办件查询 and 好差评 with the 办件编号 and the query code issued at intake.

:class:`QueryGuard` checks a pair and throttles failures in ``login_attempts`` (key ``query:<办件编号>``, the
caller's address as source), so every web process agrees. It refuses further tries when, within the window,
this case number failed 5 times from this address, 10 times from any address, or this address failed 20
times over any case numbers; a try is recorded before its code is hashed and counted with the tries still
running, so parallel tries cannot pass the limits either (:class:`engine.logins.Attempts`). Wrong code and
unknown case number do the same work (the try checked and recorded, counted again, one PBKDF2 hash) and
get the same answer, so neither timing nor wording tells them apart.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .case_clocks import summary
from .case_progress import HANDED_OVER_HINT, _told, delivering, progress, tolerance_deadline
from .catalog import Matter
from .clock import Clock
from .commands import RateCase
from .errors import NotFound
from .logins import Attempts, refusal
from .persistence.models import Application, Case, CaseEvent, CaseLink, MatterVersion, TaskItem
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .query_codes import ITERATIONS, check_query_code
from .rating_queries import RatingReads
from .ratings import APPLICANT
from .spiff.elements import end_event_names

WINDOW = timedelta(minutes=15)
PER_PAIR, PER_CASE, PER_SOURCE = 5, 10, 20
PREFIX = "query:"
UNKNOWN_CASE_HASH = f"pbkdf2_sha256${ITERATIONS}${'00' * 16}${'00' * 32}"
"""Checked against when the case number is unknown, so that answer costs one PBKDF2 hash as well."""
_cases = Case.__table__
_applications = Application.__table__


class QueryGuard:
    """Verify 办件编号 + 查询码 pairs with throttling and no timing difference between kinds of failure.

    Each try is recorded before the code is hashed and counted with the tries still running
    (:class:`engine.logins.Attempts`), so tries sent together cannot all pass the limit.

    Args:
        uow: unit-of-work factory (tries are written in their own short transactions).
        clock: the engine clock.
        check: compares a code with a stored hash in constant time (injectable for tests).
    """

    def __init__(self, uow: Callable[[], SqlAlchemyUnitOfWork], clock: Clock, *,
                 check: Callable[[str, str], bool] = check_query_code, window: timedelta = WINDOW,
                 per_pair: int = PER_PAIR, per_case: int = PER_CASE, per_source: int = PER_SOURCE):
        self.uow, self.clock, self.check, self.window = uow, clock, check, window
        self.attempts = Attempts(window, per_pair, per_case, per_source, PREFIX)

    def verify(self, case_no: str, query_code: str, source: str) -> int:
        """Return the case id when the pair matches.

        Raises:
            NotFound: ``QUERY_CODE_MISMATCH`` for an unknown case number or a wrong code (one answer).
            TooManyAttempts: while the case number or the address is throttled; ``details.retry_after``
                holds the seconds to wait.
        """
        # 办件编号 are upper case (TB + digits); a number typed in lower case is the same number.
        case_no, source, now = case_no.strip().upper(), (source or "unknown")[:64], self.clock.now()
        key = f"{PREFIX}{case_no}"[:64]
        with self.uow() as uow:
            wait = self.attempts.wait(uow.connection, key, source, now)
            if wait is not None:
                raise refusal("查询", wait)
            attempt = self.attempts.add(uow.connection, key, source, now)
            row = uow.connection.execute(
                select(_cases.c.id, _applications.c.query_code_hash)
                .select_from(_cases.join(_applications, _applications.c.case_id == _cases.c.id))
                .where(_cases.c.case_no == case_no)).first()
            uow.commit()
        with self.uow() as uow:
            wait = self.attempts.wait(uow.connection, key, source, now, excluding=attempt)
        if wait is not None:
            self.attempts.forget(self.uow, attempt)
            raise refusal("查询", wait)
        matched = self.check(query_code, row.query_code_hash if row is not None else UNKNOWN_CASE_HASH)
        if row is None or not matched:
            raise NotFound("办件编号或查询码不正确", code="QUERY_CODE_MISMATCH")
        self.attempts.clear(self.uow, attempt, key, source)
        return int(row.id)


class Applicants:
    """What an applicant holding a query code may do: see where the case stands, rate it once closed."""

    def __init__(self, sessions: sessionmaker[Session], services: Any, guard: QueryGuard, ratings: RatingReads,
                 handle: Callable[[Any], Any], *, timers: Any = None):
        self.sessions, self.services, self.guard, self.ratings, self.handle = (
            sessions, services, guard, ratings, handle)
        self.timers = timers  # engine.case_timers.CaseTimers, for the 容缺 deadline (None: never told)

    def lookup(self, case_no: str, query_code: str, source: str) -> dict[str, Any]:
        """Return the applicant's view of the case (raises like :meth:`QueryGuard.verify`)."""
        return self.view(self.guard.verify(case_no, query_code, source))

    def rate(self, case_no: str, query_code: str, source: str, *, score: Any, channel: Any,
             comment: Any = "") -> dict[str, Any]:
        """Rate the closed case as its applicant; return the view with the rating."""
        case_id = self.guard.verify(case_no, query_code, source)
        self.handle(RateCase(case_id, APPLICANT, score, channel, comment))
        return self.view(case_id)

    def view(self, case_id: int) -> dict[str, Any]:
        """Return stage, next step, deadlines, notice, 容缺 deadline, result and rating of a case; no personal data.

        An 异地代收代办 application is one application in two linked cases: the receiving window's, which the
        applicant holds the query code of, and the owning district's, which accepts, reviews and decides
        (受理 stays with the 业务属地). Once handed over, the view is the owning case's: its stage, next step
        and clocks (their extension and pauses included); once it has decided, the receiving window's 送达.
        The application is rated once, on either case (:func:`engine.ratings.application_cases`).
        """
        with self.sessions() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound("办件不存在", details={"case_id": case_id})
            application = session.scalars(select(Application).where(Application.case_id == case_id)).first()
            matter = None if application is None else session.scalars(select(MatterVersion).where(
                MatterVersion.code == application.matter_code,
                MatterVersion.version == application.matter_version)).first()
            open_tasks, events = _open_tasks(session, case_id), _events(session, case_id)
            owning = session.scalars(select(Case).join(CaseLink, CaseLink.partner_case_id == Case.id).where(
                CaseLink.case_id == case_id, CaseLink.relation == "handoff", CaseLink.role == "receiving")).first()
            decider = None if owning is None else (owning, _open_tasks(session, owning.id), _events(session, owning.id))
        clocks = self._clocks(case.clocks)
        state = progress(case.status, clocks, open_tasks, events,
                         self._end_names(case.definition_id) if case.status == "completed" else {})
        dues = case.legal_due_at, case.committed_due_at
        if decider is not None and case.status == "running":
            state = self._handed_over(state, open_tasks, *decider)
        if owning is not None:
            dues = owning.legal_due_at, owning.committed_due_at
        waiting = self.timers.waiting(case_id) if self.timers is not None and open_tasks else []
        missing = [] if application is None or matter is None else [
            m.name for m in Matter.from_doc(matter.doc).materials if m.key in application.missing]
        rating = self.ratings.of_case(case_id)
        if rating is None and owning is not None:
            rating = self.ratings.of_case(owning.id)
        return {**state, "case_no": case.case_no, "matter_name": matter.name if matter else (case.title or ""),
                "status": case.status, "received_at": application.received_at if application else case.started_at,
                "ended_at": case.ended_at, "legal_due_at": dues[0], "committed_due_at": dues[1],
                "tolerance": bool(application and application.tolerance),
                "missing": missing if case.status == "running" else [],
                "tolerance_deadline": tolerance_deadline(waiting, open_tasks),
                "rating": None if rating is None else _applicant_rating(rating),
                "can_rate": case.status == "completed" and rating is None}

    def _handed_over(self, state: dict[str, Any], open_tasks: list[dict[str, Any]], owning: Case,
                     owning_tasks: list[dict[str, Any]], owning_events: list[dict[str, Any]]) -> dict[str, Any]:
        """The running receiving case's view once the application went to the owning district."""
        if owning.status == "completed":
            # Decided there; the result comes back to the receiving window, which delivers it (送达).
            return {**state, **delivering(open_tasks)}
        there = progress(owning.status, self._clocks(owning.clocks), owning_tasks, owning_events, {})
        if there["stage"] == "received":
            there["hint"] = HANDED_OVER_HINT
        return there

    def _clocks(self, doc: dict[str, Any] | None) -> list[dict[str, Any]]:
        if not doc or self.services.calendar is None:
            return []
        return summary(doc, self.services.calendar.get(), self.services.clock.now())

    def _end_names(self, definition_id: int) -> dict[str, str]:
        with self.services.uow() as uow:
            definition = self.services.catalog.get(uow, definition_id)
        return end_event_names(definition.spec, definition.subprocess_specs)


def _open_tasks(session: Session, case_id: int) -> list[dict[str, Any]]:
    return [{"name": t.name, "element_id": t.element_id} for t in session.scalars(
        select(TaskItem).where(TaskItem.case_id == case_id, TaskItem.state == "open")
        .order_by(TaskItem.created_at, TaskItem.id))]


def _events(session: Session, case_id: int) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "event_type": e.event_type, "element_id": e.element_id, "task_id": e.task_id,
             "payload": e.payload or {}, "occurred_at": e.occurred_at}
            for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))]


def _applicant_rating(rating: dict[str, Any]) -> dict[str, Any]:
    """The rating as its applicant sees it: level, channel, when, and what became of a 差评.

    The comment (a window clerk may have typed it) and an upheld appeal's reason (the department's) are staff
    text as far as this view goes: ID and mobile numbers in them are masked, as in the 补正 notice.
    """
    progress_ = rating.get("rectification") or {}
    return {"score": rating["score"], "level": rating["level"], "channel_name": rating["channel_name"],
            "comment": _told(rating["comment"]), "rated_at": rating["rated_at"], "status": rating["status"],
            "status_label": rating["status_label"], "rectification_due_at": progress_.get("due_at"),
            "rectification_stage": progress_.get("stage"),
            "removed_reason": _told((rating.get("removed") or {}).get("reason"))}
