"""The clocks' units (no database): a 日 budget's light and stored yellow instant, its extension, the joint procedure.

Found by the QA hunt on the legal clock. March 2026 has no holidays; 2026-03-02 is a Monday; 2026-04-04..06 is 清明
(Saturday to Monday). One light rule (ClockSpec, README ``lights``, DOMAIN.md 2.7): yellow with at most
``yellow_days`` working days left, or at most ``yellow_ratio`` of the budget left in the budget's own unit. An
extension under 第四十二条 counts in working days (第八十二条) whatever the budget's unit.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.acceptance_deemed import deemed_due, start_deemed
from engine.calendar import WorkCalendar, facts_from_chinesecalendar, period_end
from engine.case_clocks import derived_columns, start_clocks
from engine.case_metrics import clock_facts
from engine.clock import CST
from engine.definitions import ClockSpec
from engine.errors import WorkflowFailed
from engine.extension_approval import DEPARTMENT_HEAD, GOVERNMENT_HEAD, extension_approver_role, joint_procedure
from engine.legal_clock import Budget, Clock, ExtensionLimitExceeded


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=CST)


def natural(days: int = 30, t0: date = date(2026, 3, 2)) -> Clock:
    """A 法定 clock of ``days`` natural days accepted on ``t0`` (30 日 from Monday 03-02: due Wednesday 04-01)."""
    return Clock.start("legal", Budget(days, "day"), t0, datetime.combine(t0, datetime.min.time(), CST))


def stored_yellow(clock: Clock, cal: WorkCalendar, yellow_days: int = 1, yellow_ratio: float = 0.2) -> datetime:
    doc = {"legal": {"clock": clock.to_dict(), "yellow_days": yellow_days, "yellow_ratio": yellow_ratio}}
    return derived_columns(doc, cal)["legal_yellow_at"]


# --- one light rule -------------------------------------------------------------------------------------------

def test_the_stored_yellow_instant_of_a_natural_day_clock_is_where_its_light_turns_yellow(cal):
    """``derived_columns``' ``*_yellow_at`` (read by the inbox, the 督办 warning and the 临期 dashboard) is the
    instant ``Clock.light`` (the case page and API) turns yellow. A 30-日 clock due 04-01 with the default
    thresholds (1 working day, 20 % = 6 日) is yellow from 03-26 (6 natural days left). It was stored as 03-24
    00:00: the share was counted back in *working* days from a budget counted in natural days.
    """
    clock = natural()
    first_yellow = next(day for day in range(2, 32) if clock.light(cal, at(3, day, 0)) == "yellow")
    assert first_yellow == 26
    assert stored_yellow(clock, cal) == datetime(2026, 3, first_yellow, 0, tzinfo=CST)


def test_a_natural_day_clock_due_on_a_monday_warns_on_the_working_day_before_not_on_the_sunday(cal):
    """``yellow_days`` counts working days (DOMAIN 2.7: "到期前的一个工作日，发出提示信号"): a 7-日 clock (建筑法)
    accepted Monday 03-02 is due Monday 03-09; with one working day left it is yellow from Friday 03-06, when
    someone is at work to act. Counted in natural days it turned yellow only on Sunday 03-08.
    """
    clock = natural(7)
    assert clock.due(cal).date == date(2026, 3, 9)
    assert [clock.light(cal, at(3, day)) for day in (5, 6, 7, 8, 9)] == ["green"] + ["yellow"] * 4
    assert stored_yellow(clock, cal) == datetime(2026, 3, 6, 0, tzinfo=CST)


@pytest.mark.parametrize("budget", [Budget(30, "day"), Budget(7, "day"), Budget(45, "day"), Budget(20, "workday"),
                                    Budget(3, "workday"), Budget(45, "workday")])
@pytest.mark.parametrize("yellow_days, yellow_ratio", [(1, 0.2), (3, 0.0), (0, 0.5), (2, 0.1)])
def test_the_case_light_and_the_stored_yellow_instant_agree_on_every_day(cal, budget, yellow_days, yellow_ratio):
    """Whatever the unit and thresholds, on each day of the period the light is yellow exactly from the stored
    instant on (and red after the due date), with and without an extension."""
    plain = Clock.start("legal", budget, date(2026, 3, 2), at(3, 2))
    extended = plain.extend(5, "需现场核查", "科长", "科员", at(3, 3), max_total_days=10, approver_roles_ok=True)
    for clock in (plain, extended):
        yellow_at = stored_yellow(clock, cal, yellow_days, yellow_ratio)
        due = clock.due(cal).date
        day = date(2026, 3, 3)
        while day <= due + timedelta(days=3):
            noon = datetime.combine(day, datetime.min.time(), CST) + timedelta(hours=12)
            expected = "red" if day > due else "yellow" if noon >= yellow_at else "green"
            assert clock.light(cal, noon, yellow_days=yellow_days, yellow_ratio=yellow_ratio) == expected, day
            day += timedelta(days=1)


def test_a_working_day_clock_keeps_its_yellow_instant(cal):
    """The rule did not move a working-day clock: 20 个工作日 from 03-02, due 03-30, yellow with 4 left (03-24)."""
    clock = Clock.start("legal", Budget(20), date(2026, 3, 2), at(3, 2))
    assert stored_yellow(clock, cal) == period_end(date(2026, 3, 23))
    assert (clock.light(cal, at(3, 23)), clock.light(cal, at(3, 24))) == ("green", "yellow")


# --- the extension counts in working days ---------------------------------------------------------------------

def test_the_extension_of_a_natural_day_clock_adds_working_days_to_its_due_date(cal):
    """第四十二条's 10 days are working days (第八十二条), whatever the unit of the period it extends: a 30-日 clock
    due 04-01 extended by 10 is due 04-16 (清明 04-04..06 skipped), as the page tells ("已延长 10 个工作日"),
    not 04-13 (10 natural days, 04-11 a Saturday)."""
    clock = natural().extend(10, "需现场核查", "科长", "科员", at(3, 10), max_total_days=10, approver_roles_ok=True)
    due = clock.due(cal)
    assert (due.date, due.status) == (date(2026, 4, 16), "confirmed")
    assert due.rule.startswith("法定时限 30 日；经批准延长 10 个工作日。自 2026-03-02 起（不含当日）计 30 日")
    assert "延长期限自 2026-04-01 起（不含当日）计 10 个工作日" in due.rule
    assert clock.left(cal, at(4, 14)) == 2                       # 日 clock: natural days left


def test_the_metrics_count_an_extended_natural_day_limit_to_the_due_date_the_case_shows(cal):
    """The closing facts' limit spans T0 to the same due date as the clock (04-16), in working days."""
    clock = natural().extend(10, "需现场核查", "科长", "科员", at(3, 10), max_total_days=10, approver_roles_ok=True)
    _used, limit, late = clock_facts(clock, at(4, 15), cal)
    assert limit == cal.working_days_between(date(2026, 3, 2), date(2026, 4, 16))
    assert late is False


def test_a_pause_of_an_extended_natural_day_clock_still_pushes_it_by_natural_days(cal):
    clock = natural().extend(10, "需现场核查", "科长", "科员", at(3, 10), max_total_days=10, approver_roles_ok=True)
    clock = clock.pause(at(3, 11), "correction", "补正", "科员").resume(at(3, 14), "科员")   # 03-11..13: 3 日
    assert clock.due(cal).date == date(2026, 4, 21)              # 04-04 (Saturday) + 10 working days
    assert "另因补正暂停 3 日顺延" in clock.due(cal).rule


def test_an_extension_over_the_maximum_is_refused_in_working_days_for_a_natural_day_clock():
    with pytest.raises(ExtensionLimitExceeded) as refused:
        natural().extend(11, "需现场核查", "科长", "科员", at(3, 10), max_total_days=10, approver_roles_ok=True)
    assert refused.value.message == "延长 11 个工作日超过上限 10"


# --- the joint procedure is 45 working days -------------------------------------------------------------------

def test_a_legal_clock_of_45_natural_days_is_not_the_45_working_day_joint_procedure():
    """The government head approves, and 15 days may be added, only for the joint procedure, "a 法定 clock of 45
    working days or more" (行政许可法第四十二条第二款, 第八十二条). A 法定 clock of 45 *natural* days (a period
    another law sets, DOMAIN 1.3) spans about 31 working days: its extension is the 承办部门 head's, up to 10.
    """
    assert extension_approver_role("legal", Budget(45, "day")) == DEPARTMENT_HEAD
    assert not joint_procedure(Budget(60, "day"))
    assert extension_approver_role("legal", Budget(45, "workday")) == GOVERNMENT_HEAD
    assert joint_procedure(Budget(45, "workday"))


# --- the deemed acceptance takes effect when its window passes ------------------------------------------------

def waiting(amount_from: str | None = None) -> dict:
    """Clocks received Monday 03-02 10:00 that wait for 受理; the notice window ends Monday 03-09."""
    specs = (ClockSpec("legal", 20, "workday", starts_at="accept"),
             ClockSpec("committed", 10, "workday", starts_at="accept", amount_from=amount_from))
    return start_clocks(specs, at(3, 2, 10), "clerk")


def test_an_application_is_accepted_by_law_only_after_its_window_passed_without_notice(cal):
    doc = waiting()
    assert not deemed_due(doc, at(3, 9, 23), cal)                   # the 5th working day: still in time
    assert start_deemed(doc, at(3, 9, 23), cal, "worker") == (doc, [])
    assert deemed_due(doc, at(3, 10, 0), cal)
    new, started = start_deemed(doc, at(3, 10, 0), cal, "worker")
    assert {s["kind"]: (s["t0"], s["deemed"], s["budget"]["amount"]) for s in started} == {
        "legal": ("2026-03-02", True, 20), "committed": ("2026-03-02", True, 10)}
    assert "自收到申请材料之日（2026-03-02）起即为受理" in started[0]["explanation"]
    legal = Clock.from_dict(new["legal"]["clock"])
    assert (legal.t0, legal.segments[0].start, legal.segments[0].actor) == (date(2026, 3, 2), at(3, 10, 0), "worker")
    assert legal.due(cal).date == date(2026, 3, 30) and "pending" not in new["legal"]
    assert not deemed_due(new, at(3, 11), cal)                      # started: nothing left to deem


def test_a_notice_in_time_or_a_later_stage_is_never_deemed(cal):
    doc = waiting()
    noticed = {k: {**e, "pending": {**e["pending"], "notice_at": at(3, 5).isoformat()}} for k, e in doc.items()}
    assert not deemed_due(noticed, at(4, 1), cal)
    between = {k: {**e, "pending": {**e["pending"], "next_period": True}} for k, e in doc.items()}
    assert not deemed_due(between, at(4, 1), cal)
    assert not deemed_due({}, at(4, 1), cal) and not deemed_due(None, at(4, 1), cal)


def test_a_deemed_clock_takes_its_length_from_the_case_data_when_declared_so(cal):
    doc = waiting(amount_from="target_workdays")
    new, started = start_deemed(doc, at(3, 10), cal, "worker", {"target_workdays": 15})
    (committed,) = [s for s in started if s["kind"] == "committed"]
    assert (committed["budget"], committed["amount_from"]) == ({"amount": 15, "unit": "workday"}, "target_workdays")
    with pytest.raises(WorkflowFailed):
        start_deemed(doc, at(3, 10), cal, "worker", {})
