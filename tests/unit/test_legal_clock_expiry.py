"""engine.legal_clock after the deadline: a late pause keeps the breach red, a late extension is refused.

Also the 特别程序 terms of 第四十五条 (:func:`engine.legal_clock_rules.check_pause_terms`).
"""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.case_clocks import derived_columns
from engine.clock import CST
from engine.errors import Conflict, InvalidInput
from engine.legal_clock import Budget, Clock, ClockKind, decision_budget
from engine.legal_clock_rules import MAX_PROCEDURE_DAYS, XKF45_PROCEDURES, check_pause_terms


def at(iso: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(iso).replace(hour=hour, tzinfo=CST)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2025, 2026]))


def legal() -> Clock:
    """Accepted 2026-03-02: due 2026-03-30."""
    return Clock.start(ClockKind.LEGAL, decision_budget(False), date(2026, 3, 2), at("2026-03-02"), "窗口甲")


def doc(clock: Clock) -> dict:
    return {"legal": {"clock": clock.to_dict(), "yellow_days": 1, "yellow_ratio": 0.2}}


def test_a_pause_after_the_due_date_keeps_the_clock_red_and_its_due_columns(cal):
    """QA F7: pausing an overdue case made it 'paused' with no due instant, hiding the breach."""
    late = legal().pause(at("2026-03-31"), "correction", "补正", "乙")
    assert late.expired_before_pause(cal)
    assert late.light(cal, at("2026-04-08")) == "red"
    assert late.left(cal, at("2026-03-31")) == -1
    columns = derived_columns(doc(late), cal)
    assert columns["legal_due_at"] == datetime(2026, 3, 31, 0, 0, tzinfo=CST)
    assert columns["legal_yellow_at"] is not None


def test_a_pause_on_or_before_the_due_date_still_freezes_the_clock(cal):
    for day in ("2026-03-30", "2026-03-20"):
        paused = legal().pause(at(day), "correction", "补正", "乙")
        assert not paused.expired_before_pause(cal)
        assert paused.light(cal, at("2026-04-20")) == "paused"
        assert derived_columns(doc(paused), cal)["legal_due_at"] is None


def test_an_extension_after_the_due_date_is_refused_with_the_date_it_expired(cal):
    """QA F6: a late extension was accepted, moved nothing and used up the one extension."""
    with pytest.raises(Conflict) as refused:
        legal().extend(10, "案情复杂", "李局长", "王科员", at("2026-03-31"), max_total_days=10,
                       approver_roles_ok=True, calendar=cal)
    assert refused.value.code == "DEADLINE_EXPIRED"
    assert refused.value.message == ("法定时限已于 2026-03-30 届满，不能再延长"
                                     "（《行政许可法》第四十二条：延长须在期限届满前批准）")
    late_pause = legal().pause(at("2026-03-31"), "correction", "补正", "乙")
    with pytest.raises(Conflict):
        late_pause.extend(10, "案情复杂", "李局长", "王科员", at("2026-04-01"), max_total_days=10,
                          approver_roles_ok=True, calendar=cal)


def test_an_extension_on_the_due_date_or_during_an_earlier_pause_is_in_time(cal):
    on_time = legal().extend(10, "案情复杂", "李局长", "王科员", at("2026-03-30", 17), max_total_days=10,
                             approver_roles_ok=True, calendar=cal)
    assert on_time.due(cal).date == date(2026, 4, 14)
    paused = legal().pause(at("2026-03-27"), "special_procedure", "专家评审", "乙", Budget(20), procedure="专家评审")
    extended = paused.extend(10, "案情复杂", "李局长", "王科员", at("2026-04-10"), max_total_days=10,
                             approver_roles_ok=True, calendar=cal)
    assert extended.extensions


@pytest.mark.parametrize("procedure", XKF45_PROCEDURES)
def test_every_procedure_of_article_45_is_a_special_procedure(procedure):
    check_pause_terms("special_procedure", procedure, 10)
    check_pause_terms("special_procedure", f" {procedure} ", MAX_PROCEDURE_DAYS)


@pytest.mark.parametrize("kind, procedure, days, field", [
    ("special_procedure", "打麻将", 5, "procedure"),
    ("special_procedure", "等领导回来签字", 3650, "procedure"),
    ("special_procedure", "", 5, "procedure"),
    ("special_procedure", "专家评审", 3650, "expected_days"),
    ("special_procedure", "听证", MAX_PROCEDURE_DAYS + 1, "expected_days"),
    ("special_procedure", "听证", None, "expected_days"),
    ("special_procedure", "听证", 0, "expected_days"),
    ("correction", "打麻将", None, "procedure"),
])
def test_other_texts_or_unbounded_times_are_not_a_special_procedure(kind, procedure, days, field):
    """QA F10: any text was accepted as a 特别程序 that stops the legal clock, for up to 3650 days."""
    with pytest.raises(InvalidInput) as refused:
        check_pause_terms(kind, procedure, days)
    assert refused.value.code == "CLOCK_INVALID" and field in refused.value.details
    if field == "procedure" and kind == "special_procedure":
        assert refused.value.message.startswith("特别程序应为听证、招标、拍卖、检验、检测、检疫、鉴定或专家评审之一")


def test_other_pauses_need_no_procedure():
    check_pause_terms("correction", "", None)
    check_pause_terms("tolerance", "", 5)
