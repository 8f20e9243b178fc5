"""Intake checks (收件审查) that need no database: the parties, the phone and the materials checklist.

Every problem is collected per field (``applicant.id_number``, ``materials.bid_notice`` ...) with a Chinese
message, so a form can show them all at once; nothing is stored before these checks pass.
"""
from __future__ import annotations

import ast
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from .bundle import application_form, form_keys
from .catalog import Matter, Material
from .catalog_entry import INTAKE_KEYS
from .commands import MaterialInput, Party
from .errors import ApplicationInvalid
from .identifiers import ID_TYPES, PHONE, credit_code_problem, id_number_problem, normalise_id_number

APPLICANT_KINDS = {"person": "自然人", "legal": "法人及其他组织"}
AGENT_KINDS = {"entrusted": "授权代理", "relative": "亲友代办"}
MAX_NAME = 64
MAX_LICENSE_REF = 128
PROCESS_FIELD = "未知的申报字段：该项由办理过程填写（窗口或审查环节的表单、流程脚本、会签结果），申请中不能填写"
"""The refusal of an application form key the matter's process fills in itself (:func:`process_fields`)."""
UNKNOWN_FIELD = "未知的申报字段：该事项的申请表单没有此项"
"""The refusal of an application form key the matter's application form (申请表单) does not have."""
_MULTI_INSTANCE_WRITES = ("data_output", "input_item", "output_item")
"""A multi-instance task's collection of results, and the per-instance item and result it sets."""


@dataclass(frozen=True)
class ChecklistLine:
    """How one catalog material was supplied: ``upload``, ``license``, ``tolerance`` (容缺) or ``absent``."""

    material: Material
    how: str
    given: MaterialInput | None = None


def check_party(party: Party, prefix: str, *, agent: bool,
                today: date | None = None) -> tuple[Party, dict[str, list[str]]]:
    """Return the party with its numbers normalised, and its problems keyed ``<prefix>.<field>``.

    ``today`` is the business date a 居民身份证号's birth date may not follow (the wall-clock date in China
    Standard Time when not given).
    """
    errors: dict[str, list[str]] = {}
    kinds = AGENT_KINDS if agent else APPLICANT_KINDS
    name = (party.name or "").strip()
    number = normalise_id_number(party.id_number or "")
    if party.kind not in kinds:
        errors[f"{prefix}.kind"] = [f"类型应为{'或'.join(f'{k}（{v}）' for k, v in kinds.items())}"]
    if not name:
        errors[f"{prefix}.name"] = ["请填写姓名或名称"]
    elif len(name) > (MAX_NAME * 2 if party.kind == "legal" else MAX_NAME):
        errors[f"{prefix}.name"] = ["名称过长"]
    legal = party.kind == "legal"
    if legal:
        problem = credit_code_problem(number) if number else "请填写统一社会信用代码"
        if problem:
            errors[f"{prefix}.id_number"] = [problem]
        if not (party.legal_representative or "").strip():
            errors[f"{prefix}.legal_representative"] = ["请填写法定代表人"]
    elif party.kind in kinds:
        if party.id_type not in ID_TYPES:
            errors[f"{prefix}.id_type"] = [f"请选择证件类型：{'、'.join(ID_TYPES.values())}"]
        else:
            problem = id_number_problem(party.id_type, number, today=today) if number else "请填写证件号码"
            if problem:
                errors[f"{prefix}.id_number"] = [problem]
    if agent and not (party.authorization or "").strip():
        errors[f"{prefix}.authorization"] = ["请填写授权委托书编号或代办说明"]
    elif agent and len(party.authorization.strip()) > MAX_LICENSE_REF:
        errors[f"{prefix}.authorization"] = ["授权委托书编号过长"]
    cleaned = Party(party.kind, name, "USCC" if legal else party.id_type, number,
                    (party.legal_representative or "").strip(), (party.authorization or "").strip())
    return cleaned, errors


def check_phone(phone: str) -> dict[str, list[str]]:
    """Return the contact phone's problems (none for a mobile or an area-coded landline number)."""
    value = (phone or "").strip()
    if not value:
        return {"contact_phone": ["请填写联系电话"]}
    return {} if PHONE.match(value) else {"contact_phone": ["联系电话应为 11 位手机号或带区号的固定电话"]}


def check_checklist(matter: Matter, given: tuple[MaterialInput, ...], *, originals_later: bool = False
                    ) -> tuple[list[ChecklistLine], dict[str, list[str]], list[Material]]:
    """Match the submitted checklist against the catalog's materials.

    Returns the line per catalog material, the problems per ``materials.<key>``, and the required
    materials that are missing and may not be 容缺 (which refuse the intake). ``originals_later``: the
    originals are verified by a later task (异地代收代办's 原件核验, under its own grant), not at intake.
    """
    by_key: dict[str, MaterialInput] = {}
    errors: dict[str, list[str]] = {}
    known = {m.key for m in matter.materials}
    for item in given:
        if item.key not in known:
            errors[f"materials.{item.key}"] = ["该事项没有这项材料"]
        elif item.key in by_key:
            errors[f"materials.{item.key}"] = ["同一材料只能提交一次"]
        else:
            by_key[item.key] = item
    lines, refused = [], []
    for material in matter.materials:
        item = by_key.get(material.key)
        problems, how = _line(material, item, originals_later)
        if problems:
            errors[f"materials.{material.key}"] = problems
        if how == "absent" and material.required:
            if material.tolerance:
                how = "tolerance"
            else:
                refused.append(material)
                errors.setdefault(f"materials.{material.key}", []).append("必备材料，不可容缺，请提交")
        lines.append(ChecklistLine(material, how, item))
    return lines, errors, refused


def _line(material: Material, item: MaterialInput | None, originals_later: bool = False) -> tuple[list[str], str]:
    if item is None:
        return [], "absent"
    license_ref = (item.license_ref or "").strip()
    chosen = [name for name, on in (("upload", item.upload is not None), ("license", bool(license_ref)),
                                    ("missing", item.missing)) if on]
    if len(chosen) > 1:
        return ["只能选择一种：上传文件、电子证照或标记缺少"], "absent"
    if not chosen or chosen == ["missing"]:
        return [], "absent"
    if chosen == ["license"]:
        if material.license is None:
            return ["该材料不能以电子证照代替，请上传文件"], "absent"
        if len(license_ref) > MAX_LICENSE_REF:
            return ["电子证照编号过长"], "absent"
        return [], "license"
    if material.original and not item.original_verified and not originals_later:
        return ["该材料须核验原件：核验后请勾选“已核验原件”"], "absent"
    return [], "upload"


def refuse(errors: dict[str, list[str]], refused: list[Material]) -> None:
    """Raise the intake refusal for ``errors``: ``MATERIALS_MISSING`` when required materials are missing."""
    if refused:
        names = "、".join(m.name for m in refused)
        raise ApplicationInvalid(f"缺少必备材料（不可容缺），不予收件：{names}", code="MATERIALS_MISSING",
                                 details={"fields": errors,
                                          "missing": [{"key": m.key, "name": m.name} for m in refused]})
    raise ApplicationInvalid(f"申请有 {len(errors)} 处需要修改", details={"fields": errors})


def case_data(matter: Matter, applicant: Party, lines: list[ChecklistLine], form: dict[str, Any],
              reserved: set[str] | frozenset[str] = frozenset()) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Return the case's initial process data (no ID numbers in it), and problems with the form's keys.

    ``reserved`` adds keys the caller fills itself (an online case's department comes from the catalog).
    """
    reserved = {*INTAKE_KEYS, *reserved}
    clash = {f"form.{key}": ["该字段名为系统保留，请换一个"] for key in form if key in reserved}
    how_names = {"upload": "上传文件", "license": "电子证照", "tolerance": "容缺", "absent": "未提交"}
    materials = [{"name": line.material.name, "received": line.how in ("upload", "license"),
                  "form": how_names[line.how]} for line in lines]
    data = {**form, "applicant": applicant.name, "applicant_kind": applicant.kind, "matter_code": matter.code,
            "materials": materials, "tolerance": any(line.how == "tolerance" for line in lines)}
    return data, clash


def matter_form(form: Any, values: dict[str, Any], contact_phone: str, *, allowed: Any = (),
                today: date | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check an application's ``form`` against the matter's application form (申请表单); return (cleaned, problems).

    The form definition's own validation (required fields, types, options, lengths) applies as for a 一件事's
    一表申报 form (:func:`engine.bundle.application_form`, whose ``contact_phone`` is filled in from the
    application's phone likewise); a key the form does not have is refused with :data:`UNKNOWN_FIELD`, except
    those in ``allowed`` (the catalog's facts a window may repeat, checked elsewhere), which are left out.
    Problems are keyed ``form.<path>`` (``contact_phone`` for the phone taken from the application).

    Args:
        form: the pinned :class:`~engine.form_definition.FormDefinition`.
        values: the application's ``form`` object.
        contact_phone: the application's contact phone.
        allowed: keys left out without a problem.
        today: the business date, for the form's date bounds.
    """
    keys = form_keys(form)
    problems = {f"form.{key}": [UNKNOWN_FIELD] for key in values if key not in keys and key not in allowed}
    own = {key: value for key, value in values.items() if key in keys}
    cleaned, found = application_form({}, form, own, {}, contact_phone, today=today)
    for key, messages in found.items():
        problems.setdefault(key, messages)
    return ({} if problems else cleaned), problems


def process_fields(definition: Any) -> frozenset[str]:
    """The data names a deployed process fills in itself, which an application's form may not preset.

    Across the process and its subprocesses: the top-level fields of every form its tasks use (the window's
    受理 note, a department's opinion), every name its script tasks assign, what its multi-instance tasks
    write (工改's ``design_opinions``: results collected so far, which an application could fill with the
    votes that end the 会审) and its data objects. Names the process only reads (工改's ``project_category``)
    are the application's to give.

    Args:
        definition: an :class:`engine.deployment.LoadedDefinition`.
    """
    # A deployed definition never changes, and every StartCase and intake asks (工改's: about 0.4 ms to read),
    # so the answer is kept per definition object, for the last few hundred the catalogs handed out.
    with _PROCESS_FIELDS_LOCK:
        hit = _PROCESS_FIELDS.get(id(definition))
        if hit is not None and hit[0] is definition:
            _PROCESS_FIELDS.move_to_end(id(definition))
            return hit[1]
    found = _process_fields(definition)
    with _PROCESS_FIELDS_LOCK:
        _PROCESS_FIELDS[id(definition)] = (definition, found)
        while len(_PROCESS_FIELDS) > _PROCESS_FIELDS_KEPT:
            _PROCESS_FIELDS.popitem(last=False)
    return found


_PROCESS_FIELDS: OrderedDict[int, tuple[Any, frozenset[str]]] = OrderedDict()
_PROCESS_FIELDS_KEPT = 256
_PROCESS_FIELDS_LOCK = threading.Lock()


def _process_fields(definition: Any) -> frozenset[str]:
    names: set[str] = set()
    for form in definition.forms.values():
        names.update(field.key.split(".")[0] for field in form.fields)
    for spec in (definition.spec, *definition.subprocess_specs.values()):
        names.update(getattr(spec, "data_objects", None) or ())
        for task in spec.task_specs.values():
            names.update(_assigned(getattr(task, "script", None)))
            for attr in _MULTI_INSTANCE_WRITES:
                item = getattr(task, attr, None)
                item = getattr(item, "bpmn_id", item)
                if isinstance(item, str):
                    names.add(item)
    if definition.bundle_form is not None:     # a 一件事's 一表申报 fields are the application's own
        names.difference_update(field.key.split(".")[0] for field in definition.bundle_form.fields)
    return frozenset(names)


def preset_problems(written: frozenset[str], data: Any, prefix: str) -> dict[str, list[str]]:
    """The problems of the keys of ``data`` the process fills in itself, keyed ``<prefix>.<key>``.

    Args:
        written: the names the process fills in (:func:`process_fields`).
        data: the application's form, or the start data of a case.
        prefix: ``form`` for an application, ``data`` for a StartCase's start data.
    """
    return {f"{prefix}.{key}": [PROCESS_FIELD] for key in sorted(written.intersection(data))}


def _assigned(script: Any) -> set[str]:
    """The names a script task's statements bind (not a comprehension's loop variables)."""
    if not isinstance(script, str) or not script.strip():
        return set()
    try:
        tree = ast.parse(script)
    except SyntaxError:     # the deploy checked every script; a script it let through binds nothing known
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.NamedExpr)):
            targets = [node.target]
        for target in targets:
            found.update(name.id for name in ast.walk(target) if isinstance(name, ast.Name))
    return found
