"""The events of a case's clocks: start and stop, pauses, extensions and their approval, new due instants, 督办.

Re-exported by :mod:`engine.events`, the module the rest of the engine imports events from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .case_events import Event


@dataclass(frozen=True)
class ClocksStarted(Event):
    """Clocks started, with what rebuilds each period: its T0 and budget (an effect).

    With the event's instant and actor, which open the first running segment, each entry rebuilds the
    period exactly (:mod:`engine.archive_clocks` checks an archive's clocks against it).
    """

    event_type: ClassVar[str] = "ClocksStarted"
    clocks: dict[str, Any] = field(default_factory=dict)
    """Per kind (``legal``, ``committed``): ``t0`` and ``budget`` (``{amount, unit}``). A clock started at 受理
    adds ``kind``, ``deemed`` and ``explanation`` (第三十二条's deemed acceptance) and, when its length came from
    the case data, ``amount_from`` (the variable). So does one the worker started when 第三十二条's window passed
    with neither notice nor 受理 (:mod:`engine.acceptance_deemed`): ``deemed`` true, T0 the receipt date, no
    element, right after the ``DeadlinesRecomputed`` that is its input. A 受理 entry recorded before every clock
    carried its budget has ``budget`` only with ``amount_from``; replay compares it without
    (:mod:`engine.replay_shapes`)."""
    resumed: dict[str, str] = field(default_factory=dict)
    """Per kind of another clock that was paused for 补正 and runs again from this 受理: the pause's
    reason kind (``correction``, ``tolerance``). 受理 ends the 补正 (第三十二条第一款第五项); the clock's new
    running segment starts at the event's instant, by its actor. Left out of the payload when no clock resumed,
    and so absent from every 受理 recorded before 受理 ended those pauses (the clerk resumed them by hand, with
    a ``ClockResumed``); replay re-issues such a 受理 without ending them (``CompleteTask.resume_pauses``)."""

    def payload(self) -> dict[str, Any]:
        """The fields, leaving out ``resumed`` when no paused clock ran again."""
        out = super().payload()
        if not self.resumed:
            del out["resumed"]
        return out


@dataclass(frozen=True)
class ClocksStopped(Event):
    """A clock's period ended at a ``stopsAt`` task (阶段办结); it waits for the next 受理 (an effect)."""

    event_type: ClassVar[str] = "ClocksStopped"
    clocks: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClockPaused(Event):
    """Clocks were paused with a reason (an input)."""

    event_type: ClassVar[str] = "ClockPaused"
    clocks: tuple[str, ...] = ()
    reason_kind: str = ""
    reason: str = ""
    procedure: str = ""
    expected_days: int | None = None


@dataclass(frozen=True)
class ClockResumed(Event):
    """Paused clocks run again (an input)."""

    event_type: ClassVar[str] = "ClockResumed"
    clocks: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadlineExtended(Event):
    """A clock was extended with approval, the reason to be told to the applicant (an input)."""

    event_type: ClassVar[str] = "DeadlineExtended"
    clock: str = ""
    days: int = 0
    reason: str = ""
    approved_by: str = ""
    told_to_applicant: bool = False


@dataclass(frozen=True)
class DeadlinesRecomputed(Event):
    """Due dates changed because the calendar changed, e.g. a provisional deadline became confirmed."""

    event_type: ClassVar[str] = "DeadlinesRecomputed"
    reason: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimersRearmed(Event):
    """Date timers got a new due instant because the clocks they read changed (paused, resumed, extended)."""

    event_type: ClassVar[str] = "TimersRearmed"
    reason: str = ""
    timers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SupervisionRaised(Event):
    """A deadline turned yellow or red and a 督办 item was opened for the owning district's supervisors."""

    event_type: ClassVar[str] = "SupervisionRaised"
    item_id: int = 0
    kind: str = ""
    clock: str = ""
    due_at: str = ""


@dataclass(frozen=True)
class SupervisionClosed(Event):
    """A supervisor closed a 督办 item with an opinion."""

    event_type: ClassVar[str] = "SupervisionClosed"
    item_id: int = 0
    kind: str = ""
    opinion: str = ""


@dataclass(frozen=True)
class ExtensionRequested(Event):
    """Staff asked to extend a clock; a department head of the owning district must approve (an input)."""

    event_type: ClassVar[str] = "ExtensionRequested"
    request_id: int = 0
    clock: str = ""
    days: int = 0
    reason: str = ""
    told_to_applicant: bool = False


@dataclass(frozen=True)
class ExtensionApproved(Event):
    """A department head approved an extension request (an input); ``DeadlineExtended`` follows it."""

    event_type: ClassVar[str] = "ExtensionApproved"
    request_id: int = 0
    comment: str = ""


@dataclass(frozen=True)
class ExtensionRejected(Event):
    """A department head rejected an extension request, with the reason (an input)."""

    event_type: ClassVar[str] = "ExtensionRejected"
    request_id: int = 0
    comment: str = ""


@dataclass(frozen=True)
class ExtensionWithdrawn(Event):
    """The requester withdrew an open extension request (an input)."""

    event_type: ClassVar[str] = "ExtensionWithdrawn"
    request_id: int = 0
