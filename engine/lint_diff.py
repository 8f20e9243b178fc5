"""Structural diff of two versions of a BPMN process, element by id, for designers (``tongban diff``, the API).

An element is the process itself, a flow node (events, tasks, gateways, subprocesses), a sequence flow or a
lane. Elements only in the new version are *added*, only in the old one *removed*; an element in both is
*changed* when any of these differ: ``type`` (tag, event definitions, multi-instance, interrupting),
``name``, ``incoming``/``outgoing`` (sequence flows, boundary attachment, a flow's source and target, a
lane's members), ``extensions`` (``tb:``/``camunda:`` attributes and extension elements) or ``expressions``
(conditions, timers, scripts, multi-instance settings, messages, called processes, a gateway's default).
Diagram layout (bpmndi) is not structure and is ignored. Pure lxml over already-hardened XML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .definitions import CAMUNDA_NS, TB_NS
from .lint_graph import NS, _is_flow_node, _local
from .spiff.xml_loader import parse_xml

ASPECTS = ("type", "name", "incoming", "outgoing", "extensions", "expressions")
_EXPRESSION_TAGS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "script", "loopCardinality",
                    "completionCondition", "loopDataInputRef", "loopDataOutputRef", "condition"}
_EXPRESSION_ATTRS = ("messageRef", "signalRef", "errorRef", "escalationRef", "calledElement", "scriptFormat",
                     "default")
_EXTENSION_NS = (TB_NS, CAMUNDA_NS)
_TYPE_ATTRS = ("cancelActivity", "isInterrupting", "triggeredByEvent", "isSequential", "isForCompensation")


@dataclass(frozen=True)
class ElementFacts:
    """What the diff compares of one element, each aspect as a comparable, JSON-friendly value."""

    element_id: str
    tag: str
    aspects: dict[str, Any]


@dataclass
class DiagramDiff:
    """Element ids per category, and for each changed element what changed from what to what."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: the three id lists (to colour a diagram), the unchanged count and per-element details."""
        return {"added": self.added, "removed": self.removed, "changed": self.changed,
                "unchanged": self.unchanged, "details": self.details}


def diff_diagrams(old_xml: str, new_xml: str, process_id: str, *, max_bytes: int) -> DiagramDiff:
    """Compare process ``process_id`` in two BPMN documents (already deployed, so already validated)."""
    old = element_facts(parse_xml(old_xml.encode(), name="from.bpmn", max_bytes=max_bytes, stored=True), process_id)
    new = element_facts(parse_xml(new_xml.encode(), name="to.bpmn", max_bytes=max_bytes, stored=True), process_id)
    result = DiagramDiff()
    for element_id in sorted(new.keys() - old.keys()):
        result.added.append(element_id)
        result.details[element_id] = _describe(new[element_id])
    for element_id in sorted(old.keys() - new.keys()):
        result.removed.append(element_id)
        result.details[element_id] = _describe(old[element_id])
    for element_id in sorted(old.keys() & new.keys()):
        before, after = old[element_id], new[element_id]
        changes = [{"aspect": a, "from": before.aspects[a], "to": after.aspects[a]}
                   for a in ASPECTS if before.aspects[a] != after.aspects[a]]
        if changes:
            result.changed.append(element_id)
            result.details[element_id] = {**_describe(after), "changes": changes}
        else:
            result.unchanged += 1
    return result


def _describe(facts: ElementFacts) -> dict[str, Any]:
    return {"type": facts.tag, "name": facts.aspects["name"]}


def element_facts(root: etree._Element, process_id: str) -> dict[str, ElementFacts]:
    """Return the comparable facts of every element of process ``process_id`` (empty when it is absent)."""
    process = next((p for p in root.iterfind("bpmn:process", NS) if p.get("id") == process_id), None)
    if process is None:
        return {}
    flows = [el for el in process.iter() if _local(el) == "sequenceFlow" and el.get("id")]
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow.get("id"))
        incoming.setdefault(flow.get("targetRef") or "", []).append(flow.get("id"))
    found = {process_id: _facts(process, [], [])}
    for el in process.iter():
        element_id = el.get("id")
        if not element_id or el is process:
            continue
        kind = _local(el)
        if kind == "sequenceFlow":
            found[element_id] = _facts(el, [el.get("sourceRef")], [el.get("targetRef")])
        elif kind == "lane":
            members = sorted(ref.text or "" for ref in el.iterfind("bpmn:flowNodeRef", NS))
            found[element_id] = _facts(el, [], members)
        elif _is_flow_node(el):
            into = sorted(incoming.get(element_id, []))
            if el.get("attachedToRef"):
                into = [f"attachedTo:{el.get('attachedToRef')}", *into]
            found[element_id] = _facts(el, into, sorted(outgoing.get(element_id, [])))
    return found


def _facts(el: etree._Element, incoming: list[Any], outgoing: list[Any]) -> ElementFacts:
    kind = _local(el)
    definitions = sorted(_local(d).replace("EventDefinition", "") for d in el if _local(d).endswith("EventDefinition"))
    loop = next((c for c in el if _local(c) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")),
                None)
    type_parts = [kind, *definitions]
    if loop is not None:
        type_parts.append(_local(loop))
    type_parts += [f"{a}={el.get(a)}" for a in _TYPE_ATTRS if el.get(a) is not None]
    type_parts += [f"{a}={loop.get(a)}" for a in _TYPE_ATTRS if loop is not None and loop.get(a) is not None]
    return ElementFacts(el.get("id"), kind, {
        "type": " ".join(type_parts), "name": el.get("name"), "incoming": incoming, "outgoing": outgoing,
        "extensions": _extensions(el), "expressions": _expressions(el),
    })


def _extensions(el: etree._Element) -> list[str]:
    found = [f"@{etree.QName(k).localname}={v}" for k, v in sorted(el.attrib.items())
             if etree.QName(k).namespace in _EXTENSION_NS]
    block = el.find("bpmn:extensionElements", NS)
    if block is not None:
        for child in block:
            if isinstance(child.tag, str) and etree.QName(child).namespace in _EXTENSION_NS:
                attrs = " ".join(f"{etree.QName(k).localname}={v}" for k, v in sorted(child.attrib.items()))
                found.append(f"{etree.QName(child).localname}({attrs}){(child.text or '').strip()}")
    return found


def _expressions(el: etree._Element) -> list[str]:
    """Expression texts and references inside the element, not descending into nested flow nodes."""
    found = [f"@{a}={el.get(a)}" for a in _EXPRESSION_ATTRS if el.get(a) is not None]
    todo = [c for c in el if not _nested(c)]
    while todo:
        node = todo.pop(0)
        kind = _local(node)
        if kind in _EXPRESSION_TAGS:
            found.append(f"{kind}: {(node.text or '').strip()}")
        if kind in ("inputDataItem", "outputDataItem"):
            found.append(f"{kind}: {node.get('name') or node.get('id')}")
        found += [f"{kind}@{a}={node.get(a)}" for a in _EXPRESSION_ATTRS if node.get(a) is not None]
        todo.extend(c for c in node if not _nested(c))
    return found


def _nested(node: Any) -> bool:
    return not isinstance(node.tag, str) or _is_flow_node(node) or _local(node) in (
        "sequenceFlow", "laneSet", "lane", "extensionElements", "incoming", "outgoing")
