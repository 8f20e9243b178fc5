"""一件事 bundles: one application form (一表申报) that fans out into the sub-matters of one case.

A bundle is one process whose sub-matters are embedded subprocesses (营业执照, 公章刻制, 发票申领 ...). Its
``bundle.yaml`` (or ``*.bundle.yaml``) next to the diagram says which field of the bundle's application form
fills which field of each sub-matter's form, and which materials the bundle collects once::

    bundle:
      code: qiye_kaiban                    # identifier, lower-case
      name: 企业开办一件事
      process: qiye_kaiban                 # the process key; deployed together with this file
      form: qiye_kaiban_apply              # the 一表申报 form the case is started with
      materials:                           # collected once, reused by every sub-matter
        - {key: id_card, name: 法定代表人身份证件}          # carried by form field materials.id_card
        - {key: lease, name: 住所使用证明, field: premises.lease_no}
      matters:
        - name: 公章刻制备案
          subprocess: sub_seal             # the embedded subProcess element of the sub-matter
          form: seal_filing                # the form its user tasks use
          fields: {company_name: company_name}         # bundle form field -> sub-matter form field
          materials: {id_card: materials.legal_rep_id} # bundle material -> sub-matter form field

Deploy refuses, with the file and line, a mapping onto a field the target form lacks, a source field the
bundle form lacks, a material referenced but not defined, and a subprocess or form the process does not
have; nothing of the deploy is written then. At run time the mapped values are shown in the sub-task as
already collected (:func:`provided`) and always win over what a sub-task submits (:func:`merge`), so no
sub-task asks the applicant again for what the bundle holds.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Mapping

from .catalog import KEY, PROCESS_KEY, _Checker, _Node, _raise, load_yaml, yaml_file_named
from .errors import FormInvalid
from .form_definition import FormDefinition
from .forms import REQUIRED

FIELD_PATH = re.compile(r"^[^\W\d][\w-]*(\.[^\W\d][\w-]*)*\Z")
ELEMENT_ID = re.compile(r"^[A-Za-z_][\w.-]{0,127}\Z")
COLLECTED = "该项已由一件事申报收取，无需也不能在此更改"


def is_bundle_file(name: str) -> bool:
    """Whether a file name is a bundle mapping (``bundle.yaml`` or ``*.bundle.yaml``, or .yml)."""
    return yaml_file_named(name, "bundle")


@dataclass(frozen=True)
class BundleFile:
    """A parsed bundle file: its JSON form plus the line of every value the cross-checks may complain about."""

    name: str
    doc: dict[str, Any]
    lines: dict[str, int]

    @property
    def process_key(self) -> str:
        """The process that runs the bundle."""
        return self.doc["process"]

    def check(self, forms: Callable[[str], FormDefinition | None], process: Any | None) -> dict[str, Any]:
        """Check the mapping against the forms and the parsed process; return the doc to store with it.

        Args:
            forms: looks a form up by key (this deploy's forms first, then the deployed ones).
            process: the :class:`engine.spiff.parser.ParsedProcess` of ``process``, None when it is not in
                this deploy.

        Returns:
            The doc with ``form_hash`` (the pinned 一表申报 form) and each matter's ``tasks`` filled in.

        Raises:
            DefinitionRejected: every problem, each with this file's name and its line.
        """
        check = _Checker(self.name)
        doc = self.doc
        if process is None:
            check.fail("TB_BUNDLE_PROCESS", f"一件事的办理流程 {doc['process']} 须与 {self.name} 一同部署",
                       self.lines["process"], doc["process"])
            _raise(check)
        apply_form = forms(doc["form"])
        if apply_form is None:
            check.fail("TB_BUNDLE_FORM", f"一表申报表单 {doc['form']} 不存在", self.lines["form"], doc["form"])
        source_fields = _field_keys(apply_form)
        for material in doc["materials"]:
            if apply_form is not None and material["field"] not in source_fields:
                check.fail("TB_BUNDLE_FIELD_MISSING", f"一表申报表单 {doc['form']} 没有材料 {material['key']} "
                           f"的字段 {material['field']}", self.lines[f"material:{material['key']}"], material["key"])
        defined = {m["key"] for m in doc["materials"]}
        for index, matter in enumerate(doc["matters"]):
            at = f"matter:{index}"
            sub = process.subprocess_specs.get(matter["subprocess"])
            if sub is None:
                check.fail("TB_BUNDLE_SUBPROCESS", f"流程 {doc['process']} 中没有子流程 {matter['subprocess']}",
                           self.lines[f"{at}:subprocess"], matter["subprocess"])
            else:
                inside = {getattr(t, "bpmn_id", None) for t in sub.task_specs.values()}
                matter["tasks"] = sorted(t.element_id for t in process.user_tasks.values()
                                         if t.element_id in inside and t.form_key == matter["form"])
                if not matter["tasks"]:
                    check.fail("TB_BUNDLE_SUBPROCESS", f"子流程 {matter['subprocess']} 中没有使用表单 {matter['form']}"
                               " 的用户任务", self.lines[f"{at}:form"], matter["form"])
            target = forms(matter["form"])
            if target is None:
                check.fail("TB_BUNDLE_FORM", f"表单 {matter['form']} 不存在", self.lines[f"{at}:form"], matter["form"])
            target_fields = _field_keys(target)
            for source, dest in matter["fields"].items():
                line = self.lines[f"{at}:field:{source}"]
                if apply_form is not None and source not in source_fields:
                    check.fail("TB_BUNDLE_SOURCE_MISSING", f"一表申报表单 {doc['form']} 没有字段 {source}",
                               line, source)
                if target is not None and dest not in target_fields:
                    check.fail("TB_BUNDLE_FIELD_MISSING", f"{matter['name']}：字段 {source} 映射到表单 "
                               f"{matter['form']} 的 {dest}，但该表单没有此字段", line, dest)
            for key, dest in matter["materials"].items():
                line = self.lines[f"{at}:material:{key}"]
                if key not in defined:
                    check.fail("TB_BUNDLE_MATERIAL_UNDEFINED", f"{matter['name']}：材料 {key} 未在一件事的 materials "
                               "中定义", line, key)
                if target is not None and dest not in target_fields:
                    check.fail("TB_BUNDLE_FIELD_MISSING", f"{matter['name']}：材料 {key} 映射到表单 "
                               f"{matter['form']} 的 {dest}，但该表单没有此字段", line, dest)
        _raise(check)
        return {**doc, "form_hash": apply_form.content_hash if apply_form else None}


def _field_keys(form: FormDefinition | None) -> set[str]:
    return {f.key for f in form.fields if not f.readonly} if form is not None else set()


def parse_bundle(name: str, data: bytes) -> BundleFile:
    """Parse and check the shape of one bundle file; raise :class:`DefinitionRejected` with file and line."""
    root = load_yaml(name, data)
    check = _Checker(name)
    node = root.value.get("bundle") if isinstance(root.value, dict) else None
    if node is None or not isinstance(node.value, dict):
        check.fail("TB_BUNDLE_FIELD", "文件应以 bundle: 开头", root.line)
        _raise(check)
    entry, lines = node.value, {}
    _unknown(check, entry, {"code", "name", "process", "form", "materials", "matters"}, "一件事")
    doc: dict[str, Any] = {
        "code": check.text(entry, "code", node.line, what="一件事标识", pattern=KEY),
        "name": check.text(entry, "name", node.line, what="一件事名称"),
        "process": check.text(entry, "process", node.line, what="办理流程的 process key", pattern=PROCESS_KEY),
        "form": check.text(entry, "form", node.line, what="一表申报表单", pattern=ELEMENT_ID)}
    for key in ("process", "form"):
        lines[key] = entry[key].line if key in entry else node.line
    doc["materials"] = _materials(check, entry.get("materials"), lines)
    doc["matters"] = _matters(check, entry.get("matters"), node.line, lines)
    _raise(check)
    return BundleFile(name, doc, lines)


def _unknown(check: _Checker, entry: dict[str, _Node], known: set[str], what: str) -> None:
    for key in set(entry) - known:
        check.fail("TB_BUNDLE_FIELD", f"{what}的未知字段 {key}；可用字段：{'、'.join(sorted(known))}", entry[key].line)


def _materials(check: _Checker, node: _Node | None, lines: dict[str, int]) -> list[dict[str, Any]]:
    if node is None or node.value is None:
        return []
    if not isinstance(node.value, list):
        check.fail("TB_BUNDLE_FIELD", "materials 应为材料列表", node.line)
        return []
    out: list[dict[str, Any]] = []
    for item in node.value:
        if not isinstance(item.value, dict):
            check.fail("TB_BUNDLE_FIELD", "每项材料应为 {key, name[, field]}", item.line)
            continue
        _unknown(check, item.value, {"key", "name", "field"}, "材料")
        key = check.text(item.value, "key", item.line, what="材料标识", pattern=KEY)
        name = check.text(item.value, "name", item.line, what="材料名称")
        field = check.text(item.value, "field", item.line, required=False, what="一表申报表单中的字段",
                           pattern=FIELD_PATH)
        if key is None or name is None:
            continue
        if f"material:{key}" in lines:
            check.fail("TB_BUNDLE_FIELD", f"材料标识 {key} 与第 {lines[f'material:{key}']} 行重复", item.line, key)
            continue
        lines[f"material:{key}"] = item.line
        out.append({"key": key, "name": name, "field": field or f"materials.{key}"})
    return out


def _matters(check: _Checker, node: _Node | None, line: int, lines: dict[str, int]) -> list[dict[str, Any]]:
    if node is None or not isinstance(node.value, list) or not node.value:
        check.fail("TB_BUNDLE_FIELD", "matters 应列出至少一个子事项", node.line if node else line)
        return []
    out = []
    for item in node.value:
        if not isinstance(item.value, dict):
            check.fail("TB_BUNDLE_FIELD", "每个子事项应为一组 键: 值（name, subprocess, form, fields, materials）",
                       item.line)
            continue
        entry, at = item.value, f"matter:{len(out)}"
        _unknown(check, entry, {"name", "subprocess", "form", "fields", "materials"}, "子事项")
        matter = {"name": check.text(entry, "name", item.line, what="子事项名称"),
                  "subprocess": check.text(entry, "subprocess", item.line, what="子流程元素 id", pattern=ELEMENT_ID),
                  "form": check.text(entry, "form", item.line, what="子事项表单", pattern=ELEMENT_ID),
                  "fields": _mapping(check, entry.get("fields"), lines, f"{at}:field", FIELD_PATH),
                  "materials": _mapping(check, entry.get("materials"), lines, f"{at}:material", KEY),
                  "tasks": []}
        for key in ("subprocess", "form"):
            lines[f"{at}:{key}"] = entry[key].line if key in entry else item.line
        out.append(matter)
    return out


def _mapping(check: _Checker, node: _Node | None, lines: dict[str, int], prefix: str,
             source_pattern: re.Pattern[str]) -> dict[str, str]:
    if node is None or node.value is None:
        return {}
    if not isinstance(node.value, dict):
        check.fail("TB_BUNDLE_FIELD", "映射应写成 一件事字段: 子事项表单字段", node.line)
        return {}
    out = {}
    for source, dest in node.value.items():
        if not isinstance(source, str) or not source_pattern.match(source):
            check.fail("TB_BUNDLE_FIELD", f"映射的来源 {source!r} 格式不正确", dest.line)
            continue
        if not isinstance(dest.value, str) or not FIELD_PATH.match(dest.value):
            check.fail("TB_BUNDLE_FIELD", f"{source} 的目标字段 {dest.value!r} 格式不正确", dest.line)
            continue
        out[source] = dest.value
        lines[f"{prefix}:{source}"] = dest.line
    return out


# --- run time -------------------------------------------------------------------------------------------------

def _get(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


MATERIAL_NOT_COLLECTED = "一件事各部门共用此材料，收件时须提交（上传文件或电子证照），不能容缺"
PHONE_FIELD = "contact_phone"
"""A 一表申报 form field the application's own contact phone fills in when the applicant leaves it out."""


def form_keys(form: FormDefinition) -> set[str]:
    """The top-level data keys of a form (``materials`` for ``materials.id_card``): what its data is made of."""
    return {f.key.split(".")[0] for f in form.fields}


def application_form(bundle: Mapping[str, Any], form: FormDefinition, values: Mapping[str, Any],
                     references: Mapping[str, str], contact_phone: str,
                     today: date | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Map an application received at intake (收件) onto the bundle's 一表申报 form and check it.

    The applicant fills in the form's own fields (``values``). Each material the bundle collects once is
    filled in from intake's materials checklist (``references``: material key -> the 电子证照 number or the
    upload's sha256), and the form's ``contact_phone``, when left out, from the application's contact phone.
    Intake's own bookkeeping (applicant, matter, 容缺 ...) is not the form's and is not checked here.

    Args:
        bundle: the stored bundle doc (``materials`` with each one's form field).
        form: the pinned 一表申报 form.
        values: the application's ``form`` object.
        references: what the checklist received, per material key (a 容缺 or absent material has none).
        contact_phone: the application's contact phone.
        today: the business date, for the form's date bounds (not checked when None).

    A single matter's application form (申请表单) is checked with this too, with no bundle and no references
    (:func:`engine.intake_checks.matter_form`).

    Returns:
        The cleaned form data, and the problems keyed as intake reports them: ``form.<field>`` for the
        applicant's fields, ``materials.<key>`` for a shared material, ``contact_phone`` for the phone taken
        from the application (empty when the form passed).
    """
    data = copy.deepcopy(dict(values))
    owner: dict[str, str] = {}
    for item in bundle.get("materials", ()):
        owner[item["field"]] = f"materials.{item['key']}"
        if references.get(item["key"]) and _settable(data, item["field"]):
            _set(data, item["field"], references[item["key"]])
    if PHONE_FIELD in {f.key for f in form.fields} and _get(data, PHONE_FIELD) in (None, ""):
        data[PHONE_FIELD] = (contact_phone or "").strip()
        owner[PHONE_FIELD] = PHONE_FIELD
    try:
        return form.validate(data, today=today), {}
    except FormInvalid as exc:
        found: dict[str, list[str]] = {}
        for path, messages in exc.details.get("fields", {}).items():
            key = owner.get(path, f"form.{path}")
            if key.startswith("materials.") and REQUIRED in messages:
                messages = [MATERIAL_NOT_COLLECTED]
            found.setdefault(key, []).extend(messages)
        return {}, found


def _settable(data: Mapping[str, Any], path: str) -> bool:
    """Whether every parent of ``path`` in ``data`` is an object or missing (not a value in the way)."""
    value: Any = data
    for part in path.split(".")[:-1]:
        value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            return True
        if not isinstance(value, Mapping):
            return False
    return True


def matter_of(bundle: Mapping[str, Any] | None, element_id: str) -> Mapping[str, Any] | None:
    """Return the sub-matter entry whose mapped tasks include ``element_id`` (None when none does)."""
    return next((m for m in (bundle or {}).get("matters", ()) if element_id in m["tasks"]), None)


def provided(bundle: Mapping[str, Any] | None, element_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the bundle already holds for a sub-task: ``{"values": {form field: value}, "materials": [...]}``.

    ``materials`` lists each shared material the sub-task's form asks for, with its name, the form field and
    the reference collected with the application (状态 "已收取"). Fields the application left empty are
    not provided, so the sub-task asks for them as usual.
    """
    matter = matter_of(bundle, element_id)
    if matter is None:
        return {"matter": None, "values": {}, "materials": []}
    assert bundle is not None
    values = {dest: _get(data, source) for source, dest in matter["fields"].items()
              if _get(data, source) not in (None, "")}
    materials = []
    for item in bundle["materials"]:
        dest = matter["materials"].get(item["key"])
        value = _get(data, item["field"]) if dest else None
        if dest and value not in (None, ""):
            values[dest] = value
            materials.append({"key": item["key"], "name": item["name"], "field": dest, "value": value,
                              "status": "已收取"})
    return {"matter": matter["name"], "values": values, "materials": materials}


def merge(bundle: Mapping[str, Any] | None, element_id: str, data: Mapping[str, Any],
          submitted: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``submitted`` with the bundle's values filled in; refuse a submission that changes one.

    Raises:
        FormInvalid: a submitted value differs from what the bundle collected (``details.fields``).
    """
    values = provided(bundle, element_id, data)["values"]
    merged = dict(submitted)
    clashes = {path: [COLLECTED] for path, value in values.items()
               if _get(submitted, path) not in (None, value)}
    if clashes:
        raise FormInvalid(f"表单数据有误（共 {len(clashes)} 处）", details={"fields": clashes})
    for path, value in values.items():
        top = path.split(".")[0]
        if isinstance(merged.get(top), dict):
            merged[top] = dict(merged[top])
        _set(merged, path, value)
    return merged


def progress(bundle: Mapping[str, Any] | None, tasks: list[Mapping[str, Any]],
             finished: set[str]) -> list[dict[str, Any]]:
    """Each sub-matter's state for the case view: 未开始 waiting, 办理中 running, 已办结 completed, 不予办理 refused.

    A sub-matter is refused when the case passed the end event ``<subprocess>_refused`` inside it (the
    convention the shipped bundles follow for 不予登记/不予备案).

    Args:
        bundle: the stored bundle doc of the case's definition.
        tasks: the case's task rows as ``{"element_id", "state"}``.
        finished: element ids the case has passed (``FlowAdvanced``); a subprocess is there once it ended.
    """
    rows = []
    for matter in (bundle or {}).get("matters", ()):
        mine = [t for t in tasks if t["element_id"] in matter["tasks"]]
        if f"{matter['subprocess']}_refused" in finished:
            state = "refused"
        else:
            state = "completed" if matter["subprocess"] in finished else "running" if mine else "waiting"
        rows.append({"name": matter["name"], "subprocess": matter["subprocess"], "state": state,
                     "open_tasks": sum(1 for t in mine if t["state"] == "open")})
    return rows

