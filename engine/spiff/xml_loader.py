"""Hardened BPMN XML loading and the document-level checks, read with lxml.

An uploaded diagram is hostile until proven otherwise: no DTD, no entities, no network, a size limit, no
bidirectional controls, no markup a browser would run, ids and names that fit their columns, and every ``tb:``
extension value checked. Those extension elements (and Camunda 7's aliases for them) are read by
:mod:`engine.spiff.xml_extensions`; :func:`read_diagram` walks the processes and calls its readers.
"""
from __future__ import annotations

import re
from typing import Iterable

from lxml import etree

from ..definitions import CAMUNDA_NS, DiagramInfo, Finding, is_process_key
from ..errors import DefinitionRejected
from ..parser_text import detail
from ..text_input import BIDI_CONTROLS, BIDI_WHAT
from .xml_extensions import (
    BPMN_NS, NS, _check_extensions, _check_separation, _lane_assignments, _read_clocks, _read_message,
    _read_one_time_notice, _read_user_task,
)

_FORBIDDEN_MARKUP = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ACTIVE_NS = {"http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML"}
"""Namespaces whose elements a browser renders as a live document (scripts, links, event handlers)."""
_PROCESS_SCRIPT_NS = {BPMN_NS, CAMUNDA_NS}
"""Namespaces whose ``script`` element is a script task's code for the engine, not a browser's."""
_EVENT_HANDLER = re.compile(r"on[a-z]{3,}")
_SCRIPT_URL = re.compile(r"(javascript|vbscript|livescript):")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]")
"""Browsers skip ASCII whitespace and controls in a URL scheme, so ``java&#9;script:`` still runs."""
_STYLESHEET = re.compile(rb"<\?\s*xml-stylesheet", re.IGNORECASE)
MAX_ID = 128
"""Longest element id: ids go into ``tasks``, ``timers`` and ``case_events`` (``element_id`` columns)."""
MAX_PROCESS_NAME = 256
"""Longest process or user task name (``process_definitions.name``, ``tasks.name``)."""
MAX_LANE_NAME = 128
"""Longest lane name: a task's stage (``tasks.lane``, ``tasks.stage``)."""
MAX_MESSAGE_NAME = 128
"""Longest message name (``messages.name``)."""


def parse_xml(data: bytes, *, name: str, max_bytes: int, stored: bool = False) -> etree._Element:
    """Parse ``data`` as untrusted XML and return the root element, or raise DefinitionRejected.

    ``stored``: the XML of a version already deployed (reloaded, replayed, compared). It is not held to checks
    added after it was accepted (direction controls), so every deployed version stays loadable.
    """
    if len(data) > max_bytes:
        raise _rejected("BPMN_TOO_LARGE", f"文件 {name} 大小 {len(data)} 字节，超过上限 {max_bytes} 字节")
    if _FORBIDDEN_MARKUP.search(data) or _FORBIDDEN_MARKUP.search(_as_utf8(data)):
        raise _rejected("BPMN_DTD_FORBIDDEN", f"文件 {name} 含有 DOCTYPE 或实体声明，出于安全原因不予接受")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, None)
        if "Excessive depth" in str(exc.msg or exc):
            # libxml2 stops at 256 nested elements unless told huge_tree, which untrusted input never gets.
            raise _rejected("BPMN_MALFORMED_XML", f"文件 {name} 的元素嵌套超过 256 层，出于安全原因不予解析"
                            + detail("", line=line, column=column)) from None
        raise _rejected("BPMN_MALFORMED_XML", f"文件 {name} 的 XML 格式错误，无法解析"
                        + detail(exc.msg or exc, line=line, column=column)) from None
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise _rejected("BPMN_NOT_DEFINITIONS", f"文件 {name} 的根元素不是 bpmn:definitions")
    where, element_id = (None, None) if stored else _bidi_element(root)
    if where is not None:
        gap = " " if where[-1].isascii() else ""
        raise _rejected("BPMN_BIDI_TEXT", f"文件 {name} 中{where}{gap}{BIDI_WHAT}，不予接受", element_id)
    active = None if stored else _active_content(data, root)
    if active is not None:
        where, holder = active
        raise _rejected("BPMN_ACTIVE_CONTENT", f"文件 {name} 中{where}，是浏览器会执行的网页内容，"
                                               "流程图中不允许出现，不予接受", holder)
    return root


def _active_content(data: bytes, root: etree._Element) -> tuple[str, str | None] | None:
    """Where the first markup a browser would run is ("第 3 行的 script 元素") and its element's id, or None.

    A deployed diagram is served back to staff browsers (the case diagram, the designer), so it must not
    carry an XHTML, SVG or MathML element, a ``script`` element in any other namespace than BPMN's and
    Camunda's (there it is a script task's code, run by the engine), an event-handler attribute (``onload``),
    a ``javascript:``/``vbscript:`` URL, or an ``xml-stylesheet`` instruction (XSLT). The id is that of the
    BPMN element holding the markup, for the modeler to highlight (see :func:`_holder`).
    """
    if _STYLESHEET.search(data) or _STYLESHEET.search(_as_utf8(data)):
        return " xml-stylesheet 处理指令（XSLT 样式表）", None
    for el in root.iter():
        if not isinstance(el.tag, str):   # a comment or processing instruction
            continue
        qname = etree.QName(el)
        label = f"第 {el.sourceline} 行的 {qname.localname} 元素"
        if qname.namespace in _ACTIVE_NS:
            return f"{label}（命名空间 {qname.namespace}）", _holder(el, root)
        if qname.localname.lower() == "script" and qname.namespace not in _PROCESS_SCRIPT_NS:
            return label, _holder(el, root)
        for attribute, value in el.attrib.items():
            local = etree.QName(attribute).localname
            if _EVENT_HANDLER.fullmatch(local.lower()):
                return f"{label}的事件处理属性 {local}", _holder(el, root)
            if _SCRIPT_URL.match(_URL_NOISE.sub("", value).lower()):
                return f"{label}的属性 {local} 中的脚本链接（javascript:）", _holder(el, root)
    return None


def _holder(el: etree._Element, root: etree._Element) -> str | None:
    """The id of ``el`` or of its nearest ancestor with one below the root, None if none (or one too long)."""
    for node in (el, *el.iterancestors()):
        if node is root:
            return None
        if node.get("id"):
            return node.get("id") if len(node.get("id")) <= MAX_ID else None
    return None


def _bidi_element(root: etree._Element) -> tuple[str | None, str | None]:
    """Where the first bidirectional control of the document is ("元素 X 的属性 name") and that element's id.

    Names and documentation become inbox rows, forms and audit entries, so they must read as stored. The id
    (for the modeler to highlight the element) is None for a comment, an element without one, or an id that
    is itself too long or carries the control; ``(None, None)`` when the document has none.
    """
    for el in root.iter():
        eid = el.get("id") if isinstance(el.tag, str) else None
        if not isinstance(el.tag, str):   # a comment or processing instruction
            label = f"第 {el.sourceline} 行的注释"
        elif eid:
            label = f"元素 {eid} "
        else:
            label = f"第 {el.sourceline} 行的 {etree.QName(el).localname} 元素"
        shown = eid if eid and len(eid) <= MAX_ID and not BIDI_CONTROLS.search(eid) else None
        for attribute, value in el.attrib.items():
            if BIDI_CONTROLS.search(value):
                return f"{label}的属性 {etree.QName(attribute).localname}", shown
        if any(text and BIDI_CONTROLS.search(text) for text in (el.text, el.tail)):
            return f"{label}的文字", shown
    return None, None


def _as_utf8(data: bytes) -> bytes:
    # A UTF-16/32 document hides "<!DOCTYPE" from a byte scan; look at its text too.
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").encode()
    if data[:2] in (b"<\x00", b"\x00<"):
        return data.decode("utf-16-le" if data[:1] == b"<" else "utf-16-be", errors="replace").encode()
    return b""


def read_diagram(root: etree._Element, *, stored: bool = False) -> DiagramInfo:
    """Read executable processes, user-task extensions and structural findings from a parsed document.

    ``stored``: a deployed version being reloaded, not held to checks added since (process key rule, lengths).
    """
    findings: list[Finding] = []
    findings += _check_extensions(root)
    if not stored:
        findings += _check_stored_strings(root)
    process_ids, names, user_tasks, clocks, messages, notices = [], {}, {}, {}, {}, {}
    for process in root.iterfind("bpmn:process", NS):
        pid = process.get("id")
        if process.get("isExecutable", "false") != "true" or not pid:
            continue
        process_ids.append(pid)
        names[pid] = process.get("name") or pid
        findings += _check_structure(process)
        clocks[pid], clock_findings = _read_clocks(process, pid)
        findings += clock_findings
        notices[pid], notice_findings = _read_one_time_notice(process, pid)
        findings += notice_findings
        lanes = _lane_assignments(process)
        for task in process.iter(f"{{{BPMN_NS}}}userTask"):
            info, task_findings = _read_user_task(task, pid, lanes)
            findings += task_findings
            if info is not None:
                user_tasks[info.element_id] = info
        for el in process.iterfind(".//tb:message", NS):
            spec, message_findings = _read_message(el, pid)
            findings += message_findings
            if spec is not None:
                messages[spec.element_id] = spec
    findings += _check_separation(user_tasks)
    if not process_ids:
        findings.append(Finding("BPMN_NO_EXECUTABLE_PROCESS", "图中没有可执行流程（isExecutable=\"true\"）"))
    return DiagramInfo(tuple(process_ids), names, user_tasks, tuple(findings), clocks, messages, notices)


def _check_stored_strings(root: etree._Element) -> list[Finding]:
    """Refuse what would not fit the database: a bad process key, and ids or names longer than their columns.

    PostgreSQL refuses a value longer than its ``varchar`` column (SQLite stores it anyway), so a diagram that
    deploys on one database must not fail on the other, nor later, when a case reaches the element.
    """
    found: list[Finding] = []
    keys: set[str] = set()
    for process in root.iterfind("bpmn:process", NS):
        pid = process.get("id") or ""
        if process.get("isExecutable", "false") != "true" or not pid:
            continue
        keys.add(pid)
        if not is_process_key(pid):
            found.append(Finding("BPMN_BAD_PROCESS_KEY", f"流程标识 {_shown(pid)} 无效：应以英文字母或 _ 开头，只含"
                                                         f"英文字母、数字和 _ . -，不超过 {MAX_ID} 个字符",
                                 pid if len(pid) <= MAX_ID else None))
        name = process.get("name") or ""
        if len(name) > MAX_PROCESS_NAME:
            found.append(_too_long(f"流程 {_shown(pid)} 的名称", len(name), MAX_PROCESS_NAME, pid))
    for el in root.iter():
        eid = el.get("id") if isinstance(el.tag, str) else None
        if eid is not None and len(eid) > MAX_ID and not (el.tag == f"{{{BPMN_NS}}}process" and eid in keys):
            found.append(_too_long(f"第 {el.sourceline} 行的 {etree.QName(el).localname} 元素 id", len(eid), MAX_ID,
                                   None))
    for tag, limit, what in (("userTask", MAX_PROCESS_NAME, "用户任务"), ("lane", MAX_LANE_NAME, "泳道"),
                             ("message", MAX_MESSAGE_NAME, "消息")):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            name = el.get("name") or ""
            if len(name) > limit:
                found.append(_too_long(f"{what} {_shown(el.get('id') or '')} 的名称", len(name), limit, el.get("id")))
    return found


def _shown(value: str) -> str:
    return value if len(value) <= 40 else f"{value[:40]}…"


def _too_long(what: str, length: int, limit: int, element_id: str | None) -> Finding:
    shown = element_id if element_id is None or len(element_id) <= MAX_ID else None
    space = " " if what[-1:].isascii() else ""     # 「元素 id 过长」, 「名称过长」
    return Finding("BPMN_VALUE_TOO_LONG", f"{what}{space}过长：{length} 个字符，上限 {limit}", shown)


def _rejected(code: str, message: str, element_id: str | None = None) -> DefinitionRejected:
    return DefinitionRejected(message, details={"findings": [Finding(code, message, element_id).to_dict()]})


def _check_structure(process: etree._Element) -> list[Finding]:
    pid = process.get("id")
    found: list[Finding] = []
    if process.find("bpmn:startEvent", NS) is None:
        found.append(Finding("BPMN_NO_START_EVENT", f"流程 {pid} 缺少开始事件", pid))
    if process.find("bpmn:endEvent", NS) is None:
        found.append(Finding("BPMN_NO_END_EVENT", f"流程 {pid} 缺少结束事件", pid))
    ids = {el.get("id") for el in process.iter() if el.get("id")}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for attr in ("sourceRef", "targetRef"):
            if flow.get(attr) not in ids:
                found.append(Finding("BPMN_DANGLING_FLOW",
                                     f"顺序流 {flow.get('id')} 的 {attr} 指向不存在的元素 {flow.get(attr)}",
                                     flow.get("id")))
    return found


def iter_ids(root: etree._Element) -> Iterable[str]:
    """Yield every element id in the document (used to keep ids stable across versions)."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id"):
            yield el.get("id")
