"""The base :class:`Event` and the events of a case's process: start, receipt, tasks, flow, timers, grants, migration.

Re-exported by :mod:`engine.events`, the module the rest of the engine imports events from.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of every case event; ``element_id`` and ``task_id`` are indexed columns, the rest is payload."""

    event_type: ClassVar[str] = "Event"
    element_id: str | None = None
    task_id: int | None = None

    def payload(self) -> dict[str, Any]:
        """Return the JSON-native fields of the event, leaving out element_id and task_id."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("element_id", "task_id")}


@dataclass(frozen=True)
class CaseStarted(Event):
    """A case was started on a pinned definition version with its initial data (an input)."""

    event_type: ClassVar[str] = "CaseStarted"
    process_key: str = ""
    definition_version: int = 0
    content_hash: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    owning_district: str | None = None
    receiving_district: str | None = None


@dataclass(frozen=True)
class MatterReceived(Event):
    """The case was received for a catalog matter, pinned to this version of its entry (an input)."""

    event_type: ClassVar[str] = "MatterReceived"
    code: str = ""
    version: int = 0
    content_hash: str = ""


@dataclass(frozen=True)
class ApplicationReceived(Event):
    """An application was received at intake: channel, materials manifest (by sha256) and 容缺 (an input).

    Personal data (names, ID numbers, phone) stays in the ``applications`` row, out of the append-only log.
    """

    event_type: ClassVar[str] = "ApplicationReceived"
    channel: str = ""
    materials: tuple[dict[str, Any], ...] = ()
    missing: tuple[str, ...] = ()
    tolerance: bool = False


@dataclass(frozen=True)
class SupplementReceived(Event):
    """The applicant uploaded 补正 materials online while a one-time notice was open (an input).

    ``materials`` is the manifest (key, sha256, license_ref) of what replaced or completed the case's
    materials; the window still checks them in its own 补正 step.
    """

    event_type: ClassVar[str] = "SupplementReceived"
    materials: tuple[dict[str, Any], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class TaskCreated(Event):
    """A user task became ready with these resolved candidate groups (an effect)."""

    event_type: ClassVar[str] = "TaskCreated"
    name: str = ""
    candidate_groups: tuple[str, ...] = ()
    form_key: str | None = None


@dataclass(frozen=True)
class TaskClaimed(Event):
    """A person took a task into their own queue (an input)."""

    event_type: ClassVar[str] = "TaskClaimed"


@dataclass(frozen=True)
class TaskUnclaimed(Event):
    """A claimed task went back to its groups (an input)."""

    event_type: ClassVar[str] = "TaskUnclaimed"


@dataclass(frozen=True)
class TaskDelegated(Event):
    """A task was handed to another member of its groups, with a reason (an input)."""

    event_type: ClassVar[str] = "TaskDelegated"
    from_user: str | None = None
    to_user: str = ""
    reason: str = ""


@dataclass(frozen=True)
class TaskReturned(Event):
    """A task was sent back (退回) to the user task before it, with a reason (an input)."""

    event_type: ClassVar[str] = "TaskReturned"
    to_element_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class TaskCompleted(Event):
    """A person completed a task with validated form data (an input)."""

    event_type: ClassVar[str] = "TaskCompleted"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskCancelled(Event):
    """A ready task was withdrawn by the process (a timer, a message, the other branch, a 会签 decided) (an effect).

    ``task_id`` is the inbox row it closed, as ``TaskCreated`` named it (one event per 会签 instance). It is None
    in events recorded before the engine named the row (replay compares those without it, :mod:`.replay_shapes`),
    and for a withdrawn task that had no open inbox row: the withdrawal is still recorded, naming no row.
    """

    event_type: ClassVar[str] = "TaskCancelled"


@dataclass(frozen=True)
class FlowAdvanced(Event):
    """The engine passed these elements, in order, without a person (an effect)."""

    event_type: ClassVar[str] = "FlowAdvanced"
    elements: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimersFired(Event):
    """The worker let due timers fire at this instant (an input)."""

    event_type: ClassVar[str] = "TimersFired"
    due_elements: tuple[str, ...] = ()
    missed: dict[str, int] | None = None
    """Per cycle timer element, the passed slots merged into this one fire (:mod:`engine.spiff.cycle_catchup`).

    Always given (``{}`` when none) since missed slots are merged; absent from fires recorded before, which
    fired once per slot and replay so."""

    def payload(self) -> dict[str, Any]:
        """The fields, leaving out ``missed`` for a fire recorded before missed slots were merged."""
        out = super().payload()
        if self.missed is None:
            del out["missed"]
        return out


@dataclass(frozen=True)
class CaseCompleted(Event):
    """The process reached its end (an effect)."""

    event_type: ClassVar[str] = "CaseCompleted"



@dataclass(frozen=True)
class GrantExercised(Event):
    """A receiving district acted on another district's matter under a grant (which one, which right)."""

    event_type: ClassVar[str] = "GrantExercised"
    grant_id: int = 0
    right: str = ""
    owning_district: str = ""
    receiving_district: str = ""


@dataclass(frozen=True)
class GrantRefused(Event):
    """A receiving district tried a task its grant does not cover; nothing else changed (recorded on its own)."""

    event_type: ClassVar[str] = "GrantRefused"
    right: str = ""
    owning_district: str = ""
    receiving_district: str = ""


@dataclass(frozen=True)
class CaseMigrated(Event):
    """An administrator moved the running case onto another version of its process (an input).

    From here on the case runs on the definition with ``to_hash``; ``mapping`` pairs each element the case
    was at with the target's element (matched by id), and replay switches specs at this event.
    """

    event_type: ClassVar[str] = "CaseMigrated"
    process_key: str = ""
    from_version: int = 0
    to_version: int = 0
    from_hash: str = ""
    to_hash: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
