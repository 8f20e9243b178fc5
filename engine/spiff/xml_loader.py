"""Hardened BPMN XML loading and tongban's extension elements, read with lxml.

An uploaded diagram is hostile until proven otherwise: no DTD, no entities, no network, a size limit, and
every ``tb:`` extension value checked. Camunda 7's ``candidateGroups``/``formKey``/``formRef``/``dueDate``
attributes are read as aliases so diagrams drawn in Camunda Modeler work unchanged.
"""
from __future__ import annotations

import re
from typing import Iterable

from lxml import etree

from ..candidates import CandidateError, parse_candidate
from ..definitions import (
    CAMUNDA_NS, DEADLINE_CLOCKS, DEADLINE_UNITS, MESSAGE_PARTS, TB_NS, ClockSpec, Deadline, DiagramInfo, Finding,
    MessageSpec, UserTaskInfo, element_ids, is_process_key,
)
from ..errors import DefinitionRejected
from ..parser_text import detail
from ..text_input import BIDI_CONTROLS, BIDI_WHAT

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "tb": TB_NS, "camunda": CAMUNDA_NS}
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
_ISO_DAYS = re.compile(r"^P(\d+)D$")
_ISO_HOURS = re.compile(r"^PT(\d+)H$")
_KNOWN_TB = {"assignment": {"candidateGroups", "candidateUsers", "separateFrom"}, "form": {"key"},
             "deadline": {"workdays", "days", "hours", "clock"},
             "clock": {"kind", "workdays", "days", "yellowDays", "yellowRatio", "startsAt", "noticeAt", "amountFrom",
                       "stopsAt", "when"},
             "right": {"name"}, "message": {"payload", "correlation", "attach"}, "oneTimeNotice": {"tasks"}}
_TB_PARENTS = {"assignment": {"userTask", "lane"}, "form": {"userTask", "startEvent"}, "deadline": {"userTask"},
               "clock": {"process"}, "oneTimeNotice": {"process"}, "right": {"userTask"},
               "message": {"intermediateThrowEvent", "endEvent", "sendTask"}}
_RIGHTS = ("receive", "formal_review", "verify_original", "notify", "deliver", "decide")
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


def _read_message(el: etree._Element, pid: str) -> tuple[MessageSpec | None, list[Finding]]:
    """Read ``<tb:message payload=".." [correlation=".."] [attach="manifest .."]/>`` on a message throw."""
    owner = el.getparent().getparent()
    eid = owner.get("id") or ""
    if owner.find("bpmn:messageEventDefinition", NS) is None and etree.QName(owner).localname != "sendTask":
        return None, [Finding("TB_BAD_MESSAGE", f"元素 {eid} 不是消息抛出事件，不能声明 tb:message", eid)]
    payload = (el.get("payload") or "").strip()
    attach = element_ids(el.get("attach"))
    unknown = [part for part in attach if part not in MESSAGE_PARTS]
    if not payload or unknown:
        return None, [Finding("TB_BAD_MESSAGE", f"元素 {eid} 的 tb:message 须有 payload 表达式；attach 只能取 "
                                                f"{'、'.join(MESSAGE_PARTS)}", eid)]
    return MessageSpec(eid, pid, payload, (el.get("correlation") or "").strip() or None, attach), []


def _rejected(code: str, message: str, element_id: str | None = None) -> DefinitionRejected:
    return DefinitionRejected(message, details={"findings": [Finding(code, message, element_id).to_dict()]})


def _read_clocks(process: etree._Element, pid: str) -> tuple[tuple[ClockSpec, ...], list[Finding]]:
    specs, found = [], []
    for el in process.iterfind("bpmn:extensionElements/tb:clock", NS):
        kind = el.get("kind")
        units = [u for u in ("workdays", "days") if el.get(u) is not None]
        raw = el.get(units[0]) if len(units) == 1 else None
        # A committed limit may be 0: 即办件 (e.g. 不动产 抵押注销, decided on the spot) are due the same day.
        lowest = 0 if kind == "committed" else 1
        if kind not in ("legal", "committed") or raw is None or not raw.isdigit() \
                or not lowest <= int(raw) <= 3650:
            found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 的 tb:clock 应写明 kind=\"legal|committed\" 和 "
                                                 "workdays 或 days 之一（1 到 3650 的整数；承诺时限可为 0）", pid))
            continue
        try:
            yellow_days = int(el.get("yellowDays", "1"))
            yellow_ratio = float(el.get("yellowRatio", "0.2"))
        except ValueError:
            yellow_days, yellow_ratio = -1, -1.0
        if yellow_days < 0 or not 0 <= yellow_ratio < 1:
            found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 的 tb:clock 黄灯阈值无效（yellowDays 为非负整数，"
                                                 "yellowRatio 在 0 到 1 之间）", pid))
            continue
        starts_at, notice_at, stops_at = el.get("startsAt"), el.get("noticeAt"), el.get("stopsAt")
        if stops_at is not None and starts_at is None:
            found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 的 tb:clock stopsAt 须与 startsAt 同用"
                                                 "（每个时段在受理时起算、在阶段办结时结束）", pid))
            continue
        wrong = [(attr, ref) for attr, value in (("startsAt", starts_at), ("noticeAt", notice_at),
                                                 ("stopsAt", stops_at))
                 if value is not None for ref in (element_ids(value) or ("",))
                 if process.find(f".//bpmn:userTask[@id='{_xpath_safe(ref)}']", NS) is None]
        if wrong:
            attr, ref = wrong[0]
            found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 的 tb:clock {attr} 中的 {ref!r} 不是本流程中的用户任务",
                                 pid))
            continue
        amount_from = el.get("amountFrom")
        if amount_from is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", amount_from):
            found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 的 tb:clock amountFrom={amount_from!r} 应为变量名"
                                                 "（时限在受理时、无 startsAt 则在启动时从办件数据读取）", pid))
            continue
        when = (el.get("when") or "").strip() or None
        # Several clocks of one kind are allowed only when each says for which cases (when=) it is.
        if any(spec.kind == kind and (spec.when is None or when is None) for spec in specs):
            found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 重复声明了 {kind} 时限（同类多个时限须各写 when 条件）",
                                 pid))
            continue
        specs.append(ClockSpec(kind, int(raw), "workday" if units[0] == "workdays" else "day", yellow_days,
                               yellow_ratio, starts_at, notice_at=notice_at, amount_from=amount_from, when=when,
                               stops_at=stops_at))
    by_kind = {spec.kind: spec for spec in specs if spec.when is None}
    # A per-stage legal clock (stopsAt) and a whole-case committed target measure different spans.
    if "legal" in by_kind and "committed" in by_kind and by_kind["committed"].unit == by_kind["legal"].unit \
            and not by_kind["legal"].stops_at and by_kind["committed"].amount > by_kind["legal"].amount:
        found.append(Finding("TB_BAD_CLOCK", f"流程 {pid} 的承诺时限不能长于法定时限", pid))
    return tuple(specs), found


def _read_one_time_notice(process: etree._Element, pid: str) -> tuple[tuple[str, ...], list[Finding]]:
    """Read ``<tb:oneTimeNotice tasks="notify .."/>``: the one-time 补正 notice tasks of a process without clocks."""
    named, found = [], []
    for el in process.iterfind("bpmn:extensionElements/tb:oneTimeNotice", NS):
        refs = element_ids(el.get("tasks")) or ("",)
        wrong = [ref for ref in refs if process.find(f".//bpmn:userTask[@id='{_xpath_safe(ref)}']", NS) is None]
        if wrong:
            found.append(Finding("TB_BAD_NOTICE", f"流程 {pid} 的 tb:oneTimeNotice tasks 中的 {wrong[0]!r} "
                                                  "不是本流程中的用户任务", pid))
            continue
        named += [ref for ref in refs if ref not in named]
    return tuple(named), found


def _xpath_safe(value: str) -> str:
    # Element ids are NCNames; anything else cannot match and must not break out of the XPath literal.
    return value if re.fullmatch(r"[A-Za-z_][\w.-]*", value) else "\u0000"


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


def _check_extensions(root: etree._Element) -> list[Finding]:
    found: list[Finding] = []
    for el in root.iter(f"{{{TB_NS}}}*"):
        local = etree.QName(el).localname
        owner = el.getparent().getparent() if el.getparent() is not None else None
        owner_id = owner.get("id") if owner is not None else None
        if local not in _KNOWN_TB:
            found.append(Finding("TB_UNKNOWN_EXTENSION", f"未知的扩展元素 tb:{local}", owner_id))
            continue
        owner_kind = etree.QName(owner).localname if owner is not None else None
        if owner_kind not in _TB_PARENTS[local]:
            found.append(Finding("TB_MISPLACED_EXTENSION", f"扩展元素 tb:{local} 不能用于 {owner_kind}", owner_id))
        for attr in el.attrib:
            if attr not in _KNOWN_TB[local]:
                found.append(Finding("TB_UNKNOWN_ATTRIBUTE", f"tb:{local} 不支持属性 {attr}", owner_id))
    return found


def _lane_assignments(process: etree._Element) -> dict[str, tuple[str | None, list[str]]]:
    by_node: dict[str, tuple[str | None, list[str]]] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        assignment = lane.find("bpmn:extensionElements/tb:assignment", NS)
        groups = _split(assignment.get("candidateGroups")) if assignment is not None else []
        groups = groups or _split(lane.get(f"{{{CAMUNDA_NS}}}candidateGroups"))
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            by_node[(ref.text or "").strip()] = (lane.get("name"), groups)
    return by_node


def _read_user_task(task: etree._Element, pid: str,
                    lanes: dict[str, tuple[str | None, list[str]]]) -> tuple[UserTaskInfo | None, list[Finding]]:
    tid = task.get("id") or ""
    found: list[Finding] = []
    ext = task.find("bpmn:extensionElements", NS)
    assignment = ext.find("tb:assignment", NS) if ext is not None else None
    form = ext.find("tb:form", NS) if ext is not None else None
    deadline_el = ext.find("tb:deadline", NS) if ext is not None else None
    lane_name, lane_groups = lanes.get(tid, (None, []))

    groups = _split(assignment.get("candidateGroups")) if assignment is not None else []
    groups = groups or _split(task.get(f"{{{CAMUNDA_NS}}}candidateGroups")) or lane_groups
    users = _split(assignment.get("candidateUsers")) if assignment is not None else []
    users = users or _split(task.get(f"{{{CAMUNDA_NS}}}candidateUsers"))
    for group in groups:
        try:
            parse_candidate(group)
        except CandidateError as exc:
            found.append(Finding("TB_BAD_CANDIDATE", f"用户任务 {tid} 的候选组 {group!r} 无效：{exc}", tid))
    if not groups and not users:
        found.append(Finding("TB_NO_CANDIDATES", f"用户任务 {tid} 没有指定候选组或候选人", tid))

    form_key = form.get("key") if form is not None else None
    form_key = form_key or _camunda_form(task)
    deadline, deadline_findings = _read_deadline(deadline_el, task.get(f"{{{CAMUNDA_NS}}}dueDate"), tid)
    found += deadline_findings
    separate = _split(assignment.get("separateFrom")) if assignment is not None else []
    right_el = ext.find("tb:right", NS) if ext is not None else None
    right = right_el.get("name") if right_el is not None else None
    if right_el is not None and right not in _RIGHTS:
        found.append(Finding("TB_BAD_RIGHT", f"用户任务 {tid} 的 tb:right name={right!r} 无效，可选 "
                                             f"{'、'.join(_RIGHTS)}", tid))
        right = None
    info = UserTaskInfo(tid, task.get("name") or tid, pid, lane_name, form_key, tuple(groups), tuple(users),
                        deadline, tuple(dict.fromkeys(separate)), right)
    return info, found


def _check_separation(user_tasks: dict[str, UserTaskInfo]) -> list[Finding]:
    """Every ``separateFrom`` id must name a user task of the same process."""
    found = []
    for info in user_tasks.values():
        for other in info.separate_from:
            target = user_tasks.get(other)
            if target is None or target.process_id != info.process_id:
                message = f"用户任务 {info.element_id} 的 separateFrom 引用了 {other!r}，它不是同一流程中的用户任务"
                found.append(Finding("TB_BAD_SEPARATION", message, info.element_id))
    return found


def _camunda_form(task: etree._Element) -> str | None:
    key = task.get(f"{{{CAMUNDA_NS}}}formRef") or task.get(f"{{{CAMUNDA_NS}}}formKey")
    if key and key.startswith("camunda-forms:bpmn:"):
        key = key.removeprefix("camunda-forms:bpmn:")
    return key or None


def _read_deadline(el: etree._Element | None, due_date: str | None,
                   tid: str) -> tuple[Deadline | None, list[Finding]]:
    if el is None and not due_date:
        return None, []
    if el is None:
        assert due_date is not None
        days, hours = _ISO_DAYS.match(due_date.strip()), _ISO_HOURS.match(due_date.strip())
        if days:
            return Deadline(int(days.group(1)), "days"), []
        if hours:
            return Deadline(int(hours.group(1)), "hours"), []
        return None, [Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的 camunda:dueDate {due_date!r} 无法识别，"
                                                 "请使用 P<n>D、PT<n>H 或 tb:deadline", tid)]
    units = [u for u in DEADLINE_UNITS if el.get(u) is not None]
    clock = el.get("clock", "task")
    problems: list[Finding] = []
    if len(units) != 1:
        problems.append(Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的 tb:deadline 必须且只能指定 workdays、days、"
                                                   "hours 之一", tid))
    if clock not in DEADLINE_CLOCKS:
        problems.append(Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的 tb:deadline clock={clock!r} 无效，"
                                                   f"应为 {'/'.join(DEADLINE_CLOCKS)}", tid))
    if not problems and clock != "task" and units[0] == "hours":
        kind = "法定" if clock == "legal" else "承诺"
        problems.append(Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的 tb:deadline 以小时计，只能按任务自身计时"
                                                   f"（clock=\"task\"）；计在{kind}时限上须用 workdays 或 days", tid))
    if problems:
        return None, problems
    raw = el.get(units[0]) or ""
    if not raw.isdigit() or not 0 < int(raw) <= 3650:
        return None, [Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的时限 {units[0]}={raw!r} 应为 1 到 3650 的整数",
                              tid)]
    return Deadline(int(raw), units[0], clock), []


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def iter_ids(root: etree._Element) -> Iterable[str]:
    """Yield every element id in the document (used to keep ids stable across versions)."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id"):
            yield el.get("id")
