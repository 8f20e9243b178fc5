"""Second versions of the shipped parallel approval, for version, diff and migration tests."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARALLEL = ROOT / "processes" / "parallel_approval" / "main.bpmn"


def parallel_v1() -> bytes:
    """The shipped diagram."""
    return PARALLEL.read_bytes()


def with_review(xml: bytes, element_id: str = "review_shengtai", department: str = "shengtai") -> bytes:
    """Add a fourth parallel review between ``split`` and ``join``."""
    text = xml.decode()
    text = text.replace('<bpmn:outgoing>f_split_xiaofang</bpmn:outgoing>',
                        f'<bpmn:outgoing>f_split_xiaofang</bpmn:outgoing><bpmn:outgoing>f_split_{element_id}'
                        '</bpmn:outgoing>', 1)
    text = text.replace('<bpmn:parallelGateway id="join" name="汇总">',
                        f'<bpmn:userTask id="{element_id}" name="生态环境审查"><bpmn:extensionElements>'
                        f'<tb:assignment candidateGroups="reviewer@${{owning}}/{department}"/>'
                        '<tb:form key="review_opinion"/></bpmn:extensionElements></bpmn:userTask>'
                        '<bpmn:parallelGateway id="join" name="汇总">', 1)
    text = text.replace('<bpmn:sequenceFlow id="f_join_end"',
                        f'<bpmn:sequenceFlow id="f_split_{element_id}" sourceRef="split" targetRef="{element_id}"/>'
                        f'<bpmn:sequenceFlow id="f_{element_id}_join" sourceRef="{element_id}" targetRef="join"/>'
                        '<bpmn:sequenceFlow id="f_join_end"', 1)
    return text.encode()


def renamed(xml: bytes, old: str, new: str) -> bytes:
    """Give element ``old`` the id ``new`` (the old element is removed, a new one added)."""
    text = xml.decode()
    for pattern in ('id="{}"', 'sourceRef="{}"', 'targetRef="{}"', 'bpmnElement="{}"'):
        text = text.replace(pattern.format(old), pattern.format(new))
    return text.encode()


def retitled(xml: bytes, title: str = "并联审批（第二版）") -> bytes:
    """Change only the process name (a new version whose elements are all unchanged)."""
    return xml.replace("并联审批（示例）".encode(), title.encode())
