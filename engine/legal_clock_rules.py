"""The 《行政许可法》 time rules the legal clock is built from.

Split from :mod:`engine.legal_clock`, which re-exports every public name here and holds the arithmetic; the
clock's records and errors are in :mod:`engine.legal_clock_records`. Here is what a lawyer would check line by
line against the statute (DOMAIN.md 1.1 and 1.3):

* 第三十二条第一款第（四）项: a 补正 notice must come "当场或者在五日内", else 受理 is deemed to have happened
  on the day the materials were received (:func:`deemed_acceptance`);
* 第四十二条: 20 working days to decide (45 for 统一/联合/集中办理), extendable once by 10 (15)
  (:func:`decision_budget`, :func:`extension_limit`);
* 第四十四条: 10 working days from the decision to serve the licence (:func:`delivery_due`);
* 第四十五条: the procedures whose time is not counted (:data:`XKF45_PROCEDURES`);
* 第八十二条: every period of the statute is counted in working days.

Pure: standard library, :mod:`engine.calendar` and :mod:`engine.legal_clock_records` only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .calendar import Due, WorkCalendar, business_date
from .legal_clock_records import Budget, ClockInvalid, PauseKind

__all__ = [
    "DELIVERY_DAYS", "MAX_PROCEDURE_DAYS", "NOTICE_WINDOW_DAYS", "XKF45_PROCEDURES", "AcceptanceOutcome",
    "check_pause_terms", "decision_budget", "deemed_acceptance", "delivery_due", "extension_approver",
    "extension_limit", "heads_department",
]

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


def heads_department(head_department: str | None, case_department: str | None) -> bool:
    """Whether a department head of ``head_department`` is the 负责人 of a case handled by ``case_department``.

    第四十二条第一款 asks for the approval of 本行政机关负责人: the head of the department that handles the case
    (the matter's 承办部门). A case with no department (started from a process, not a matter) may be decided by
    any department head of its district. The 45-day joint procedure's extension is not theirs: 第四十二条第二款
    names 本级人民政府负责人 (:mod:`engine.extension_approval`).
    """
    return case_department is None or head_department == case_department


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
