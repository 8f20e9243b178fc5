"""Parse a deployment unit (one or more BPMN files) into specs plus the facts the engine needs.

Parsing costs milliseconds, so it happens once per definition version; :class:`SpecCache` keeps the parsed
specs in the process keyed by definition id. XML is parsed by :mod:`xml_loader` (hardened) and the tree is
handed to SpiffWorkflow, which never sees the raw bytes.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator, TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..definitions import DiagramInfo, Finding, MessageSpec, UserTaskInfo
from ..errors import DefinitionRejected, EngineError
from ..expressions import Evaluator
from ..parser_text import detail, tidy
from .multi_instance import CappedParallelMI, ParentScopedMI, capped_parser
from .spec_checks import check_deploy_limits, check_expressions, check_timer_literals, iter_expressions
from .xml_loader import parse_xml, read_diagram

__all__ = ["ParentScopedMI", "ParsedProcess", "ParsedUnit", "SpecCache", "TongbanBpmnParser", "check_expressions",
           "check_file", "check_timer_literals", "iter_expressions", "parse_unit"]


class TongbanBpmnParser(BpmnParser):
    """BpmnParser whose multi-instance tasks are capped (:mod:`.multi_instance`), with the 会签 fix for user tasks."""

    OVERRIDE_PARSER_CLASSES = {
        tag: (capped_parser(parser, ParentScopedMI if tag == full_tag("userTask") else CappedParallelMI), spec)
        for tag, (parser, spec) in BpmnParser.PARSER_CLASSES.items() if issubclass(parser, TaskParser)}


@dataclass
class ParsedProcess:
    """One executable process of a deployment unit, ready to run and to store."""

    process_key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskInfo]
    bpmn_xml: str
    resources: dict[str, str]
    source_name: str
    form_keys: frozenset[str]
    clocks: tuple[Any, ...] = ()
    messages: dict[str, MessageSpec] = field(default_factory=dict)
    """How each message throw of the process (and of the processes it calls) builds what it sends."""
    message_starts: tuple[str, ...] = ()
    """Names of the messages that start this process at a message start event."""
    one_time_notice: tuple[str, ...] = ()
    """The one-time 补正 notice tasks of a process without clocks (``tb:oneTimeNotice``)."""

    def source_hash(self) -> str:
        """Hash of the XML this process runs from (its own file plus the files it calls into)."""
        digest = hashlib.sha256(self.bpmn_xml.encode())
        for name in sorted(self.resources):
            digest.update(name.encode() + b"\0" + self.resources[name].encode())
        return digest.hexdigest()


@dataclass
class ParsedUnit:
    """Every executable process found in a set of BPMN files, plus warnings."""

    processes: dict[str, ParsedProcess] = field(default_factory=dict)
    warnings: list[Finding] = field(default_factory=list)


_validator_lock = threading.Lock()
_validator: BpmnValidator | None = None


def _xsd_validator() -> BpmnValidator:
    # Loading the BPMN XSD takes ~100 ms: do it once per process, on first use.
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = BpmnValidator()
        return _validator


def parse_unit(files: Sequence[tuple[str, bytes]], evaluator: Evaluator, *, max_bytes: int,
               validate_xsd: bool = True, stored: bool = False) -> ParsedUnit:
    """Parse, validate and check ``files`` (name, bytes); raise DefinitionRejected listing every error.

    Every finding carries the ``file`` it is in. Each stage checks every file before the unit is refused, so
    one bad file does not hide another's problems; a later stage runs only when the earlier ones passed.

    ``stored``: the files of a deployed version being reloaded (see :func:`parse_xml`).
    """
    roots, infos, findings = {}, {}, []
    for name, data in files:
        try:
            root = parse_xml(data, name=name, max_bytes=max_bytes, stored=stored)
        except DefinitionRejected as exc:
            findings += _in_file(name, (Finding(**f) for f in exc.details["findings"]))
            continue
        if validate_xsd:
            try:
                _xsd_validator().validate(root, name)
            except SpiffWorkflowException as exc:
                findings.append(Finding("BPMN_SCHEMA_INVALID", schema_message(name, exc), file=name))
                continue
        roots[name], infos[name] = root, read_diagram(root, stored=stored)
        findings += _in_file(name, infos[name].findings)
    _raise_errors(findings)

    parser = TongbanBpmnParser()
    for name, root in roots.items():
        try:
            parser.add_bpmn_xml(root, filename=name)
        except (SpiffWorkflowException, etree.LxmlError, KeyError, ValueError) as exc:
            findings.append(Finding("BPMN_PARSE_FAILED", parse_message(name, exc), file=name))
    _raise_errors(findings)

    unit = ParsedUnit(warnings=[f for f in findings if f.severity != "error"])
    xml_by_file = {name: etree.tostring(root, encoding="unicode") for name, root in roots.items()}
    for name, info in infos.items():
        for pid in info.process_ids:
            found: list[Finding] = []
            unit.processes[pid] = _build_process(parser, pid, name, info, infos, xml_by_file, evaluator, found)
            findings += _in_file(name, found)
    if not stored:
        # A new deploy refuses timer literals no case could run, events with several definitions and literal
        # multi-instance counts past the cap; a stored version still loads (a bad timer or count fails its
        # cases at that element with an EngineError; the expressions inside a multiple event were checked).
        for process in unit.processes.values():
            if process.spec is not None:
                found = [*check_timer_literals(process.spec, process.subprocess_specs),
                         *check_deploy_limits(process.spec, process.subprocess_specs)]
                findings += [f for f in _in_file(process.source_name, found) if f not in findings]
    _raise_errors(findings)
    return unit


def _in_file(name: str, found: Iterable[Finding]) -> list[Finding]:
    """Say which file each finding is in (a finding that names its file already keeps it)."""
    return [f if f.file is not None else replace(f, file=name) for f in found]


_NOT_EXPECTED = re.compile(r"^Element '(?P<element>[^']+)': This element is not expected")
_DUPLICATE_PROCESS = re.compile(r"^Duplicate process ID: (?P<pid>\S+?)\.?$")


def schema_message(name: str, exc: SpiffWorkflowException) -> str:
    """Say in Chinese how file ``name`` breaks the BPMN 2.0 schema; the validator's words go in parentheses.

    Args:
        name: the file's name.
        exc: the validator's exception (it carries ``line_number`` when lxml knew the line).

    Returns:
        A Chinese sentence ending with the line and the validator's message.
    """
    line = getattr(exc, "line_number", None) or None
    said = tidy(exc)
    unexpected = _NOT_EXPECTED.match(said)
    what = f"：元素 {unexpected['element']} 不能出现在这里" if unexpected else ""
    return f"文件 {name} 不符合 BPMN 2.0 规范{what}" + detail(said, line=line)


def parse_message(name: str, exc: Exception) -> str:
    """Say in Chinese why SpiffWorkflow could not read file ``name``; its own words go in parentheses.

    Args:
        name: the file's name.
        exc: SpiffWorkflow's (or lxml's) exception.

    Returns:
        A Chinese sentence: a process id used twice is named as such, anything else as a file that cannot
        be read as a process.
    """
    said = tidy(exc)
    line = getattr(exc, "line_number", None) or None
    duplicate = _DUPLICATE_PROCESS.match(said)
    if duplicate:
        return (f"文件 {name} 中的流程标识 {duplicate['pid']} 与同一批文件中的另一个流程重复，请改用不同的流程标识"
                + detail(said, line=line))
    return f"文件 {name} 无法解析为流程定义" + detail(said, line=line)


def check_file(name: str, data: bytes, *, max_bytes: int) -> tuple[Any, DiagramInfo | None, list[Finding]]:
    """Run the per-file load checks of :func:`parse_unit` without raising: ``(root, info, findings)``.

    ``root`` is None when the file is not acceptable XML; ``info`` is None when it is not valid BPMN 2.0.
    Used by lint, which reports every file's problems where a deploy stops at the first bad file.
    """
    try:
        root = parse_xml(data, name=name, max_bytes=max_bytes)
    except DefinitionRejected as exc:
        return None, None, [Finding(**f) for f in exc.details["findings"]]
    try:
        _xsd_validator().validate(root, name)
    except SpiffWorkflowException as exc:
        return root, None, [Finding("BPMN_SCHEMA_INVALID", schema_message(name, exc))]
    info = read_diagram(root)
    return root, info, list(info.findings)


def _build_process(parser: TongbanBpmnParser, pid: str, name: str, info: DiagramInfo,
                   infos: Mapping[str, DiagramInfo], xml_by_file: Mapping[str, str], evaluator: Evaluator,
                   findings: list[Finding]) -> ParsedProcess:
    try:
        spec = parser.get_spec(pid)
        subs = parser.get_subprocess_specs(pid)
    except (SpiffWorkflowException, KeyError, ValueError) as exc:
        findings.append(Finding("BPMN_PARSE_FAILED", f"流程 {pid} 的定义有误，无法构建" + detail(exc), pid))
        return ParsedProcess(pid, pid, None, {}, {}, "", {}, name, frozenset())
    for process_spec in (spec, *subs.values()):
        _connect_instances(process_spec)
    findings += list(check_expressions(spec, subs, evaluator))
    for clock in info.clocks.get(pid, ()):
        if clock.when is not None:
            try:
                evaluator.check_expression(clock.when)
            except EngineError as exc:
                findings.append(Finding("EXPRESSION_REJECTED", f"流程 {pid} 的 tb:clock when 条件不安全或无效："
                                                               f"{exc.message}", pid))
    used = {spec.name, *subs}
    user_tasks: dict[str, UserTaskInfo] = {}
    messages: dict[str, MessageSpec] = {}
    resources = {}
    for other, other_info in infos.items():
        if other_info.process_ids and used & set(other_info.process_ids) or other == name:
            user_tasks.update({k: v for k, v in other_info.user_tasks.items() if v.process_id in used})
            messages.update({k: v for k, v in other_info.messages.items() if v.process_id in used})
            if other != name:
                resources[other] = xml_by_file[other]
    for message in messages.values():
        for text in filter(None, (message.payload, message.correlation)):
            try:
                evaluator.check_expression(text)
            except EngineError as exc:
                findings.append(Finding("EXPRESSION_REJECTED", f"元素 {message.element_id} 的 tb:message 表达式不安全"
                                                               f"或无效：{exc.message}", message.element_id))
    forms = frozenset(t.form_key for t in user_tasks.values() if t.form_key)
    starts = tuple(sorted({ts.event_definition.name for ts in spec.bpmn_start_events
                           if isinstance(getattr(ts, "event_definition", None), MessageEventDefinition)}))
    return ParsedProcess(pid, info.process_names.get(pid, pid), spec, subs, user_tasks, xml_by_file[name],
                         resources, name, forms, info.clocks.get(pid, ()), messages, starts,
                         info.one_time_notice.get(pid, ()))


def _connect_instances(process_spec: Any) -> None:
    """Let each multi-instance task hear its instances complete, as SpiffWorkflow's spec deserializer does.

    SpiffWorkflow connects an instance spec's ``completed_event`` to its multi-instance task only when it
    creates the first instance, on that spec object. A case restored onto specs parsed by another process
    (or after a restart, or a migration) would otherwise never merge its votes and wait forever.
    """
    for task_spec in process_spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = process_spec.task_specs.get(task_spec.task_spec)
            if child is not None and not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


def _raise_errors(findings: list[Finding]) -> None:
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        head = errors[0].message if len(errors) == 1 else f"{errors[0].message}（另有 {len(errors) - 1} 个问题）"
        raise DefinitionRejected(head, details={"findings": [f.to_dict() for f in errors]})


class SpecCache:
    """Parsed specs per definition id, shared by every thread (specs are read-only once built)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, tuple[Any, dict[str, Any]]] = {}

    def get(self, definition_id: int) -> tuple[Any, dict[str, Any]] | None:
        """Return ``(spec, subprocess_specs)`` or None when not parsed in this process yet."""
        return self._items.get(definition_id)

    def put(self, definition_id: int, spec: Any, subprocess_specs: dict[str, Any]) -> None:
        """Remember the parsed specs of a definition."""
        with self._lock:
            self._items[definition_id] = (spec, subprocess_specs)
