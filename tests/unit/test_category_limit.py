"""A committed limit set per project category (工改): the catalog says so, the deploy checks process and targets."""
from __future__ import annotations

import textwrap
from datetime import date

import pytest

from engine.catalog import CatalogCheck, Limit, Matter, parse_catalog
from engine.category_limit import (
    CategoryLimit, case_budget, category_findings, category_text, limit_view, resolve_pending,
)
from engine.definitions import ClockSpec
from engine.errors import DefinitionRejected
from engine.lint import DeployedFacts, LintLimits, lint_files
from engine.expressions import Evaluator
from engine.legal_clock import Budget
from engine.project_targets import TargetTable, load_targets, parse_targets
from tests.conftest import ROOT

SHIPPED = ROOT / "processes" / "gongcheng" / "matters.yaml"
ENTRY = """\
matters:
  - code: "GC1"
    basic_code: "GC-000001"
    name: 工改测试事项
    type: "01"
    basis: 某法第一条
    level: 4
    handling: commitment
    legal_limit: {amount: 45, unit: workday}
    committed_limit: {by: project_category}
    process: gongcheng
    modes: [online, joint]
    districts: all
    materials:
      - {key: form, name: 申请表}
"""
COMMITTED_LINE = 10
TARGETS = parse_targets(textwrap.dedent("""\
    categories:
      social:
        name: 一般社会投资项目
        targets:
          - {from: 2019-04-01, workdays: 60, basis: 旧口径}
          - {from: 2020-01-01, workdays: 50, basis: 新口径}
      government:
        name: 政府投资项目
        targets:
          - {from: 2020-01-01, workdays: 80, basis: 新口径}
      industrial:
        name: 一般工业项目
        targets:
          - {from: 2019-01-01, workdays: 29, basis: 旧口径}
    """))


def parse(text: str, **kwargs) -> list[Matter]:
    return parse_catalog("gc/matters.yaml", text.encode(), **kwargs)


def refused(text: str, **kwargs) -> list[dict]:
    with pytest.raises(DefinitionRejected) as info:
        parse(text, **kwargs)
    assert info.value.message.startswith("gc/matters.yaml 第 ")
    return info.value.details["findings"]


def test_the_shipped_gongcheng_entry_sets_its_committed_limit_per_project_category():
    (matter,) = parse_catalog(SHIPPED.name, SHIPPED.read_bytes())
    assert matter.by_category and matter.committed_limit == CategoryLimit("project_category")
    assert matter.committed_limit_in("500103") == CategoryLimit() and matter.doc["committed_limit"] == {
        "by": "project_category"}
    assert str(matter.committed_limit) == "按项目类别确定"
    assert Matter.from_doc(matter.doc).committed_limit == CategoryLimit()   # as stored, as read back


def test_a_limit_per_category_is_not_compared_with_the_legal_limit_and_keeps_its_line():
    (matter,) = parse(ENTRY.replace("amount: 45", "amount: 10"))
    assert matter.by_category and matter.committed_line == COMMITTED_LINE
    (fixed,) = parse(ENTRY.replace("{by: project_category}", "{amount: 30, unit: workday}"))
    assert not fixed.by_category and fixed.committed_limit_in(None) == Limit(30, "workday")


@pytest.mark.parametrize("committed, line, words", [
    ("{by: project_category, amount: 45}", COMMITTED_LINE, "不能另写 amount"),
    ("{by: project_category, unit: workday}", COMMITTED_LINE, "不能另写 unit"),
    ("{by: project_size}", COMMITTED_LINE, "目前只支持 project_category"),
])
def test_a_malformed_limit_per_category_is_refused_at_its_line(committed, line, words):
    findings = refused(ENTRY.replace("{by: project_category}", committed))
    assert [(f["code"], f["line"]) for f in findings] == [("TB_CATALOG_LIMIT", line)]
    assert words in findings[0]["message"]


def test_an_instant_matter_cannot_have_its_limit_set_per_category():
    findings = refused(ENTRY.replace("handling: commitment", "handling: instant"))
    assert [(f["code"], f["line"]) for f in findings] == [("TB_CATALOG_LIMIT", COMMITTED_LINE)]


def test_a_district_override_of_a_limit_per_category_is_refused_and_so_is_the_reverse():
    override = "    overrides:\n      '500103': {agency: 渝中区住建委, committed_limit: {amount: 30, unit: workday}}\n"
    findings = refused(ENTRY + override)
    assert [(f["code"], f["line"], f["element_id"]) for f in findings] == [("TB_CATALOG_LIMIT", 17, "500103")]
    assert "区县 500103 不能另设 committed_limit" in findings[0]["message"]
    (agency_only,) = parse(ENTRY + "    overrides:\n      '500103': {agency: 渝中区住建委}\n")
    assert agency_only.committed_limit_in("500103") == CategoryLimit()
    fixed = ENTRY.replace("{by: project_category}", "{amount: 40, unit: workday}")
    reverse = refused(fixed + "    overrides:\n      '500103': {committed_limit: {by: project_category}}\n")
    assert [(f["code"], f["line"]) for f in reverse] == [("TB_CATALOG_LIMIT", 17)]
    assert "按项目类别确定须写在事项的 committed_limit 上" in reverse[0]["message"]


def test_a_limit_per_category_cannot_be_handed_off_between_districts():
    text = ENTRY.replace("modes: [online, joint]", "modes: [online, proxy]") + (
        "    handoff: {process: yidi_shoujian, clock_starts: receiving, transfer_limit: {amount: 1, unit: workday}}\n")
    findings = refused(text)
    assert [(f["code"], f["line"]) for f in findings] == [("TB_CATALOG_HANDOFF", 16)]


def clocks(*specs: ClockSpec) -> list[dict]:
    return [s.to_dict() for s in specs]


LEGAL = ClockSpec("legal", 45, "workday", starts_at="s1_accept")
TARGET_CLOCK = ClockSpec("committed", 15, "workday", starts_at="s1_accept", amount_from="target_workdays")
FIXED_CLOCK = ClockSpec("committed", 15, "workday", starts_at="s1_accept")


@pytest.mark.parametrize("declared, categories, codes", [
    (clocks(LEGAL, TARGET_CLOCK), {"social": "一般社会投资项目"}, []),
    (clocks(LEGAL, FIXED_CLOCK), {"social": "一般社会投资项目"}, ["TB_CATALOG_CATEGORY_CLOCK"]),
    (clocks(LEGAL), {"social": "一般社会投资项目"}, ["TB_CATALOG_CATEGORY_CLOCK"]),
    (clocks(LEGAL, TARGET_CLOCK, FIXED_CLOCK), {"social": "一般社会投资项目"}, ["TB_CATALOG_CATEGORY_CLOCK"]),
    (clocks(LEGAL, TARGET_CLOCK), {}, ["TB_CATALOG_CATEGORY_TARGETS"]),
    (None, {}, ["TB_CATALOG_CATEGORY_TARGETS"]),           # unknown process: TB_CATALOG_PROCESS says so
])
def test_the_process_must_take_the_committed_clock_from_the_case_data_and_targets_must_be_loaded(
        declared, categories, codes):
    check = CatalogCheck()
    check.add(parse(ENTRY))
    assert [f.code for f in category_findings(check.matters, lambda key: declared, categories)] == codes
    if not codes:
        check.require_category_clocks(lambda key: declared, categories)
        return
    with pytest.raises(DefinitionRejected) as info:
        check.require_category_clocks(lambda key: declared, categories)
    first = info.value.details["findings"][0]
    assert (first["file"], first["line"], first["element_id"]) == ("gc/matters.yaml", COMMITTED_LINE, "GC1")
    assert info.value.message.startswith(f"gc/matters.yaml 第 {COMMITTED_LINE} 行：事项 工改测试事项 的承诺时限按项目类别确定")


def test_matters_with_an_amount_are_not_checked_against_their_process():
    check = CatalogCheck()
    check.add(parse(ENTRY.replace("{by: project_category}", "{amount: 40, unit: workday}")))
    assert category_findings(check.matters, lambda key: clocks(LEGAL, FIXED_CLOCK), {}) == []


def test_lint_reports_a_limit_per_category_its_diagram_cannot_keep():
    diagram = (ROOT / "processes" / "gongcheng" / "main.bpmn").read_bytes()
    fixed = diagram.replace(b' amountFrom="target_workdays"', b"")
    limits = LintLimits(5_000_000, 1_000_000)

    def lint(bpmn: bytes, categories: dict | None) -> list[str]:
        facts = DeployedFacts(lambda key: None, categories=categories)
        findings = lint_files([("gongcheng/main.bpmn", bpmn), ("gongcheng/matters.yaml", ENTRY.encode())], [],
                              Evaluator(), limits, facts)
        return [f.code for f in findings if f.code.startswith("TB_CATALOG_CATEGORY")]
    assert lint(diagram, {"social": "一般社会投资项目"}) == []
    assert lint(fixed, {"social": "一般社会投资项目"}) == ["TB_CATALOG_CATEGORY_CLOCK"]
    assert lint(diagram, {}) == ["TB_CATALOG_CATEGORY_TARGETS"]
    assert lint(fixed, None) == []                      # no targets known to lint: not checked


def test_the_catalog_shows_each_categorys_figure_in_force_on_the_day_in_the_files_order():
    table = TargetTable(TARGETS)
    assert list(table.categories) == ["social", "government", "industrial"]
    view = limit_view(CategoryLimit(), table, date(2026, 11, 23))
    assert view == {"by": "project_category", "unit": "workday", "as_of": "2026-11-23", "categories": [
        {"category": "social", "name": "一般社会投资项目", "workdays": 50, "from": "2020-01-01"},
        {"category": "government", "name": "政府投资项目", "workdays": 80, "from": "2020-01-01"},
        {"category": "industrial", "name": "一般工业项目", "workdays": 29, "from": "2019-01-01"}]}
    assert category_text(view) == "按项目类别：一般社会投资项目 50 个工作日、政府投资项目 80 个工作日、一般工业项目 29 个工作日"
    earlier = limit_view(CategoryLimit(), table, date(2019, 6, 1))    # 政府投资 not in force yet: left out
    assert [(c["category"], c["workdays"]) for c in earlier["categories"]] == [("social", 60), ("industrial", 29)]
    assert category_text(limit_view(CategoryLimit(), TargetTable(), date(2026, 1, 5))) == "按项目类别确定（未载入审批目标时限）"
    assert limit_view(Limit(10, "workday"), table, date(2026, 11, 23)) == {"amount": 10, "unit": "workday"}


def test_the_shipped_targets_read_in_the_files_order():
    rows = load_targets(ROOT / "processes").in_force(date(2026, 11, 23))
    assert [(r.name, r.workdays) for r in rows] == [("一般社会投资项目", 50), ("政府投资项目", 80),
                                                    ("小型社会投资项目", 35), ("带方案出让用地项目", 20), ("一般工业项目", 15)]


def pending(budget: int = 15, amount_from: str | None = "target_workdays") -> dict:
    entry = {"budget": Budget(budget).to_dict(), "starts_at": "s1_accept", "received_at": "2026-11-23T01:00:00+00:00",
             "notice_at": None}
    return {**entry, "amount_from": amount_from} if amount_from else entry


def test_a_received_case_gets_its_own_committed_budget_from_the_case_data():
    doc = {"legal": {"pending": pending(45, None)}, "committed": {"pending": pending()}}
    assert case_budget(doc) is None                      # the diagram's default is no one's limit
    resolved = resolve_pending(doc, {"target_workdays": 80})
    assert resolved["committed"]["pending"]["budget"] == {"amount": 80, "unit": "workday"}
    assert resolved["committed"]["pending"]["amount_from"] == "target_workdays"   # 受理 still reads it
    assert resolved["legal"] == doc["legal"] and case_budget(resolved) == Budget(80)
    for bad in ({}, {"target_workdays": "80"}, {"target_workdays": 0}, {"target_workdays": True}):
        assert resolve_pending(doc, bad) == doc
    assert case_budget({"committed": {"pending": pending(10, None)}}) == Budget(10)
    assert case_budget({}) is None and case_budget(None) is None
