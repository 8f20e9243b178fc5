"""The matter catalog (事项目录): what a matter is, which process runs it, and how each district offers it.

One entry per matter (GB/T 39046 表4 as far as DOMAIN.md §3 describes it), kept in ``matters.yaml`` (or
``*.matters.yaml``) files next to the diagrams in ``processes/`` and deployed with them. Codes are opaque
strings (no fixed length, DOMAIN §3.2). Every problem is reported with its file and line, and a file with
any problem deploys nothing::

    matters:
      - code: "11500103MB1234567X4000117001"      # 实施编码, unique
        basic_code: "000117001000"                 # 基本编码
        name: 建筑工程施工许可证核发
        type: "01"                                 # 事项类型代码, GB/T 39046 A.1
        basis: 《中华人民共和国建筑法》第八条        # 设定依据
        level: 4                                   # 行使层级代码, A.2
        handling: commitment                       # 办件类型: instant 即办件 | commitment 承诺件
        legal_limit: {amount: 20, unit: workday}   # 法定时限; unit workday | day
        committed_limit: {amount: 10, unit: workday}   # or {by: project_category}: see below
        process: parallel_approval                 # the BPMN process key it runs
        modes: [online, proxy, joint]              # 全渝通办: online 全程网办, proxy 异地代收代办,
                                                   #   joint 多地联办, local 就地批办
        districts: ["500103", "500105"]            # where it is offered; "all" for every district
        department: zhujian                        # 承办部门 code (optional): the metrics count the case there
        substantive_check: true                    # optional: 实质核查 by two staff (行政许可法第三十四条);
                                                   #   with department, put into an online case's start data
        facts: {sub_type: seizure}                 # optional: start data the matter fixes (the process
                                                   #   branches on it); every intake puts it in, no form may
                                                   #   change it
        application_form: permit_apply             # optional: the form (forms/<key>.form) an application's
                                                   #   ``form`` must pass; not for a 一件事 (its 一表申报 form is it)
        materials:
          - key: application_form
            name: 建筑工程施工许可证申请表
            required: true                         # 必备材料
            tolerance: false                       # 容缺: may be supplied after acceptance
            license: null                          # 电子证照 type code that may replace the upload
            original: false                        # the original must be seen (原件核验)
        overrides:                                 # per-district 实施 differences
          "500103": {agency: 渝中区住房城乡建委, window: 区政务服务中心 3 号窗,
                     committed_limit: {amount: 5, unit: workday}}

``committed_limit: {by: project_category}`` says the 承诺时限 is each project category's 审批目标时限 from
``targets.yaml`` (工改, :mod:`engine.category_limit`): no amount, no district override of it, no ``handoff``,
not for an 即办件, and not compared with the legal limit (工改's committed clock spans the whole project, the
legal one each stage). Its process must take the committed clock's length from the case data
(``<tb:clock kind="committed" amountFrom="...">``) and the engine must have loaded a ``targets.yaml``; the
deploy refuses otherwise (``TB_CATALOG_CATEGORY_CLOCK``, ``TB_CATALOG_CATEGORY_TARGETS``).

A change to an entry is a new version of that matter (content-hashed, like definitions); cases record the
version they were received under.

``application_form`` names the matter's 申请表单: the form must be deployed or come with the same deploy, its
fields may not use the names intake fills in itself, and a matter whose process is a 一件事 bundle may not name
one (``TB_CATALOG_APPLICATION_FORM``). The deploy pins the form's version in the entry
(``application_form_hash``), so a changed form is a new version of the matter too; intake checks every
application's ``form`` against it (:func:`engine.intake_checks.matter_form`).

This module reads one catalog file entry by entry (:func:`parse_catalog`) and runs the cross-file checks of a
deploy (:class:`CatalogCheck`). It is also the module the rest of the engine imports catalog names from; the
parts live next to it and are re-exported here: the entry model and its lookups (:mod:`engine.catalog_entry`),
the line-aware YAML reader and field checker that bundles and scenarios share (:mod:`engine.catalog_yaml`),
and the checks of an entry's structured parts (:mod:`engine.catalog_fields`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from .catalog_entry import HANDLING, INTAKE_KEYS, MAX_NAME, MAX_SOURCE_NAME, Limit, Material, Matter
from .catalog_fields import (KEY, KnownOrg, check_department, check_districts, check_facts, check_lights,
                             check_materials, check_modes, check_not_longer, check_overrides)
from .catalog_handoff import check_handoff
from .catalog_yaml import _Checker, _Node, _raise, load_yaml, yaml_file_named
from .category_limit import CategoryLimit, category_findings, is_category_node, parse_category_limit
from .definitions import PROCESS_KEY, Finding   # PROCESS_KEY: engine.bundle and engine.drafts import it from here
from .errors import DefinitionRejected
from .org_file import DEPARTMENT_CODE

__all__ = [
    "CatalogCheck", "is_catalog_file", "parse_catalog",
    # Re-exported: what other modules and the tests import from here.
    "KEY", "MAX_SOURCE_NAME", "PROCESS_KEY", "KnownOrg", "Limit", "Material", "Matter", "load_yaml",
    "yaml_file_named",
    # engine.bundle and engine.scenario read their YAML files with the catalog's reader and checker.
    "_Checker", "_Node", "_raise",
]

TYPE_CODE = re.compile(r"^\d{2}\Z")
FORM_KEY = re.compile(r"^[A-Za-z_][\w.-]{0,127}\Z")
"""A form's key (its ``id``, the file's stem in forms/), as a user task or a bundle names it."""


def is_catalog_file(name: str) -> bool:
    """Whether a file name is a matter catalog (``matters.yaml`` or ``*.matters.yaml``, or .yml)."""
    return yaml_file_named(name, "matters")


def parse_catalog(name: str, data: bytes, *, known_districts: Iterable[str] = ()) -> list[Matter]:
    """Parse and validate one catalog file; raise :class:`DefinitionRejected` listing every problem.

    ``known_districts`` (codes), when given, is the list district codes must come from; a :class:`KnownOrg`
    also has a matter's ``department`` checked against the departments of the districts offering it.
    """
    root = load_yaml(name, data)
    check = _Checker(name)
    entries = root.value.get("matters") if isinstance(root.value, dict) else None
    if entries is None or not isinstance(entries.value, list) or not entries.value:
        check.fail("TB_CATALOG_FIELD", "文件应以 matters: 开头，列出至少一个事项", root.line)
        _raise(check)
    districts = known_districts if isinstance(known_districts, KnownOrg) else frozenset(known_districts)
    matters, codes = [], {}
    for node in entries.value:
        matter = _matter(check, node, districts)
        if matter is None:
            continue
        if matter.code in codes:
            check.fail("TB_CATALOG_DUPLICATE", f"实施编码 {matter.code} 与第 {codes[matter.code]} 行的事项重复",
                       matter.line, matter.code)
            continue
        codes[matter.code] = matter.line
        matters.append(matter)
    _raise(check)
    return matters


def _matter(check: _Checker, node: _Node, districts: frozenset[str]) -> Matter | None:
    if not isinstance(node.value, dict):
        check.fail("TB_CATALOG_FIELD", "每个事项应为一组 键: 值", node.line)
        return None
    entry, line, before = node.value, node.line, len(check.findings)
    known = {"code", "basic_code", "name", "type", "basis", "level", "handling", "legal_limit", "committed_limit",
             "process", "modes", "districts", "materials", "overrides", "agency", "lights", "handoff", "department",
             "substantive_check", "facts", "application_form"}
    for key in set(entry) - known:
        check.fail("TB_CATALOG_FIELD", f"未知字段 {key}；可用字段：{'、'.join(sorted(known))}", entry[key].line)
    code = check.text(entry, "code", line, what="实施编码", pattern=re.compile(r"^[0-9A-Za-z_.-]{1,64}\Z"))
    name = check.text(entry, "name", line, what="事项名称")
    if name is not None and len(name) > MAX_NAME:
        check.fail("TB_CATALOG_FIELD", f"name（事项名称）过长：{len(name)} 个字符，上限 {MAX_NAME}", entry["name"].line)
    check.text(entry, "basic_code", line, what="基本编码", pattern=re.compile(r"^[0-9A-Za-z_.-]{1,64}\Z"))
    check.text(entry, "type", line, what="事项类型代码（GB/T 39046 A.1，两位数字）", pattern=TYPE_CODE)
    check.text(entry, "basis", line, what="设定依据")
    level = entry.get("level")
    if level is None or level.value not in range(1, 8) or isinstance(level.value, bool):
        check.fail("TB_CATALOG_FIELD", "level（行使层级代码 GB/T 39046 A.2）应为 1 至 7", level.line if level else line)
    handling = check.text(entry, "handling", line, what="办件类型 instant|commitment")
    if handling is not None and handling not in HANDLING:
        check.fail("TB_CATALOG_FIELD", f"handling 应为 instant（即办件）或 commitment（承诺件），不是 {handling!r}",
                   entry["handling"].line)
    process = check.text(entry, "process", line, what="办理流程的 process key", pattern=PROCESS_KEY)
    legal = check.limit(entry.get("legal_limit"), "legal_limit", "法定时限", line)
    committed: Limit | CategoryLimit | None
    if is_category_node(entry.get("committed_limit")):
        committed = parse_category_limit(check, entry["committed_limit"], "committed_limit（承诺时限）")
    else:
        committed = check.limit(entry.get("committed_limit"), "committed_limit", "承诺时限", line)
    if legal and isinstance(committed, Limit):
        # A limit per project category is not compared: 工改's spans the project, the legal one each stage.
        check_not_longer(check, committed, legal, entry["committed_limit"].line, "承诺时限", "法定时限")
    if handling == "instant" and committed and (isinstance(committed, CategoryLimit) or committed.amount != 0):
        check.fail("TB_CATALOG_LIMIT", "即办件的承诺时限应为 0（当场办结）", entry["committed_limit"].line)
    modes = check_modes(check, entry.get("modes"), line)
    offered = check_districts(check, entry.get("districts"), line, districts)
    materials = check_materials(check, entry.get("materials"), line)
    overrides = check_overrides(check, entry.get("overrides"), districts, committed)
    lights = check_lights(check, entry.get("lights"))
    handoff = check_handoff(check, entry.get("handoff"), modes, PROCESS_KEY)
    if handoff is not None and isinstance(committed, CategoryLimit):
        # The owning district's case of a handoff starts its clocks at once, before any category target exists.
        check.fail("TB_CATALOG_HANDOFF", "承诺时限按项目类别确定的事项不能配置 handoff（异地代收代办）：业务属地的办件"
                   "一收到即起算，无法先按项目类别取得承诺时限", entry["handoff"].line)
    department = check.text(entry, "department", line, required=False, pattern=DEPARTMENT_CODE,
                            what="承办部门代码，小写字母开头，2 至 40 个字符")
    if department is not None and isinstance(districts, KnownOrg):
        check_department(check, department, offered, districts, entry["department"].line)
    substantive = entry.get("substantive_check")
    if substantive is not None and not isinstance(substantive.value, bool):
        check.fail("TB_CATALOG_FIELD", "substantive_check（是否须两名以上工作人员实质核查）应为 true 或 false",
                   substantive.line)
    facts = check_facts(check, entry.get("facts"))
    application_form = check.text(entry, "application_form", line, required=False, pattern=FORM_KEY,
                                  what="申请表单的表单标识（forms/ 中 .form 文件的 id）")
    if len(check.findings) > before or None in (code, name, handling, process, legal, committed):
        return None
    doc = {"code": code, "basic_code": entry["basic_code"].value and str(entry["basic_code"].value), "name": name,
           "type": str(entry["type"].value), "basis": entry["basis"].value, "level": entry["level"].value,
           "handling": handling, "legal_limit": legal.to_dict(), "committed_limit": committed.to_dict(),
           "process": process, "modes": list(modes), "districts": "all" if offered is None else list(offered),
           "materials": [m.to_dict() for m in materials], "overrides": overrides,
           "agency": entry["agency"].value if "agency" in entry else None, "lights": lights}
    if handoff is not None:
        doc["handoff"] = handoff
    if department:
        doc["department"] = department  # only when given, so entries without it keep their content hash
    if substantive is not None:
        doc["substantive_check"] = substantive.value  # likewise
    if facts:
        doc["facts"] = facts  # likewise
    if application_form:
        doc["application_form"] = application_form  # likewise; the deploy pins its version beside it
    return Matter(code, name, process, handling, legal, committed, modes, offered, materials, overrides, doc,
                  check.name, line, entry["committed_limit"].line,
                  entry["application_form"].line if application_form else 0)


@dataclass
class CatalogCheck:
    """Cross-file checks of a deploy: every matter's process exists; codes are unique across files."""

    matters: list[Matter] = field(default_factory=list)

    def add(self, new: list[Matter]) -> None:
        """Add one file's matters, refusing a code already defined by another file of the same deploy."""
        seen = {m.code: m for m in self.matters}
        clashes = [Finding("TB_CATALOG_DUPLICATE", f"实施编码 {m.code} 已在 {seen[m.code].source_name} 第 "
                           f"{seen[m.code].line} 行定义", m.code, line=m.line, file=m.source_name).to_dict()
                   for m in new if m.code in seen]
        if clashes:
            raise DefinitionRejected(f"{new[0].source_name}：{clashes[0]['message']}", details={"findings": clashes})
        self.matters += new

    def require_processes(self, exists: Any) -> None:
        """Refuse matters whose process key neither is deployed nor comes with this deploy."""
        missing = [Finding("TB_CATALOG_PROCESS", f"事项 {m.name} 的办理流程 {m.process_key} 不存在（未部署）",
                           m.code, line=m.line, file=m.source_name).to_dict()
                   for m in self.matters if not exists(m.process_key)]
        missing += [Finding("TB_CATALOG_PROCESS", f"事项 {m.name} 的异地代收代办流程 {m.handoff['process']} 不存在"
                                                  "（未部署）", m.code, line=m.line, file=m.source_name).to_dict()
                    for m in self.matters if m.handoff and not exists(m.handoff["process"])]
        if missing:
            first = missing[0]
            raise DefinitionRejected(f"{first['file']} 第 {first['line']} 行：{first['message']}",
                                     details={"findings": missing})

    def require_category_clocks(self, clocks_of: Any, categories: Mapping[str, str]) -> None:
        """Refuse matters whose committed limit is set per project category that their process cannot keep.

        The process must take its committed clock's length from the case data (``amountFrom``) and the engine
        must have loaded the category targets (see :func:`engine.category_limit.category_findings`).
        """
        found = [f.to_dict() for f in category_findings(self.matters, clocks_of, categories)]
        if found:
            first = found[0]
            raise DefinitionRejected(f"{first['file']} 第 {first['line']} 行：{first['message']}",
                                     details={"findings": found})

    def require_application_forms(self, form_of: Callable[[str], Any], bundled: Callable[[str], bool]) -> None:
        """Check each matter's ``application_form`` and pin the version it names (``application_form_hash``).

        Args:
            form_of: looks a form up by key (this deploy's forms first, then the newest deployed), returning a
                :class:`~engine.form_definition.FormDefinition` or None.
            bundled: whether a process key runs a 一件事 (its 一表申报 form is the application form).

        Raises:
            DefinitionRejected: ``TB_CATALOG_APPLICATION_FORM`` for a form that does not exist, one whose fields
                use a name intake fills in itself, or a 一件事 matter that names one; each at its file and line.
        """
        found, pinned = [], []
        for matter in self.matters:
            key = matter.doc.get("application_form")
            problem, form = None, None
            if key and bundled(matter.process_key):
                problem = (f"事项 {matter.name} 由一件事流程 {matter.process_key} 办理，申请表单就是其一表申报表单"
                           "（bundle.yaml 的 form），不能另设 application_form")
            elif key and (form := form_of(key)) is None:
                problem = f"事项 {matter.name} 的申请表单 {key} 不存在（未部署，也不在本次部署中）"
            elif key:
                own = INTAKE_KEYS | {"department", "substantive_check", *matter.doc.get("facts", {})}
                clash = sorted({f.key.split(".")[0] for f in form.fields} & own)
                if clash:
                    problem = (f"申请表单 {key} 的字段 {'、'.join(clash)} 与收件自动填入的办件数据（申请人、材料、"
                               "事项目录确定的数据）重名，请换一个字段名")
            if problem is not None:
                found.append(Finding("TB_CATALOG_APPLICATION_FORM", problem, matter.code,
                                     line=matter.form_line or matter.line, file=matter.source_name).to_dict())
            pinned.append(matter if form is None else
                          replace(matter, doc={**matter.doc, "application_form_hash": form.content_hash}))
        if found:
            first = found[0]
            raise DefinitionRejected(f"{first['file']} 第 {first['line']} 行：{first['message']}",
                                     details={"findings": found})
        self.matters = pinned
