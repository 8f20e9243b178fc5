"""Names people read are Chinese and ids are chosen: the two lint rules, and every shipped diagram held to them."""
from __future__ import annotations

import pytest

from engine.lint_names import check_ids, check_names
from engine.spiff.xml_loader import parse_xml
from tests.conftest import ROOT
from tests.unit.test_lint import ASSIGN, lint, process

COLLABORATION = ('<bpmn:collaboration id="collab"><bpmn:participant id="p_window" name="{participant}" '
                 'processRef="probe"/></bpmn:collaboration>'
                 '<bpmn:message id="msg" name="{message}">{documentation}</bpmn:message>')


def probe(*, task: str = "审查", cond: str = "通过", lane: str = "窗口", participant: str = "收件地",
          message: str = "移交", documentation: str = "", ids: dict[str, str] | None = None) -> bytes:
    ids = {"start": "start", "task": "review", "flow": "f_ok", **(ids or {})}
    body = (f'<bpmn:laneSet id="lanes"><bpmn:lane id="lane_window" name="{lane}"/></bpmn:laneSet>'
            f'<bpmn:startEvent id="{ids["start"]}" name="申请"/>'
            f'<bpmn:userTask id="{ids["task"]}" name="{task}">{ASSIGN}</bpmn:userTask>'
            '<bpmn:exclusiveGateway id="gw" name="是否通过" default="f_no"/>'
            '<bpmn:endEvent id="end" name="办结"/>'
            f'<bpmn:sequenceFlow id="f1" sourceRef="{ids["start"]}" targetRef="{ids["task"]}"/>'
            f'<bpmn:sequenceFlow id="f2" sourceRef="{ids["task"]}" targetRef="gw"/>'
            f'<bpmn:sequenceFlow id="{ids["flow"]}" name="{cond}" sourceRef="gw" targetRef="end">'
            '<bpmn:conditionExpression>ok == True</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end"/>')
    head = COLLABORATION.format(participant=participant, message=message, documentation=documentation)
    return process(body, head_extra=head)


def naming(xml: bytes) -> list[tuple[str, str | None, str]]:
    return sorted((f.code, f.element_id, f.severity) for f in lint(("p.bpmn", xml), naming=True)
                  if f.code in ("LINT_NAME_MISSING", "LINT_ID_GENERATED"))


def test_a_diagram_named_in_chinese_with_chosen_ids_has_no_naming_finding():
    assert naming(probe()) == []


@pytest.mark.parametrize("change, element", [
    ({"task": ""}, "review"),
    ({"task": "Review"}, "review"),            # a name, but not one a clerk reads
    ({"cond": ""}, "f_ok"),                    # a flow with a condition is a choice people see
    ({"lane": "window"}, "lane_window"),
    ({"participant": ""}, "p_window"),
    ({"message": "yidi_handoff"}, "msg"),
])
def test_each_element_people_see_without_a_chinese_name_is_a_warning(change, element):
    assert naming(probe(**change)) == [("LINT_NAME_MISSING", element, "warning")]


def test_an_unconditional_flow_needs_no_name_and_a_message_may_carry_its_chinese_name_in_documentation():
    xml = probe(message="yidi_handoff", documentation="<bpmn:documentation>异地代收移交</bpmn:documentation>")
    assert naming(xml) == []


def test_the_message_says_where_people_read_the_name():
    (finding,) = [f for f in lint(("p.bpmn", probe(task="Review")), naming=True) if f.code == "LINT_NAME_MISSING"]
    assert finding.message.startswith("元素 review 没有中文名称（现为“Review”）")


@pytest.mark.parametrize("generated", ["Activity_0x3k9qz", "Gateway_1ab2cd3", "Flow_0p1q2r3", "StartEvent_1",
                                       "Task_1hcentk", "SequenceFlow_0h21x7r"])
def test_ids_a_modeling_tool_made_up_are_warnings(generated):
    where = "flow" if "Flow" in generated else "start" if "Event" in generated else "task"
    assert naming(probe(ids={where: generated})) == [("LINT_ID_GENERATED", generated, "warning")]


def test_a_plain_connection_may_keep_the_id_the_modeler_gave_it():
    xml = probe().replace(b'id="f2"', b'id="Flow_0p1q2r3"').replace(b'id="f_no"', b'id="Flow_1zz9x8w"')
    assert naming(xml.replace(b'default="f_no"', b'default="Flow_1zz9x8w"')) == []


@pytest.mark.parametrize("chosen", ["review_in", "Review_zhujian", "Flow_2abcdef", "stage1", "Defs_hukou"])
def test_chosen_ids_are_not_mistaken_for_generated_ones(chosen):
    assert naming(probe(ids={"task": chosen})) == []


@pytest.mark.parametrize("path", sorted((ROOT / "processes").rglob("*.bpmn")), ids=lambda p: p.parent.name)
def test_every_shipped_diagram_names_what_people_see_in_chinese_and_keeps_chosen_ids(path):
    data = path.read_bytes()
    root = parse_xml(data, name=path.name, max_bytes=len(data) + 1)
    assert [(f.code, f.element_id) for f in check_names(root) + check_ids(root)] == []
