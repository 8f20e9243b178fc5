"""What the engine knows about a deployed diagram, in plain data (no SpiffWorkflow, no lxml)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .audit import canonical_json

TB_NS = "http://tongban.cq.gov.cn/schema/bpmn/1.0"
"""Namespace of tongban's BPMN extensions (assignment, form, deadline)."""
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

PROCESS_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}\Z")
"""What a process key (the executable ``bpmn:process`` id) may be: an ASCII letter or ``_`` first, then ASCII
letters, digits, ``_ . -``, at most 128 characters (the ``process_key`` columns). Deploy, drafts and the matter
catalog all use this rule; versions deployed before deploy checked it still load."""


def is_process_key(value: object) -> bool:
    """Whether ``value`` is a valid process key (see :data:`PROCESS_KEY`)."""
    return isinstance(value, str) and PROCESS_KEY.match(value) is not None


DEADLINE_UNITS = ("workdays", "days", "hours")
DEADLINE_CLOCKS = ("task", "legal", "committed")


@dataclass(frozen=True)
class Finding:
    """One problem found in a diagram or form: a stable code, a Chinese message and where it is.

    Attributes:
        code: stable identifier, e.g. ``BPMN_NO_START_EVENT``.
        message: explanation in Chinese for the designer.
        element_id: BPMN element id the modeler highlights, when there is one.
        severity: ``error`` refuses the deploy; ``warning`` is reported only.
        file: the file it is in, for findings in text files (catalogs), else None.
        line: the 1-based line in ``file``, else None.
    """

    code: str
    message: str
    element_id: str | None = None
    severity: str = "error"
    file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape used in API errors and lint output (file and line only where known)."""
        out = {"code": self.code, "message": self.message, "element_id": self.element_id, "severity": self.severity}
        if self.file is not None:
            out.update(file=self.file, line=self.line)
        return out


@dataclass(frozen=True)
class Deadline:
    """A task budget from ``<tb:deadline>`` or ``camunda:dueDate``: ``amount`` of ``unit`` on ``clock``."""

    amount: int
    unit: str
    clock: str = "task"


@dataclass(frozen=True)
class UserTaskInfo:
    """Everything the inbox needs about one user task element, resolved from the diagram's extensions."""

    element_id: str
    name: str
    process_id: str
    lane: str | None
    form_key: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    deadline: Deadline | None
    separate_from: tuple[str, ...] = ()
    """User task ids (this one's own id included, for 会签 instances) whose performers may not act on this
    task: ``<tb:assignment separateFrom="review">`` (职责分离; 行政许可法第三十四条: two or more staff check)."""
    right: str | None = None
    """The 全渝通办 right (``tb:right``) a receiving district needs to complete this task on another
    district's matter, e.g. ``verify_original``; None when the task needs no grant."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-native dict (stored in ``process_definitions.meta``)."""
        out = {
            "element_id": self.element_id, "name": self.name, "process_id": self.process_id,
            "lane": self.lane, "form_key": self.form_key,
            "candidate_groups": list(self.candidate_groups), "candidate_users": list(self.candidate_users),
            "deadline": None if self.deadline is None else
            {"amount": self.deadline.amount, "unit": self.deadline.unit, "clock": self.deadline.clock},
            "separate_from": list(self.separate_from),
        }
        if self.right is not None:
            out["right"] = self.right
        return out


MESSAGE_PARTS = ("handoff", "manifest", "verification")
"""What the engine can attach to a thrown message besides its payload expression (``tb:message attach``)."""


@dataclass(frozen=True)
class MessageSpec:
    """How a message throw event (``<tb:message>``) builds what it sends.

    Attributes:
        element_id: the throw event, end event or send task.
        process_id: the process it is in.
        payload: expression over the throwing task's data whose value (a dict) is the message payload.
        correlation: expression giving the receiver's case number; None starts a case at a message start event.
        attach: engine-built parts added to the payload: ``handoff`` (sender case, districts, matter, time),
            ``manifest`` (materials by sha256 with who verified each original, when) and ``verification``
            (the completed tasks that needed a grant: who, when, what).
    """

    element_id: str
    process_id: str
    payload: str
    correlation: str | None = None
    attach: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClockSpec:
    """A case clock declared on a process with ``<tb:clock>``: 法定 (legal) or 承诺 (committed).

    Attributes:
        kind: ``legal`` or ``committed``.
        amount: length of the period.
        unit: ``workday`` (statutory working days) or ``day`` (natural days).
        yellow_days: the light turns yellow when this many working days or fewer are left...
        yellow_ratio: ...or when this share of the budget or less is left.
    """

    kind: str
    amount: int
    unit: str
    yellow_days: int = 1
    yellow_ratio: float = 0.2
    starts_at: str | None = None
    """User task ids (受理), separated by spaces, whose completion starts the clock; None starts it with the
    case (收件). Several ids serve processes with more than one way to accept (当场、补正后、容缺受理)."""
    notice_at: str | None = None
    """User task ids (一次性告知补正), separated by spaces, whose completion is the one-time 补正 notice of
    第三十二条 for a clock that has not started yet."""
    amount_from: str | None = None
    """A case variable that holds the period length when the clock starts (e.g. a 工改 category target
    computed by a script task); ``amount`` is then only the declared default the deploy checks see."""
    when: str | None = None
    """An expression over the case's start data; the clock applies only to cases where it is true (e.g. a
    committed limit per 不动产登记 sub-type). None applies to every case."""
    stops_at: str | None = None
    """User task ids, separated by spaces, whose completion ends the current period (a 工改 stage's 阶段办结).
    The clock then waits for the next ``starts_at`` task and runs a fresh period: 行政许可法 第四十二条's 45
    working days of 联合办理 count per stage, not across the applicant's time between stages."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-native dict (stored in ``process_definitions.meta``)."""
        return {"kind": self.kind, "amount": self.amount, "unit": self.unit, "yellow_days": self.yellow_days,
                "yellow_ratio": self.yellow_ratio, "starts_at": self.starts_at, "notice_at": self.notice_at,
                "amount_from": self.amount_from, "when": self.when, "stops_at": self.stops_at}


def element_ids(value: str | None) -> tuple[str, ...]:
    """Split a ``startsAt``/``noticeAt`` value into element ids (separated by spaces or commas)."""
    return tuple(part for part in (value or "").replace(",", " ").split() if part)


@dataclass(frozen=True)
class DiagramInfo:
    """Facts read from one deployment unit's XML, per executable process."""

    process_ids: tuple[str, ...]
    process_names: dict[str, str]
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    clocks: dict[str, tuple[ClockSpec, ...]] = field(default_factory=dict)
    messages: dict[str, MessageSpec] = field(default_factory=dict)
    one_time_notice: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per process, the user tasks ``tb:oneTimeNotice`` names: the one-time 补正 notice, given once per case."""


def definition_content_hash(bpmn_xml: str, resources: Mapping[str, str], form_refs: Mapping[str, str],
                            bundle: Mapping[str, Any] | None = None) -> str:
    """Return the content hash a deployed process version is known by.

    It covers the process's own XML, the files it calls into (by name), the content hashes of the forms
    its tasks use and, for a bundle (一件事), the bundle mapping; an archive package recomputes it offline.
    """
    source = hashlib.sha256(bpmn_xml.encode())
    for name in sorted(resources):
        source.update(name.encode() + b"\0" + resources[name].encode())
    versioned = f"{source.hexdigest()}\n{canonical_json(dict(form_refs))}"
    versioned += f"\n{canonical_json(dict(bundle))}" if bundle is not None else ""
    return hashlib.sha256(versioned.encode()).hexdigest()
