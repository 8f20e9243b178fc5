"""The 法定/承诺 clocks of a case: immutable segments from which due dates and lights are derived.

A :class:`Clock` remembers only what happened: its T0 (the 受理 business date; the start day itself is not
counted, 民法典第二百零一条), its budget, the running and paused segments and the approved extensions. Due
dates, days used and left, and the light are computed from that record and a :class:`WorkCalendar`, never
stored (DESIGN.md 4). Every operation returns a new clock, so a handler can compute, audit and store it.

How a pause is counted (one rule, shown to applicants in :attr:`Due.rule`): a pause covers the business
dates from the day it started up to the day before it ended, and pushes the due date by the working days
among them (natural days for a ``day`` budget). A pause that ends on the day it started pushes nothing;
the day a pause ends is a normal day of the budget; T0 and earlier days never count, as T0 is not counted
anyway. While a clock is paused, a computation at instant ``at`` treats the pause as if it ended at ``at``,
so days left stay frozen during the pause and do not jump on resume.

An extension adds its days to the period in working days, whatever the budget's unit (第四十二条 with
第八十二条; a 日 budget's extension runs on from the date its natural days reach: :mod:`engine.legal_clock_counting`).
Pauses and extensions are taken in time order, and one that begins after the due date as it then stood moves
nothing: an expired deadline is not revived, it stays a breach (行政许可法第七十四条).

The light turns yellow by one rule, shared with the stored yellow instant the inbox reads
(:meth:`Clock.yellow_from`): at most ``yellow_days`` working days left, or at most ``yellow_ratio`` of the
period in the budget's unit.

Pure: standard library, ``engine.calendar``, the records module (which adds ``engine.errors``), the rules
module and the counting module only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from .calendar import CST, Due, WorkCalendar, business_date
from .legal_clock_counting import EXTENSION_UNIT, count_due, first_yellow_day, reckon, span_days
from .legal_clock_records import (
    UNIT_ZH, Budget, BudgetUnit, ClockAlreadyPaused, ClockClosed, ClockInvalid, ClockKind, ClockNotPaused,
    DeadlineExpired, Extension, ExtensionApproverRequired, ExtensionLimitExceeded, ExtensionNotApproved, PauseKind,
    Segment, SegmentKind, _fields, _instant,
)
from .legal_clock_rules import (
    XKF45_PROCEDURES, AcceptanceOutcome, decision_budget, deemed_acceptance, delivery_due, extension_approver,
    extension_limit,
)

__all__ = [
    "AcceptanceOutcome", "Budget", "BudgetUnit", "Clock", "ClockAlreadyPaused", "ClockClosed", "ClockInvalid",
    "ClockKind", "ClockNotPaused", "DeadlineExpired", "Extension", "ExtensionApproverRequired",
    "ExtensionLimitExceeded", "ExtensionNotApproved", "Light",
    "PauseKind", "Segment", "SegmentKind", "XKF45_PROCEDURES", "decision_budget", "deemed_acceptance",
    "delivery_due", "extension_approver", "extension_limit",
]

ONE_DAY = timedelta(days=1)
SCHEMA = 1
Light = Literal["green", "yellow", "red", "paused", "closed"]


@dataclass(frozen=True)
class Clock:
    """One clock of a case. Build with :meth:`start`; each change returns a new clock.

    Attributes:
        kind: 法定 or 承诺.
        budget: the limit counted from T0.
        t0: the business date the clock starts from (受理日, possibly back-dated); it is not counted itself.
        segments: running and paused segments in time order; the last one is open unless the clock is closed.
        extensions: approved extensions in time order (at most one).
        closed_at: when the clock was closed (办结 or 终止), else ``None``.
    """

    kind: ClockKind
    budget: Budget
    t0: date
    segments: tuple[Segment, ...]
    extensions: tuple[Extension, ...] = ()
    closed_at: datetime | None = None

    # --- changes ------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, kind: ClockKind | str, budget: Budget, t0: date, at: datetime, actor: str = "") -> Clock:
        """Start a clock counting ``budget`` from ``t0``, recorded at instant ``at``.

        Raises:
            ClockInvalid: for an unknown kind, a naive ``at``, or a ``t0`` later than ``at``'s business date.
        """
        _aware(at)
        if isinstance(t0, datetime) or not isinstance(t0, date) or t0 > business_date(at):
            raise ClockInvalid(f"起算日 {t0!r} 无效：应为不晚于 {business_date(at)} 的日期")
        if kind not in ClockKind.__members__.values():
            raise ClockInvalid(f"时限种类 {kind!r} 无效：应为 legal（法定）或 committed（承诺）")
        if not isinstance(budget, Budget):
            raise ClockInvalid(f"时限 {budget!r} 无效")
        return cls(ClockKind(kind), budget, t0, (Segment(SegmentKind.RUNNING, at, actor=actor),))

    def pause(self, at: datetime, reason_kind: PauseKind | str, reason: str, actor: str,
              expected: Budget | None = None, *, procedure: str = "") -> Clock:
        """Stop the clock (补正, 特别程序 or 容缺); the days it stands still push the due date.

        A 特别程序 must name the procedure and the time it needs (第四十五条: "应当将所需时间书面告知申请人").

        Raises:
            ClockClosed: when the clock is closed.
            ClockAlreadyPaused: when it is already paused.
            ClockInvalid: for an unknown reason kind, an empty reason, a 特别程序 without procedure or
                expected time, or an instant before the last change.
        """
        self._check_change(at)
        if self.paused:
            current = self.segments[-1]
            since = current.start.astimezone(CST).strftime("%Y-%m-%d %H:%M")
            raise ClockAlreadyPaused(f"{self.kind.zh}已因{current.label}于 {since} 暂停，不能重复暂停",
                                     details={"clock": self.kind.value, "paused_at": current.start.isoformat()})
        if reason_kind not in PauseKind.__members__.values():
            raise ClockInvalid(f"暂停原因 {reason_kind!r} 无效：应为 correction、special_procedure 或 tolerance")
        if not reason.strip():
            raise ClockInvalid("暂停须写明理由")
        special = PauseKind(reason_kind) is PauseKind.SPECIAL_PROCEDURE
        if special and (not procedure.strip() or expected is None):
            raise ClockInvalid("特别程序须写明程序名称和所需时间（《行政许可法》第四十五条）")
        pause = Segment(SegmentKind.PAUSED, at, None, actor, PauseKind(reason_kind), reason,
                        procedure.strip(), expected)
        return replace(self, segments=self._ended(at) + (pause,))

    def resume(self, at: datetime, actor: str) -> Clock:
        """Restart a paused clock; the resume day counts as a normal day of the budget.

        Raises:
            ClockClosed: when the clock is closed.
            ClockNotPaused: when it is running.
            ClockInvalid: for an instant before the last change.
        """
        self._check_change(at)
        if not self.paused:
            raise ClockNotPaused(f"{self.kind.zh}正在计时，无需恢复")
        return replace(self, segments=self._ended(at) + (Segment(SegmentKind.RUNNING, at, actor=actor),))

    def extend(self, days: int, reason: str, approved_by: str, actor: str, at: datetime, *,
               max_total_days: int, approver_roles_ok: bool, told_to_applicant: bool = False,
               calendar: WorkCalendar | None = None) -> Clock:
        """Add ``days`` working days to the limit after approval (第四十二条: once, within ``max_total_days``).

        The days are working days whatever the budget's unit (第八十二条), as ``max_total_days`` is.

        The caller decides who may approve (``approver_roles_ok``: the approver holds the 负责人 role
        the law asks for) and the maximum (:func:`extension_limit` for the legal clock).

        第四十二条 lets a period that cannot be kept be extended, so the extension must be approved before
        the period has run out: with ``calendar`` given, an extension on a business date after the current
        due date is refused (it would move nothing, see the module docstring, yet use up the one extension).
        The due date itself is still in time. Every new extension passes the calendar; only the replay of
        a history recorded before this rule omits it, so that what was recorded then still replays.

        Raises:
            ClockClosed: when the clock is closed.
            ClockInvalid: for non-positive days, an empty reason or an instant before the last change.
            DeadlineExpired: with ``calendar``, when the due date has already passed at ``at``.
            ExtensionNotApproved: without an approver, or when the approver lacks the role.
            ExtensionLimitExceeded: for a second extension or more days than ``max_total_days``.
        """
        self._check_change(at)
        if calendar is not None and self.expired(calendar, at):
            due = self.due(calendar, at).date
            raise DeadlineExpired(f"{self.kind.zh}已于 {due} 届满，不能再延长（《行政许可法》第四十二条：延长须在"
                                  "期限届满前批准）", details={"clock": self.kind.value, "due_date": due.isoformat()})
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
            raise ClockInvalid(f"延长天数 {days!r} 无效：应为正整数")
        if not reason.strip():
            raise ClockInvalid("延长期限须写明理由，并告知申请人（《行政许可法》第四十二条）")
        if not approved_by.strip() or not approver_roles_ok:
            raise ExtensionNotApproved("延长期限须经负责人批准（《行政许可法》第四十二条），批准人缺失或无权批准")
        if self.extensions:
            when = self.extensions[0].at.astimezone(CST).strftime("%Y-%m-%d %H:%M")
            raise ExtensionLimitExceeded(f"{self.kind.zh}已于 {when} 延长一次，依法不得再次延长",
                                         details={"clock": self.kind.value,
                                                  "extended_at": self.extensions[0].at.isoformat()})
        if days > max_total_days:
            raise ExtensionLimitExceeded(f"延长 {days} {UNIT_ZH[EXTENSION_UNIT]}超过上限 {max_total_days}",
                                         details={"clock": self.kind.value, "days": days, "max": max_total_days})
        extension = Extension(days, reason, approved_by, actor, at, told_to_applicant)
        return replace(self, extensions=self.extensions + (extension,))

    def mark_extension_told(self) -> Clock:
        """Record that the applicant was told the extension and its reason.

        Raises:
            ClockClosed: when the clock is closed.
            ClockInvalid: when there is no extension.
        """
        if self.closed:
            raise ClockClosed(f"{self.kind.zh}已结束，不能再变更")
        if not self.extensions:
            raise ClockInvalid("没有延长记录可告知")
        told = replace(self.extensions[-1], told_to_applicant=True)
        return replace(self, extensions=self.extensions[:-1] + (told,))

    def close(self, at: datetime) -> Clock:
        """Stop the clock for good (办结 or 终止); an open pause ends at ``at``.

        Raises:
            ClockClosed: when it is already closed.
            ClockInvalid: for an instant before the last change.
        """
        self._check_change(at)
        return replace(self, segments=self._ended(at), closed_at=at)

    # --- state --------------------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """True while the clock stands still."""
        return self.closed_at is None and self.segments[-1].kind is SegmentKind.PAUSED

    @property
    def closed(self) -> bool:
        """True once the clock is closed."""
        return self.closed_at is not None

    @property
    def pauses(self) -> tuple[Segment, ...]:
        """The paused segments, in time order."""
        return tuple(s for s in self.segments if s.kind is SegmentKind.PAUSED)

    def expired_before_pause(self, calendar: WorkCalendar) -> bool:
        """Return True when the clock is paused and its deadline had passed before the pause began.

        Such a pause moves nothing (see the module docstring): the due date stays where it was, the clock
        stays overdue while paused, and every light and due column derived from it stays red.
        """
        if not self.paused:
            return False
        return business_date(self.segments[-1].start) > self.due(calendar).date

    def expired(self, calendar: WorkCalendar, at: datetime) -> bool:
        """Return True when the deadline has passed by ``at``'s business date (the clock is overdue)."""
        return business_date(at) > self.due(calendar, at).date

    def expected_resume(self, calendar: WorkCalendar) -> Due | None:
        """Return when the current pause is expected to end (its start date plus ``expected``), if known."""
        pause = self.segments[-1]
        if not self.paused or pause.expected is None:
            return None
        return count_due(calendar, pause.expected.unit, business_date(pause.start), pause.expected.amount)

    # --- derived ------------------------------------------------------------------------------------------

    def due(self, calendar: WorkCalendar, at: datetime | None = None) -> Due:
        """Return the due date: T0 plus the budget, the extensions and the paused days, in time order.

        Args:
            calendar: the working-day calendar; the result is provisional when it reaches an unloaded year.
            at: when the clock is paused, count the open pause as if it ended at ``at``; without it the
                open pause counts nothing yet.
        """
        return reckon(self, calendar, at)[0]

    def used(self, calendar: WorkCalendar, at: datetime) -> int:
        """Return the days of the budget used by ``at`` (closing date if earlier), paused days excluded."""
        today = self._today(at)
        counted = reckon(self, calendar, at)[1]
        elapsed = span_days(calendar, self.budget.unit, self.t0 + ONE_DAY, today)
        paused = sum(span_days(calendar, self.budget.unit, first, min(last, today)) for first, last in counted)
        return max(elapsed - paused, 0)

    def left(self, calendar: WorkCalendar, at: datetime) -> int:
        """Return the days from ``at``'s business date (or the closing date) to the due date.

        Counted in the budget's unit (natural days for a 日 budget). Negative by the days past the due date;
        for a working-day budget, on a non-working day right after the due date it is 0 while :meth:`light`
        already says red.
        """
        due, today = self.due(calendar, at).date, self._today(at)
        if self.budget.unit == "day":
            return (due - today).days
        return calendar.working_days_between(today, due)

    def light(self, calendar: WorkCalendar, at: datetime, *, yellow_days: int = 1,
              yellow_ratio: float = 0.2) -> Light:
        """Return the supervision colour (电子监察亮灯) at instant ``at``.

        ``closed`` comes first. A paused clock's light is ``paused`` (frozen: nothing is consumed while it
        stands still, and the caller may still read :meth:`left`), except when the deadline had already
        passed before the pause began: such a pause moves nothing and the breach stands (第七十四条), so
        the light stays ``red`` (:meth:`expired_before_pause`). Then red when the business date is past the
        due date; yellow from :meth:`yellow_from` on; green otherwise.
        """
        if self.closed:
            return "closed"
        if self.paused:
            return "red" if self.expired_before_pause(calendar) else "paused"
        today = business_date(at)
        if today > self.due(calendar, at).date:
            return "red"
        yellow = self.yellow_from(calendar, yellow_days=yellow_days, yellow_ratio=yellow_ratio)
        return "yellow" if today >= yellow else "green"

    def yellow_from(self, calendar: WorkCalendar, *, yellow_days: int = 1, yellow_ratio: float = 0.2) -> date:
        """Return the first business date on which the running clock is yellow (临期), its due date as it stands.

        Yellow when at most ``yellow_days`` working days are left, or at most ``yellow_ratio`` of the period
        (the budget plus its extension's days) in the budget's own unit
        (:func:`~engine.legal_clock_counting.first_yellow_day`). :meth:`light` and the stored yellow instant
        (:func:`engine.case_clocks.derived_columns`) both use it.
        """
        period = self.budget.amount + sum(e.days for e in self.extensions)
        return first_yellow_day(calendar, self.budget.unit, self.due(calendar).date, period,
                                yellow_days=yellow_days, yellow_ratio=yellow_ratio)

    # --- serialization ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-native dict (ISO dates, ISO instants with offset) that :meth:`from_dict` restores."""
        return {"schema": SCHEMA, "kind": self.kind.value, "budget": self.budget.to_dict(),
                "t0": self.t0.isoformat(), "segments": [s.to_dict() for s in self.segments],
                "extensions": [e.to_dict() for e in self.extensions],
                "closed_at": None if self.closed_at is None else self.closed_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Any) -> Clock:
        """Rebuild a clock stored with :meth:`to_dict`.

        Raises:
            ClockInvalid: when ``data`` is not a stored clock of this schema.
        """
        item = _fields(data, ("schema", "kind", "budget", "t0", "segments", "extensions", "closed_at"))
        if item["schema"] != SCHEMA or not isinstance(item["segments"], list) or not item["segments"] \
                or not isinstance(item["extensions"], list) or not isinstance(item["t0"], str):
            raise ClockInvalid(f"计时数据无效或版本不符（应为 schema {SCHEMA}）")
        try:
            kind, t0 = ClockKind(item["kind"]), date.fromisoformat(item["t0"])
        except ValueError as error:
            raise ClockInvalid(f"计时数据无效：{error}") from None
        clock = cls(kind, Budget.from_dict(item["budget"]), t0,
                    tuple(Segment.from_dict(s) for s in item["segments"]),
                    tuple(Extension.from_dict(e) for e in item["extensions"]),
                    _instant(item["closed_at"], True))
        # Only the last segment may be open, and only on an open clock; a pause always has its reason kind.
        ends = [s.end for s in clock.segments]
        if None in ends[:-1] or (ends[-1] is None) != (clock.closed_at is None) or any(
                (s.kind is SegmentKind.PAUSED) != (s.reason_kind is not None) for s in clock.segments):
            raise ClockInvalid("计时数据无效：时段不连贯")
        return clock

    # --- internals ----------------------------------------------------------------------------------------

    def _check_change(self, at: datetime) -> None:
        if self.closed:
            raise ClockClosed(f"{self.kind.zh}已于 {self.closed_at} 结束，不能再变更")
        _aware(at)
        last = max([s.start for s in self.segments] + [e.at for e in self.extensions])
        if at < last:
            raise ClockInvalid(f"时间 {at} 早于上一次变更 {last}")

    def _ended(self, at: datetime) -> tuple[Segment, ...]:
        return self.segments[:-1] + (replace(self.segments[-1], end=at),)

    def _today(self, at: datetime) -> date:
        _aware(at)
        today = business_date(at)
        return min(today, business_date(self.closed_at)) if self.closed_at is not None else today


def _aware(at: object) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ClockInvalid(f"时间 {at!r} 无效：须为带时区的时刻")

