"""工改 category targets (targets.yaml) and a clock whose length is taken from a case variable."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import WorkCalendar, facts_from_chinesecalendar
from engine.calendar_functions import CalendarProvider, calendar_functions, case_clocks_bound
from engine.case_clocks import start_clocks, start_pending
from engine.clock import CST
from engine.definitions import ClockSpec
from engine.errors import ExpressionFailed, WorkflowFailed
from engine.expressions import Evaluator
from engine.project_targets import TargetFileInvalid, TargetTable, load_targets, parse_targets, target_functions
from engine.spiff.xml_loader import parse_xml, read_diagram
from tests.conftest import ROOT

CHINESE = "\u4e00"


@pytest.fixture(scope="module")
def shipped() -> TargetTable:
    return load_targets(ROOT / "processes")


@pytest.mark.parametrize("category, day, workdays, since", [
    ("social", "2019-06-01", 50, "2019-04-01"),
    ("government", "2019-06-01", 70, "2019-04-01"),
    ("government", "2026-03-02", 80, "2020-01-01"),
    ("small_social", "2026-03-02", 35, "2020-01-01"),
    ("with_plan", "2026-03-02", 20, "2020-01-01"),
    ("industrial", "2019-12-31", 29, "2019-01-01"),
    ("industrial", "2020-01-01", 15, "2020-01-01"),
])
def test_the_target_in_force_is_the_latest_row_that_started_on_or_before_the_day(shipped, category, day, workdays,
                                                                                 since):
    target = shipped.target(category, date.fromisoformat(day))
    assert (target.workdays, target.effective_from.isoformat()) == (workdays, since)
    assert target.basis and target.name


def test_only_the_configured_category_joins_its_first_stage_on_any_approval(shipped):
    assert shipped.target("industrial", date(2026, 3, 2)).to_dict()["joins"] == {"s1": "ANY"}
    assert shipped.target("social", date(2026, 3, 2)).to_dict()["joins"] == {}


def test_an_unknown_category_or_a_day_before_any_target_fails_with_a_chinese_reason(shipped):
    with pytest.raises(ExpressionFailed, match="未配置") as unknown:
        shipped.target("linear", date(2026, 3, 2))
    assert "social（一般社会投资项目）" in unknown.value.message
    with pytest.raises(ExpressionFailed, match="尚无生效"):
        shipped.target("with_plan", date(2019, 6, 1))


def test_diagrams_read_the_target_through_project_target(shipped):
    evaluator = Evaluator(target_functions(shipped))
    row = evaluator.evaluate('project_target(category, "2026-03-02")', {"category": "government"})
    assert row["workdays"] == 80 and row["from"] == "2020-01-01" and CHINESE <= row["name"][0]
    with pytest.raises(ExpressionFailed, match="格式不正确"):
        evaluator.evaluate('project_target("social", "2026/03/02")', {})


@pytest.mark.parametrize("text, reason", [
    ("categories: {}\n", "非空"),
    ("categories:\n  Social: {name: 社会投资, targets: [{from: 2020-01-01, workdays: 50, basis: x}]}\n", "类别代码"),
    ("categories:\n  social: {targets: [{from: 2020-01-01, workdays: 50, basis: x}]}\n", "name"),
    ("categories:\n  social: {name: 社会投资, targets: [{from: 2020-01-01, workdays: 0, basis: x}]}\n", "workdays"),
    ("categories:\n  social: {name: 社会投资, targets: [{from: 2020-01-01, workdays: 50}]}\n", "basis"),
    ("categories:\n  social: {name: 社会投资, targets: [{from: 2020-01-01, workdays: 50, basis: x},"
     " {from: 2020-01-01, workdays: 40, basis: y}]}\n", "重复"),
    ("categories:\n  social: {name: 社会投资, joins: {s1: SOME},"
     " targets: [{from: 2020-01-01, workdays: 50, basis: x}]}\n", "ALL|ANY"),
    ("categories: [\n", "YAML"),
])
def test_a_malformed_targets_file_is_refused_with_the_reason(text, reason):
    with pytest.raises(TargetFileInvalid, match=reason.replace("|", r"\|")):
        parse_targets(text)


def test_two_files_may_not_configure_the_same_category(tmp_path):
    row = "categories:\n  social: {name: 社会投资, targets: [{from: 2020-01-01, workdays: 50, basis: x}]}\n"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "targets.yaml").write_text(row, encoding="utf-8")
    with pytest.raises(TargetFileInvalid, match="重复配置"):
        load_targets(tmp_path)
    assert load_targets(tmp_path / "missing").categories == {}


def calendar_2026() -> WorkCalendar:
    return WorkCalendar.from_schedules(facts_from_chinesecalendar([2026]))


def test_a_clock_with_amount_from_takes_its_length_from_the_case_data_when_it_starts():
    received = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    doc = start_clocks((ClockSpec("legal", 45, "workday", starts_at="accept"),
                        ClockSpec("committed", 15, "workday", starts_at="accept", amount_from="target_workdays")),
                       received, "clerk")
    functions = calendar_functions(CalendarProvider(calendar_2026))
    with case_clocks_bound(doc):
        assert functions["case_received_on"]() == "2026-03-02"
    started, facts = start_pending(doc, "accept", datetime(2026, 3, 3, 10, 0, tzinfo=CST), calendar_2026(), "fagai",
                                   {"target_workdays": 50})
    by_kind = {fact["kind"]: fact for fact in facts}
    assert by_kind["committed"]["amount_from"] == "target_workdays" and "amount_from" not in by_kind["legal"]
    assert by_kind["committed"]["budget"]["amount"] == 50
    assert started["committed"]["clock"]["budget"]["amount"] == 50
    assert started["legal"]["clock"]["budget"]["amount"] == 45
    with case_clocks_bound(started):
        assert functions["case_received_on"]() == "2026-03-03"
    for bad in ({}, {"target_workdays": "50"}, {"target_workdays": True}, {"target_workdays": 0}):
        with pytest.raises(WorkflowFailed, match="target_workdays"):
            start_pending(doc, "accept", datetime(2026, 3, 3, 10, 0, tzinfo=CST), calendar_2026(), "fagai", bad)


def clock_diagram(attributes: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="d" targetNamespace="http://tongban.test">'
            '<bpmn:process id="p" isExecutable="true"><bpmn:extensionElements>'
            f'<tb:clock kind="committed" workdays="15" {attributes}/></bpmn:extensionElements>'
            '<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="accept"/>'
            '<bpmn:userTask id="accept" name="受理"/></bpmn:process></bpmn:definitions>').encode()


@pytest.mark.parametrize("attributes, amount_from", [
    ('startsAt="accept" amountFrom="target_workdays"', "target_workdays"),
    ('amountFrom="target_workdays"', "target_workdays"),   # a clock that starts with the case reads start data
    ('startsAt="accept" amountFrom="target-workdays"', None),
])
def test_amount_from_needs_a_variable_name(attributes, amount_from):
    info = read_diagram(parse_xml(clock_diagram(attributes), name="p.bpmn", max_bytes=100_000))
    specs = info.clocks["p"]
    if amount_from is None:
        assert specs == () and "TB_BAD_CLOCK" in [f.code for f in info.findings]
    else:
        assert specs[0].amount_from == amount_from and specs[0].to_dict()["amount_from"] == amount_from


def test_a_value_yaml_cannot_build_is_refused_in_chinese_not_as_a_traceback():
    with pytest.raises(TargetFileInvalid, match="无法读取的值（如不存在的日期 2026-02-30）"):
        parse_targets("categories:\n  x: {name: 2026-02-30}\n")
