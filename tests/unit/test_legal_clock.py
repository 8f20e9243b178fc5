"""engine.legal_clock: due dates, pauses, extensions, lights, 行政许可法 rules and the JSON round trip."""
from __future__ import annotations

import re

import dataclasses
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar, parse_schedule
from engine.clock import CST, ManualClock
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput
from engine.legal_clock import (
    Budget, Clock, ClockKind, PauseKind, SegmentKind, decision_budget, deemed_acceptance, delivery_due,
    extension_approver, extension_limit,
)

FIXTURE_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar" / "2027.yaml"


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def at(iso: str, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.fromisoformat(iso).replace(hour=hour, minute=minute, tzinfo=CST)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2025, 2026]))


@pytest.fixture(scope="module")
def cal_2027() -> WorkCalendar:
    extra = parse_schedule(FIXTURE_2027.read_text(encoding="utf-8"), "yaml")
    return WorkCalendar.from_schedules([*facts_from_chinesecalendar([2025, 2026]), extra])


def legal(t0: str = "2026-03-02", joint: bool = False) -> Clock:
    """A 法定 clock accepted on ``t0`` at 09:00: due 2026-03-30 for the default T0."""
    return Clock.start(ClockKind.LEGAL, decision_budget(joint), d(t0), at(t0), "窗口甲")


def refused(error_type: type[EngineError], code: str, call, *args, **kwargs) -> EngineError:
    with pytest.raises(error_type) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    assert any("\u4e00" <= char <= "\u9fff" for char in caught.value.message), caught.value.message
    return caught.value


def approved(clock: Clock, days: int, when: datetime, *, limit: int = 10, roles_ok: bool = True,
             approver: str = "李局长") -> Clock:
    return clock.extend(days, "需现场核查，情况复杂", approver, "王科员", when, max_total_days=limit,
                        approver_roles_ok=roles_ok)


# --- DOMAIN.md 6.4 vectors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("t0, joint, due", [
    ("2026-02-12", False, "2026-03-18"), ("2026-01-30", True, "2026-04-10"),
    ("2026-09-18", False, "2026-10-22"), ("2025-09-26", False, "2025-10-30"),
])
def test_the_domain_vectors_give_the_20_and_45_working_day_decision_dues(cal, t0, joint, due):
    result = legal(t0, joint).due(cal)
    assert (result.date, result.status) == (d(due), "confirmed")
    assert result.rule.startswith(f"法定时限 {45 if joint else 20} 个工作日。自 {t0} 起（不含当日）")


@pytest.mark.parametrize("t0, n, due", [
    ("2026-02-12", 5, "2026-02-26"), ("2026-04-30", 10, "2026-05-18"), ("2026-09-30", 5, "2026-10-13"),
    ("2025-12-31", 3, "2026-01-06"),
])
def test_the_other_domain_vectors_hold_for_a_committed_clock(cal, t0, n, due):
    clock = Clock.start("committed", Budget(n), d(t0), at(t0))
    assert clock.due(cal).date == d(due) and clock.due(cal).rule.startswith(f"承诺时限 {n} 个工作日")


def test_the_statute_gives_20_or_45_days_and_one_extension_of_10_or_15():
    assert (decision_budget(False), decision_budget(True)) == (Budget(20, "workday"), Budget(45, "workday"))
    assert (extension_limit(False), extension_limit(True)) == (10, 15)
    assert extension_approver(True) == "本级人民政府负责人"


# --- pauses -------------------------------------------------------------------------------------------------

def test_a_correction_pause_pushes_the_due_date_by_the_working_days_it_covered(cal):
    clock = legal().pause(at("2026-03-04", 10), PauseKind.CORRECTION, "缺营业执照副本", "审查员乙")
    clock = clock.resume(at("2026-03-09"), "审查员乙")  # Wed, Thu, Fri paused; Monday counts again
    due = clock.due(cal)
    assert due.date == cal.workdays_after(d("2026-03-02"), 23).date == d("2026-04-02")
    assert "另因补正暂停 3 个工作日顺延" in due.rule and "计 23 个工作日" in due.rule


def test_a_pause_over_a_holiday_counts_only_its_working_days(cal):
    clock = legal("2026-09-18").pause(at("2026-09-30", 15), "correction", "补充检测报告", "审查员乙")
    clock = clock.resume(at("2026-10-12"), "审查员乙")  # 9/30, 10/8, 10/9 and 调休 Saturday 10/10
    assert clock.due(cal).date == d("2026-10-28")
    assert "另因补正暂停 4 个工作日顺延" in clock.due(cal).rule


def test_a_pause_over_a_plain_weekend_counts_nothing(cal):
    clock = legal().pause(at("2026-03-07", 10), "correction", "周末补交", "审查员乙").resume(at("2026-03-09"), "乙")
    assert clock.due(cal).date == d("2026-03-30") and "暂停" not in clock.due(cal).rule


def test_a_pause_that_ends_on_the_day_it_started_pushes_nothing(cal):
    clock = legal().pause(at("2026-03-04", 9), "correction", "当场补正", "乙").resume(at("2026-03-04", 17), "乙")
    assert clock.due(cal).date == d("2026-03-30")


def test_a_pause_on_the_acceptance_day_itself_pushes_nothing_because_t0_is_not_counted(cal):
    clock = legal().pause(at("2026-03-02", 10), "correction", "受理当日补正", "乙").resume(at("2026-03-03"), "乙")
    assert clock.due(cal).date == d("2026-03-30")


def test_a_special_procedure_pause_records_the_procedure_and_its_expected_time(cal):
    clock = legal().pause(at("2026-03-05"), PauseKind.SPECIAL_PROCEDURE, "涉及重大公共利益", "科长丙",
                          Budget(10), procedure="专家评审")
    assert clock.paused and clock.segments[-1].label == "特别程序（专家评审）"
    assert clock.expected_resume(cal).date == d("2026-03-19")
    assert "当前因特别程序（专家评审）自 2026-03-05 起暂停中" in clock.due(cal).rule
    clock = clock.resume(at("2026-03-19"), "科长丙")
    assert clock.expected_resume(cal) is None
    assert clock.due(cal).date == d("2026-04-14")
    assert "另因特别程序（专家评审）暂停 10 个工作日顺延" in clock.due(cal).rule


def test_a_special_procedure_must_name_the_procedure_and_the_time_it_needs():
    refused(InvalidInput, "CLOCK_INVALID", legal().pause, at("2026-03-05"), "special_procedure", "听证", "丙")
    refused(InvalidInput, "CLOCK_INVALID", legal().pause, at("2026-03-05"), "special_procedure", "听证", "丙",
            Budget(20))


def test_a_pause_needs_a_known_kind_and_a_reason():
    refused(InvalidInput, "CLOCK_INVALID", legal().pause, at("2026-03-05"), "lunch", "午休", "丙")
    refused(InvalidInput, "CLOCK_INVALID", legal().pause, at("2026-03-05"), "correction", "  ", "丙")


def test_resuming_a_running_clock_is_refused_with_a_stable_code():
    error = refused(Conflict, "CLOCK_NOT_PAUSED", legal().resume, at("2026-03-05"), "乙")
    assert error.http_status == 409


def test_pausing_a_paused_clock_twice_is_refused():
    clock = legal().pause(at("2026-03-04"), "correction", "缺材料", "乙")
    error = refused(Conflict, "CLOCK_ALREADY_PAUSED", clock.pause, at("2026-03-05"), "tolerance", "容缺", "乙")
    assert re.search(r"于 2026-03-04 \d\d:\d\d 暂停，不能重复暂停$", error.message), error.message   # minutes, CST


def test_a_pause_after_the_deadline_passed_does_not_revive_it(cal):
    clock = legal().pause(at("2026-03-31"), "correction", "逾期后补正", "乙").resume(at("2026-04-07"), "乙")
    due = clock.due(cal)
    assert due.date == d("2026-03-30") and "发生在期限届满（2026-03-30）之后，不顺延" in due.rule
    assert clock.light(cal, at("2026-04-07", 10)) == "red"


# --- extensions ---------------------------------------------------------------------------------------------

def test_an_approved_extension_of_10_working_days_moves_the_due_date_by_10_working_days(cal):
    clock = approved(legal("2026-02-12"), 10, at("2026-03-10"))
    due = clock.due(cal)
    assert due.date == cal.workdays_after(d("2026-03-18"), 10).date == d("2026-04-01")
    assert "经批准延长 10 个工作日" in due.rule
    assert not clock.extensions[0].told_to_applicant
    assert clock.mark_extension_told().extensions[0].told_to_applicant


def test_pauses_and_extensions_are_explained_together_in_the_rule(cal):
    clock = legal().pause(at("2026-03-04", 10), "correction", "缺材料", "乙").resume(at("2026-03-09"), "乙")
    rule = approved(clock, 10, at("2026-03-10")).due(cal).rule
    assert rule.startswith("法定时限 20 个工作日；另因补正暂停 3 个工作日顺延；经批准延长 10 个工作日。")


def test_an_extension_without_approval_is_forbidden():
    error = refused(Forbidden, "EXTENSION_NOT_APPROVED", approved, legal(), 10, at("2026-03-10"),
                    approver=" ")
    assert error.http_status == 403
    refused(Forbidden, "EXTENSION_NOT_APPROVED", approved, legal(), 10, at("2026-03-10"), roles_ok=False)


def test_a_second_extension_is_refused_even_within_the_maximum():
    once = approved(legal(), 5, at("2026-03-10"))
    refused(Conflict, "EXTENSION_LIMIT_EXCEEDED", approved, once, 5, at("2026-03-11"))


def test_an_extension_beyond_the_legal_maximum_is_refused_but_joint_handling_allows_15():
    refused(Conflict, "EXTENSION_LIMIT_EXCEEDED", approved, legal(), 11, at("2026-03-10"))
    joint = approved(legal(joint=True), 15, at("2026-03-10"), limit=extension_limit(True))
    assert joint.extensions[0].days == 15


@pytest.mark.parametrize("days", [0, -3, True])
def test_non_positive_extensions_are_refused(days):
    refused(InvalidInput, "CLOCK_INVALID", approved, legal(), days, at("2026-03-10"))


def test_an_extension_approved_after_the_deadline_does_not_revive_it(cal):
    due = approved(legal(), 10, at("2026-03-31")).due(cal)
    assert due.date == d("2026-03-30") and "延长发生在期限届满" in due.rule


# --- used, left and the light -------------------------------------------------------------------------------

def test_the_light_goes_green_yellow_red_on_a_manual_timeline(cal):
    clock, now = legal(), ManualClock(at("2026-03-03"))  # due 2026-03-30
    seen = []
    for day in ["2026-03-03", "2026-03-23", "2026-03-24", "2026-03-30", "2026-03-31"]:
        now.set(at(day, 10))
        seen.append((clock.left(cal, now.now()), clock.light(cal, now.now())))
    # 20 % of 20 working days is 4 left: yellow from 3/24; the due day itself is yellow, the next day red.
    assert seen == [(19, "green"), (5, "green"), (4, "yellow"), (0, "yellow"), (-1, "red")]


def test_the_light_turns_yellow_at_one_working_day_left_without_the_ratio(cal):
    clock = legal()
    assert clock.light(cal, at("2026-03-26"), yellow_ratio=0) == "green"  # 2 left
    assert clock.light(cal, at("2026-03-27"), yellow_ratio=0) == "yellow"  # 1 left


def test_the_day_after_the_due_date_is_red_even_on_a_weekend(cal):
    clock = Clock.start("committed", Budget(3), d("2026-03-03"), at("2026-03-03"))  # due Friday 3/6
    assert (clock.left(cal, at("2026-03-07")), clock.light(cal, at("2026-03-07"))) == (0, "red")
    assert clock.left(cal, at("2026-03-09")) == -1


def test_a_paused_clock_shows_a_frozen_light_and_its_days_left_do_not_move(cal):
    clock = legal()
    assert clock.left(cal, at("2026-03-03")) == 19
    paused = clock.pause(at("2026-03-04", 10), "correction", "缺材料", "乙")
    readings = {(paused.light(cal, at(day, 16)), paused.left(cal, at(day, 16)))
                for day in ["2026-03-04", "2026-03-05", "2026-03-09", "2026-03-27", "2026-04-20"]}
    assert readings == {("paused", 18)}
    resumed = paused.resume(at("2026-03-09"), "乙")
    monday = at("2026-03-09", 10)
    assert (resumed.left(cal, monday), resumed.light(cal, monday)) == (18, "green")
    assert resumed.used(cal, at("2026-03-09", 10)) == 2  # 3/3 and the resume day; 3/4-3/6 were paused


def test_used_and_left_add_up_to_the_budget_with_its_extension(cal):
    clock = legal().pause(at("2026-03-04", 10), "correction", "缺材料", "乙").resume(at("2026-03-09"), "乙")
    clock = approved(clock, 10, at("2026-03-10"))
    for day in ["2026-03-10", "2026-03-20", "2026-04-17"]:
        assert clock.used(cal, at(day)) + clock.left(cal, at(day)) == 30


def test_a_natural_day_budget_counts_natural_days_and_natural_pause_days(cal):
    clock = Clock.start("legal", Budget(7, "day"), d("2026-03-03"), at("2026-03-03"))  # 建筑法 7 日
    assert clock.due(cal).date == d("2026-03-10")
    clock = clock.pause(at("2026-03-05"), "correction", "补图纸", "乙").resume(at("2026-03-07"), "乙")
    due = clock.due(cal)
    assert due.date == d("2026-03-12") and "另因补正暂停 2 日顺延" in due.rule
    assert clock.left(cal, at("2026-03-07")) == 5


# --- 行政许可法 rules ----------------------------------------------------------------------------------------

def test_a_correction_notice_on_the_sixth_working_day_means_acceptance_is_deemed_on_the_receipt_date(cal):
    outcome = deemed_acceptance(at("2026-03-02", 15), at("2026-03-10"), None, cal)
    assert (outcome.t0, outcome.deemed, outcome.window.date) == (d("2026-03-02"), True, d("2026-03-09"))
    assert "第三十二条" in outcome.explanation and "即为受理" in outcome.explanation
    clock = Clock.start("legal", decision_budget(False), outcome.t0, at("2026-03-10"))
    assert clock.due(cal).date == d("2026-03-30")  # counted from the receipt date, not from "now"


def test_a_correction_notice_on_the_fifth_working_day_is_in_time(cal):
    outcome = deemed_acceptance(at("2026-03-02", 15), at("2026-03-09", 17), at("2026-03-20"), cal)
    assert (outcome.t0, outcome.deemed) == (d("2026-03-20"), False)
    waiting = deemed_acceptance(at("2026-03-02", 15), at("2026-03-09", 17), None, cal)
    assert (waiting.t0, waiting.deemed) == (None, False) and "待申请人提交" in waiting.explanation


def test_silence_past_the_window_is_deemed_acceptance_but_not_before_it_ends(cal):
    assert deemed_acceptance(at("2026-03-02"), None, None, cal).deemed
    assert deemed_acceptance(at("2026-03-02"), None, at("2026-03-16"), cal).t0 == d("2026-03-02")
    pending = deemed_acceptance(at("2026-03-02"), None, None, cal, at=at("2026-03-09", 18))
    assert (pending.t0, pending.deemed) == (None, False)


def test_acceptance_inside_the_window_is_the_ordinary_start(cal):
    outcome = deemed_acceptance(at("2026-03-02"), None, at("2026-03-04"), cal)
    assert (outcome.t0, outcome.deemed) == (d("2026-03-04"), False)


def test_the_window_skips_holidays(cal):
    outcome = deemed_acceptance(at("2026-09-29"), at("2026-10-09"), None, cal)  # 9/30, 10/8, 10/9 ...
    assert (outcome.window.date, outcome.deemed) == (d("2026-10-12"), False)


def test_the_licence_is_due_10_working_days_after_the_decision(cal):
    due = delivery_due(d("2026-09-30"), cal)
    assert due.date == d("2026-10-20") and due.confirmed and "第四十四条" in due.rule


# --- unknown years ------------------------------------------------------------------------------------------

def test_a_due_date_in_an_unloaded_year_is_provisional_and_confirmed_once_the_year_is_loaded(cal, cal_2027):
    clock = Clock.start("legal", decision_budget(False), d("2026-12-20"), at("2026-12-21"))
    estimate = clock.due(cal)
    assert (estimate.date, estimate.status) == (d("2027-01-15"), "provisional")
    assert estimate.unknown_years == (2027,)
    assert "暂定" in estimate.rule
    confirmed = clock.due(cal_2027)
    assert (confirmed.date, confirmed.status) == (d("2027-01-18"), "confirmed")


def test_a_pause_reaching_an_unloaded_year_makes_the_due_provisional(cal):
    clock = legal("2026-12-01").pause(at("2026-12-02"), "correction", "缺材料", "乙")
    assert clock.due(cal).confirmed
    assert not clock.due(cal, at("2027-01-05")).confirmed


# --- closing, time and immutability -------------------------------------------------------------------------

def test_a_closed_clock_refuses_every_change_and_shows_closed(cal):
    clock = legal().close(at("2026-03-20"))
    for call, args in [(clock.pause, (at("2026-03-21"), "correction", "x", "乙")),
                       (clock.resume, (at("2026-03-21"), "乙")), (clock.close, (at("2026-03-21"),))]:
        refused(Conflict, "CLOCK_CLOSED", call, *args)
    refused(Conflict, "CLOCK_CLOSED", approved, clock, 5, at("2026-03-21"))
    assert clock.light(cal, at("2026-04-30")) == "closed"
    assert (clock.used(cal, at("2026-04-30")), clock.left(cal, at("2026-04-30"))) == (14, 6)


def test_closing_a_paused_clock_ends_the_pause(cal):
    clock = legal().pause(at("2026-03-04"), "tolerance", "容缺材料未补齐", "乙").close(at("2026-03-09"))
    assert clock.segments[-1].end == at("2026-03-09") and not clock.paused
    assert clock.due(cal).date == d("2026-04-02")


def test_naive_instants_time_going_backwards_and_a_future_t0_are_refused():
    refused(InvalidInput, "CLOCK_INVALID", legal().pause, datetime(2026, 3, 4, 9), "correction", "x", "乙")
    refused(InvalidInput, "CLOCK_INVALID", legal().pause, at("2026-03-01"), "correction", "x", "乙")
    future_t0 = d("2026-03-03")
    refused(InvalidInput, "CLOCK_INVALID", Clock.start, "legal", Budget(20), future_t0, at("2026-03-02"))
    refused(InvalidInput, "CLOCK_INVALID", Clock.start, "法定", Budget(20), d("2026-03-02"), at("2026-03-02"))
    refused(InvalidInput, "CLOCK_INVALID", Budget, -1)
    refused(InvalidInput, "CLOCK_INVALID", Budget, 5, "hour")


def test_every_operation_returns_a_new_clock_and_leaves_the_old_one_alone(cal):
    clock = legal()
    paused = clock.pause(at("2026-03-04"), "correction", "缺材料", "乙")
    assert not clock.paused and paused.paused and len(clock.segments) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        clock.t0 = d("2026-01-01")  # type: ignore[misc]


# --- JSON ---------------------------------------------------------------------------------------------------

def full_clock() -> Clock:
    utc = timezone.utc
    clock = legal().pause(datetime(2026, 3, 4, 2, 30, tzinfo=utc), "special_procedure", "依法听证", "科长丙",
                          Budget(20), procedure="听证")
    clock = clock.resume(at("2026-03-20"), "科长丙")
    clock = approved(clock, 10, at("2026-03-25")).mark_extension_told()
    return clock.close(at("2026-04-20", 16, 45))


@pytest.mark.parametrize("make", [legal, full_clock,
                                  lambda: legal().pause(at("2026-03-04"), "correction", "缺材料", "乙")])
def test_to_dict_and_from_dict_round_trip_exactly_through_json(cal, make):
    clock = make()
    stored = json.loads(json.dumps(clock.to_dict(), ensure_ascii=False))
    restored = Clock.from_dict(stored)
    assert restored == clock and restored.to_dict() == clock.to_dict() == stored
    assert restored.due(cal) == clock.due(cal)


def test_the_json_form_keeps_dates_iso_and_instants_with_their_offset():
    stored = full_clock().to_dict()
    assert stored["t0"] == "2026-03-02" and stored["budget"] == {"amount": 20, "unit": "workday"}
    assert stored["segments"][1]["start"] == "2026-03-04T02:30:00+00:00"
    assert stored["segments"][1]["kind"] == SegmentKind.PAUSED == "paused"
    assert stored["closed_at"] == "2026-04-20T16:45:00+08:00"


@pytest.mark.parametrize("damage", [
    lambda s: s.update(schema=2), lambda s: s.pop("t0"), lambda s: s.update(kind="法定"),
    lambda s: s["segments"][0].update(start="2026-03-02T09:00:00"), lambda s: s.update(segments=[]),
    lambda s: s["segments"][0].update(end=None), lambda s: s.update(closed_at=None),
    lambda s: s["extensions"][0].update(days=0), lambda s: s["budget"].update(unit="hour"),
])
def test_a_damaged_stored_clock_is_refused(damage):
    stored = full_clock().to_dict()
    damage(stored)
    refused(InvalidInput, "CLOCK_INVALID", Clock.from_dict, stored)
