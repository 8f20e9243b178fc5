"""tongban's ``tb:`` extension elements on processes, lanes, user tasks and message throws, read with lxml.

Every ``tb:`` element is checked for where it stands and which attributes it carries, and every value it holds:
assignment, form, deadline and right on a user task (assignment also on a lane), clock and oneTimeNotice on a
process, message on a message throw. Camunda 7's ``candidateGroups``/``formKey``/``formRef``/``dueDate``
attributes are read as aliases so diagrams drawn in Camunda Modeler work unchanged. The document itself is
parsed and checked by :mod:`engine.spiff.xml_loader`, whose :func:`~engine.spiff.xml_loader.read_diagram`
calls these readers.
"""
from __future__ import annotations

import re

from lxml import etree

from ..candidates import CandidateError, parse_candidate
from ..definitions import (
    CAMUNDA_NS, DEADLINE_CLOCKS, DEADLINE_UNITS, MESSAGE_PARTS, TB_NS, ClockSpec, Deadline, Finding, MessageSpec,
    UserTaskInfo, element_ids,
)
from ..legal_clock_records import ClockKind

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS, "tb": TB_NS, "camunda": CAMUNDA_NS}
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
        kind = ClockKind(clock).zh
        problems.append(Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的 tb:deadline 以小时计，只能按任务自身计时"
                                                   f"（clock=\"task\"）；计在{kind}上须用 workdays 或 days", tid))
    if problems:
        return None, problems
    raw = el.get(units[0]) or ""
    if not raw.isdigit() or not 0 < int(raw) <= 3650:
        return None, [Finding("TB_BAD_DEADLINE", f"用户任务 {tid} 的时限 {units[0]}={raw!r} 应为 1 到 3650 的整数",
                              tid)]
    return Deadline(int(raw), units[0], clock), []


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
