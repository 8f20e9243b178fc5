"""The tables: typed SQLAlchemy 2 models, one DeclarativeBase with a naming convention.

Every table the engine writes is here; alembic's revisions are generated from this metadata and a test
checks that ``alembic upgrade head`` and these models never disagree.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    BigInteger, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import BigId, JsonDoc, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with constraint names that alembic can reproduce on both databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDoc, list[Any]: JsonDoc}


class ProcessDefinition(Base):
    """One immutable, content-hashed version of an executable BPMN process."""

    __tablename__ = "process_definitions"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        UniqueConstraint("process_key", "content_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    content_hash: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    resources: Mapped[dict[str, Any]] = mapped_column(JsonDoc, deferred=True)
    form_refs: Mapped[dict[str, Any]]
    meta: Mapped[dict[str, Any]]
    source_name: Mapped[Optional[str]] = mapped_column(String(512))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[Optional[str]] = mapped_column(String(64))


class FormVersion(Base):
    """One immutable version of a form-js form, pinned by the definitions that use it."""

    __tablename__ = "form_versions"
    __table_args__ = (
        UniqueConstraint("form_key", "content_hash"),
        UniqueConstraint("form_key", "version"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[dict[str, Any]] = mapped_column(JsonDoc, deferred=True)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[Optional[str]] = mapped_column(String(64))


_COMPLETED = text("status = 'completed'")
_RUNNING = text("status = 'running'")
_COMPLETED_FACTS = ["owning_district", "department", "matter_code", "legal_used_days", "committed_used_days"]
_RUNNING_FACTS = ["owning_district", "department", "matter_code", "legal_due_at", "legal_yellow_at",
                  "committed_due_at", "committed_yellow_at", "id"]


class Case(Base):
    """A case (办件): one process instance, its derived columns and its stored workflow state.

    ``version`` is the optimistic-lock counter bumped on every write; ``event_seq`` and ``chain_head``
    carry the audit hash chain forward without reading the log.
    """

    __tablename__ = "cases"
    __table_args__ = (
        Index(None, "status", "started_at"),
        Index(None, "process_key", "status"),
        Index(None, "owning_district", "status"),
        # The supervision sweep looks for running cases whose deadline or warning instant has passed.
        Index(None, "status", "committed_due_at"),
        Index(None, "status", "legal_yellow_at"),
        # Metrics (engine/metrics.py): flows by day, the completed cases' working days, the running cohort.
        Index(None, "started_at"),
        Index(None, "accepted_at"),
        Index("ix_cases_completed_metrics", "ended_at", postgresql_include=_COMPLETED_FACTS,
              postgresql_where=_COMPLETED, sqlite_where=_COMPLETED),
        Index("ix_cases_running_metrics", "started_at", postgresql_include=_RUNNING_FACTS,
              postgresql_where=_RUNNING, sqlite_where=_RUNNING),
        # The worker's recount looks for running cases counted with a calendar older than the committed one.
        Index(None, "status", "calendar_generation"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    process_key: Mapped[str] = mapped_column(String(128))
    business_key: Mapped[Optional[str]] = mapped_column(String(128), index=True)
    title: Mapped[Optional[str]] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[Optional[str]] = mapped_column(String(64))
    owning_district: Mapped[Optional[str]] = mapped_column(String(12))
    receiving_district: Mapped[Optional[str]] = mapped_column(String(12))
    deciding_district: Mapped[Optional[str]] = mapped_column(String(12))
    """The receiving district when a 就地批办 grant lets it decide (``${deciding}``); None: the owning one."""
    started_by: Mapped[Optional[str]] = mapped_column(String(64))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
    legal_due_at: Mapped[Optional[datetime]]
    legal_yellow_at: Mapped[Optional[datetime]]
    committed_due_at: Mapped[Optional[datetime]]
    committed_yellow_at: Mapped[Optional[datetime]]
    clocks: Mapped[Optional[dict[str, Any]]] = mapped_column(JsonDoc)
    deadline_provisional: Mapped[Optional[bool]] = mapped_column(Boolean)
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    chain_head: Mapped[str] = mapped_column(String(64))
    serializer_version: Mapped[str] = mapped_column(String(16))
    workflow_state: Mapped[str] = mapped_column(Text, deferred=True)
    version: Mapped[int] = mapped_column(Integer)
    matter_code: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    matter_version: Mapped[Optional[int]] = mapped_column(Integer)
    # Facts for the metrics (engine/case_metrics.py), kept by the handlers from the case's own events:
    department: Mapped[Optional[str]] = mapped_column(String(40))
    channel: Mapped[Optional[str]] = mapped_column(String(16))
    accepted_at: Mapped[Optional[datetime]]
    corrections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tolerance: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    visits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    legal_used_days: Mapped[Optional[int]] = mapped_column(Integer)
    legal_limit_days: Mapped[Optional[int]] = mapped_column(Integer)
    legal_late: Mapped[Optional[bool]] = mapped_column(Boolean)
    committed_used_days: Mapped[Optional[int]] = mapped_column(Integer)
    committed_limit_days: Mapped[Optional[int]] = mapped_column(Integer)
    committed_late: Mapped[Optional[bool]] = mapped_column(Boolean)
    facts_version: Mapped[Optional[int]] = mapped_column(Integer)
    """NULL on cases written before these facts existed; ``tongban migrate`` backfills them."""
    calendar_generation: Mapped[Optional[int]] = mapped_column(Integer)
    """The oldest calendar generation any of the case's stored instants may have been counted with: set by a
    full recompute (``DeadlinesRecomputed``, or none needed) and by opening the case, lowered by a command that
    counted with an older calendar (one that began before an import committed). The worker recomputes running
    cases below the committed generation (:meth:`engine.timers.TimerWorker.recount`). NULL: never counted."""

    __mapper_args__ = {"version_id_col": version}


NO_DEADLINE = datetime(9999, 12, 31, tzinfo=timezone.utc)
"""``tasks.inbox_due_at`` of a task without any deadline: it sorts after every dated task."""

_OPEN = text("state = 'open'")
_UNCLAIMED = text("state = 'open' AND assignee IS NULL")


def _partial(*columns: str, where: Any) -> Index:
    """A partial index on open inbox rows, spelled for both databases."""
    return Index(None, *columns, postgresql_where=where, sqlite_where=where)


class TaskItem(Base):
    """An inbox row: a human task the engine made ready, with everything the inbox filters on.

    The case number, applicant, stage and owning district are copied onto the row when the task is created,
    and ``inbox_due_at``/``inbox_yellow_at`` hold the instants its light and due-order come from (its own
    budget, else the case's committed clock; kept current when the case's clock moves), so every inbox
    filter and sort reads this one table and compares stored instants with now.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index(None, "state", "assignee", "created_at"),
        Index(None, "case_id", "state"),
        Index(None, "state", "district", "created_at"),
        Index(None, "completed_by", "completed_at"),
        Index(None, "case_id", "spiff_task_id"),
        # Only one open inbox row per spiff task; a task returned to (退回) gets a second, newer row.
        Index("uq_tasks_open_spiff_task_id", "spiff_task_id", unique=True,
              postgresql_where=_OPEN, sqlite_where=_OPEN),
        _partial("inbox_due_at", "id", where=_UNCLAIMED),
        _partial("created_at", "id", where=_UNCLAIMED),
        _partial("assignee", "inbox_due_at", "id", where=_OPEN),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    lane: Mapped[Optional[str]] = mapped_column(String(128))
    process_key: Mapped[str] = mapped_column(String(128))
    district: Mapped[Optional[str]] = mapped_column(String(12))
    form_key: Mapped[Optional[str]] = mapped_column(String(128))
    candidate_groups: Mapped[list[Any]]
    state: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[datetime]
    claimed_at: Mapped[Optional[datetime]]
    completed_at: Mapped[Optional[datetime]]
    completed_by: Mapped[Optional[str]] = mapped_column(String(64))
    due_at: Mapped[Optional[datetime]]
    yellow_at: Mapped[Optional[datetime]]
    deadline_clock: Mapped[Optional[str]] = mapped_column(String(16))
    """The case clock (``legal``, ``committed``) the task's own budget counts on, else None: ``due_at`` and
    ``yellow_at`` then follow that clock and are None while it stands still or has not started."""
    legal_due_at: Mapped[Optional[datetime]]
    committed_due_at: Mapped[Optional[datetime]]
    light: Mapped[Optional[str]] = mapped_column(String(8))
    case_no: Mapped[Optional[str]] = mapped_column(String(40))
    applicant_name: Mapped[Optional[str]] = mapped_column(String(128))
    stage: Mapped[Optional[str]] = mapped_column(String(128))
    inbox_due_at: Mapped[datetime] = mapped_column(default=NO_DEADLINE)
    inbox_yellow_at: Mapped[Optional[datetime]]
    activation: Mapped[Optional[str]] = mapped_column(String(36))
    """The id shared by the instances of one multi-instance activation (会签): the multi-instance task's spiff id,
    or one derived from it for a round run again after a 退回; separation of duties compares performers within it."""


_AVAILABLE = {"postgresql_where": text("available"), "sqlite_where": text("available = 1")}


class TaskCandidate(Base):
    """One candidate group of one task, so "my groups' tasks" is an indexed lookup, not a JSON scan.

    ``available`` (the task is open and unclaimed) and the task's ``inbox_due_at``, ``inbox_yellow_at`` and
    ``created_at`` are copied here and kept current by the repository, so "my groups' unclaimed tasks by due
    time" reads one partial index per group instead of probing the candidates of every open task in due order.
    """

    __tablename__ = "task_candidates"
    __table_args__ = (
        Index(None, "group_key", "task_id"),
        Index("ix_task_candidates_available_due", "group_key", "inbox_due_at", "task_id", **_AVAILABLE),
        Index("ix_task_candidates_available_created", "group_key", "created_at", "task_id", **_AVAILABLE),
    )

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    inbox_due_at: Mapped[datetime] = mapped_column(default=NO_DEADLINE)
    inbox_yellow_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]


class CaseEvent(Base):
    """One entry of the append-only, per-case hash-chained audit log."""

    __tablename__ = "case_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        Index(None, "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    actor: Mapped[Optional[str]] = mapped_column(String(64))
    element_id: Mapped[Optional[str]] = mapped_column(String(128))
    task_id: Mapped[Optional[int]] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Timer(Base):
    """A waiting BPMN timer with its absolute due time; workers claim due rows with SKIP LOCKED."""

    __tablename__ = "timers"
    __table_args__ = (
        Index(None, "state", "due_at"),
        Index(None, "case_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    expression: Mapped[Optional[str]] = mapped_column(Text)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    fired_at: Mapped[Optional[datetime]]
    locked_by: Mapped[Optional[str]] = mapped_column(String(64))
    locked_until: Mapped[Optional[datetime]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class MatterVersion(Base):
    """One version of a matter catalog entry (事项目录); a changed entry is the next version of its code."""

    __tablename__ = "matters"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        UniqueConstraint("code", "content_hash"),
        Index(None, "process_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(128))
    doc: Mapped[dict[str, Any]]
    source_name: Mapped[Optional[str]] = mapped_column(String(255))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(64))


class Grant(Base):
    """A delegation of 全渝通办 rights for one matter from its owning district to a receiving district (or all).

    ``rights`` lists codes of :data:`engine.grants.RIGHTS`. A grant is in force from ``valid_from`` to
    ``valid_to`` (inclusive, business dates) unless revoked; revoking keeps the row for the audit.
    """

    __tablename__ = "grants"
    __table_args__ = (
        Index(None, "matter_code", "owning_district", "receiving_district"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    owning_district: Mapped[str] = mapped_column(String(12))
    receiving_district: Mapped[str] = mapped_column(String(12))
    rights: Mapped[list[Any]]
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[Optional[date]] = mapped_column(Date)
    basis: Mapped[Optional[str]] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_by: Mapped[Optional[str]] = mapped_column(String(64))
    revoked_at: Mapped[Optional[datetime]]
    revoke_reason: Mapped[Optional[str]] = mapped_column(Text)


class Application(Base):
    """The application (办事申请, GB/T 39046 表5) a case was received with: who applied, through whom, what.

    ``query_code_hash`` is a salted PBKDF2 hash of the applicant's query code (the code itself is never
    stored); ``missing`` lists the 容缺 materials still to be supplied.
    """

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    matter_version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    applicant_kind: Mapped[str] = mapped_column(String(16))
    applicant_name: Mapped[str] = mapped_column(String(128))
    applicant_id_type: Mapped[str] = mapped_column(String(8))
    applicant_id_number: Mapped[str] = mapped_column(String(32))
    legal_representative: Mapped[Optional[str]] = mapped_column(String(64))
    agent_kind: Mapped[Optional[str]] = mapped_column(String(16))
    agent_name: Mapped[Optional[str]] = mapped_column(String(64))
    agent_id_type: Mapped[Optional[str]] = mapped_column(String(8))
    agent_id_number: Mapped[Optional[str]] = mapped_column(String(32))
    agent_authorization: Mapped[Optional[str]] = mapped_column(String(128))
    contact_phone: Mapped[str] = mapped_column(String(20))
    form_data: Mapped[dict[str, Any]]
    missing: Mapped[list[Any]]
    tolerance: Mapped[bool] = mapped_column(Boolean)
    query_code_hash: Mapped[str] = mapped_column(String(160))
    received_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    account: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    """The applicant account that applied online (全程网办); None for a counter intake."""


class CaseMaterial(Base):
    """One material received for a case: an uploaded file (by sha256, stored on disk) or a 电子证照 reference."""

    __tablename__ = "case_materials"
    __table_args__ = (UniqueConstraint("case_id", "material_key"), Index(None, "sha256"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    material_key: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[Optional[str]] = mapped_column(String(64))
    size: Mapped[Optional[int]] = mapped_column(BigInteger)
    media_type: Mapped[Optional[str]] = mapped_column(String(64))
    original_filename: Mapped[Optional[str]] = mapped_column(String(255))
    license_ref: Mapped[Optional[str]] = mapped_column(String(128))
    verified_by: Mapped[Optional[str]] = mapped_column(String(64))
    verified_at: Mapped[Optional[datetime]]
    received_at: Mapped[datetime]


class SupervisionItem(Base):
    """A 督办 item: a deadline of a running case turned red (or the legal one yellow) and supervisors act.

    ``kind`` is ``committed_overdue`` (承诺时限超期: a 督办 task), ``legal_warning`` (法定时限临近: an alert)
    or ``legal_overdue`` (法定时限超期). One item per case, kind and deadline: an extension that moves the
    deadline and is missed again opens a new one.
    """

    __tablename__ = "supervision_items"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "due_at"),
        Index(None, "state", "district", "raised_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(24))
    clock: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    district: Mapped[Optional[str]] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime]
    closed_by: Mapped[Optional[str]] = mapped_column(String(64))
    closed_at: Mapped[Optional[datetime]]
    opinion: Mapped[Optional[str]] = mapped_column(Text)


class ExtensionRequest(Base):
    """A request to extend a case's deadline (行政许可法第四十二条), waiting for its 负责人's approval.

    Staff of the owning district ask (``open``); the approver the request names in ``approver_role`` approves
    (the extension is applied in the same transaction) or rejects it with a reason, or the requester withdraws
    it: ``department_head`` (a head of the case's 承办部门 in that district, 第一款) or ``government_head`` (the
    district government's head, for the 45-day joint procedure, 第二款), set when the request is made. At most
    one request per case and clock is open at a time. Every change is also an event on the case's chain.
    """

    __tablename__ = "extension_requests"
    __table_args__ = (
        Index(None, "state", "district", "requested_at"),
        Index(None, "case_id", "id"),
        Index("uq_extension_requests_open_case_clock", "case_id", "clock", unique=True,
              postgresql_where=_OPEN, sqlite_where=_OPEN),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    clock: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    told_to_applicant: Mapped[bool] = mapped_column(Boolean, default=False)
    district: Mapped[Optional[str]] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    approver_role: Mapped[str] = mapped_column(String(32))
    decided_by: Mapped[Optional[str]] = mapped_column(String(64))
    decided_at: Mapped[Optional[datetime]]
    comment: Mapped[Optional[str]] = mapped_column(Text)


class Message(Base):
    """Outbox and buffer of BPMN messages between cases; the idempotency key makes delivery exactly-once."""

    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "state", "available_at"),
        Index(None, "name", "correlation_key", "state"),
        Index(None, "sender_case_id", "sender_element"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    correlation_key: Mapped[Optional[str]] = mapped_column(String(256))
    payload: Mapped[dict[str, Any]]
    sender_case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    receiver_case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]
    expires_at: Mapped[Optional[datetime]]
    delivered_at: Mapped[Optional[datetime]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sender_element: Mapped[Optional[str]] = mapped_column(String(128))
    """The BPMN element that threw the message (with the sender case it makes the idempotency key)."""
    signature: Mapped[Optional[str]] = mapped_column(String(64))
    """HMAC-SHA256 of the canonical envelope with the deployment's message secret."""
    locked_by: Mapped[Optional[str]] = mapped_column(String(64))
    locked_until: Mapped[Optional[datetime]]
    resolved_by: Mapped[Optional[str]] = mapped_column(String(64))
    """The admin who retried or discarded a poison, expired or rejected message."""


class MessageRejection(Base):
    """A message refused at the door or at delivery: forged (bad signature) or replayed (known idempotency key)."""

    __tablename__ = "message_rejections"
    __table_args__ = (Index(None, "rejected_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    name: Mapped[Optional[str]] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(24))
    detail: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[dict[str, Any]]
    rejected_at: Mapped[datetime]


class CaseLink(Base):
    """Two cases working on one application (异地代收代办: the receiving district's and the owning one's)."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "partner_case_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    partner_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    relation: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    """This case's side: ``receiving`` (收件地) or ``owning`` (业务属地)."""
    created_at: Mapped[datetime]


class CaseCounter(Base):
    """Per-day sequence behind case numbers, incremented with an atomic upsert."""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class User(Base):
    """A person who logs in: their district, department and roles make their candidate groups."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    district: Mapped[Optional[str]] = mapped_column(String(12))
    department: Mapped[Optional[str]] = mapped_column(String(64))
    roles: Mapped[list[Any]]
    password_hash: Mapped[Optional[str]] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    id_number: Mapped[Optional[str]] = mapped_column(String(18))
    id_type: Mapped[Optional[str]] = mapped_column(String(8))
    """An applicant's 证件类型 (GA/T 2000.156); staff carry none."""
    id_verified_by: Mapped[Optional[str]] = mapped_column(String(64))
    """Who checked an applicant's identity document when creating the account (实名核验)."""
    id_verified_at: Mapped[Optional[datetime]]
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Which page sessions are valid: a session holds the value read at login; logging out moves it on."""


class District(Base):
    """A 区县 (GB/T 2260 code), a functional zone (internal ``CQ-`` code) or the municipality (500000)."""

    __tablename__ = "districts"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    parent_code: Mapped[Optional[str]] = mapped_column(ForeignKey("districts.code"))
    region: Mapped[Optional[str]] = mapped_column(String(16))


class Department(Base):
    """A department of one district; users name it by ``(district, code)``, e.g. ``500103/zhujian``."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("district_code", "code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(128))


class ApiToken(Base):
    """A bearer token for the API; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[Optional[str]] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]


class CalendarDay(Base):
    """One dated fact of the statutory calendar: a holiday, 调休上班 or 调休放假 day of a loaded year.

    A year is "loaded" when it has rows here; days without a row follow the Monday-Friday rule.
    """

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(64))


class CalendarReplacedDay(Base):
    """One dated fact of a year's schedule that a later import replaced, and the instant it stopped counting.

    ``calendar import --replace`` moves the year's ``calendar_days`` rows here before it writes the new ones, so
    the schedule in force at any past instant can be read again: replay seeds each command with the version of
    each year in force at its recorded instant. Append-only; the id only orders rows (a day may be replaced
    more than once).
    """

    __tablename__ = "calendar_replaced_days"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(64))
    replaced_at: Mapped[datetime]


class CalendarImport(Base):
    """Append-only log of calendar loads (created, replaced, unchanged): a replaced year stays auditable."""

    __tablename__ = "calendar_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[Optional[str]] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class LoginAttempt(Base):
    """One failed page login, kept a short while so throttling works across web processes."""

    __tablename__ = "login_attempts"
    # Query-code lookups are also throttled per address across case numbers (username ``query:<办件编号>``).
    __table_args__ = (Index(None, "username", "source", "at"), Index(None, "source", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class DefinitionLog(Base):
    """Append-only audit of definition changes: each version a deploy created, each case migration run.

    ``kind`` is ``process``, ``form`` or ``matter`` and ``key`` its process key, form key or matter code.
    ``action`` is ``deploy`` (``version`` created) or ``migrate`` (cases of ``key`` moved from
    ``from_version`` to ``version``; ``detail`` counts migrated and refused cases). The database refuses
    UPDATE and DELETE, as for ``case_events``.
    """

    __tablename__ = "definition_log"
    __table_args__ = (Index(None, "kind", "key", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    from_version: Mapped[Optional[int]] = mapped_column(Integer)
    content_hash: Mapped[Optional[str]] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    detail: Mapped[dict[str, Any]]


class AccessLog(Base):
    """Append-only record of reads an auditor must be able to account for: each material file handed out.

    ``action`` is ``material_download``; ``resource`` the material key and ``sha256`` the content asked
    for. ``outcome`` is ``served`` (the bytes went out), ``corrupted`` (the stored bytes no longer match
    the recorded sha256, nothing served) or ``missing`` (the file is gone from the store). Reads are not
    case events: the case's hash chain records what happened to the case, this table who looked at what.
    The database refuses UPDATE and DELETE, as for ``case_events`` and ``definition_log``.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index(None, "case_id", "id"), Index(None, "actor", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    case_no: Mapped[str] = mapped_column(String(40))
    resource: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[Optional[str]] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))


class ProcessDraft(Base):
    """A designer's unfinished edit of a process (diagram plus the forms it changes); never runs, never deploys.

    ``base_hash``/``base_version`` name the deployed version the draft started from (None for a new process);
    ``revision`` is bumped on every save, so two designers saving the same draft cannot overwrite each other.
    """

    __tablename__ = "process_drafts"
    # AUTOINCREMENT on SQLite: a deleted or deployed draft's id is never handed to another draft (a stale
    # browser tab must not act on someone else's draft); PostgreSQL's sequences never reuse ids anyway.
    __table_args__ = (Index(None, "process_key"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(128))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    forms: Mapped[dict[str, Any]] = mapped_column(JsonDoc, deferred=True)
    base_hash: Mapped[Optional[str]] = mapped_column(String(64))
    base_version: Mapped[Optional[int]] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class ChainHead(Base):
    """A district's sealed head for one day (CST): append-only, chained to the district's previous head.

    ``cases_hash`` covers the day's case chain heads (one ``chain_head_cases`` row per case of the
    district with events that day: the last event of that day, by seq and hash); ``head_hash`` covers
    ``prev_hash`` and this row's facts, so the heads form a chain of their own. A case whose sealed event
    is later missing or different shows where its tail was cut (``tongban verify``).
    """

    __tablename__ = "chain_heads"
    __table_args__ = (UniqueConstraint("district", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district: Mapped[str] = mapped_column(String(12))
    day: Mapped[date] = mapped_column(Date)
    event_count: Mapped[int] = mapped_column(Integer)
    case_count: Mapped[int] = mapped_column(Integer)
    cases_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime]
    sealed_by: Mapped[str] = mapped_column(String(64))


class ChainHeadCase(Base):
    """One case's chain head as sealed in a district's day head (append-only).

    No foreign key to ``cases`` on purpose: the sealed record must outlive a case row deleted by hand.
    """

    __tablename__ = "chain_head_cases"
    __table_args__ = (Index(None, "case_id", "seq"),)

    head_id: Mapped[int] = mapped_column(ForeignKey("chain_heads.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class Archive(Base):
    """The archive package (归档信息包) job of a closed case: queued when the case closes, built by a worker.

    ``state`` is ``pending`` (waiting for a worker from ``available_at``), ``building`` (leased to
    ``locked_by`` until ``locked_until``), ``built`` (``path`` holds the zip with ``sha256``; it covers
    the case's events up to ``event_seq``) or ``failed`` (gave up after repeated errors, see ``last_error``).
    """

    __tablename__ = "archives"
    __table_args__ = (Index(None, "state", "available_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    case_no: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime]
    available_at: Mapped[datetime]
    locked_by: Mapped[Optional[str]] = mapped_column(String(64))
    locked_until: Mapped[Optional[datetime]]
    built_at: Mapped[Optional[datetime]]
    event_seq: Mapped[Optional[int]] = mapped_column(Integer)
    chain_head: Mapped[Optional[str]] = mapped_column(String(64))
    sha256: Mapped[Optional[str]] = mapped_column(String(64))
    size: Mapped[Optional[int]] = mapped_column(BigInteger)
    path: Mapped[Optional[str]] = mapped_column(String(255))
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class Rating(Base):
    """One 好差评 of a closed case (GB/T 39046 表9): A.8 level, channel, comment; at most one per case.

    ``district`` and ``department`` are the responsible (owning) district and department, copied when the
    rating is made so statistics read this table alone. ``status`` is ``recorded`` (no follow-up),
    ``rectifying`` (a 差评 whose 差评整改 case runs), ``rectified`` or ``removed`` (an upheld appeal: the
    row stays, with who removed it and why, and statistics leave it out).
    """

    __tablename__ = "ratings"
    __table_args__ = (
        Index(None, "district", "rated_at"),
        Index(None, "department", "rated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    case_no: Mapped[str] = mapped_column(String(40))
    matter_code: Mapped[Optional[str]] = mapped_column(String(64))
    district: Mapped[Optional[str]] = mapped_column(String(12))
    department: Mapped[Optional[str]] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(2))
    comment: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    rated_by: Mapped[str] = mapped_column(String(64))
    rated_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    rectification_case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    removed_at: Mapped[Optional[datetime]]
    removed_by: Mapped[Optional[str]] = mapped_column(String(64))
    removed_reason: Mapped[Optional[str]] = mapped_column(Text)


class MetricFigures:
    """The figures of one day's rollup row, shared by :class:`MetricDaily` and :class:`MetricCityDaily`.

    A declarative mixin, so the column list exists once: the city row holds the same figures summed over every
    district, department and matter. Each class declares its own key columns, which come first in its table.
    """

    received: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    completed: Mapped[int] = mapped_column(Integer)
    cross_district: Mapped[int] = mapped_column(Integer)
    one_visit: Mapped[int] = mapped_column(Integer)
    corrected: Mapped[int] = mapped_column(Integer)
    tolerated: Mapped[int] = mapped_column(Integer)
    late_legal: Mapped[int] = mapped_column(Integer)
    late_committed: Mapped[int] = mapped_column(Integer)
    legal_cases: Mapped[int] = mapped_column(Integer)
    legal_used_sum: Mapped[int] = mapped_column(BigInteger)
    legal_limit_sum: Mapped[int] = mapped_column(BigInteger)
    committed_cases: Mapped[int] = mapped_column(Integer)
    committed_used_sum: Mapped[int] = mapped_column(BigInteger)
    committed_limit_sum: Mapped[int] = mapped_column(BigInteger)
    legal_hist: Mapped[dict[str, Any]]
    """Completed cases by working days used on the legal clock, ``{"5": 12, ...}`` (for percentiles)."""
    committed_hist: Mapped[dict[str, Any]]


class MetricDaily(MetricFigures, Base):
    """One day's flows for one district, department and matter: the rollup the dashboards sum.

    Rows exist for every day up to the watermark in :class:`MetricWatermark`; later days are read from
    ``cases`` directly. ``legal_hist``/``committed_hist`` count the completed cases by working days used,
    so percentiles come from the rollup too. ``''`` stands for a case without a district, department or
    matter. A day is rolled up only once it is over, so its numbers never change afterwards (each counts
    an event of that day).
    """

    __tablename__ = "metric_daily"
    __table_args__ = (Index(None, "day", "owning_district"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    owning_district: Mapped[str] = mapped_column(String(12))
    department: Mapped[str] = mapped_column(String(40))
    matter_code: Mapped[str] = mapped_column(String(64))


class MetricCityDaily(MetricFigures, Base):
    """The whole city's flows of one day: the same figures as :class:`MetricDaily` summed over every key.

    The city summary of a year then reads 365 rows instead of one per day, district, department and matter.
    """

    __tablename__ = "metric_city_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)


class MetricWatermark(Base):
    """How far a rollup reaches: every day up to ``day`` is in ``metric_daily`` (one row per rollup name)."""

    __tablename__ = "metric_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime]


class Report(Base):
    """A periodic supervision report (通报) of one district for one period, written once (unique key).

    ``kind`` is ``daily`` (日扫描), ``weekly`` (周调度) or ``monthly`` (月通报); ``district`` ``500000`` is the
    city-wide report; ``period_key`` names the period (``2026-11-23``, ``2026-W48``, ``2026-11``).
    """

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("kind", "district", "period_key"),
        Index(None, "kind", "period_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(12))
    period_key: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
