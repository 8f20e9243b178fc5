"""The matter catalog file: what it says, and every bad entry refused with its file and line."""
from __future__ import annotations

import textwrap

import pytest

from engine.catalog import Limit, is_catalog_file, parse_catalog
from engine.errors import DefinitionRejected
from tests.conftest import ROOT

SHIPPED = ROOT / "processes" / "parallel_approval" / "matters.yaml"
GOOD = """\
matters:
  - code: "X1"
    basic_code: "000117001000"
    name: 测试事项
    type: "01"
    basis: 某法第一条
    level: 4
    handling: commitment
    legal_limit: {amount: 20, unit: workday}
    committed_limit: {amount: 10, unit: workday}
    process: parallel_approval
    modes: [online]
    districts: all
    materials:
      - {key: form, name: 申请表}
"""


def parse(text: str, **kwargs):
    return parse_catalog("test/matters.yaml", textwrap.dedent(text).encode(), **kwargs)


def refused(text: str, **kwargs) -> list[dict]:
    with pytest.raises(DefinitionRejected) as info:
        parse(text, **kwargs)
    findings = info.value.details["findings"]
    assert all(f["file"] == "test/matters.yaml" for f in findings)
    assert info.value.message.startswith("test/matters.yaml")
    return findings


def test_the_shipped_catalog_parses_and_answers_offering_and_limits():
    (matter,) = parse_catalog(SHIPPED.name, SHIPPED.read_bytes())
    assert matter.process_key == "parallel_approval" and matter.handling == "commitment"
    assert matter.offered_in("500103") and not matter.offered_in("500101")
    assert matter.committed_limit_in("500103") == Limit(7, "workday")
    assert matter.committed_limit_in("500105") == Limit(10, "workday")
    assert [m.key for m in matter.materials if m.tolerance] == ["bid_notice"]
    assert len(matter.content_hash) == 64


def test_catalog_files_are_told_apart_by_name():
    assert is_catalog_file("processes/x/matters.yaml") and is_catalog_file("permit.matters.yml")
    assert not is_catalog_file("main.bpmn") and not is_catalog_file("scenario.yaml")


@pytest.mark.parametrize("change, line, code", [
    ("committed_limit: {amount: 10, unit: workday}|committed_limit: {amount: 30, unit: workday}", 10,
     "TB_CATALOG_LIMIT"),
    ("legal_limit: {amount: 20, unit: workday}|legal_limit: {amount: 20, unit: month}", 9, "TB_CATALOG_LIMIT"),
    ("legal_limit: {amount: 20, unit: workday}|legal_limit: {amount: -1, unit: workday}", 9, "TB_CATALOG_LIMIT"),
    ("legal_limit: {amount: 20, unit: workday}|legal_limit: {amount: 20, unit: day}", 10, "TB_CATALOG_LIMIT"),
    ("modes: [online]|modes: [online, teleport]", 12, "TB_CATALOG_FIELD"),
    ("districts: all|districts: ['500103', '5001']", 13, "TB_CATALOG_DISTRICT"),
    ('type: "01"|type: "1"', 5, "TB_CATALOG_FIELD"),
    ("handling: commitment|handling: fast", 8, "TB_CATALOG_FIELD"),
    ("    basis: 某法第一条\n|", 2, "TB_CATALOG_FIELD"),
    ("level: 4|level: 9", 7, "TB_CATALOG_FIELD"),
    ("    process: parallel_approval|    process: parallel_approval\n    colour: red", 12, "TB_CATALOG_FIELD"),
])
def test_each_bad_field_is_reported_at_its_line(change, line, code):
    old, new = change.split("|")
    findings = refused(GOOD.replace(old, new))
    assert (findings[0]["code"], findings[0]["line"]) == (code, line), findings


def test_materials_must_have_unique_keys_and_tolerance_only_on_required_ones():
    text = GOOD.replace("      - {key: form, name: 申请表}\n", "      - {key: form, name: 申请表}\n"
                        "      - {key: form, name: 申请表副本}\n"
                        "      - {key: extra, name: 补充说明, required: false, tolerance: true}\n")
    findings = refused(text)
    assert [(f["code"], f["line"], f["element_id"]) for f in findings] == [
        ("TB_CATALOG_MATERIAL", 16, "form"), ("TB_CATALOG_FIELD", 17, "extra")]


def test_an_override_may_only_shorten_the_committed_limit_of_a_known_district():
    text = GOOD + "    overrides:\n      '500103': {committed_limit: {amount: 12, unit: workday}}\n" \
                  "      '999999': {agency: 某局}\n"
    findings = refused(text, known_districts=("500103", "500101"))
    assert [(f["code"], f["line"]) for f in findings] == [("TB_CATALOG_LIMIT", 17), ("TB_CATALOG_DISTRICT", 18)]


def test_an_instant_matter_is_decided_the_same_day():
    findings = refused(GOOD.replace("handling: commitment", "handling: instant"))
    assert findings[0]["message"] == "即办件的承诺时限应为 0（当场办结）"


def test_duplicate_codes_in_one_file_are_refused():
    entry = GOOD.split("matters:\n", 1)[1]
    findings = refused(GOOD + entry)
    assert findings[0]["code"] == "TB_CATALOG_DUPLICATE" and findings[0]["line"] == 16


@pytest.mark.parametrize("text, message", [
    ("matters: [unclosed\n", "YAML 格式错误"),
    ("other: 1\n", "文件应以 matters: 开头"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nmatters: [*e]\n", "过于庞大"),
])
def test_malformed_files_are_refused_with_a_clear_reason(text, message):
    with pytest.raises(DefinitionRejected, match=message):
        parse_catalog("bad/matters.yaml", text.encode())


def test_lights_thresholds_are_optional_and_checked():
    (matter,) = parse(GOOD + "    lights: {yellow_days: 2, yellow_ratio: 0.3}\n")
    assert matter.lights == {"yellow_days": 2, "yellow_ratio": 0.3}
    assert parse(GOOD)[0].lights == {}
    findings = refused(GOOD + "    lights: {yellow_days: 2, yellow_ratio: 3}\n")
    assert (findings[0]["code"], findings[0]["line"]) == ("TB_CATALOG_LIGHTS", 16)


def test_substantive_check_is_an_optional_boolean_kept_out_of_entries_without_it():
    (matter,) = parse(GOOD + "    substantive_check: true\n")
    assert matter.doc["substantive_check"] is True
    assert "substantive_check" not in parse(GOOD)[0].doc          # unchanged content hash for the others
    findings = refused(GOOD + "    substantive_check: 两人\n")
    assert (findings[0]["code"], findings[0]["line"]) == ("TB_CATALOG_FIELD", 16)


def test_catalog_facts_are_plain_named_values_and_bidi_controls_are_refused():
    """``facts``: start data the matter fixes (不动产登记's sub_type); a line with a bidi control is refused."""
    (entry,) = parse(GOOD + "    facts: {sub_type: seizure, rounds: 2, urgent: true}\n")
    assert entry.doc["facts"] == {"sub_type": "seizure", "rounds": 2, "urgent": True}
    assert "facts" not in parse(GOOD)[0].doc   # an entry without it keeps its content hash
    line = GOOD.count("\n") + 1
    for bad, words in (("facts: {Sub-Type: x}", "应以小写字母开头"), ("facts: {department: zhujian}", "有自己的字段"),
                       ("facts: {sub_type: [a, b]}", "的值应为文字"), ("facts: []", "应为一组 名称: 值")):
        (finding,) = refused(GOOD + f"    {bad}\n")
        assert finding["code"] == "TB_CATALOG_FIELD" and words in finding["message"] and finding["line"] == line
    hidden = refused(GOOD.replace("测试事项", "测试\u202e项事"))
    assert [(f["code"], f["line"]) for f in hidden] == [("TB_CATALOG_BIDI_TEXT", 4)]   # the name
    # QA: written as an escape in a quoted scalar, the control is in the value, not in the text of the line.
    escaped = refused(GOOD.replace("测试事项", '"测试\\u202e项事"') + '    facts: {"sub\\u2066": x}\n')
    assert [(f["code"], f["line"]) for f in escaped] == [("TB_CATALOG_BIDI_TEXT", 4), ("TB_CATALOG_BIDI_TEXT", line)]
