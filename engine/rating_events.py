"""The 好差评 events that follow a case's end: the rating, its 差评整改 case, and a rating removed on appeal.

Replay stops before them (:mod:`engine.replay_walk`); verify checks their hash chain like any other event.
Re-exported by :mod:`engine.events`, the module the rest of the engine imports events from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .case_events import Event


@dataclass(frozen=True)
class CaseRated(Event):
    """The applicant rated the closed case (好差评, GB/T 39046 A.8 level and 表9 channel) (an input)."""

    event_type: ClassVar[str] = "CaseRated"
    rating_id: int = 0
    score: int = 0
    level: str = ""
    channel: str = ""
    comment: str = ""
    source: str = ""


@dataclass(frozen=True)
class RectificationOpened(Event):
    """A 差评 opened a 差评整改 case for the responsible department (an effect of the rating)."""

    event_type: ClassVar[str] = "RectificationOpened"
    rating_id: int = 0
    rectification_case_no: str = ""
    district: str = ""
    department: str = ""
    due_at: str | None = None


@dataclass(frozen=True)
class RectificationClosed(Event):
    """The 差评整改 case ended: ``outcome`` is ``rectified`` (整改并回访) or ``removed`` (申诉成立)."""

    event_type: ClassVar[str] = "RectificationClosed"
    rating_id: int = 0
    rectification_case_no: str = ""
    outcome: str = ""
    revisit_result: str | None = None


@dataclass(frozen=True)
class RatingRemoved(Event):
    """An upheld appeal (申诉复核) removed the rating from the statistics; the record stays, marked."""

    event_type: ClassVar[str] = "RatingRemoved"
    rating_id: int = 0
    reason: str = ""
    decided_by: str = ""
