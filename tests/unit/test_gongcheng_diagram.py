"""The shipped 工改 diagram: every element named in Chinese and drawn, so it opens in bpmn-js and the Modeler."""
from __future__ import annotations

from lxml import etree

from tests.conftest import ROOT

CHINESE = "\u4e00"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"


def test_every_element_of_the_gongcheng_diagram_is_named_in_chinese_and_drawn():
    root = etree.parse(str(ROOT / "processes" / "gongcheng" / "main.bpmn")).getroot()
    process = root.find(f"{BPMN}process")
    drawn = {el.get("bpmnElement") for el in root.iter(f"{DI}BPMNShape", f"{DI}BPMNEdge")}
    nodes = [el for el in process.iter() if isinstance(el.tag, str) and el.tag.startswith(BPMN) and el.get("id")
             and el.tag[len(BPMN):] not in ("inputDataItem", "outputDataItem", "process", "property")]
    assert len(nodes) > 90
    assert {el.get("id") for el in nodes} <= drawn
    unnamed = [el.get("id") for el in nodes if not el.tag.endswith("sequenceFlow")
               and not any(CHINESE <= ch <= "\u9fff" for ch in el.get("name", ""))]
    assert unnamed == []
    assert {el.get("bpmnElement") for el in root.iter(f"{DI}BPMNShape") if el.get("isExpanded") == "true"} == {
        "stage1", "stage2", "stage3", "stage4"}
