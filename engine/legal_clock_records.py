"""The legal clock's vocabulary: the records a clock is made of and the errors its operations raise.

Split from :mod:`engine.legal_clock` (which re-exports every public name here and holds the arithmetic) with
:mod:`engine.legal_clock_rules` (the statute's time rules). Here are :class:`Budget`, :class:`Segment` and
:class:`Extension`, their kinds (:class:`ClockKind`, :class:`SegmentKind`, :class:`PauseKind`) and JSON forms
(``to_dict``/``from_dict``, which refuse malformed stored data), and the clock errors with their stable codes.

Pure: standard library and :mod:`engine.errors` only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from .errors import Conflict, Forbidden, InvalidInput

BudgetUnit = Literal["workday", "day"]
UNIT_ZH: dict[str, str] = {"workday": "个工作日", "day": "日"}


class ClockInvalid(InvalidInput):
    """An argument to a clock operation or a stored clock is malformed (bad days, naive time, ...)."""

    code = "CLOCK_INVALID"


class ClockClosed(Conflict):
    """The clock was closed (办结 or 终止); it accepts no further change."""

    code = "CLOCK_CLOSED"


class ClockAlreadyPaused(Conflict):
    """A pause was asked for while the clock is already paused."""

    code = "CLOCK_ALREADY_PAUSED"


class ClockNotPaused(Conflict):
    """A resume was asked for while the clock is running."""

    code = "CLOCK_NOT_PAUSED"


class DeadlineExpired(Conflict):
    """An extension asked for, or approved, after the period had run out (第四十二条: before it ends)."""

    code = "DEADLINE_EXPIRED"


class ExtensionNotApproved(Forbidden):
    """An extension lacks the approval 第四十二条 requires (负责人 / 本级人民政府负责人)."""

    code = "EXTENSION_NOT_APPROVED"


class ExtensionApproverRequired(Forbidden):
    """Someone other than the 负责人 第四十二条 names tried to decide (or directly make) an extension.

    That is a department head of the case's 承办部门 in the deciding district for the 20-day limit, and the head
    of that district's government for the 45-day joint procedure (:mod:`engine.extension_approval`).
    """

    code = "EXTENSION_APPROVER_REQUIRED"

    def __init__(self, message: str = "只有业务属地的科室负责人可以审批延期申请（《行政许可法》第四十二条）",
                 **kwargs: Any):
        super().__init__(message, **kwargs)



class ExtensionLimitExceeded(Conflict):
    """An extension beyond the legal maximum, or a second one: 第四十二条 allows one extension."""

    code = "EXTENSION_LIMIT_EXCEEDED"


@dataclass(frozen=True)
class Budget:
    """A time limit: an amount of working days (工作日) or natural days (日).

    Attributes:
        amount: the number of days, 0 for 即办件 (due on the start day).
        unit: ``workday`` (行政许可法第八十二条) or ``day`` (periods set by other laws, e.g. 建筑法 7 日).
    """

    amount: int
    unit: BudgetUnit = "workday"

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or not 0 <= self.amount <= 3650:
            raise ClockInvalid(f"时限天数 {self.amount!r} 无效：应为 0 至 3650 之间的整数")
        if self.unit not in UNIT_ZH:
            raise ClockInvalid(f"时限单位 {self.unit!r} 无效：应为 workday（工作日）或 day（自然日）")

    def __str__(self) -> str:
        return f"{self.amount} {UNIT_ZH[self.unit]}"

    def to_dict(self) -> dict[str, object]:
        """Return ``{"amount", "unit"}``."""
        return {"amount": self.amount, "unit": self.unit}

    @classmethod
    def from_dict(cls, data: object) -> Budget:
        """Rebuild a budget from :meth:`to_dict` output.

        Raises:
            ClockInvalid: when ``data`` is not such a mapping.
        """
        if not isinstance(data, dict) or set(data) != {"amount", "unit"}:
            raise ClockInvalid(f"时限数据 {data!r} 无效：应为 {{amount, unit}}")
        return cls(data["amount"], data["unit"])


class ClockKind(StrEnum):
    """Which limit a clock measures: 法定时限 (the law's) or 承诺时限 (the published, shorter promise).

    The one place these names are spelled: :attr:`zh` is the name on its own, :attr:`short` the word put
    before another (法定办结期限) or alone in a column already headed 时限 (a 通报's list).
    """

    LEGAL = "legal"
    COMMITTED = "committed"

    @property
    def short(self) -> str:
        """The qualifier alone, "法定" or "承诺": report columns, and composed names such as 法定办结期限."""
        return "法定" if self is ClockKind.LEGAL else "承诺"

    @property
    def zh(self) -> str:
        """The Chinese name, "法定时限" or "承诺时限": messages, the case and inbox pages, the history."""
        return f"{self.short}时限"


class SegmentKind(StrEnum):
    """Whether the clock ran or stood still during a segment."""

    RUNNING = "running"
    PAUSED = "paused"


class PauseKind(StrEnum):
    """Why a clock stands still: 补正, 特别程序 (行政许可法第四十五条) or 容缺 (where the matter allows it)."""

    CORRECTION = "correction"
    SPECIAL_PROCEDURE = "special_procedure"
    TOLERANCE = "tolerance"

    @property
    def zh(self) -> str:
        """The Chinese name, e.g. "补正": staff messages, the pause's label and the history ("承诺时限（容缺）")."""
        return {"correction": "补正", "special_procedure": "特别程序", "tolerance": "容缺"}[self.value]

    @property
    def notice_zh(self) -> str:
        """What the one-time notice asks the applicant for (办件查询: "需要容缺补正的全部内容").

        A 容缺 pause waits for materials owed after 容缺受理, so the applicant is asked for "容缺补正", not
        "容缺"; the other kinds read as :attr:`zh`.
        """
        return "容缺补正" if self is PauseKind.TOLERANCE else self.zh


@dataclass(frozen=True)
class Segment:
    """A stretch of time during which the clock ran or stood still.

    Attributes:
        kind: running or paused.
        start: the instant the segment began (clock start, resume or pause).
        end: the instant it ended, ``None`` for the current segment.
        actor: who started, resumed or paused the clock.
        reason_kind: for a pause, why (补正, 特别程序, 容缺); ``None`` for a running segment.
        reason: for a pause, the reason in words (e.g. the 补正 items or the basis of the procedure).
        procedure: for a 特别程序, which one (听证, 检验, 专家评审, ...).
        expected: for a pause, the time the applicant was told it needs (第四十五条 requires it in writing).
    """

    kind: SegmentKind
    start: datetime
    end: datetime | None = None
    actor: str = ""
    reason_kind: PauseKind | None = None
    reason: str = ""
    procedure: str = ""
    expected: Budget | None = None

    @property
    def label(self) -> str:
        """The Chinese name of a pause, e.g. "特别程序（听证）"; empty for a running segment."""
        if self.reason_kind is None:
            return ""
        return self.reason_kind.zh + (f"（{self.procedure}）" if self.procedure else "")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-native dict (instants as ISO text with offset)."""
        return {"kind": self.kind.value, "start": self.start.isoformat(), "end": _iso(self.end),
                "actor": self.actor, "reason_kind": self.reason_kind.value if self.reason_kind else None,
                "reason": self.reason, "procedure": self.procedure,
                "expected": self.expected.to_dict() if self.expected else None}

    @classmethod
    def from_dict(cls, data: Any) -> Segment:
        """Rebuild a segment from :meth:`to_dict` output.

        Raises:
            ClockInvalid: when ``data`` is not such a mapping.
        """
        item = _fields(data, ("kind", "start", "end", "actor", "reason_kind", "reason", "procedure",
                              "expected"))
        try:
            reason_kind = None if item["reason_kind"] is None else PauseKind(item["reason_kind"])
            return cls(SegmentKind(item["kind"]), _instant(item["start"]), _instant(item["end"], True),
                       _text(item["actor"]), reason_kind, _text(item["reason"]), _text(item["procedure"]),
                       None if item["expected"] is None else Budget.from_dict(item["expected"]))
        except ValueError as error:
            raise ClockInvalid(f"时段数据无效：{error}") from None


@dataclass(frozen=True)
class Extension:
    """An approved extension of the limit (行政许可法第四十二条); it moves the due date, it is not a pause.

    Attributes:
        days: the working days added (第四十二条 with 第八十二条), whatever the budget's unit.
        reason: why; the law requires telling the applicant.
        approved_by: the approving 负责人.
        actor: who recorded the extension.
        at: when it was recorded.
        told_to_applicant: whether the reason has been told to the applicant yet.
    """

    days: int
    reason: str
    approved_by: str
    actor: str
    at: datetime
    told_to_applicant: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-native dict (the instant as ISO text with offset)."""
        return {"days": self.days, "reason": self.reason, "approved_by": self.approved_by,
                "actor": self.actor, "at": self.at.isoformat(), "told_to_applicant": self.told_to_applicant}

    @classmethod
    def from_dict(cls, data: Any) -> Extension:
        """Rebuild an extension from :meth:`to_dict` output.

        Raises:
            ClockInvalid: when ``data`` is not such a mapping.
        """
        item = _fields(data, ("days", "reason", "approved_by", "actor", "at", "told_to_applicant"))
        days, told = item["days"], item["told_to_applicant"]
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0 or not isinstance(told, bool):
            raise ClockInvalid(f"延长数据无效：{data!r}")
        return cls(days, _text(item["reason"]), _text(item["approved_by"]), _text(item["actor"]),
                   _instant(item["at"]), told)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def _instant(text: object, optional: bool = False) -> Any:
    """Parse an ISO instant with offset; naive or malformed text is refused."""
    if text is None and optional:
        return None
    try:
        instant = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise ClockInvalid(f"时刻 {text!r} 无效：应为带时区偏移的 ISO 格式")
    return instant


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ClockInvalid(f"文本字段 {value!r} 无效")
    return value


def _fields(data: object, names: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(data, dict) or set(data) != set(names):
        raise ClockInvalid(f"数据 {data!r} 无效：应恰好包含字段 {', '.join(names)}")
    return data

