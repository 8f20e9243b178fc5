"""What replay reads and reports: a recorded event, and the result of replaying a case or part of one.

The event is one row of the audit log as :mod:`engine.replay` reads it from either database or a history file;
the results are what :class:`engine.replay.Replayer` returns (the first divergence, if any). Pure: no database,
no engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from .audit import AuditEvent
from .clock import CST
from .file_echo import clipped

T = TypeVar("T")

MESSAGE_CHARS = 400
"""How long a divergence's message is at most (then ``…``): the parts it quotes from the record are bounded where
it is made (:mod:`engine.replay_walk`), and the whole is bounded whoever made it."""


@dataclass(frozen=True)
class RecordedEvent(AuditEvent):
    """One stored audit event without its hashes, as replay reads it from either database."""

    def to_dict(self) -> dict[str, Any]:
        """JSON shape for reports: the fields in their order, the instant in ISO form (CST)."""
        return {**vars(self), "occurred_at": _iso(self.occurred_at)}


@dataclass(frozen=True)
class ReplayDivergence:
    """Where a replay first differs from the record."""

    seq: int
    """The event number (``seq``) in the recorded log where the difference shows."""
    reason: str
    """``mismatch``, ``missing`` (recorded, not replayed), ``extra`` (replayed, not recorded),
    ``refused`` (the replayed command raised an error), ``unsupported`` (no command replays this input), or
    ``case_row``: every event matched, but the case row's clocks, due instants, status or end do not (``seq``
    is then the last event's)."""
    expected: dict[str, Any] | None = None
    """The recorded event, or None when the replay produced an extra one; for ``case_row``, the differing
    columns as recorded."""
    got: dict[str, Any] | None = None
    """The replayed event in the record's id space, or None when the replay produced nothing here; for
    ``case_row``, the differing columns as replayed."""
    message: str = ""
    """A one-line explanation (the refused command's error, the unsupported event type): at most
    :data:`MESSAGE_CHARS` characters, every control, format or separator character escaped
    (:func:`~engine.file_echo.clipped`), as it may quote a record anyone could have written."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clipped(self.message, MESSAGE_CHARS))


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of replaying one case."""

    case_id: int
    """The case's id in the source database."""
    case_no: str
    """Its 办件编号."""
    events: int
    """How many recorded events were compared."""
    divergence: ReplayDivergence | None = None
    """The first difference, None when the replay is identical."""

    @property
    def identical(self) -> bool:
        """Whether every recorded event was reproduced and nothing more."""
        return self.divergence is None


@dataclass(frozen=True)
class ReplayedState(Generic[T]):
    """What :meth:`Replayer.state_at` found."""

    divergence: ReplayDivergence | None
    """The first difference up to the event asked for; None when the replay matched the record so far."""
    value: T | None
    """What the inspection returned, None when the replay diverged first."""


def _iso(value: datetime) -> str:
    return value.astimezone(CST).isoformat()
