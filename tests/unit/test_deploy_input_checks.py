"""Deploy-time input checks: unsafe form patterns, repeated component ids, unreadable YAML values, process keys
and stored lengths, findings that name their file, and a matter's department against the organisation.

Each check refuses new input only: the stored (already deployed) version still loads.
"""
from __future__ import annotations

import json
import time

import pytest

from engine.bundle import parse_bundle
from engine.catalog import KnownOrg, parse_catalog
from engine.definitions import is_process_key
from engine.drafts import _check_key
from engine.errors import DefinitionRejected, FormInvalid, InvalidInput
from engine.expressions import Evaluator
from engine.form_patterns import PATTERN_MAX_INPUT, pattern_problem
from engine.forms import parse_form
from engine.scenario import ScenarioInvalid, parse_scenario
from engine.spiff.parser import parse_unit
from tests.bpmn_factory import diagram
from tests.conftest import ROOT

CATALOG = (ROOT / "processes" / "parallel_approval" / "matters.yaml").read_bytes()
BUNDLE = (ROOT / "processes" / "qiye_kaiban" / "bundle.yaml").read_bytes()


def form(pattern: str | None = None, max_length: int | None = None, ids: tuple[str, str] = ("f1", "f2")) -> bytes:
    rules: dict = {"required": True}
    if pattern is not None:
        rules["pattern"] = pattern
    if max_length is not None:
        rules["maxLength"] = max_length
    return json.dumps({"id": "probe", "components": [
        {"id": ids[0], "type": "textfield", "key": "code", "label": "编码", "validate": rules},
        {"id": ids[1], "type": "group", "path": "", "components": [{"id": "f3", "type": "text", "text": "说明"}]}],
    }).encode()


def codes(exc: pytest.ExceptionInfo) -> list[str]:
    return [f["code"] for f in exc.value.details["findings"]]


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a*)*", "(.*a)*", r"(\w+\s?)+", r"^(\d{1,40}){1,40}$",
                                     r"\d+\d+x", r"\S+@\S+\.\S+", r"(\d+)\d*$", "a" * 501])
def test_patterns_that_can_backtrack_without_limit_are_refused(pattern):
    assert pattern_problem(pattern) is not None
    with pytest.raises(DefinitionRejected) as info:
        parse_form(form(pattern))
    assert codes(info) == ["FORM_PATTERN_UNSAFE"]
    assert info.value.details["findings"][0]["element_id"] == "f1"


@pytest.mark.parametrize("pattern", [r"^\d{17}[\dX]$", r"^1[3-9]\d{9}$", r"^[A-Z]+-\d+$", r"^\d+(\.\d+)?$",
                                     r"^[a-z_][a-z0-9_]*$", r"^[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])\d{3}[\dXx]$",
                                     "a++b", "(?>a+)b"])
def test_ordinary_patterns_stay_allowed(pattern):
    assert pattern_problem(pattern) is None
    parse_form(form(pattern))


def test_a_stored_form_with_an_unsafe_pattern_loads_and_cannot_stall_a_submission():
    stored = parse_form(form("(a+)+$"), stored=True)
    started = time.perf_counter()
    assert stored.validate({"code": "a" * 28 + "!"}) == {"code": "a" * 28 + "!"}   # left to the browser
    assert time.perf_counter() - started < 1


def test_a_pattern_runs_only_on_text_within_its_cap():
    capped = parse_form(form(r"^\d+$"))
    assert capped.validate({"code": "1" * PATTERN_MAX_INPUT}) == {"code": "1" * PATTERN_MAX_INPUT}
    with pytest.raises(FormInvalid) as info:
        capped.validate({"code": "1" * (PATTERN_MAX_INPUT + 1)})
    assert "无法校验格式" in info.value.details["fields"]["code"][0]
    short = parse_form(form(r"^\d+$", max_length=10))
    with pytest.raises(FormInvalid) as info:
        short.validate({"code": "1" * 100_000})
    assert info.value.details["fields"]["code"] == ["长度不能超过 10"]


def test_two_components_with_one_id_are_refused_but_a_stored_form_still_loads():
    with pytest.raises(DefinitionRejected) as info:
        parse_form(form("^a$", ids=("same", "same")))
    assert codes(info) == ["FORM_DUPLICATE_COMPONENT_ID"]
    assert " 与 " in info.value.details["findings"][0]["message"]           # QA: 「opinion与textfield」
    with pytest.raises(DefinitionRejected) as info:   # a layout component inside a group counts too
        parse_form(form("^a$", ids=("f3", "f2")))
    assert codes(info) == ["FORM_DUPLICATE_COMPONENT_ID"]
    assert parse_form(form("^a$", ids=("same", "same")), stored=True).key == "probe"


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "2026-01-01T25:00:00", "!!int abc", "!!python/none x"])
def test_an_unreadable_yaml_value_in_a_catalog_is_a_finding_with_its_line(value):
    broken = CATALOG.replace(b"    level: 4", f"    level: 4\n    agency: {value}".encode(), 1)
    with pytest.raises(DefinitionRejected) as info:
        parse_catalog("parallel_approval/matters.yaml", broken)
    [finding] = info.value.details["findings"]
    line = broken.decode().splitlines().index(f"    agency: {value}") + 1
    assert (finding["code"], finding["file"], finding["line"]) == ("TB_CATALOG_FIELD", "parallel_approval/matters.yaml",
                                                                   line)


def test_a_list_as_a_mapping_key_is_a_finding_not_a_crash():
    with pytest.raises(DefinitionRejected) as info:
        parse_catalog("m.yaml", b"matters:\n  - {[1, 2]: x}\n")
    assert info.value.details["findings"][0]["line"] == 2


def test_bundle_and_scenario_files_refuse_an_impossible_date_with_its_line():
    with pytest.raises(DefinitionRejected) as info:
        parse_bundle("qiye_kaiban/bundle.yaml", BUNDLE.replace(b"bundle:\n", b"bundle:\n  when: 2026-02-30\n", 1))
    assert (info.value.details["findings"][0]["line"], info.value.details["findings"][0]["file"]) == (
        BUNDLE.decode().splitlines().index("bundle:") + 2, "qiye_kaiban/bundle.yaml")
    with pytest.raises(ScenarioInvalid) as info:
        parse_scenario("s.yaml", b"name: x\nstart:\n  at: 2026-02-30\nsteps:\n  - advance: 1 days\n")
    assert info.value.details["findings"][0]["line"] == 3


def test_deploy_and_drafts_share_the_process_key_rule():
    for key in ("流程一", "a\n", "p" * 129, "1abc", ""):
        assert not is_process_key(key)
        with pytest.raises(InvalidInput):
            _check_key(key)
    for key in ("parallel_approval", "p" * 128, "_a.b-c"):
        assert is_process_key(key)
        _check_key(key)


def test_a_bad_process_key_or_an_overlong_name_is_refused_but_a_stored_version_loads():
    bad = {"cn.bpmn": diagram(process_id="流程一"),
           "key.bpmn": diagram(process_id="p" * 301),
           "name.bpmn": diagram(process_id="named").replace(b'isExecutable="true"',
                                                            b'name="' + b"x" * 257 + b'" isExecutable="true"'),
           "task.bpmn": diagram(process_id="task_name").replace('name="任务"'.encode(),
                                                                ('name="' + "任" * 257 + '"').encode()),
           "id.bpmn": diagram(process_id="long_id").replace(b'id="end"', b'id="' + b"e" * 129 + b'"')
           .replace(b'targetRef="end"', b'targetRef="' + b"e" * 129 + b'"')}
    with pytest.raises(DefinitionRejected) as info:
        parse_unit(list(bad.items()), Evaluator(), max_bytes=10**7)
    found = {(f["file"], f["code"]) for f in info.value.details["findings"]}
    assert found == {("cn.bpmn", "BPMN_BAD_PROCESS_KEY"), ("key.bpmn", "BPMN_BAD_PROCESS_KEY"),
                     ("name.bpmn", "BPMN_VALUE_TOO_LONG"), ("task.bpmn", "BPMN_VALUE_TOO_LONG"),
                     ("id.bpmn", "BPMN_VALUE_TOO_LONG")}
    messages = {f["file"]: f["message"] for f in info.value.details["findings"]}
    assert "endEvent 元素 id 过长：129 个字符" in messages["id.bpmn"]      # QA: 「id过长」
    assert "的名称过长：257 个字符" in messages["task.bpmn"]
    stored = parse_unit([("cn.bpmn", bad["cn.bpmn"])], Evaluator(), max_bytes=10**7, validate_xsd=False, stored=True)
    assert list(stored.processes) == ["流程一"]


def test_findings_of_several_files_each_name_their_file():
    files = [("one.bpmn", diagram(process_id="one", condition="__import__('os')")),
             ("two.bpmn", diagram(process_id="two", condition="x == 1")),
             ("three.bpmn", diagram(process_id="three", condition="open('x')"))]
    with pytest.raises(DefinitionRejected) as info:
        parse_unit(files, Evaluator(), max_bytes=10**7)
    assert {(f["file"], f["element_id"]) for f in info.value.details["findings"]} == {
        ("one.bpmn", "gw"), ("three.bpmn", "gw")}
    with pytest.raises(DefinitionRejected) as info:
        parse_unit([("x.bpmn", b"<nope"), ("y.bpmn", b"also bad")], Evaluator(), max_bytes=10**7)
    assert [f["file"] for f in info.value.details["findings"]] == ["x.bpmn", "y.bpmn"]


def test_a_department_missing_from_the_offering_districts_is_refused_when_the_organisation_knows_them():
    org = KnownOrg(["500103", "500105", "500106", "500107", "500108", "500112", "500101"],
                   [(d, code) for d in ("500103", "500105", "500106", "500107", "500108", "500112")
                    for code in ("zhujian", "zwzx")])
    assert parse_catalog("m.yaml", CATALOG, known_districts=org)
    broken = CATALOG.replace(b"department: zhujian", b"department: nope_dept", 1)
    with pytest.raises(DefinitionRejected) as info:
        parse_catalog("m.yaml", broken, known_districts=org)
    [finding] = info.value.details["findings"]
    assert (finding["code"], finding["element_id"]) == ("TB_CATALOG_DEPARTMENT", "nope_dept")
    assert "500103等 6 个区县" in finding["message"]
    assert parse_catalog("m.yaml", broken, known_districts=set(org))         # plain codes: not judged
    unknown = KnownOrg(org, [("500101", "zhujian")])                          # offering districts list none
    assert parse_catalog("m.yaml", broken, known_districts=unknown)
    with pytest.raises(DefinitionRejected) as info:                           # longer than the column
        parse_catalog("m.yaml", CATALOG.replace(b"department: zhujian", b"department: " + b"z" * 41, 1))
    assert codes(info) == ["TB_CATALOG_FIELD"]

