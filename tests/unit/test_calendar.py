"""engine.calendar: 调休 facts, the DOMAIN.md 6.4 test vectors, provisional years and schedule validation."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.calendar import (
    CalendarInvalid, CalendarUnknown, DayFact, DayKind, WorkCalendar, business_date, content_hash,
    facts_from_chinesecalendar, parse_schedule,
)

FIXTURE_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar" / "2027.yaml"


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def days(first: str, last: str | None = None) -> list[date]:
    start, end = d(first), d(last or first)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@pytest.fixture(scope="module")
def seeded() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar())


@pytest.fixture(scope="module")
def with_2027() -> WorkCalendar:
    extra = parse_schedule(FIXTURE_2027.read_text(encoding="utf-8"), "yaml")
    return WorkCalendar.from_schedules([*facts_from_chinesecalendar(), extra])


def yaml_with(holidays: str, workdays: str = "", year: int = 2027) -> str:
    return f"year: {year}\nsource: 测试\nholidays:\n{holidays}" + (f"workdays:\n{workdays}" if workdays else "")


def problems_of(text: str, fmt: str = "yaml", **kwargs: int) -> list[str]:
    with pytest.raises(CalendarInvalid) as caught:
        parse_schedule(text, fmt, **kwargs)
    assert caught.value.code == "CALENDAR_INVALID"
    problems = caught.value.details["problems"]
    assert all(problem in caught.value.message for problem in problems)
    return problems


# --- DOMAIN.md 6.2: the 2025 and 2026 schedules -------------------------------------------------------------

DAYS_OFF = {
    2025: ["2025-01-01", ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
           ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08")],
    2026: [("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
           ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
           ("2026-10-01", "2026-10-07")],
}
MAKEUP_WORKDAYS = {
    2025: ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    2026: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}


def listed_days_off(year: int) -> list[date]:
    spans = [item if isinstance(item, tuple) else (item,) for item in DAYS_OFF[year]]
    return [day for span in spans for day in days(*span)]


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_makeup_workday_of_the_published_schedule_is_a_working_weekend_day(seeded, year):
    for day in map(d, MAKEUP_WORKDAYS[year]):
        assert day.weekday() >= 5 and seeded.is_workday(day), day


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_listed_day_off_is_not_a_working_day(seeded, year):
    for day in listed_days_off(year):
        assert not seeded.is_workday(day), day


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_seeded_facts_are_exactly_the_published_schedule(seeded, year):
    facts = seeded.year_facts(year)
    assert {day for day, fact in facts if fact.is_workday} == set(map(d, MAKEUP_WORKDAYS[year]))
    assert {day for day, fact in facts if not fact.is_workday} == set(listed_days_off(year))


def test_weekday_days_off_swapped_for_a_makeup_saturday_are_kept_apart_as_dayoff(seeded):
    assert seeded.fact(d("2026-02-20")) == DayFact(DayKind.DAYOFF, "春节")
    assert seeded.fact(d("2026-02-16")) == DayFact(DayKind.HOLIDAY, "春节")
    assert seeded.fact(d("2026-02-14")) == DayFact(DayKind.MAKEUP_WORKDAY, "春节")


def test_the_package_seed_covers_2004_to_2026(seeded):
    assert seeded.known_years == frozenset(range(2004, 2027))


@pytest.mark.parametrize("year, expected", [(2024, 251), (2025, 248), (2026, 248)])
def test_working_days_per_year_match_the_published_counts(seeded, year, expected):
    assert seeded.workday_count(year) == expected


# --- DOMAIN.md 6.4: test vectors ----------------------------------------------------------------------------

@pytest.mark.parametrize("start, n, due", [
    ("2026-02-12", 5, "2026-02-26"), ("2026-02-12", 20, "2026-03-18"), ("2026-01-30", 45, "2026-04-10"),
    ("2026-04-30", 10, "2026-05-18"), ("2026-09-18", 20, "2026-10-22"), ("2026-09-30", 5, "2026-10-13"),
    ("2025-09-26", 20, "2025-10-30"), ("2025-12-31", 3, "2026-01-06"),
])
def test_the_domain_test_vectors_give_their_exact_due_dates(seeded, start, n, due):
    result = seeded.workdays_after(d(start), n)
    assert (result.date, result.status, result.unknown_years) == (d(due), "confirmed", ())


def test_the_rule_explains_the_start_day_exclusion_and_the_makeup_days_counted(seeded):
    rule = seeded.workdays_after(d("2026-02-12"), 5).rule
    assert rule.startswith("自 2026-02-12 起（不含当日）计 5 个工作日")
    assert "春节" in rule and "含调休上班日 2026-02-14" in rule


def test_a_zero_day_period_is_due_on_the_start_day(seeded):
    assert seeded.workdays_after(d("2026-02-15"), 0).date == d("2026-02-15")
    assert seeded.days_after(d("2026-02-15"), 0).date == d("2026-02-15")


def test_working_days_between_counts_the_end_but_not_the_start_and_is_signed(seeded):
    assert seeded.working_days_between(d("2026-02-12"), d("2026-02-26")) == 5
    assert seeded.working_days_between(d("2026-02-26"), d("2026-02-12")) == -5
    assert seeded.working_days_between(d("2026-02-12"), d("2026-02-12")) == 0


# --- natural days (民法典 203) --------------------------------------------------------------------------------

def test_a_natural_day_period_ending_on_a_holiday_moves_to_the_next_working_day(seeded):
    result = seeded.days_after(d("2026-09-20"), 5)  # 9/25 is 中秋, off through Sunday 9/27
    assert result.date == d("2026-09-28") and result.confirmed
    assert "顺延" in result.rule and "2026-09-25" in result.rule


def test_a_natural_day_period_ending_on_a_plain_saturday_moves_to_monday(seeded):
    assert seeded.days_after(d("2026-03-07"), 7).date == d("2026-03-16")


def test_a_natural_day_period_ending_on_a_makeup_saturday_ends_there(seeded):
    result = seeded.days_after(d("2026-10-03"), 7)
    assert result.date == d("2026-10-10") and "顺延" not in result.rule


# --- years not loaded ---------------------------------------------------------------------------------------

def test_a_deadline_reaching_an_unloaded_year_is_a_provisional_weekends_only_estimate(seeded):
    result = seeded.workdays_after(d("2026-12-20"), 20)
    assert result.status == "provisional" and not result.confirmed
    assert result.unknown_years == (2027,)
    assert result.date == d("2027-01-15")  # 12/21-12/31 gives 9, then 11 Monday-Friday days of 2027
    assert "2027 年节假日安排尚未载入" in result.rule and "暂定" in result.rule


def test_loading_the_year_turns_the_same_deadline_confirmed_and_recomputes_it(with_2027):
    result = with_2027.workdays_after(d("2026-12-20"), 20)
    assert (result.status, result.unknown_years) == ("confirmed", ())
    assert result.date == d("2027-01-18")  # the fixture's 元旦 takes Friday 1/1 off


def test_strict_mode_refuses_instead_of_estimating(seeded):
    strict = WorkCalendar({day: fact for day, fact in seeded.year_facts(2026)}, {2026}, strict=True)
    with pytest.raises(CalendarUnknown) as caught:
        strict.workdays_after(d("2026-12-20"), 20)
    assert caught.value.code == "CALENDAR_UNKNOWN" and caught.value.details["unknown_years"] == [2027]
    with pytest.raises(CalendarUnknown):
        strict.is_workday(d("2027-01-04"))
    with pytest.raises(CalendarUnknown):
        strict.working_days_between(d("2026-12-01"), d("2027-01-10"))
    assert strict.workdays_after(d("2026-02-12"), 5).date == d("2026-02-26")


def test_missing_years_lists_every_unloaded_year_of_a_span(seeded):
    assert seeded.missing_years(d("2026-11-23"), d("2028-01-05")) == (2027, 2028)
    assert seeded.missing_years(d("2026-11-23"), d("2026-12-31")) == ()


# --- bad arguments ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [-1, 3651, 100_000, True])
def test_negative_or_absurd_period_lengths_are_refused_in_chinese(seeded, n):
    for compute in (seeded.workdays_after, seeded.days_after):
        with pytest.raises(CalendarInvalid, match="期限天数") as caught:
            compute(d("2026-02-12"), n)
        assert caught.value.code == "CALENDAR_INVALID"


@pytest.mark.parametrize("start", ["1989-12-31", "2101-01-01"])
def test_dates_outside_1990_to_2100_are_refused(seeded, start):
    with pytest.raises(CalendarInvalid, match="超出可计算范围"):
        seeded.workdays_after(d(start), 5)


def test_a_period_running_past_2100_is_refused(seeded):
    with pytest.raises(CalendarInvalid, match="超出可计算范围"):
        seeded.workdays_after(d("2100-12-01"), 300)


# --- content hash -------------------------------------------------------------------------------------------

def test_the_content_hash_ignores_order_but_not_kinds_or_notes():
    facts = {d("2027-01-01"): DayFact(DayKind.HOLIDAY, "元旦"),
             d("2027-01-31"): DayFact(DayKind.MAKEUP_WORKDAY)}
    assert content_hash(facts) == content_hash(dict(reversed(list(facts.items()))))
    assert content_hash(facts) != content_hash({**facts, d("2027-01-01"): DayFact(DayKind.DAYOFF, "元旦")})
    assert content_hash(facts) != content_hash({**facts, d("2027-01-01"): DayFact(DayKind.HOLIDAY, "新年")})


# --- parse_schedule -----------------------------------------------------------------------------------------

def test_the_2027_test_fixture_parses_with_ranges_expanded():
    schedule = parse_schedule(FIXTURE_2027.read_text(encoding="utf-8"), "yaml")
    assert schedule.year == 2027 and "虚构" in schedule.source
    assert len([f for f in schedule.facts.values() if f.is_workday]) == 6
    assert all(day.year == 2027 for day in schedule.facts)
    assert schedule.facts[d("2027-02-09")] == DayFact(DayKind.HOLIDAY, "春节")


def test_the_csv_twin_of_the_fixture_has_the_same_content_hash():
    csv_text = FIXTURE_2027.with_suffix(".csv").read_text(encoding="utf-8")
    yaml_text = FIXTURE_2027.read_text(encoding="utf-8")
    assert parse_schedule(csv_text, "csv").content_hash == parse_schedule(yaml_text, "yaml").content_hash


def test_overlapping_holiday_ranges_name_both_lines():
    text = yaml_with("  - {from: 2027-02-05, to: 2027-02-13, name: 春节}\n"
                     "  - {from: 2027-02-12, to: 2027-02-14, name: 春节}\n")
    problems = problems_of(text)
    assert "第 5 行：2027-02-12 与第 4 行重复或重叠" in problems
    assert len(problems) == 2  # 2/12 and 2/13; 2/14 is new


def test_a_day_listed_as_both_holiday_and_workday_is_a_contradiction():
    same_day = "  - {date: 2027-02-06, name: 春节}\n"
    problems = problems_of(yaml_with(same_day, same_day))
    assert problems == ["第 6 行：2027-02-06 与第 4 行矛盾，不能既放假又上班"]


def test_a_makeup_workday_on_a_weekday_is_refused():
    monday = "  - {date: 2027-01-04, name: 元旦}\n"
    problems = problems_of(yaml_with("  - {date: 2027-01-01, name: 元旦}\n", monday))
    assert problems == ["第 6 行：调休上班日 2027-01-04 是星期一，应为星期六或星期日"]


def test_a_holiday_on_a_weekday_or_a_weekend_is_fine():
    schedule = parse_schedule(yaml_with("  - {date: 2027-01-01, name: 元旦}\n  - {date: 2027-01-02}\n"), "yaml")
    assert set(schedule.facts) == {d("2027-01-01"), d("2027-01-02")}


def test_a_date_outside_the_declared_year_is_refused():
    problems = problems_of(yaml_with("  - {from: 2026-12-31, to: 2027-01-01, name: 元旦}\n"))
    assert problems == ["第 4 行：2026-12-31 不在声明的 2027 年内"]


@pytest.mark.parametrize("bad", ["2027-02-30", "2027/01/01", "20270101", "明年元旦"])
def test_a_bad_date_string_names_its_line(bad):
    text = yaml_with(f"  - {{date: 2027-01-01, name: 元旦}}\n  - {{date: '{bad}', name: 春节}}\n")
    problems = problems_of(text)
    assert problems == [f"第 5 行：日期 “{bad}” 无效，应为 YYYY-MM-DD 格式的真实日期"]


def test_every_problem_is_reported_at_once():
    text = yaml_with("  - {date: 2027-13-01}\n  - {from: 2027-02-10, to: 2027-02-05}\n",
                     "  - {date: 2027-03-03}\n") + "holiday: []\n"
    problems = problems_of(text)
    assert len(problems) == 4, problems
    assert any("未知的键 holiday" in p for p in problems)


def test_a_file_without_year_source_or_holidays_says_so():
    problems = problems_of("workdays:\n  - {date: 2027-01-31}\n")
    assert any("未声明年份" in p for p in problems)
    assert any("未注明来源" in p for p in problems)
    assert any("未列出任何放假日期" in p for p in problems)


def test_broken_yaml_is_reported_with_its_line():
    problems = problems_of("year: 2027\nholidays: [\n  - {date: 2027-01-01\n")
    assert len(problems) >= 1 and problems[0].startswith("第 ") and "YAML 语法错误" in problems[0]


def test_a_csv_takes_its_year_from_a_comment_or_from_the_caller():
    body = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-31,workday,春节\n"
    assert parse_schedule("# year: 2027\n# source: 测试\n" + body, "csv").year == 2027
    assert parse_schedule(body, "csv", year=2027, source="测试").facts[d("2027-01-31")].is_workday
    assert any("未声明年份" in p for p in problems_of(body, "csv", source="测试"))
    assert any("不一致" in p for p in problems_of("# year: 2027\n# source: x\n" + body, "csv", year=2028))


def test_csv_rows_with_a_bad_kind_or_date_name_their_lines():
    text = ("# year: 2027\n# source: 测试\ndate,kind,name\n"
            "2027-01-01,holiday,元旦\n2027-01-02,rest,元旦\n2027-1-3,holiday,元旦\n")
    problems = problems_of(text, "csv")
    assert problems[0].startswith("第 5 行：") and "holiday、workday 或 dayoff" in problems[0]
    assert problems[1] == "第 6 行：日期 “2027-1-3” 无效，应为 YYYY-MM-DD 格式的真实日期"


def test_an_unknown_format_is_refused():
    with pytest.raises(CalendarInvalid, match="yaml 或 csv"):
        parse_schedule("", "xlsx")


def test_instants_become_business_dates_in_china_standard_time(seeded):
    assert business_date(datetime(2026, 2, 12, 17, 30, tzinfo=timezone.utc)) == d("2026-02-13")
    assert business_date(datetime(2026, 2, 12, 23, 59)) == d("2026-02-12")
    with pytest.raises(TypeError, match="business_date"):
        seeded.workdays_after(datetime(2026, 2, 12, 9, 0), 5)
