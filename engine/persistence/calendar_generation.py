"""The calendar's generation: how many loads ``calendar_imports`` holds, read by every command that counts days.

Every calendar load (created, replaced, even unchanged) appends one row to the log in the transaction that
changes ``calendar_days``, so the number of rows changes whenever the committed schedule may have. A process
caches the calendar (:class:`engine.calendar_functions.CalendarProvider`) and remembers the generation it was
loaded at; a command reads the committed generation once, at its start and inside its transaction, and the
provider reloads when it differs. Another process's ``calendar import --replace`` is therefore seen by the
next command anywhere, not after a cache's time to live.

The case commands read it for free: :data:`GENERATION` is a column of the statement that locks the case row
(:mod:`.case_repository`). A command that locks no case row first (opening a case) runs
:data:`READ_GENERATION`, one cheap statement.

The row count, not ``max(id)``: on PostgreSQL two imports running at once may commit out of id order, and a
command that saw the larger id before the smaller one committed would never see the change; a count grows with
each commit, whatever the order. The log holds one row per load an operator ran, so counting it is cheap.
"""
from __future__ import annotations

from sqlalchemy import func, select

from .compiled import hot
from .models import CalendarImport

GENERATION = (select(func.count()).select_from(CalendarImport.__table__)
              .scalar_subquery().label("calendar_generation"))
"""The committed generation as a column, to add to a statement a command runs anyway."""

READ_GENERATION = hot(select(GENERATION))
"""The committed generation on its own (run with ``DeferredWrites.read``)."""
