"""One district code rule (``engine.identifiers.DISTRICT_CODE_PATTERN``) wherever a code is checked by its form.

Python's ``\\d`` takes any Unicode digit (``50١٢٣٤`` in Arabic-Indic digits, ``５００１０３`` full width) and its
``$`` matches before a trailing line break: org files, catalogs, the inbox filter and starting a case refuse
both. Every code shipped (the seed, the catalogs, the demo) is accepted.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap

import pytest
from marshmallow import ValidationError

from app.schemas import StartCaseSchema, TaskFilterSchema
from engine import OrgFileInvalid, parse_org_file, reference_org
from engine.catalog import parse_catalog
from engine.errors import DefinitionRejected
from tests.conftest import IN_CI, ROOT

ARABIC_INDIC = "50\u0661\u0662\u0663\u0664"
"""``50١٢٣٤``: six Unicode digits, four of them not ASCII."""
FULL_WIDTH = "\uff15\uff10\uff10\uff11\uff10\uff13"
"""``５００１０３``: full-width digits."""
NOT_CODES = (ARABIC_INDIC, FULL_WIDTH, "500103\n", "CQ-LJXQ\n", "CQ-ABCDEFGHIJK", "999999", "cq-ljxq", "CQ-A",
             "5001030", " 500103")
"""Not district codes: non-ASCII digits, a trailing line break, too long, outside 重庆, lower case, too short."""


def shipped_codes() -> list[str]:
    """The seeded districts (and the municipality), the districts of every shipped catalog, the demo's."""
    import yaml
    codes = {d.code for d in reference_org().districts} | {d.parent_code for d in reference_org().districts
                                                           if d.parent_code}
    for path in sorted(ROOT.glob("processes/*/matters.yaml")):
        for matter in yaml.safe_load(path.read_text(encoding="utf-8"))["matters"]:
            if isinstance(matter.get("districts"), list):
                codes |= {str(c) for c in matter["districts"]}
            codes |= {str(c) for c in matter.get("overrides") or {}}
    return sorted(codes)


def org_problems(text: str) -> list[str]:
    with pytest.raises(OrgFileInvalid) as refused:
        parse_org_file(text, "yaml")
    return refused.value.details["problems"]


def catalog(districts: str, overrides: str = "", **kwargs):
    text = textwrap.dedent(f"""\
        matters:
          - code: "X1"
            basic_code: "000117001000"
            name: 测试事项
            type: "01"
            basis: 某法第一条
            level: 4
            handling: commitment
            legal_limit: {{amount: 20, unit: workday}}
            committed_limit: {{amount: 10, unit: workday}}
            process: parallel_approval
            modes: [online]
            districts: {districts}
        """) + overrides
    return parse_catalog("test/matters.yaml", text.encode(), **kwargs)


def catalog_findings(districts: str, overrides: str = "", **kwargs) -> list[tuple[str, int]]:
    with pytest.raises(DefinitionRejected) as refused:
        catalog(districts, overrides, **kwargs)
    return [(f["code"], f["line"]) for f in refused.value.details["findings"]]


def test_shipped_codes_are_accepted_everywhere():
    codes = shipped_codes()
    assert {"500000", "500103", "500243", "CQ-LJXQ", "CQ-GXQ", "CQ-WSJK"} <= set(codes)
    org = "districts:\n" + "".join(f'  - {{code: "{c}", name: 某区{i}, kind: 区}}\n' for i, c in enumerate(codes))
    assert len(parse_org_file(org, "yaml").districts) == len(codes)
    listed = "[" + ", ".join(f'"{c}"' for c in codes) + "]"
    assert catalog(listed)[0].districts == tuple(codes)
    assert catalog(listed, known_districts=codes)[0].districts == tuple(codes)
    for code in codes:
        assert TaskFilterSchema().load({"district": code})["district"] == code
        assert StartCaseSchema().load({"process_key": "p", "owning_district": code})["owning_district"] == code


@pytest.mark.parametrize("code", [ARABIC_INDIC, FULL_WIDTH])
def test_an_org_file_refuses_non_ascii_digits_in_every_district_field(code):
    text = (f"districts:\n  - {{code: '{code}', name: 某区, kind: 区}}\n"
            f"  - {{code: CQ-ABC, name: 某功能区, kind: 功能区, parent: '{code}'}}\n"
            f"departments:\n  - {{district: '{code}', code: zhujian, name: 住建委}}\n"
            f"users:\n  - {{username: a_b, name: 甲, roles: [designer], district: '{code}'}}\n")
    problems = org_problems(text)
    assert [p.split("：")[0] for p in problems] == ["第 2 行", "第 3 行", "第 5 行", "第 7 行"], problems
    assert f"上级区县代码 “{code}” 无效" in problems[1]
    assert all("应为 50 开头的 6 位 GB/T 2260 代码" in p for p in problems)


def test_an_org_file_strips_blanks_around_a_code_so_no_line_break_is_stored():
    org = parse_org_file('districts:\n  - {code: "CQ-ABC\\n", name: 某功能区, kind: 功能区, parent: " 500110\\n"}\n',
                         "yaml")
    assert (org.districts[0].code, org.districts[0].parent_code) == ("CQ-ABC", "500110")


@pytest.mark.parametrize("code", [ARABIC_INDIC, FULL_WIDTH, "999999", "CQ-ABCDEFGHIJK", "500103\n"])
def test_a_catalog_refuses_what_is_no_district_code_with_or_without_an_organisation(code):
    listed = json.dumps([code], ensure_ascii=False)
    override = f"    overrides:\n      {json.dumps(code, ensure_ascii=False)}: {{agency: 某局}}\n"
    assert catalog_findings(listed) == [("TB_CATALOG_DISTRICT", 13)]
    assert catalog_findings("all", override) == [("TB_CATALOG_DISTRICT", 15)]
    # An organisation loaded under an older, looser rule may hold the code: the form is still checked.
    known = ("500103", code)
    assert catalog_findings(listed, known_districts=known) == [("TB_CATALOG_DISTRICT", 13)]
    assert catalog_findings("all", override, known_districts=known) == [("TB_CATALOG_DISTRICT", 15)]


def test_a_catalog_tells_a_malformed_code_from_an_unknown_one():
    with pytest.raises(DefinitionRejected) as refused:
        catalog(json.dumps([ARABIC_INDIC, "500101"], ensure_ascii=False), known_districts=("500103",))
    messages = [f["message"] for f in refused.value.details["findings"]]
    assert messages[0].startswith(f"区县代码 “{ARABIC_INDIC}” 无效，应为 50 开头")
    assert messages[1] == "区县代码 500101 不存在"


@pytest.mark.parametrize("code", NOT_CODES)
def test_the_inbox_filter_refuses_what_is_no_district_code(code):
    with pytest.raises(ValidationError) as refused:
        TaskFilterSchema().load({"district": code})
    assert "district" in refused.value.messages


@pytest.mark.parametrize("code", [ARABIC_INDIC, FULL_WIDTH, "500103\n", "CQ-LJXQ\n", "cq-ljxq", "CQ-ABCDEFGHIJK",
                                  "abc", "5001", " 500103"])
def test_starting_a_case_refuses_what_is_no_district_code(code):
    for field in ("owning_district", "receiving_district"):
        with pytest.raises(ValidationError) as refused:
            StartCaseSchema().load({"process_key": "p", field: code})
        assert field in refused.value.messages


@pytest.mark.parametrize("code", ["999999", "510104", "599999"])
def test_starting_a_case_takes_a_code_of_another_province_for_the_engine_to_call_unknown(code):
    """The engine answers ``UNKNOWN_DISTRICT`` (tests/scenarios/test_start_rights_http.py), not a 422 of form."""
    assert StartCaseSchema().load({"process_key": "p", "owning_district": code})["owning_district"] == code


def test_the_engine_helper_names_the_problem_in_chinese():
    from engine import district_code_problem
    assert district_code_problem("500103") is None and district_code_problem("CQ-LJXQ") is None
    assert district_code_problem("500103\n") == ("区县代码 “500103\\u000a” 无效，应为 50 开头的 6 位 GB/T 2260 代码"
                                                 "（如 500103）或 CQ- 加 2 到 10 个大写字母的功能区内部代码（如 CQ-LJXQ）")
    assert district_code_problem(500103) is not None
    assert district_code_problem(ARABIC_INDIC, "上级区县代码").startswith(f"上级区县代码 “{ARABIC_INDIC}” 无效")


def test_the_schemas_publish_the_engine_patterns():
    from engine import DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN
    assert TaskFilterSchema().fields["district"].validators[0].regex.pattern == DISTRICT_CODE_PATTERN
    for field in ("owning_district", "receiving_district"):
        assert StartCaseSchema().fields[field].validators[0].regex.pattern == DISTRICT_CODE_SHAPE_PATTERN


def test_python_and_javascript_read_both_patterns_alike():
    """Run by node (with and without the ``u`` flag, and ``v`` as HTML ``pattern`` does), each pattern agrees."""
    from engine import DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is not installed (CI=true: the pattern check must run)")
        pytest.skip("node is not installed")
    texts = shipped_codes() + list(NOT_CODES) + ["510104", "500103\r", "\n500103", "CQ-LJXQ\n\n"]
    script = ("const [patterns, texts] = JSON.parse(process.argv[1]);"
              "console.log(JSON.stringify(patterns.map(p => ['', 'u', 'v'].map("
              "f => texts.map(t => new RegExp(p, f).test(t))))));")
    patterns = [DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN]
    run = subprocess.run([node, "-e", script, json.dumps([patterns, texts])], capture_output=True, text=True,
                         timeout=60, check=True)
    python = [[bool(re.match(p, t)) for t in texts] for p in patterns]
    assert json.loads(run.stdout) == [[expected] * 3 for expected in python]
    assert python[0] == [True] * len(shipped_codes()) + [False] * (len(texts) - len(shipped_codes()))
    assert python[1].count(True) == len(shipped_codes()) + 2       # 999999 and 510104: shape only
