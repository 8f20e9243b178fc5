"""Graph checks on a parsed BPMN document, for ``tongban lint``: reachability, exits, gateways, messages, ids.

Each process and each (event) subprocess is its own scope: its start events must reach every node, every
node must reach an end event of the scope, and the gateways must have somewhere to go. Boundary events are
reached through the activity they are attached to, link events through their name. Pure lxml, no engine.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from lxml import etree

from .definitions import Finding

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_SCOPES = {"subProcess", "transaction", "adHocSubProcess"}
_ACTIVITIES = {"task", "callActivity"} | _SCOPES
_THROWS = {"intermediateThrowEvent", "endEvent"}
_CATCHES = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _is_flow_node(el: etree._Element) -> bool:
    name = _local(el)
    return name in _EVENTS or name in _GATEWAYS or name in _ACTIVITIES or name.endswith("Task")


def _exempt(el: etree._Element) -> bool:
    # Compensation handlers and event subprocesses are entered by events, never by sequence flows.
    return el.get("isForCompensation") == "true" or el.get("triggeredByEvent") == "true"


def _has(el: etree._Element, definition: str) -> bool:
    return el.find(f"bpmn:{definition}", NS) is not None


@dataclass
class _Scope:
    nodes: dict[str, etree._Element] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    incoming: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outgoing: dict[str, list[etree._Element]] = field(default_factory=lambda: defaultdict(list))


def _scope(container: etree._Element) -> _Scope:
    scope = _Scope()
    for child in container:
        if _is_flow_node(child) and child.get("id"):
            scope.nodes[child.get("id")] = child
    links: dict[str, list[str]] = defaultdict(list)
    for node_id, node in scope.nodes.items():
        if _local(node) == "boundaryEvent" and node.get("attachedToRef") in scope.nodes:
            scope.edges[node.get("attachedToRef")].add(node_id)
        link = node.find("bpmn:linkEventDefinition", NS)
        if link is not None and _local(node) == "intermediateCatchEvent":
            links[link.get("name") or ""].append(node_id)
    for flow in container.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in scope.nodes and target in scope.nodes:
            scope.edges[source].add(target)
            scope.incoming[target] += 1
            scope.outgoing[source].append(flow)
    for node_id, node in scope.nodes.items():
        link = node.find("bpmn:linkEventDefinition", NS)
        if link is not None and _local(node) == "intermediateThrowEvent":
            scope.edges[node_id].update(links.get(link.get("name") or "", ()))
    return scope


def _reach(starts: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(starts), list(starts)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def check_graph(root: etree._Element) -> list[Finding]:
    """Return reachability, dead-end and gateway findings for every executable process of ``root``."""
    found: list[Finding] = []
    for process in root.iterfind("bpmn:process", NS):
        if process.get("isExecutable", "false") != "true":
            continue
        containers = [process] + [el for el in process.iter() if _local(el) in _SCOPES]
        for container in containers:
            found += _check_scope(container)
    return found


def _check_scope(container: etree._Element) -> list[Finding]:
    scope = _scope(container)
    if not scope.nodes:
        return []
    where = container.get("id")
    plain = {i for i, n in scope.nodes.items() if not _exempt(n)}
    starts = {i for i in plain if _local(scope.nodes[i]) == "startEvent"}
    starts = starts or {i for i in plain if not scope.incoming[i] and _local(scope.nodes[i]) != "boundaryEvent"}
    reached = _reach(starts, scope.edges)
    ends = {i for i in plain if _local(scope.nodes[i]) == "endEvent"}
    ends = ends or {i for i in plain if not scope.edges.get(i)}
    reverse: dict[str, set[str]] = defaultdict(set)
    for source, targets in scope.edges.items():
        for target in targets:
            reverse[target].add(source)
    exits = _reach(ends, reverse)
    found: list[Finding] = []
    for node_id in sorted(plain):
        label = _label(scope.nodes[node_id])
        if node_id not in reached:
            found.append(Finding("LINT_UNREACHABLE", f"{label} 无法从 {where} 的开始事件到达", node_id))
        elif node_id not in exits:
            found.append(Finding("LINT_DEAD_END",
                                 f"从{label} 出发无法到达 {where} 的任何结束事件（死路或无出口的循环）", node_id))
    for node in scope.nodes.values():
        if _local(node) in _GATEWAYS:
            found += _check_gateway(node, scope)
    return found


def _check_gateway(gateway: etree._Element, scope: _Scope) -> list[Finding]:
    gid, label = gateway.get("id"), _label(gateway)
    flows = scope.outgoing.get(gid, [])
    found: list[Finding] = []
    if not flows:
        found.append(Finding("LINT_GATEWAY_NO_OUTGOING", f"{label} 没有流出的顺序流", gid))
    if not scope.incoming[gid]:
        found.append(Finding("LINT_GATEWAY_NO_INCOMING", f"{label} 没有流入的顺序流", gid))
    if _local(gateway) != "exclusiveGateway" or len(flows) < 2:
        return found
    default = gateway.get("default")
    bare = [f for f in flows if f.get("id") != default and not _has(f, "conditionExpression")]
    for flow in bare:
        found.append(Finding("LINT_FLOW_NO_CONDITION", f"{label} 的分支 {flow.get('id')} 既无条件也不是默认分支",
                             flow.get("id")))
    if not bare and default not in {f.get("id") for f in flows}:
        found.append(Finding("LINT_GATEWAY_NO_DEFAULT",
                             f"{label} 的分支都有条件但没有默认分支；条件都不满足时办件会出错", gid,
                             severity="warning"))
    return found


def _label(el: etree._Element) -> str:
    name = el.get("name")
    return f"元素 {el.get('id')}" + (f"（{name}）" if name else "")


@dataclass(frozen=True)
class MessageUse:
    """One message event or task: the message name, whether it sends or waits, and its element id."""

    name: str
    sends: bool
    element_id: str


def message_uses(root: etree._Element) -> list[MessageUse]:
    """Return every message throw (send) and catch (wait) in the executable processes of ``root``."""
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iterfind("bpmn:message", NS)}
    uses = []
    for process in root.iterfind("bpmn:process", NS):
        if process.get("isExecutable", "false") != "true":
            continue
        for el in process.iter():
            kind = _local(el)
            definition = el.find("bpmn:messageEventDefinition", NS)
            if definition is not None and (kind in _THROWS or kind in _CATCHES):
                ref = definition.get("messageRef")
                uses.append(MessageUse(names.get(ref, ref or ""), kind in _THROWS, el.get("id")))
            elif kind in ("sendTask", "receiveTask") and el.get("messageRef"):
                uses.append(MessageUse(names.get(el.get("messageRef"), el.get("messageRef")), kind == "sendTask",
                                       el.get("id")))
    return uses


def flow_node_ids(root: etree._Element, process_id: str) -> set[str]:
    """Return the ids of every flow node of ``process_id`` (nested subprocesses included)."""
    for process in root.iterfind("bpmn:process", NS):
        if process.get("id") == process_id:
            return {el.get("id") for el in process.iter() if _is_flow_node(el) and el.get("id")}
    return set()
