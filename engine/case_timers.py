"""A case's waiting timers with a real due instant, as the case page, the task page and 办件查询 show them.

The ``timers`` table holds the due instant of every waiting timer (the worker's truth); the pinned definition
gives each its drawn name, the task a boundary timer is attached to and whether firing terminates the case
(:func:`engine.spiff.elements.timer_elements`). A timer whose due instant is the far-future "never" sentinel
(:data:`engine.calendar_functions.NEVER`: its clock has not started or stands still) has no date to tell and
is left out. Only these pages read timers: the inbox and task completion do not pay for them.
"""
from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .calendar_functions import NEVER
from .persistence.models import Case, Timer
from .spiff.elements import TimerElement, timer_elements

NEVER_YEAR_STARTS = datetime(NEVER.year, 1, 1, tzinfo=NEVER.tzinfo)
"""A due instant in the sentinel's year is the sentinel, as :mod:`engine.calendar_functions` reads it."""


class CaseTimers:
    """Reads a case's waiting timers; the caller has already checked the viewer may see the case.

    Args:
        sessions: read sessions.
        definition: the parsed definition by id (the engine's cached catalog), for the drawn names.
    """

    def __init__(self, sessions: sessionmaker[Session], definition: Callable[[int], Any]):
        self.sessions, self.definition = sessions, definition
        self._elements: dict[int, dict[str, TimerElement]] = {}
        self._lock = threading.Lock()

    def waiting(self, case_id: int, *, attached_to: str | None = None) -> list[dict[str, Any]]:
        """Return ``[{element_id, name, attached_to, ends_case, due_at}]`` soonest first (one query).

        ``attached_to``: only the boundary timers of that task element.
        """
        with self.sessions() as session:
            rows = session.execute(
                select(Timer.element_id, Timer.due_at, Case.definition_id).join(Case, Case.id == Timer.case_id)
                .where(Timer.case_id == case_id, Timer.state == "waiting", Timer.due_at < NEVER_YEAR_STARTS)
                .order_by(Timer.due_at, Timer.id)).all()
        if not rows:
            return []
        drawn = self.elements(rows[0].definition_id)
        timers = []
        for row in rows:
            element = drawn.get(row.element_id) or TimerElement(row.element_id, row.element_id, None, False)
            if attached_to is None or element.attached_to == attached_to:
                timers.append({"element_id": row.element_id, "name": element.name,
                               "attached_to": element.attached_to, "ends_case": element.ends_case,
                               "due_at": row.due_at})
        return timers

    def elements(self, definition_id: int) -> dict[str, TimerElement]:
        """The timer elements drawn in a deployed definition, by element id (cached per definition)."""
        found = self._elements.get(definition_id)
        if found is None:
            loaded = self.definition(definition_id)
            found = timer_elements(loaded.spec, loaded.subprocess_specs)
            with self._lock:
                self._elements[definition_id] = found
        return found
