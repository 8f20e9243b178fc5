"""Edits of the shipped parallel approval that designers make in the modeler, as XML, for the draft tests."""
from __future__ import annotations

from tests.conftest import ROOT

PARALLEL = (ROOT / "processes" / "parallel_approval" / "main.bpmn").read_text(encoding="utf-8")


def with_fourth_review(candidates: str | None = "reviewer@${owning}/renfang") -> str:
    """The parallel approval with a fourth parallel review (人防), with or without candidates."""
    assignment = f'<tb:assignment candidateGroups="{candidates}"/>' if candidates else ""
    task = f"""
    <bpmn:userTask id="review_renfang" name="人防部门审查">
      <bpmn:extensionElements>{assignment}<tb:form key="review_opinion"/></bpmn:extensionElements>
      <bpmn:incoming>f_split_renfang</bpmn:incoming>
      <bpmn:outgoing>f_renfang_join</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_split_renfang" sourceRef="split" targetRef="review_renfang"/>
    <bpmn:sequenceFlow id="f_renfang_join" sourceRef="review_renfang" targetRef="join"/>
  </bpmn:process>"""
    xml = PARALLEL.replace("</bpmn:process>", task, 1)
    xml = xml.replace('<bpmn:outgoing>f_split_xiaofang</bpmn:outgoing>',
                      '<bpmn:outgoing>f_split_xiaofang</bpmn:outgoing><bpmn:outgoing>f_split_renfang</bpmn:outgoing>', 1)
    xml = xml.replace('<bpmn:incoming>f_xiaofang_join</bpmn:incoming>',
                      '<bpmn:incoming>f_xiaofang_join</bpmn:incoming><bpmn:incoming>f_renfang_join</bpmn:incoming>', 1)
    shape = ('<bpmndi:BPMNShape id="review_renfang_di" bpmnElement="review_renfang">'
             '<dc:Bounds x="600" y="440" width="100" height="80"/></bpmndi:BPMNShape></bpmndi:BPMNPlane>')
    return xml.replace("</bpmndi:BPMNPlane>", shape, 1)


def renamed(name: str = "住建部门技术审查") -> str:
    """The parallel approval with the 住建 review renamed (a change that makes a new version)."""
    return PARALLEL.replace('name="住建部门审查"', f'name="{name}"', 1)
