"""Names and ids for ``tongban lint``: what people see is named in Chinese, and ids are chosen, not generated.

Clerks, reviewers and auditors read element names in the inbox, the history and the diagram; designers read
them in the modeler. Ids are referenced by running cases, forms, scenarios and tests, so a diagram should
carry deliberate ids (``review_in``) rather than the ones a modeling tool makes up (``Activity_0x3k9qz``),
which say nothing and invite being regenerated. Both rules are warnings: a draft drawn in the browser still
deploys, and a test holds the shipped diagrams to zero. Pure lxml, no engine.
"""
from __future__ import annotations

import re

from lxml import etree

from .definitions import Finding
from .lint_graph import BPMN_NS, NS, _is_flow_node, _local

_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# bpmn-js and Camunda Modeler name new elements Type_ + 7 base-36 digits (32 random bits, so the first digit
# is 0 or 1), and their templates start with StartEvent_1, Process_1, Definitions_1.
_GENERATED = re.compile(r"^[A-Z][A-Za-z]*_(?:[01][0-9a-z]{6}|\d{1,3})$")
_CONNECTIONS = {"sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"}
_KINDS = {"participant": "参与方", "lane": "泳道", "message": "消息", "sequenceFlow": "带条件的顺序流"}


def _visible(el: etree._Element) -> bool:
    kind = _local(el)
    if kind == "sequenceFlow":
        return el.find("bpmn:conditionExpression", NS) is not None
    return kind in ("participant", "lane", "message") or _is_flow_node(el)


def _chinese(text: str | None) -> bool:
    return bool(text and _CHINESE.search(text))


def _named(el: etree._Element) -> bool:
    if _chinese(el.get("name")):
        return True
    # A message's name is its correlation name, shared by every version of sender and receiver, so renaming
    # it would strand handoffs in flight; its Chinese name may stand in its documentation instead.
    return _local(el) == "message" and any(_chinese(d.text) for d in el.iterfind("bpmn:documentation", NS))


def check_names(root: etree._Element) -> list[Finding]:
    """Return a ``LINT_NAME_MISSING`` warning for each element people see that has no Chinese name.

    Seen: flow nodes (tasks, events, gateways, subprocesses, call activities), sequence flows with a
    condition, participants, lanes and messages.
    """
    found = []
    for el in root.iter(f"{{{BPMN_NS}}}*"):
        if not el.get("id") or not _visible(el) or _named(el):
            continue
        kind = _KINDS.get(_local(el), "元素")
        name = el.get("name")
        found.append(Finding("LINT_NAME_MISSING", f"{kind} {el.get('id')} 没有中文名称" + (
            f"（现为“{name}”）" if name else "") + "；办件页面、历史和流程图中显示的就是这个名称",
            el.get("id"), "warning"))
    return found


def _referenced(el: etree._Element) -> bool:
    # A plain connection is referenced by nothing but its ends; a flow with a condition is a decision people see.
    kind = _local(el)
    if kind == "sequenceFlow":
        return el.find("bpmn:conditionExpression", NS) is not None
    return kind not in _CONNECTIONS


def check_ids(root: etree._Element) -> list[Finding]:
    """Return a ``LINT_ID_GENERATED`` warning for each id that looks made up by a modeling tool.

    Plain connections (sequence flows without a condition, message flows, associations) are left alone: a
    designer drawing in the browser would otherwise have to rename every arrow.
    """
    return [Finding("LINT_ID_GENERATED", f"元素 {el.get('id')} 的 id 是建模工具自动生成的；请改为表达含义的固定 id"
                    "（办件、表单、场景和测试都按 id 引用元素，部署后不宜再改）", el.get("id"), "warning")
            for el in root.iter(f"{{{BPMN_NS}}}*") if _GENERATED.match(el.get("id") or "") and _referenced(el)]
