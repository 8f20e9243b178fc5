"""Lint a set of definition files: every finding a deploy would refuse with, plus graph checks, deploying nothing.

The deploy checks are the deploy's own functions (hardened XML, XSD, ``tb:`` extensions, restricted
expressions, timer literals, missing forms, catalogs, bundles), run file by file so one bad file does not
hide the others. The graph checks of :mod:`engine.lint_graph`, names and ids (:mod:`engine.lint_names`),
candidate groups nobody matches, message counterparts and ids removed since the deployed version are lint's
own: a deploy does not run them, so definitions deployed today stay deployable.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, Callable, Iterable, Mapping

from .bundle import is_bundle_file, parse_bundle
from .candidates import CandidateError, is_reference, parse_candidate
from .catalog import MAX_SOURCE_NAME, CatalogCheck, is_catalog_file, parse_catalog
from .definitions import DiagramInfo, Finding, UserTaskInfo
from .errors import DefinitionRejected
from .expressions import Evaluator
from .form_definition import FormDefinition
from .forms import parse_form
from .legal_clock_records import ClockKind
from .lint_graph import MessageUse, check_graph, flow_node_ids, message_uses
from .lint_names import check_ids, check_names
from .org_file import ROLES
from .spiff.parser import ParsedUnit, check_file, parse_unit
from .spiff.xml_loader import parse_xml
from .storable import unstorable, visible_text
from .text_input import BIDI_CONTROLS, BIDI_WHAT


@dataclass(frozen=True)
class DeployedFacts:
    """What lint needs to know about what is already deployed.

    Attributes:
        form: looks up the latest deployed form by key (None when never deployed).
        processes: latest deployed version and XML of every deployed process key.
        districts: known district codes, for catalogs and candidate groups (empty: no organisation loaded,
            literal districts are not checked).
        departments: known ``(district, department)`` code pairs, for candidate groups (empty: not checked).
        clocks: the clocks (``ClockSpec.to_dict()`` shapes) of the latest deployed version of each process.
        categories: the project categories the engine loaded from ``targets.yaml`` (code -> name), for
            matters whose committed limit is set per category; None: not checked.
        bundled: the process keys whose latest deployed version runs a 一件事 (a matter of theirs may not
            name an ``application_form``).
    """

    form: Callable[[str], FormDefinition | None]
    processes: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    districts: frozenset[str] = frozenset()
    departments: frozenset[tuple[str, str]] = frozenset()
    clocks: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    categories: Mapping[str, str] | None = None
    bundled: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LintLimits:
    """Size limits lint applies, the same as a deploy's."""

    max_bpmn_bytes: int
    max_form_bytes: int


def lint_files(bpmn_files: Iterable[tuple[str, bytes]], form_files: Iterable[tuple[str, bytes]],
               evaluator: Evaluator, limits: LintLimits, deployed: DeployedFacts) -> list[Finding]:
    """Return every finding for the files (name, bytes), errors and warnings, each with its file."""
    bpmn_files, form_files = list(bpmn_files), list(form_files)
    findings = file_name_findings([name for name, _data in bpmn_files], [name for name, _data in form_files])
    broken: dict[str, str] = {}
    forms = _lint_forms(form_files, limits.max_form_bytes, findings, broken)

    def form(key: str) -> FormDefinition | None:
        return forms[key] if key in forms else deployed.form(key)

    diagrams = [(n, d) for n, d in bpmn_files if not is_catalog_file(n) and not is_bundle_file(n)]
    roots: dict[str, Any] = {}
    infos: dict[str, DiagramInfo] = {}
    clean: set[str] = set()
    for name, data in diagrams:
        root, info, found = check_file(name, data, max_bytes=limits.max_bpmn_bytes)
        findings += _in(name, found)
        if root is not None:
            roots[name] = root
            findings += _in(name, check_graph(root) + check_names(root) + check_ids(root))
        if info is not None:
            infos[name] = info
            if not any(f.severity == "error" for f in found):
                clean.add(name)
            findings += _in(name, missing_forms(info.user_tasks, lambda key: form(key) is not None, broken))
            findings += _in(name, undeclared_deadline_clocks(info))
            findings += _in(name, check_candidates(info.user_tasks, deployed))
    unit = _lint_unit([(n, d) for n, d in diagrams if n in clean], evaluator, limits, roots, findings)
    keys = {key: name for name, info in infos.items() for key in info.process_ids}
    findings += _messages(roots, deployed, keys)
    findings += _removed_ids(roots, keys, deployed)
    clocks = {key: [c.to_dict() for c in info.clocks.get(key, ())] for info in infos.values()
              for key in info.process_ids}
    findings += _lint_catalogs(bpmn_files, deployed, keys, clocks, form)
    for name, data in bpmn_files:
        if is_bundle_file(name):
            findings += _lint_bundle(name, data, form, keys, unit)
    return findings


def file_name_findings(bpmn_names: Iterable[str], form_names: Iterable[str]) -> list[Finding]:
    """A finding for each file name a deploy refuses, in the file it names (shown with escapes where needed).

    ``FILE_NAME_TOO_LONG``: a diagram or catalog name over :data:`~engine.catalog.MAX_SOURCE_NAME` characters
    (the version keeps it as its ``source_name``). ``FILE_NAME_UNSAFE``: any name holding text no database
    stores (:mod:`engine.storable`) or a direction control (it is shown in the definition log): file names are
    held to what file contents are.
    """
    bpmn_names, found = list(bpmn_names), []
    for name in bpmn_names:
        if not is_bundle_file(name) and len(name) > MAX_SOURCE_NAME:
            found.append(Finding("FILE_NAME_TOO_LONG", f"文件名过长（{len(name)} 个字符，上限 {MAX_SOURCE_NAME}）",
                                 file=name[:MAX_SOURCE_NAME] + "…"))
    for name in [*bpmn_names, *form_names]:
        bad = unstorable(name)
        problem = bad.message if bad is not None else f"{BIDI_WHAT}，不予接受" if BIDI_CONTROLS.search(name) else None
        if problem is not None:
            found.append(Finding("FILE_NAME_UNSAFE", f"文件名{problem}", file=visible_text(name)))
    return found


def missing_forms(user_tasks: Mapping[str, UserTaskInfo], exists: Callable[[str], bool],
                  broken: Mapping[str, str] | None = None) -> list[Finding]:
    """Return a ``TB_FORM_MISSING`` finding for each form key the user tasks use that ``exists`` denies.

    ``broken`` maps the key a refused form file is named for (``forms/<key>.form``) to that file: the form is
    there but has errors of its own, so the finding points at them instead of asking to deploy it.
    """
    keys = sorted({t.form_key for t in user_tasks.values() if t.form_key})

    def said(key: str) -> str:
        if broken and key in broken:
            return f"表单 {key} 的文件 {broken[key]} 有错误，未能载入：请先改正该文件的问题"
        return f"表单 {key} 不存在，请先部署 forms/{key}.form"
    return [Finding("TB_FORM_MISSING", said(key), next(t.element_id for t in user_tasks.values() if t.form_key == key))
            for key in keys if not exists(key)]


def undeclared_deadline_clocks(info: DiagramInfo) -> list[Finding]:
    """Warn of each task budget counted on a clock its process does not declare (``TB_DEADLINE_CLOCK_UNDECLARED``).

    Such a task has no due instant until that clock starts, and nothing in the diagram starts it. It is only a
    warning: a matter catalog may still give the process that clock (:func:`~.case_clocks.catalog_clock_specs`).
    """
    found = []
    for task in info.user_tasks.values():
        clock = task.deadline.clock if task.deadline is not None else "task"
        declared = {spec.kind for spec in info.clocks.get(task.process_id, ())}
        if clock in ClockKind.__members__.values() and clock not in declared:
            found.append(Finding(
                "TB_DEADLINE_CLOCK_UNDECLARED",
                f"用户任务 {task.element_id} 的时限计在{ClockKind(clock).zh}上，但流程 {task.process_id} 未声明 "
                f"tb:clock kind=\"{clock}\"：若事项目录也不给出该时限，此任务将一直没有期限", task.element_id,
                severity="warning"))
    return found


def check_candidates(user_tasks: Mapping[str, UserTaskInfo], deployed: DeployedFacts) -> list[Finding]:
    """Return a finding for each candidate group that names a role, district or department nobody has.

    A task whose only groups match nobody can never be claimed. Roles are fixed (:data:`ROLES`), so an
    unknown one is an error. A literal district code must be one of the organisation's districts, and a
    literal department under a literal district one of that district's departments (errors). ``${...}``
    placeholders are only known when a case runs and are not checked, nor is anything while the
    organisation has no districts (or departments) loaded.
    """
    found: list[Finding] = []
    for tid, task in sorted(user_tasks.items()):
        for group in dict.fromkeys(task.candidate_groups):
            try:
                expr = parse_candidate(group)
            except CandidateError:
                continue  # TB_BAD_CANDIDATE says so already
            where = f"用户任务 {tid} 的候选组 {group}"
            if expr.role not in ROLES:
                found.append(Finding("LINT_CANDIDATE_UNKNOWN_ROLE", f"{where} 中的角色 {expr.role} 不存在（可选："
                                     f"{'、'.join(ROLES)}），该任务将无人可以办理", tid))
                continue
            if expr.district is None or is_reference(expr.district) or not deployed.districts:
                continue
            if expr.district not in deployed.districts:
                found.append(Finding("LINT_CANDIDATE_UNKNOWN_DISTRICT", f"{where} 中的区县代码 {expr.district} 不在"
                                     "组织机构中，该任务将无人可以办理", tid))
            elif (expr.department is not None and not is_reference(expr.department) and deployed.departments
                  and (expr.district, expr.department) not in deployed.departments):
                found.append(Finding("LINT_CANDIDATE_UNKNOWN_DEPARTMENT", f"{where} 中的区县 {expr.district} 没有部门 "
                                     f"{expr.department}，该任务将无人可以办理", tid))
    return found


def _in(name: str, found: Iterable[Finding]) -> list[Finding]:
    return [f if f.file is not None else replace(f, file=name) for f in found]


def _rejected(exc: DefinitionRejected, name: str | None) -> list[Finding]:
    listed = exc.details.get("findings") or [{"code": exc.code, "message": exc.message}]
    return [Finding(**{"file": name, **f}) if f.get("file") is None else Finding(**f) for f in listed]


def _lint_forms(files: Iterable[tuple[str, bytes]], max_bytes: int, findings: list[Finding],
                broken: dict[str, str]) -> dict[str, FormDefinition]:
    """Parse the form files; a refused one adds its findings and is noted in ``broken`` under its file's stem."""
    forms: dict[str, FormDefinition] = {}
    for name, data in files:
        try:
            parsed = parse_form(data, max_bytes=max_bytes)
        except DefinitionRejected as exc:
            findings += _rejected(exc, name)
            broken[PurePosixPath(name).name.removesuffix(".form")] = name
            continue
        if parsed.key in forms:
            findings.append(Finding("FORM_DUPLICATE_ID", f"表单标识 {parsed.key} 重复（{name}）", parsed.key,
                                    file=name))
        forms[parsed.key] = parsed
    return forms


def _lint_unit(files: list[tuple[str, bytes]], evaluator: Evaluator, limits: LintLimits, roots: Mapping[str, Any],
               findings: list[Finding]) -> ParsedUnit | None:
    """Parse the files that loaded cleanly together (call activities cross files), as a deploy does."""
    if not files:
        return None
    file_of = {el_id: name for name, root in roots.items() for el_id in root.xpath("//@id")}
    try:
        unit = parse_unit(files, evaluator, max_bytes=limits.max_bpmn_bytes)
    except DefinitionRejected as exc:
        # Stage one already reported per file; only the later stages' findings are new here.
        seen = {(f.code, f.message) for f in findings}
        findings += [replace(f, file=file_of.get(f.element_id)) for f in _rejected(exc, None)
                     if (f.code, f.message) not in seen]
        return None
    return unit


def _messages(roots: Mapping[str, Any], deployed: DeployedFacts, keys: Mapping[str, str]) -> list[Finding]:
    uses = [(name, use) for name, root in roots.items() for use in message_uses(root)]
    elsewhere: list[MessageUse] = []
    for key, (_version, xml) in deployed.processes.items():
        if key not in keys:
            elsewhere += message_uses(_stored(xml, key))
    found = []
    for name, use in uses:
        if any(other.name == use.name and other.sends != use.sends for _n, other in uses):
            continue
        verb, other = ("发送", "接收") if use.sends else ("等待", "发送")
        if any(other_use.name == use.name and other_use.sends != use.sends for other_use in elsewhere):
            found.append(Finding("LINT_MESSAGE_ELSEWHERE", f"元素 {use.element_id} {verb}的消息 {use.name} 在本次检查的"
                                 f"文件中没有{other}方，但已部署的其他流程中有；请确认该流程仍会{other}它",
                                 use.element_id, "warning", name))
        else:
            found.append(Finding("LINT_MESSAGE_UNMATCHED", f"元素 {use.element_id} {verb}的消息 {use.name} 没有任何流程"
                                 f"{other}（本次检查的文件和已部署的流程中都没有）", use.element_id, file=name))
    return found


def _stored(xml: str, key: str) -> Any:
    data = xml.encode()
    return parse_xml(data, name=key, max_bytes=len(data) + 1, stored=True)


def _removed_ids(roots: Mapping[str, Any], keys: Mapping[str, str], deployed: DeployedFacts) -> list[Finding]:
    found = []
    for key, name in sorted(keys.items()):
        if key not in deployed.processes or name not in roots:
            continue
        version, xml = deployed.processes[key]
        old = flow_node_ids(_stored(xml, key), key)
        for gone in sorted(old - flow_node_ids(roots[name], key)):
            found.append(Finding("LINT_ID_REMOVED", f"元素 {gone} 在已部署的流程 {key} 第 {version} 版中存在，新版本中"
                                 "已删除或改了 id；停在该处的办件仍按旧版本运行，迁移时将找不到对应元素",
                                 gone, "warning", name))
    return found


def _lint_catalogs(files: list[tuple[str, bytes]], deployed: DeployedFacts, keys: Mapping[str, str],
                   clocks: Mapping[str, list[dict[str, Any]]],
                   form: Callable[[str], FormDefinition | None]) -> list[Finding]:
    found: list[Finding] = []
    check = CatalogCheck()
    for name, data in files:
        if not is_catalog_file(name):
            continue
        try:
            check.add(parse_catalog(name, data, known_districts=deployed.districts))
        except DefinitionRejected as exc:
            found += _rejected(exc, name)
    try:
        check.require_processes(lambda key: key in keys or key in deployed.processes)
    except DefinitionRejected as exc:
        found += _rejected(exc, None)
    if deployed.categories is not None:
        try:
            check.require_category_clocks(lambda key: clocks.get(key, deployed.clocks.get(key)),
                                          deployed.categories)
        except DefinitionRejected as exc:
            found += _rejected(exc, None)
    bundles = set()
    for name, data in files:
        if is_bundle_file(name):
            try:
                bundles.add(parse_bundle(name, data).process_key)
            except DefinitionRejected:
                pass    # reported by _lint_bundle
    try:
        check.require_application_forms(form, lambda key: key in bundles or key not in keys and key in deployed.bundled)
    except DefinitionRejected as exc:
        found += _rejected(exc, None)
    return found


def _lint_bundle(name: str, data: bytes, form: Callable[[str], FormDefinition | None], keys: Mapping[str, str],
                 unit: ParsedUnit | None) -> list[Finding]:
    try:
        bundle = parse_bundle(name, data)
        process = unit.processes.get(bundle.process_key) if unit is not None else None
        if bundle.process_key in keys and process is None:
            return []  # its process has errors of its own; checking the mapping against it would mislead
        bundle.check(form, process)
    except DefinitionRejected as exc:
        return _rejected(exc, name)
    return []
