"""Loading BPMN: hostile XML is refused before SpiffWorkflow sees it, extensions are read and checked."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import DefinitionRejected
from engine.expressions import Evaluator
from engine.spiff.parser import parse_unit
from tests.bpmn_factory import diagram

DATA = Path(__file__).resolve().parent.parent / "data" / "processes"
SHIPPED = Path(__file__).resolve().parent.parent.parent / "processes"
LIMIT = 5 * 1024 * 1024


def load(data: bytes, name: str = "t.bpmn"):
    return parse_unit([(name, data)], Evaluator(), max_bytes=LIMIT)


def codes(exc: pytest.ExceptionInfo[DefinitionRejected]) -> list[str]:
    return [f["code"] for f in exc.value.details["findings"]]


def test_shipped_parallel_approval_parses_with_its_extensions():
    unit = load((SHIPPED / "parallel_approval" / "main.bpmn").read_bytes())
    process = unit.processes["parallel_approval"]
    accept = process.user_tasks["accept"]
    assert accept.candidate_groups == ("window_clerk@${receiving}",)
    assert accept.form_key == "accept_application"
    assert (accept.deadline.amount, accept.deadline.unit, accept.deadline.clock) == (5, "workdays", "task")
    assert process.form_keys == {"accept_application", "review_opinion"}


def test_camunda_attributes_are_read_as_aliases():
    task = load((DATA / "camunda_alias.bpmn").read_bytes()).processes["camunda_drawn"].user_tasks["check"]
    assert task.candidate_groups == ("reviewer@${owning}", "supervisor")
    assert task.form_key == "review_opinion"
    assert (task.deadline.amount, task.deadline.unit) == (3, "days")


XXE = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&x;</bpmn:definitions>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol3;</bpmn:definitions>"""


@pytest.mark.parametrize("payload, code", [
    (XXE, "BPMN_DTD_FORBIDDEN"),
    (XXE.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16"),
     "BPMN_DTD_FORBIDDEN"),
    (LAUGHS, "BPMN_DTD_FORBIDDEN"),
    (b"<bpmn:definitions", "BPMN_MALFORMED_XML"),
    (b"<html><body/></html>", "BPMN_NOT_DEFINITIONS"),
])
def test_hostile_or_malformed_xml_is_refused_with_a_precise_code(payload, code):
    with pytest.raises(DefinitionRejected) as exc:
        load(payload)
    assert codes(exc) == [code]


def test_a_diagram_nested_past_libxml2s_limit_is_refused_in_chinese_without_the_parsers_english():
    depth = 300
    nested = (b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">'
              + b"<bpmn:documentation>" * depth + b"x" + b"</bpmn:documentation>" * depth + b"</bpmn:definitions>")
    with pytest.raises(DefinitionRejected) as exc:
        load(nested, "deep.bpmn")
    assert codes(exc) == ["BPMN_MALFORMED_XML"]
    assert "嵌套超过 256 层" in exc.value.message and "Excessive" not in exc.value.message


def test_a_50_megabyte_file_is_refused_before_parsing():
    huge = diagram().replace(b"</bpmn:definitions>", b"<!--" + b"x" * (50 * 1024 * 1024) + b"--></bpmn:definitions>")
    with pytest.raises(DefinitionRejected) as exc:
        load(huge)
    assert codes(exc) == ["BPMN_TOO_LARGE"]
    assert "超过上限" in exc.value.message


def test_missing_start_event_is_refused():
    with pytest.raises(DefinitionRejected) as exc:
        load(diagram(with_start=False))
    assert "BPMN_NO_START_EVENT" in codes(exc)


@pytest.mark.parametrize("extension, code", [
    ('<tb:assignment candidateGroups="reviewer"/><tb:priority level="9"/>', "TB_UNKNOWN_EXTENSION"),
    ('<tb:assignment candidateGroups="reviewer" owner="x"/>', "TB_UNKNOWN_ATTRIBUTE"),
    ('<tb:assignment candidateGroups="Reviewer@@x"/>', "TB_BAD_CANDIDATE"),
    ('<tb:form key="x"/>', "TB_NO_CANDIDATES"),
    ('<tb:assignment candidateGroups="reviewer" separateFrom="nowhere"/>', "TB_BAD_SEPARATION"),
    ('<tb:assignment candidateGroups="reviewer"/><tb:deadline workdays="-3"/>', "TB_BAD_DEADLINE"),
    ('<tb:assignment candidateGroups="reviewer"/><tb:deadline workdays="5" days="2"/>', "TB_BAD_DEADLINE"),
    ('<tb:assignment candidateGroups="reviewer"/><tb:deadline workdays="5" clock="lunar"/>', "TB_BAD_DEADLINE"),
    # A clock counts whole days: an hour budget cannot pause and extend with it.
    ('<tb:assignment candidateGroups="reviewer"/><tb:deadline hours="4" clock="legal"/>', "TB_BAD_DEADLINE"),
])
def test_unknown_or_invalid_extension_values_are_refused(extension, code):
    with pytest.raises(DefinitionRejected) as exc:
        load(diagram(task_extensions=extension))
    assert code in codes(exc)
    assert all(f["element_id"] == "task" for f in exc.value.details["findings"])


@pytest.mark.parametrize("kind, text", [
    ("condition", "__import__('os').system('touch /tmp/tongban_pwned')"),
    ("condition", "().__class__.__base__.__subclasses__()"),
    ("condition", "open('/etc/passwd').read()"),
    ("script", "import os\nos.system('touch /tmp/tongban_pwned')"),
    ("script", "x = ().__class__.__base__.__subclasses__()"),
    ("timer", "[__import__('os').system('touch /tmp/tongban_pwned'), 'PT1H'][1]"),
])
def test_unsafe_expressions_are_refused_at_load_time(kind, text):
    with pytest.raises(DefinitionRejected) as exc:
        load(diagram(**{kind: text}))
    assert "EXPRESSION_REJECTED" in codes(exc)
    assert not Path("/tmp/tongban_pwned").exists()


def test_an_unquoted_iso_duration_in_a_timer_is_refused_with_a_hint():
    with pytest.raises(DefinitionRejected) as exc:
        load(diagram(timer="PT1H"))
    assert codes(exc) == ["TIMER_UNQUOTED"]
    assert '"PT1H"' in exc.value.message


def test_schema_invalid_bpmn_is_refused():
    bad = diagram().replace(b"<bpmn:endEvent", b"<bpmn:notAnElement/><bpmn:endEvent", 1)
    with pytest.raises(DefinitionRejected) as exc:
        load(bad)
    assert codes(exc) == ["BPMN_SCHEMA_INVALID"]


def load_with_clock_functions(data: bytes):
    from engine.calendar_functions import CalendarProvider, calendar_functions
    functions = calendar_functions(CalendarProvider(lambda: None))  # only checked, never called here
    return parse_unit([("t.bpmn", data)], Evaluator(functions), max_bytes=LIMIT)


def test_a_clock_may_start_at_several_accepting_tasks_and_name_its_notice_tasks():
    process = load_with_clock_functions((DATA / "accept_paths_clock.bpmn").read_bytes()).processes["accept_paths"]
    (legal,) = process.clocks
    assert (legal.starts_at, legal.notice_at) == ("accept_direct accept_corrected", "notice")


@pytest.mark.parametrize("attributes, wrong", [
    ('startsAt="accept_direct nowhere"', "'nowhere'"),
    ('startsAt="accept_direct" noticeAt="start"', "'start'"),      # an event, not a user task
    ('startsAt="accept_direct" noticeAt=" "', "''"),
    ('startsAt="accept_direct" stopsAt="nowhere"', "'nowhere'"),
    ('stopsAt="accept_direct"', "stopsAt 须与 startsAt 同用"),
])
def test_a_clock_naming_anything_but_user_tasks_of_its_process_is_refused(attributes, wrong):
    xml = (DATA / "accept_paths_clock.bpmn").read_text().replace(
        'startsAt="accept_direct accept_corrected" noticeAt="notice"', attributes)
    with pytest.raises(DefinitionRejected) as exc:
        load_with_clock_functions(xml.encode())
    assert codes(exc) == ["TB_BAD_CLOCK"] and wrong in exc.value.details["findings"][0]["message"]


def test_the_receiving_window_process_declares_its_one_time_notice_task():
    unit = load_with_clock_functions((SHIPPED / "yidi_daiban" / "main.bpmn").read_bytes())
    assert unit.processes["yidi_shoujian"].one_time_notice == ("notify",)
    assert unit.processes["yidi_banli"].one_time_notice == ()


def one_time_notice(tasks: str) -> bytes:
    """accept_paths without its clock, naming its notice task(s) with tb:oneTimeNotice instead."""
    return (DATA / "accept_paths_clock.bpmn").read_text().replace(
        '<tb:clock kind="legal" workdays="20" startsAt="accept_direct accept_corrected" noticeAt="notice"/>',
        f'<tb:oneTimeNotice tasks="{tasks}"/>').encode()


def test_a_one_time_notice_declaration_names_user_tasks_of_its_process():
    process = load_with_clock_functions(one_time_notice("notice, accept_corrected")).processes["accept_paths"]
    assert (process.clocks, process.one_time_notice) == ((), ("notice", "accept_corrected"))


@pytest.mark.parametrize("tasks, wrong", [("notice nowhere", "'nowhere'"), ("start", "'start'"), (" ", "''")])
def test_a_one_time_notice_naming_anything_but_user_tasks_of_its_process_is_refused(tasks, wrong):
    with pytest.raises(DefinitionRejected) as exc:
        load_with_clock_functions(one_time_notice(tasks))
    assert codes(exc) == ["TB_BAD_NOTICE"] and wrong in exc.value.details["findings"][0]["message"]


def test_shipped_standard_permit_has_a_chinese_name_and_a_diagram_shape_for_every_element():
    import re

    from lxml import etree
    xml = (SHIPPED / "standard_permit" / "main.bpmn").read_bytes()
    root = etree.fromstring(xml)
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
          "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    process = root.find("bpmn:process", ns)
    nodes = [el for el in process if etree.QName(el).localname not in (
        "extensionElements", "documentation", "sequenceFlow", "property")]
    flows = process.findall("bpmn:sequenceFlow", ns)
    shapes = {el.get("bpmnElement") for el in root.iterfind(".//bpmndi:BPMNShape", ns)}
    edges = {el.get("bpmnElement"): el for el in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    assert len(nodes) == 37 and len(flows) == 42
    assert {n.get("id") for n in nodes} == shapes
    assert {f.get("id") for f in flows} == set(edges)
    assert all(len(e.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2 for e in edges.values())
    assert all(re.search(r"[\u4e00-\u9fff]", n.get("name") or "") for n in nodes)
    process_info = load_with_clock_functions(xml).processes["standard_permit"]
    assert len(process_info.user_tasks) == 16 and all(t.form_key for t in process_info.user_tasks.values())
    assert {c.kind: (c.amount, c.unit) for c in process_info.clocks} == {"legal": (20, "workday"),
                                                                        "committed": (10, "workday")}
    assert process_info.user_tasks["deliver"].deadline.amount == 10
