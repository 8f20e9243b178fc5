"""Events: what happened, in the past tense. They are the audit log's and replay's vocabulary.

Inputs (a person completing a task, a timer firing) and effects (tasks created, elements passed, the case
ending) are both recorded, so replay can feed the inputs and compare the effects.
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
    """A ready task was withdrawn by the process (a timer, a message, the other branch) (an effect)."""

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
class ClocksStarted(Event):
    """Clocks started, with what rebuilds each period: its T0 and budget (an effect).

    With the event's instant and actor, which open the first running segment, each entry rebuilds the
    period exactly (:mod:`engine.archive_clocks` checks an archive's clocks against it).
    """

    event_type: ClassVar[str] = "ClocksStarted"
    clocks: dict[str, Any] = field(default_factory=dict)
    """Per kind (``legal``, ``committed``): ``t0`` and ``budget`` (``{amount, unit}``). A clock started at 受理
    adds ``kind``, ``deemed`` and ``explanation`` (第三十二条's deemed acceptance) and, when its length came from
    the case data, ``amount_from`` (the variable). A 受理 entry recorded before every clock carried its budget
    has ``budget`` only with ``amount_from``; replay compares it without (:mod:`engine.replay_shapes`)."""
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
class MessageSent(Event):
    """The case threw a message: an outbox row was written in the same transaction (an effect).

    The payload itself stays in the ``messages`` row; the log keeps its sha256.
    """

    event_type: ClassVar[str] = "MessageSent"
    name: str = ""
    idempotency_key: str = ""
    correlation_key: str | None = None
    payload_sha256: str = ""


@dataclass(frozen=True)
class MessageReceived(Event):
    """A message was delivered to this case: a catch event caught it, or the case started on it (an input)."""

    event_type: ClassVar[str] = "MessageReceived"
    name: str = ""
    idempotency_key: str = ""
    sender_case_no: str | None = None
    payload_sha256: str = ""


@dataclass(frozen=True)
class MessageExpired(Event):
    """A message this case sent found no receiver within its time to live (an alert on the sender)."""

    event_type: ClassVar[str] = "MessageExpired"
    name: str = ""
    idempotency_key: str = ""
    correlation_key: str | None = None


@dataclass(frozen=True)
class CaseLinked(Event):
    """This case was linked to its partner case (异地代收代办: receiving and owning district)."""

    event_type: ClassVar[str] = "CaseLinked"
    partner_case_no: str = ""
    relation: str = ""
    role: str = ""


@dataclass(frozen=True)
class MessageResolved(Event):
    """An administrator retried or discarded a message this case sent, with the reason (an input)."""

    event_type: ClassVar[str] = "MessageResolved"
    action: str = ""
    name: str = ""
    idempotency_key: str = ""
    reason: str = ""


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
