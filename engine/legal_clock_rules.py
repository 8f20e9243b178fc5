"""The 《行政许可法》 time rules the legal clock is built from, and the clock's vocabulary.

Split from :mod:`engine.legal_clock`, which re-exports every public name here and holds the arithmetic.
Here are the records a clock is made of (:class:`Budget`, :class:`Segment`, :class:`Extension`, their
kinds and JSON forms), its errors, and what a lawyer would check line by line against the statute
(DOMAIN.md 1.1 and 1.3):

* 第三十二条第一款第（四）项: a 补正 notice must come "当场或者在五日内", else 受理 is deemed to have happened
  on the day the materials were received (:func:`deemed_acceptance`);
* 第四十二条: 20 working days to decide (45 for 统一/联合/集中办理), extendable once by 10 (15)
  (:func:`decision_budget`, :func:`extension_limit`);
* 第四十四条: 10 working days from the decision to serve the licence (:func:`delivery_due`);
* 第四十五条: the procedures whose time is not counted (:data:`XKF45_PROCEDURES`);
* 第八十二条: every period of the statute is counted in working days.

Pure: standard library and :mod:`engine.calendar` / :mod:`engine.errors` only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from .calendar import Due, WorkCalendar, business_date
from .errors import Conflict, Forbidden, InvalidInput

BudgetUnit = Literal["workday", "day"]
UNIT_ZH: dict[str, str] = {"workday": "个工作日", "day": "日"}

NOTICE_WINDOW_DAYS = 5
DELIVERY_DAYS = 10
XKF45_PROCEDURES: tuple[str, ...] = ("听证", "招标", "拍卖", "检验", "检测", "检疫", "鉴定", "专家评审")
"""The procedures 第四十五条 names; their time "不计算在本节规定的期限内"."""
MAX_PROCEDURE_DAYS = 60
"""The longest time (working days) a 特别程序 pause may announce to the applicant.

第四十五条 sets no limit of its own, but the statute bounds its procedures elsewhere: a 听证 is asked for
within 5 working days and held within 20 (第四十七条), 检验、检测、检疫 start within 5 (第五十五条), and the
longest decision period it knows is 45 + 15 working days for joint handling (第四十二条). A procedure announced
as lasting longer than that whole period is far more likely a slip (3650) or an abuse than a real procedure;
the expected time is only what the applicant is told: a pause still lasts until it is resumed, so a procedure
that really runs longer is not cut short.
"""


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


def heads_department(head_department: str | None, case_department: str | None) -> bool:
    """Whether a department head of ``head_department`` is the 负责人 of a case handled by ``case_department``.

    第四十二条第一款 asks for the approval of 本行政机关负责人: the head of the department that handles the case
    (the matter's 承办部门). A case with no department (started from a process, not a matter) may be decided by
    any department head of its district. The 45-day joint procedure's extension is not theirs: 第四十二条第二款
    names 本级人民政府负责人 (:mod:`engine.extension_approval`).
    """
    return case_department is None or head_department == case_department


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
    """Which limit a clock measures: 法定时限 (the law's) or 承诺时限 (the published, shorter promise)."""

    LEGAL = "legal"
    COMMITTED = "committed"

    @property
    def zh(self) -> str:
        """The Chinese name, e.g. "法定时限"."""
        return "法定时限" if self is ClockKind.LEGAL else "承诺时限"


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
        """The Chinese name, e.g. "补正"."""
        return {"correction": "补正", "special_procedure": "特别程序", "tolerance": "容缺"}[self.value]


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
        days: the days added, in the budget's unit.
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


def check_pause_terms(reason_kind: str, procedure: str, expected_days: int | None) -> None:
    """Refuse a 特别程序 pause that 第四十五条 does not cover, before any clock changes.

    A 特别程序 stops the legal clock only for the procedures 第四十五条 names (:data:`XKF45_PROCEDURES`),
    and its expected time must be told in writing: 1 to :data:`MAX_PROCEDURE_DAYS` working days. Other
    pauses (补正, 容缺) name no procedure. Replay does not call this for pauses recorded before the rule.

    Raises:
        ClockInvalid: for another procedure text, a procedure on another pause, or a missing or too long
            expected time.
    """
    named = (procedure or "").strip()
    if reason_kind != PauseKind.SPECIAL_PROCEDURE:
        if named:
            raise ClockInvalid("只有特别程序需要写明程序名称（《行政许可法》第四十五条）",
                               details={"procedure": procedure})
        return
    if named not in XKF45_PROCEDURES:
        raise ClockInvalid("特别程序应为听证、招标、拍卖、检验、检测、检疫、鉴定或专家评审之一"
                           "（《行政许可法》第四十五条）",
                           details={"procedure": procedure, "allowed": list(XKF45_PROCEDURES)})
    if isinstance(expected_days, bool) or not isinstance(expected_days, int) \
            or not 1 <= expected_days <= MAX_PROCEDURE_DAYS:
        raise ClockInvalid(f"特别程序所需时间应为 1 至 {MAX_PROCEDURE_DAYS} 个工作日，并书面告知申请人"
                           "（《行政许可法》第四十五条）",
                           details={"expected_days": expected_days, "max": MAX_PROCEDURE_DAYS})


def decision_budget(joint: bool) -> Budget:
    """Return the decision limit of 第四十二条: 20 working days, or 45 for 统一/联合/集中办理 (第二十六条)."""
    return Budget(45 if joint else 20, "workday")


def extension_limit(joint: bool) -> int:
    """Return the working days one extension may add under 第四十二条: 10, or 15 for joint handling."""
    return 15 if joint else 10


def extension_approver(joint: bool) -> str:
    """Return who must approve the extension under 第四十二条, in Chinese."""
    return "本级人民政府负责人" if joint else "本行政机关负责人"


def delivery_due(decision_date: date, calendar: WorkCalendar) -> Due:
    """Return the day by which the licence must be issued and served: 10 working days (第四十四条).

    Raises:
        TypeError: when ``decision_date`` is a ``datetime`` (pass its business date).
    """
    due = calendar.workdays_after(decision_date, DELIVERY_DAYS)
    rule = (f"准予许可决定于 {decision_date} 作出，依《行政许可法》第四十四条应于 {DELIVERY_DAYS} "
            "个工作日内颁发、送达证件；")
    return Due(due.date, due.status, rule + due.rule, due.unknown_years)


@dataclass(frozen=True)
class AcceptanceOutcome:
    """When the decision clock starts, under 第三十二条第一款第（四）项.

    Attributes:
        t0: the effective 受理 date (T0), or ``None`` while the application is not (yet) accepted.
        deemed: True when 受理 is deemed by law to have happened on the receipt date.
        window: the last day on which the one-time 补正 notice could lawfully be issued.
        explanation: Chinese text fit for the case history and the applicant.
    """

    t0: date | None
    deemed: bool
    window: Due
    explanation: str


def deemed_acceptance(received_at: datetime, notice_at: datetime | None, accepted_at: datetime | None,
                      calendar: WorkCalendar, *, at: datetime | None = None) -> AcceptanceOutcome:
    """Decide the effective 受理 date of an application (第三十二条第一款第（四）项).

    The notice window is 5 working days after the receipt date, the receipt day not counted (第八十二条,
    民法典第二百零一条); a notice on the 5th working day is in time, on the 6th it is late. When no notice
    came in time and the application was not accepted within the window either, 受理 is deemed to be the
    receipt date and the decision clock is back-dated to it. An acceptance inside the window, with or
    without a notice, is the ordinary T0.

    Args:
        received_at: when the application materials were received (收件).
        notice_at: when the one-time 补正 notice was issued, if ever.
        accepted_at: when the agency accepted the application, if it has.
        calendar: the working-day calendar.
        at: the current instant; when given and the window is still open with neither a notice nor an
            acceptance, the outcome is "not yet decided" instead of an early deemed acceptance.

    Raises:
        ClockInvalid: for naive instants, or a notice or acceptance before the receipt.
    """
    for name, value in (("收件时间", received_at), ("补正告知时间", notice_at), ("受理时间", accepted_at),
                        ("当前时间", at)):
        if value is not None and value.tzinfo is None:
            raise ClockInvalid(f"{name} {value} 须带时区")
        if value is not None and name != "当前时间" and value < received_at:
            raise ClockInvalid(f"{name} {value} 早于收件时间 {received_at}")
    received = business_date(received_at)
    window = calendar.workdays_after(received, NOTICE_WINDOW_DAYS)
    basis = f"收件日 {received}，一次性补正告知期限至 {window.date}（{NOTICE_WINDOW_DAYS} 个工作日，不含收件当日）"
    notice = business_date(notice_at) if notice_at is not None else None
    accepted = business_date(accepted_at) if accepted_at is not None else None
    if accepted is not None and accepted <= window.date:
        return AcceptanceOutcome(accepted, False, window, f"{basis}；已于 {accepted} 受理，自该日起算办理期限")
    if notice is not None and notice <= window.date:
        text = f"{basis}；已于 {notice} 一次性告知补正，"
        if accepted is None:
            return AcceptanceOutcome(None, False, window, text + "待申请人提交全部补正材料后受理")
        return AcceptanceOutcome(accepted, False, window, text + f"补正后于 {accepted} 受理，自该日起算办理期限")
    if at is not None and notice is None and accepted is None and business_date(at) <= window.date:
        return AcceptanceOutcome(None, False, window, f"{basis}；告知期限尚未届满")
    late = f"补正告知于 {notice} 发出，已逾期" if notice is not None else "期限内未一次性告知补正"
    text = (f"{basis}；{late}，依《行政许可法》第三十二条第一款第（四）项，自收到申请材料之日（{received}）"
            f"起即为受理，办理期限自该日起算")
    return AcceptanceOutcome(received, True, window, text)
