"""Commands: what someone asks the engine to do, in the imperative. One handler each, one transaction each."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Mapping

from .candidates import user_groups


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person (with their groups) or the system itself (worker, migrations)."""

    username: str
    roles: tuple[str, ...] = ()
    district: str | None = None
    department: str | None = None

    @property
    def groups(self) -> frozenset[str]:
        """Every candidate group key this actor belongs to, including their personal ``user:`` key."""
        return user_groups(self.roles, self.district, self.department) | {f"user:{self.username}"}

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        """The engine's own identity, used by the worker and by migrations."""
        return cls(username=name, roles=("system",))


@dataclass(frozen=True)
class Command:
    """Base class of commands."""


@dataclass(frozen=True)
class LintDefinitions(Command):
    """Check BPMN, form, catalog and bundle files (name, bytes) as a deploy would, plus graph checks; store nothing."""

    bpmn_files: tuple[tuple[str, bytes], ...]
    form_files: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class DeployDefinitions(Command):
    """Deploy BPMN files (name, bytes) and form files (name, bytes) as new versions where they changed."""

    bpmn_files: tuple[tuple[str, bytes], ...]
    form_files: tuple[tuple[str, bytes], ...] = ()
    actor: Actor = field(default_factory=Actor.system)


@dataclass(frozen=True)
class DeployDraft(Command):
    """Deploy a saved draft through the deploy path, after lint finds no error; the draft is then removed.

    ``revision`` (when given) must still be the draft's; ``force`` deploys a draft whose base version is no
    longer the latest (someone deployed in between). Only designers deploy.
    """

    draft_id: int
    actor: Actor
    revision: int | None = None
    force: bool = False


@dataclass(frozen=True)
class StartCase(Command):
    """Start a case of the latest (or a given) version of ``process_key`` with initial ``data``.

    With ``matter_code`` the case is received for that catalog matter: the matter must be offered in the
    receiving district, its process is the one started (``process_key`` may then be None, or must name
    the same process), and the clocks take their amounts from the catalog.
    """

    process_key: str | None
    actor: Actor
    data: Mapping[str, Any] = field(default_factory=dict)
    version: int | None = None
    business_key: str | None = None
    title: str | None = None
    owning_district: str | None = None
    receiving_district: str | None = None
    matter_code: str | None = None


@dataclass(frozen=True)
class Party:
    """An applicant or an agent as submitted at intake.

    Attributes:
        kind: applicant ``person`` (自然人) or ``legal`` (法人及其他组织); agent ``entrusted`` (授权代理)
            or ``relative`` (亲友代办).
        name: the person's or organisation's name.
        id_type: 证件类型代码 (GA/T 2000.156, e.g. ``111`` 居民身份证) of a person or agent.
        id_number: the person's ID number, or the legal person's 统一社会信用代码.
        legal_representative: a legal person's 法定代表人.
        authorization: an agent's authorisation reference (授权委托书编号).
    """

    kind: str
    name: str
    id_type: str = ""
    id_number: str = ""
    legal_representative: str = ""
    authorization: str = ""


@dataclass(frozen=True)
class MaterialInput:
    """One line of the materials checklist: an uploaded file, a 电子证照 reference, or marked missing.

    ``original_verified`` records that the clerk saw the original (原件核验) of an uploaded copy.
    """

    key: str
    upload: BinaryIO | None = None
    filename: str = ""
    license_ref: str | None = None
    missing: bool = False
    original_verified: bool = False


@dataclass(frozen=True)
class ReceiveApplication(Command):
    """Receive an application for a catalog matter at a window (收件) and start its case.

    The receiving district is the clerk's; the owning district is the clerk's too unless ``owning_district``
    names another, which must have granted the clerk's district 异地收件 for the matter. Materials not named
    in ``materials`` count as not supplied.
    """

    matter_code: str
    actor: Actor
    applicant: Party
    contact_phone: str
    materials: tuple[MaterialInput, ...] = ()
    agent: Party | None = None
    form: Mapping[str, Any] = field(default_factory=dict)
    owning_district: str | None = None
    """The matter's 业务属地 when it is not the clerk's district (异地收件: needs a ``receive`` grant)."""


@dataclass(frozen=True)
class ApplyOnline(Command):
    """Apply online (全程网办) as the logged-in applicant account, for a matter offered online.

    The applicant is the account's verified identity. To apply as the agent (授权代理) of a legal person, give
    ``applicant`` with ``kind="legal"`` (its name, 统一社会信用代码 and 法定代表人) and the ``authorization``
    reference; the account then is the agent. ``district`` is the 业务属地 chosen among those offering the
    matter (it may be left out when only one does).
    """

    matter_code: str
    actor: Actor
    district: str | None
    contact_phone: str
    materials: tuple[MaterialInput, ...] = ()
    applicant: Party | None = None
    authorization: str = ""
    form: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmitSupplement(Command):
    """Upload the materials an open one-time 补正 notice asks for, as the applicant account (网上补正)."""

    case_id: int
    actor: Actor
    materials: tuple[MaterialInput, ...]
    note: str = ""


@dataclass(frozen=True)
class ClaimTask(Command):
    """Take an open task into the actor's own queue."""

    task_id: int
    actor: Actor


@dataclass(frozen=True)
class UnclaimTask(Command):
    """Give a claimed task back to its candidate groups."""

    task_id: int
    actor: Actor


@dataclass(frozen=True)
class ClaimTasks(Command):
    """Claim several open tasks at once; each claim is its own transaction and has its own outcome."""

    task_ids: tuple[int, ...]
    actor: Actor


@dataclass(frozen=True)
class DelegateTask(Command):
    """Hand an open task to another active member of its candidate groups (转办)."""

    task_id: int
    actor: Actor
    to: str
    reason: str


@dataclass(frozen=True)
class ReturnTask(Command):
    """Send a case back from an open task to the user task completed before it (退回)."""

    task_id: int
    actor: Actor
    reason: str
    on_record: bool = False
    """Replay only: re-issue a 退回 recorded before a 退回 into a one-time 补正 notice already given was
    refused, so that what was recorded then still replays. Never set from the API or the CLI."""


@dataclass(frozen=True)
class CompleteTask(Command):
    """Complete an open task with form ``data`` and run the case until it waits."""

    task_id: int
    actor: Actor
    data: Mapping[str, Any] = field(default_factory=dict)
    on_record: bool = False
    """Replay only: re-issue a completion recorded before a second one-time 补正 notice was refused, so that
    what was recorded then still replays. Never set from the API or the CLI."""
    resume_pauses: bool = True
    """Replay only (False): re-issue a 受理 recorded before 受理 ended the 补正 pauses of the other clocks
    (its ``ClocksStarted`` has no ``resumed``), which left them paused until someone resumed them by hand."""


@dataclass(frozen=True)
class FireDueTimers(Command):
    """Fire the due timers of one case at the engine clock's now; a late cycle timer fires once for its missed slots."""

    case_id: int
    actor: Actor = field(default_factory=Actor.system)
    merge_missed: bool = True
    """Replay only (False): re-issue a fire recorded before missed cycle slots were merged, which fired each."""


@dataclass(frozen=True)
class DeliverMessage(Command):
    """Deliver one pending message to its receiver (correlated case or a new case), exactly once."""

    message_id: int
    actor: Actor = field(default_factory=lambda: Actor.system("message-worker"))


@dataclass(frozen=True)
class SuspendClock(Command):
    """Pause a case's clocks: 补正 (correction), 特别程序 (special_procedure, with its expected days) or 容缺."""

    case_id: int
    actor: Actor
    reason_kind: str
    reason: str
    clocks: tuple[str, ...] = ("legal", "committed")
    procedure: str = ""
    expected_days: int | None = None
    on_record: bool = False
    """Replay only: re-issue a pause recorded before 特别程序 had to be one of 第四十五条's procedures with a
    bounded expected time, so that what was recorded then still replays. Never set from the API or the CLI."""


@dataclass(frozen=True)
class ResumeClock(Command):
    """Resume a case's paused clocks."""

    case_id: int
    actor: Actor
    clocks: tuple[str, ...] = ("legal", "committed")


@dataclass(frozen=True)
class ExtendDeadline(Command):
    """A department head of the owning district extends one clock by ``days`` working days, approving it.

    The approver is the actor: ``approved_by`` must name the actor (or be empty). Staff who are not heads
    ask with :class:`RequestExtension` instead, and a head approves in the system.
    """

    case_id: int
    actor: Actor
    days: int
    reason: str
    approved_by: str = ""
    clock: str = "legal"
    told_to_applicant: bool = False
    on_record: bool = False
    """Replay only: re-issue an extension recorded before approvals moved into the system, when the actor
    recorded a head's approval given outside it. The approver must still be an active department head of the
    owning district. Never set from the API or the CLI."""


@dataclass(frozen=True)
class RequestExtension(Command):
    """Ask a department head of the owning district to extend one clock (行政许可法第四十二条)."""

    case_id: int
    actor: Actor
    days: int
    reason: str
    clock: str = "legal"
    told_to_applicant: bool = False
    on_record: bool = False
    """Replay only: the record shows the request was allowed, so who asked is not checked again."""


@dataclass(frozen=True)
class DecideExtension(Command):
    """A department head approves (the extension applies at once) or rejects (``comment`` required) a request."""

    request_id: int
    actor: Actor
    approve: bool
    comment: str = ""
    on_record: bool = False
    """Replay only: re-issue a decision recorded before an extension had to be approved before the period ran
    out (第四十二条), so that what was recorded then still replays. Never set from the API or the CLI."""


@dataclass(frozen=True)
class WithdrawExtension(Command):
    """The requester withdraws an open extension request."""

    request_id: int
    actor: Actor


@dataclass(frozen=True)
class RecomputeDeadlines(Command):
    """Recompute a case's derived due dates (after a calendar year was imported or replaced)."""

    case_id: int
    reason: str
    actor: Actor = field(default_factory=Actor.system)
    move_tasks: bool = True
    """Replay only (False): re-issue a recompute recorded before it moved open tasks' own deadlines (its
    ``DeadlinesRecomputed`` names no ``task:`` key), so that what was recorded then still replays."""


@dataclass(frozen=True)
class RaiseSupervision(Command):
    """Open the 督办 items a running case's deadlines call for at the clock's now (the worker sends this)."""

    case_id: int
    actor: Actor = field(default_factory=Actor.system)


@dataclass(frozen=True)
class CloseSupervision(Command):
    """Close a 督办 item with the supervisor's opinion (what was done, what the department was told)."""

    item_id: int
    actor: Actor
    opinion: str


@dataclass(frozen=True)
class MigrateCase(Command):
    """Move one running case from its definition version to version ``to_version`` of the same process.

    ``expected_version`` is the case row version the migration plan saw: when the case changed since, the
    command is refused (``MIGRATION_CASE_CHANGED``) instead of migrating a state nobody checked.
    """

    case_id: int
    actor: Actor
    to_version: int
    expected_version: int | None = None
    lock_timeout: float | None = 5.0
    """Seconds to wait for a case another command holds; then ``LOCK_TIMEOUT`` (None: wait as long as it takes)."""


@dataclass(frozen=True)
class RateCase(Command):
    """Rate a closed case once (好差评): ``score`` is the GB/T 39046 A.8 code, 1 非常满意 … 5 非常不满意.

    ``actor`` is a window clerk entering the applicant's rating, :data:`engine.ratings.APPLICANT` after the
    applicant proved the query code, or the applicant account that applied for the case online (我的办件).
    A 差评 (4 or 5) opens a 差评整改 case.
    """

    case_id: int
    actor: Actor
    score: int
    channel: str
    comment: str = ""
