"""Uploaded files refuse the "Trojan Source" direction controls, as JSON bodies, queries and form fields do.

A process name, a form label, a department or a holiday's name is shown on pages, in inboxes and in exports;
holding U+202A-U+202E or U+2066-U+2069 it would read in another order than it is stored.
"""
from __future__ import annotations

import pytest

from engine.calendar import CalendarInvalid
from engine.calendar_schedule import parse_schedule
from engine.errors import DefinitionRejected
from engine.forms import parse_form
from engine.org_file import OrgFileInvalid, parse_org_file
from engine.spiff.xml_loader import parse_xml
from engine.text_input import BIDI_WHAT, bidi_lines

BPMN = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
        '<bpmn:process id="p">{}</bpmn:process></bpmn:definitions>')


def refused_bpmn(body: str) -> str:
    return refused_finding(body)["message"]


def refused_finding(body: str) -> dict:
    with pytest.raises(DefinitionRejected) as caught:
        parse_xml(BPMN.format(body).encode(), name="x.bpmn", max_bytes=1_000_000)
    [finding] = caught.value.details["findings"]
    assert finding["code"] == "BPMN_BIDI_TEXT" and finding["message"] == caught.value.message
    return finding


def test_the_finding_names_the_element_for_the_modeler_to_highlight():
    """QA: element_id was null although the message named the element."""
    assert refused_finding('<bpmn:userTask id="t" name="审\u202e批"/>')["element_id"] == "t"
    assert refused_finding('<bpmn:userTask name="审\u202e批"/>')["element_id"] is None
    assert refused_finding('<bpmn:userTask id="t\u202e" name="审批"/>')["element_id"] is None   # not shown as is


@pytest.mark.parametrize("control", ["\u202a", "\u202e", "\u2066", "\u2069"])
def test_a_bpmn_attribute_holding_a_direction_control_is_refused_with_its_element(control):
    assert refused_bpmn(f'<bpmn:userTask id="t" name="审{control}批"/>') == \
        f"文件 x.bpmn 中元素 t 的属性 name {BIDI_WHAT}，不予接受"


def test_a_control_written_as_a_character_reference_or_in_documentation_is_refused_too():
    assert "元素 t 的属性 name" in refused_bpmn('<bpmn:userTask id="t" name="审&#x202E;批"/>')
    said = refused_bpmn('<bpmn:userTask id="t"><bpmn:documentation>说明\u2067</bpmn:documentation></bpmn:userTask>')
    assert f"第 1 行的 documentation 元素的文字{BIDI_WHAT}" in said


def test_implicit_direction_marks_are_still_accepted_in_bpmn():
    root = parse_xml(BPMN.format('<bpmn:userTask id="t" name="审\u200e批\u200f"/>').encode(), name="x.bpmn",
                     max_bytes=1_000_000)
    assert root.find(".//{*}userTask").get("name") == "审\u200e批\u200f"


def test_a_form_label_or_option_holding_a_direction_control_is_refused():
    for component in ('{"type": "textfield", "key": "a", "label": "甲\u202e乙"}',
                      '{"type": "select", "key": "a", "label": "甲", "values": [{"label": "\u2066是", "value": "y"}]}'):
        with pytest.raises(DefinitionRejected) as caught:
            parse_form(f'{{"id": "f1", "components": [{component}]}}')
        assert caught.value.details["findings"][0]["code"] == "FORM_BIDI_TEXT"
        assert caught.value.details["findings"][0]["element_id"] == "f1"


def test_organisation_and_calendar_files_name_each_line_holding_a_control():
    org = "districts:\n  - {code: CQ-A, name: 双桥\u202e, kind: 功能区, parent: 500111}\n"
    with pytest.raises(OrgFileInvalid) as caught:
        parse_org_file(org, "yaml")
    assert f"第 2 行：{BIDI_WHAT}" in caught.value.details["problems"]
    schedule = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-11,holiday,春\u2068节\n"
    with pytest.raises(CalendarInvalid) as caught:
        parse_schedule(schedule, "csv", year=2027, source="国办发明电〔2026〕1号")
    assert caught.value.details["problems"] == [f"第 3 行：{BIDI_WHAT}"]


def test_bidi_lines_counts_from_one_and_ignores_clean_text():
    assert bidi_lines("甲\n乙\u202d\n丙\n\u2069") == [2, 4]
    assert bidi_lines("甲\u200e乙") == []


def test_a_version_deployed_before_the_check_still_loads():
    """Reloading, replaying or comparing a stored version passes ``stored``: it is never refused afresh."""
    root = parse_xml(BPMN.format('<bpmn:userTask id="t" name="审\u202e批"/>').encode(), name="x.bpmn",
                     max_bytes=1_000_000, stored=True)
    assert root.find(".//{*}userTask").get("name") == "审\u202e批"
    form = parse_form('{"id": "f1", "components": [{"type": "textfield", "key": "a", "label": "甲\u202e乙"}]}',
                      stored=True)
    assert form.key == "f1"
