"""tb:message, tb:right and the catalog's handoff entry: what deploy reads, and what it refuses."""
from __future__ import annotations

import textwrap

import pytest

from engine.catalog import parse_catalog
from engine.errors import DefinitionRejected
from engine.spiff.xml_loader import parse_xml, read_diagram
from tests.bpmn_factory import HEAD, diagram
from tests.conftest import ROOT

THROW = (HEAD + '<bpmn:message id="m" name="note"/><bpmn:process id="p" isExecutable="true">'
         '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>'
         '<bpmn:intermediateThrowEvent id="t"><bpmn:extensionElements>{ext}</bpmn:extensionElements>'
         '{definition}</bpmn:intermediateThrowEvent><bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="e"/>'
         '<bpmn:endEvent id="e"/></bpmn:process></bpmn:definitions>')
MESSAGE = '<bpmn:messageEventDefinition messageRef="m"/>'


def info(xml: str):
    return read_diagram(parse_xml(xml.encode(), name="t.bpmn", max_bytes=1 << 20))


def test_a_message_throw_declares_its_payload_correlation_and_attachments():
    found = info(THROW.format(ext='<tb:message payload="{\'a\': a}" correlation="to_case" '
                                  'attach="handoff manifest"/>', definition=MESSAGE))
    spec = found.messages["t"]
    assert (spec.process_id, spec.payload, spec.correlation, spec.attach) == ("p", "{'a': a}", "to_case",
                                                                              ("handoff", "manifest"))
    assert not found.findings


@pytest.mark.parametrize("ext, definition, code", [
    ('<tb:message correlation="x"/>', MESSAGE, "TB_BAD_MESSAGE"),
    ('<tb:message payload="{}" attach="everything"/>', MESSAGE, "TB_BAD_MESSAGE"),
    ('<tb:message payload="{}"/>', "", "TB_BAD_MESSAGE"),
    ('<tb:message payload="{}" to="x"/>', MESSAGE, "TB_UNKNOWN_ATTRIBUTE"),
])
def test_a_bad_message_declaration_is_a_finding(ext, definition, code):
    assert code in [f.code for f in info(THROW.format(ext=ext, definition=definition)).findings]


def test_a_task_names_the_right_a_receiving_district_needs():
    found = info(diagram(task_extensions='<tb:assignment candidateGroups="reviewer"/>'
                                         '<tb:right name="verify_original"/>').decode())
    assert found.user_tasks["task"].right == "verify_original"
    assert found.user_tasks["task"].to_dict()["right"] == "verify_original"
    bad = info(diagram(task_extensions='<tb:assignment candidateGroups="reviewer"/><tb:right name="all"/>').decode())
    assert [f.code for f in bad.findings] == ["TB_BAD_RIGHT"]


def test_the_shipped_collaboration_has_both_processes_and_their_messages():
    found = info((ROOT / "processes" / "yidi_daiban" / "main.bpmn").read_text())
    assert found.process_ids == ("yidi_shoujian", "yidi_banli") and not found.findings
    assert found.messages["send_handoff"].attach == ("handoff", "manifest", "verification")
    assert found.messages["send_result"].correlation == "handoff['sender_case_no']"
    rights = {k: v.right for k, v in found.user_tasks.items() if v.right}
    assert rights == {"verify_identity": "receive", "verify_original": "verify_original",
                      "formal_review": "formal_review", "notify": "notify", "receive_correction": "receive",
                      "handoff": "receive", "deliver": "deliver"}


ENTRY = """\
matters:
  - code: "X1"
    basic_code: "1"
    name: 测试事项
    type: "01"
    basis: 某法第一条
    level: 4
    handling: commitment
    legal_limit: {amount: 20, unit: workday}
    committed_limit: {amount: 10, unit: workday}
    process: standard_permit
    modes: [MODES]
    districts: all
    handoff: HANDOFF
"""


def entry(handoff: str, modes: str = "proxy") -> bytes:
    return textwrap.dedent(ENTRY).replace("HANDOFF", handoff).replace("MODES", modes).encode()


def test_a_catalog_entry_says_how_its_handoff_runs():
    (matter,) = parse_catalog("m/matters.yaml", entry(
        "{process: yidi_shoujian, clock_starts: receiving, transfer_limit: {amount: 2, unit: workday}}"))
    assert matter.handoff == {"process": "yidi_shoujian", "clock_starts": "receiving",
                              "transfer_limit": {"amount": 2, "unit": "workday"}}


@pytest.mark.parametrize("handoff, modes, text", [
    ("{process: yidi_shoujian, clock_starts: later, transfer_limit: {amount: 2}}", "proxy", "clock_starts"),
    ("{process: yidi_shoujian, clock_starts: arrival, transfer_limit: {amount: 0}}", "proxy", "至少 1 天"),
    ("{process: yidi_shoujian, clock_starts: arrival, transfer_limit: {amount: 2}}", "online", "modes 须包含 proxy"),
    ("{process: yidi_shoujian, clock_starts: arrival}", "proxy", "transfer_limit"),
    ("{process: yidi_shoujian, clock_starts: arrival, transfer_limit: {amount: 2}, by: post}", "proxy", "未知字段 by"),
    ("yes", "proxy", "handoff 应写成"),
])
def test_a_bad_handoff_entry_is_refused_with_its_line(handoff, modes, text):
    with pytest.raises(DefinitionRejected) as refused:
        parse_catalog("m/matters.yaml", entry(handoff, modes))
    findings = refused.value.details["findings"]
    assert any(text in f["message"] for f in findings), findings
    assert all(f["line"] == 14 for f in findings), findings
