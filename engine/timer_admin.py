"""What administrators and case readers see and do of timers whose firing failed.

The worker (:mod:`engine.timers`) retries a failing timer with back-off and after its tenth failed firing sets it
aside (state ``failed``). Administrators list them (``tongban timers list [--failed]``) and put one back
(``tongban timers retry ID --by USER``): the retry is recorded on the timer's case as a ``TimerRetried`` event
on its hash chain, in the same transaction, naming the administrator (an administrative input that changes no
workflow state: replay records it again as recorded). The case page and ``GET /api/v1/cases/<id>`` show a case's
failing timers to whoever may read the case (:func:`case_failing_timers`; the caller checks the read).
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from . import events as ev
from .commands import Actor
from .errors import Conflict, Forbidden, NotFound
from .handlers import _record
from .masking import mask_mobile_numbers, mask_text
from .persistence.models import Case
from .persistence.timer_repository import FAILED, failing_rows
from .persistence.unit_of_work import SqlAlchemyUnitOfWork

log = logging.getLogger("tongban.worker")

ADMIN_ROLES = frozenset({"admin"})
"""Roles that may retry a timer set aside."""
ERROR_SHOWN = 300
"""At most this many characters of a timer's last error reach a case's readers (the row keeps up to 2000)."""
CASE_LIMIT = 50
"""At most this many failing timers are listed for one case (a diagram with more timers than this is absurd)."""


def failing_timers(engine: Any, *, set_aside_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Timers whose firing failed (``tongban timers list [--failed]``), due first.

    The ones set aside (state ``failed``) and, unless ``set_aside_only``, the ones still retried with back-off
    (state ``waiting`` with a ``last_error``). Each: ``id``, ``state``, ``case_id``, ``case_no``,
    ``case_status``, ``element_id``, ``kind``, ``due_at``, ``attempts``, ``retry_at`` and ``last_error``.
    """
    with SqlAlchemyUnitOfWork(engine.database.writer) as uow:
        return uow.timers.failing(set_aside_only=set_aside_only, limit=limit)


def case_failing_timers(engine: Any, case_id: int) -> list[dict[str, Any]]:
    """The case's timers that are failing (retried with back-off) or set aside, due first; [] for none.

    The caller has checked that the viewer may read the case. Each: ``id``, ``element_id``, ``name`` (as drawn
    in the pinned definition), ``state`` (``waiting``: being retried; ``failed``: set aside), ``due_at``,
    ``attempts``, ``retry_at`` (when a waiting one is tried next) and ``last_error``: ID and mobile numbers
    masked, at most :data:`ERROR_SHOWN` characters (an error's text may quote the case's data).
    """
    with engine.database.read_sessions() as session:
        connection = session.connection()
        rows = failing_rows(connection, case_id=case_id, limit=CASE_LIMIT)
        definition_id = connection.execute(select(Case.definition_id).where(Case.id == case_id)).scalar() \
            if rows else None
    if not rows:
        return []
    # The drawn names, cached per definition by the case page's own timer reader.
    drawn = engine.case_timers.elements(definition_id)
    return [{"id": r["id"], "element_id": r["element_id"],
             "name": drawn[r["element_id"]].name if r["element_id"] in drawn else r["element_id"],
             "state": r["state"], "due_at": r["due_at"], "attempts": r["attempts"],
             "retry_at": r["retry_at"] if r["state"] != FAILED else None,
             "last_error": shown_error(r["last_error"])} for r in rows]


def shown_error(text: str | None) -> str | None:
    """A timer's last error as its case's readers see it: numbers masked, then cut to :data:`ERROR_SHOWN`."""
    if not text:
        return text
    masked = mask_mobile_numbers(mask_text(" ".join(text.split())))   # masked before it is cut: no half number
    return masked if len(masked) <= ERROR_SHOWN else masked[:ERROR_SHOWN - 1] + "…"


def retry_timer(engine: Any, timer_id: int, actor: Actor) -> bool:
    """Put a timer set aside back to waiting (``tongban timers retry ID --by USER``): the next wake-up fires it.

    A timer of a case that has ended meanwhile has nothing left to fire: it is marked done instead, and False is
    returned (True: put back). Either way a ``TimerRetried`` event naming ``actor`` is appended to the case's
    hash chain in the same transaction.

    Raises:
        Forbidden: ``actor`` is not an administrator (``FORBIDDEN``).
        NotFound: no such timer (``TIMER_NOT_FOUND``).
        Conflict: the timer is not set aside (``TIMER_NOT_FAILED``).
    """
    if not ADMIN_ROLES.intersection(actor.roles):
        raise Forbidden(f"用户 {actor.username} 不是管理员，只有管理员可以重试被搁置的定时器",
                        details={"username": actor.username})
    svc = engine.services
    now = svc.clock.now()
    with svc.uow() as uow:
        timer = uow.timers.find(timer_id)
        if timer is None:
            raise NotFound(f"定时器 #{timer_id} 不存在", code="TIMER_NOT_FOUND", details={"timer_id": timer_id})
        case = uow.cases.lock(timer["case_id"])      # the case first, as the worker's firing takes it
        running = case.status == "running"
        if not uow.timers.retry(timer_id, close=not running):     # not set aside (any more)
            state = (uow.timers.find(timer_id) or timer)["state"]
            raise Conflict(f"定时器 #{timer_id} 未被搁置（状态 {state}），无需重试", code="TIMER_NOT_FAILED",
                           details={"timer_id": timer_id, "state": state})
        event = ev.TimerRetried(element_id=timer["element_id"], timer_id=timer_id,
                                action="requeued" if running else "closed", attempts=timer["attempts"],
                                due_at=timer["due_at"].isoformat())
        uow.cases.save(case, events=_record(case, [event], actor, now))
        uow.commit()
    log.info("timer %s %s by administrator %s", timer_id, "put back to waiting" if running else "closed",
             actor.username)
    return running
