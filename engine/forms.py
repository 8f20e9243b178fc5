"""form-js forms: parse a ``.form`` file into a :class:`FormDefinition` and validate submissions against it.

The browser (bpmn-io form-js) validates too, but the engine must not trust it, so every submission is checked
again by a marshmallow schema built once per form. Pure module: stdlib and marshmallow only.

The marshmallow schema itself is built by :mod:`engine.form_schema`, and the data model (:class:`FormField`,
:class:`FormDefinition` and its ``validate``) lives in :mod:`engine.form_definition`; this module owns parsing
and checking the untrusted JSON (:func:`parse_form`) and loading a folder of forms (:func:`load_forms`), and
re-exports the model and the public constants.
"""
from __future__ import annotations

import hashlib
import json
import pathlib
import re
from typing import Any, Mapping

from .definitions import Finding
from .errors import DefinitionRejected
from .form_conditions import parse_hide
from .form_dates import date_rule_problems
from .form_definition import FormDefinition, FormField, _clash
from .form_schema import _FORMATS, LIST_MARK, READONLY, REQUIRED, _build_tree, _is_num, _kind
from .form_patterns import deploy_problem
from .parser_text import detail
from .storable import unstorable_in, visible_text
from .text_input import BIDI_CONTROLS, BIDI_WHAT

__all__ = ["FormDefinition", "FormField", "LAYOUT_TYPES", "LIST_MARK", "OPTION_TYPES", "READONLY", "REQUIRED",
           "VALUE_TYPES", "load_forms", "parse_form"]

LAYOUT_TYPES = frozenset({"text", "html", "spacer", "separator", "image", "button", "iframe", "table",
                          "documentPreview"})
"""Components that only display something; they never carry submitted data."""
OPTION_TYPES = frozenset({"select", "radio", "checklist", "taglist"})
VALUE_TYPES = frozenset({"textfield", "textarea", "number", "checkbox", "datetime"}) | OPTION_TYPES

_SEGMENT = re.compile(r"^[^\W\d][\w-]*\Z")
_FORM_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}\Z")
_MAX_DEPTH = 16


class _NotOurJson(ValueError):
    """JSON that decodes but that a form file may not hold (its message is Chinese already)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise _NotOurJson("JSON 对象中有重复的键")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _NotOurJson(f"不允许 {name}")  # NaN/Infinity are not JSON and break min/max comparisons


def _not_json(exc: Exception) -> str:
    """Why a form file's bytes are not JSON we take, as a Chinese sentence (the parser's words in parentheses)."""
    if isinstance(exc, _NotOurJson):
        return f"表单文件不是有效的 JSON：{exc}"
    if isinstance(exc, UnicodeDecodeError):
        return "表单文件不是 UTF-8 编码的文本，无法解析" + detail(exc.reason, at=f"第 {exc.start + 1} 个字节")
    if isinstance(exc, json.JSONDecodeError):
        return "表单文件不是有效的 JSON，无法解析" + detail(exc.msg, line=exc.lineno, column=exc.colno)
    if isinstance(exc, RecursionError):
        return "表单文件的 JSON 嵌套过深，无法解析"
    return "表单文件中的数字位数过多，无法解析" + detail(exc)   # int beyond sys.get_int_max_str_digits()


def _segments(value: Any) -> tuple[str, ...] | None:
    parts = tuple(value.split(".")) if isinstance(value, str) else ()
    return parts if parts and all(_SEGMENT.match(p) for p in parts) else None


def _component_problems(comp: dict[str, Any], rules: Any) -> list[str]:
    if not isinstance(rules, dict):
        return ["validate 应为对象"]
    bad = [f"{k} 应为数字" for k in ("min", "max") if rules.get(k) is not None and not _is_num(rules[k])]
    counts = {"minLength": rules.get("minLength"), "maxLength": rules.get("maxLength"),
              "decimalDigits": comp.get("decimalDigits")}
    bad += [f"{k} 应为非负整数" for k, v in counts.items()
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0)]
    bad += [f"{lo} 大于 {hi}" for lo, hi in (("min", "max"), ("minLength", "maxLength")) if not bad
            and rules.get(lo) is not None and rules.get(hi) is not None and rules[lo] > rules[hi]]
    bad += ["required 应为 true/false"] if not isinstance(rules.get("required", False), bool) else []
    bad += ["validationType 只能是 email 或 phone"] if rules.get("validationType") not in (None, "", "email",
                                                                                          "phone") else []
    bad += ["subtype 只能是 date、time 或 datetime"] if comp["type"] == "datetime" and comp.get(
        "subtype", "date") not in _FORMATS else []
    bad += date_rule_problems(comp, rules)
    if rules.get("pattern"):
        try:
            re.compile(rules["pattern"], re.ASCII)
        except re.error as exc:
            bad.append("pattern 不是有效的正则表达式" + detail(exc.msg, at=f"第 {(exc.pos or 0) + 1} 个字符"))
        except TypeError:
            bad.append("pattern 应为正则表达式文本")
    return bad


def _new_pattern_problem(rules: Mapping[str, Any], name: str, where: str | None) -> Finding | None:
    """Why a new deploy refuses a compiling ``validate.pattern`` (see :func:`deploy_problem`), else None."""
    pattern = rules.get("pattern")
    problem = deploy_problem(pattern) if isinstance(pattern, str) and pattern else None
    if problem is None:
        return None
    what = "的配置有误：" if problem[0] == "FORM_BAD_VALIDATE" else "的 "
    return Finding(problem[0], f"字段 {name} {what}{problem[1]}", where)


def _duplicate_ids(comps: Any, seen: dict[str, str], findings: list[Finding], depth: int = 0) -> None:
    """Report components (of any type, at any depth) that reuse another component's ``id``.

    form-js finds components by id, so the second one would be edited, validated and shown as the first.
    """
    if not isinstance(comps, list) or depth > _MAX_DEPTH:
        return
    for comp in comps:
        if not isinstance(comp, dict):
            continue
        cid = comp.get("id")
        if isinstance(cid, str) and cid:
            if cid in seen:
                findings.append(Finding("FORM_DUPLICATE_COMPONENT_ID", f"组件 id {cid} 重复（{seen[cid]} 与 "
                                        f"{_label(comp)}）；每个组件须有不同的 id", cid))
            else:
                seen[cid] = _label(comp)
        _duplicate_ids(comp.get("components"), seen, findings, depth + 1)


def _label(comp: Mapping[str, Any]) -> str:
    what = comp.get("key") or comp.get("path") or comp.get("label")
    return f"{comp.get('type')} 组件" + (f" {what}" if isinstance(what, str) and what else "")


def _walk(comps: Any, path: tuple[str, ...], hidden: bool, out: list[FormField],
          findings: list[Finding], stored: bool = False) -> None:
    """Collect data fields from a component list, recursing into groups and dynamic lists.

    ``stored``: a deployed form being reloaded, not held to checks added since (unsafe patterns).
    """
    if not isinstance(comps, list) or path.count(LIST_MARK) + len(path) > _MAX_DEPTH:
        findings.append(Finding("FORM_BAD_COMPONENTS", "components 应为列表，且嵌套不能过深", ".".join(path) or None))
        return
    for comp in comps:
        comp = comp if isinstance(comp, dict) else {"type": f"（非对象：{type(comp).__name__}）"}
        ctype, where = comp.get("type"), comp.get("id") or comp.get("key")
        if ctype in LAYOUT_TYPES:
            continue
        if ctype not in VALUE_TYPES and ctype not in ("group", "dynamiclist"):
            findings.append(Finding("FORM_UNKNOWN_COMPONENT", f"不支持的组件类型：{ctype}", where))
            continue
        hide = hidden or bool(comp.get("conditional"))  # may be hidden in the browser, so never required
        segs = () if ctype == "group" and not comp.get("path") else _segments(
            comp.get("key") if ctype in VALUE_TYPES else comp.get("path"))
        if segs is None:
            findings.append(Finding("FORM_BAD_KEY", f"{ctype} 组件缺少有效的 key/path", where))
            continue
        if ctype == "group":
            _walk(comp.get("components"), path + segs, hide, out, findings, stored)
            continue
        rules, values, name = comp.get("validate") or {}, comp.get("values"), ".".join(segs)
        problems = _component_problems(comp, rules)
        findings += [Finding("FORM_BAD_VALIDATE", f"字段 {name} 的配置有误：{p}", where) for p in problems]
        if ctype in OPTION_TYPES and (not isinstance(values, list) or not values or not all(
                isinstance(v, dict) and _kind(v.get("value")) in ("str", "bool", "num") for v in values)):
            # Options bound at runtime (valuesKey/valuesExpression) cannot be checked on the server.
            findings.append(Finding("FORM_NO_OPTIONS", f"字段 {name} 须在表单中列出选项（values）", where))
            continue
        if problems:
            continue
        refused = None if stored else _new_pattern_problem(rules, name, where)
        if refused is not None:
            findings.append(refused)
            continue
        full = path + segs
        # A required component hidden only by its own condition is required whenever that condition shows it.
        hide_when = parse_hide((comp.get("conditional") or {}).get("hide")) if (
            not hidden and rules.get("required") is True and isinstance(comp.get("conditional"), dict)
            and LIST_MARK not in full and ctype != "dynamiclist") else None
        hide_text = (comp.get("conditional") or {}).get("hide") if isinstance(comp.get("conditional"), dict) else None
        if hide_when is None and not hidden and rules.get("required") is True and isinstance(hide_text, str) \
                and LIST_MARK not in full and ctype != "dynamiclist":
            # Deployed as is, the field would silently never be required; say so instead.
            message = (f"必填字段 {name} 的显示条件 {hide_text!r} 服务器无法判断，将永远不被强制填写："
                       "请写成 =字段 = \"值\" 或 =字段 != \"值\"，多个比较用 and/or 连接（FEEL 的相等是 =，不是 ==）")
            findings.append(Finding("FORM_HIDE_UNSUPPORTED", message, where))
        out.append(FormField(
            key=".".join(s for s in full if s != LIST_MARK), type=ctype, path=full, rules=rules,
            component_id=where,
            label=str(comp.get("label") or comp.get("dateLabel") or comp.get("timeLabel") or ""),
            required=rules.get("required") is True and not hide,
            readonly=comp.get("readonly") is True or comp.get("disabled") is True,
            options=tuple(v["value"] for v in values) if ctype in OPTION_TYPES else (),
            subtype=comp.get("subtype", "date") if ctype == "datetime" else None,
            decimal_digits=comp.get("decimalDigits") if ctype == "number" else None, hide=hide_when,
            disallow_passed=ctype == "datetime" and comp.get("disallowPassedDates") is True))
        if ctype == "dynamiclist":
            _walk(comp.get("components"), full + (LIST_MARK,), hide, out, findings, stored)


def _reject(code: str, message: str, element_id: str | None = None) -> DefinitionRejected:
    return DefinitionRejected(message, details={"findings": [Finding(code, message, element_id).to_dict()]})


def parse_form(data: bytes | str, *, expected_key: str | None = None,
               max_bytes: int = 1_000_000, stored: bool = False) -> FormDefinition:
    """Parse an untrusted form-js JSON document.

    Args:
        data: the ``.form`` file content (UTF-8 bytes or text).
        expected_key: when given, the form's ``id`` must equal it (e.g. the formKey a user task names).
        max_bytes: larger documents are refused before parsing.
        stored: the form of a version already deployed, being reloaded: not held to checks added after it
            was accepted (direction controls, text no database stores, unsafe patterns, repeated component
            ids), so every deployed version stays loadable.

    Returns:
        The :class:`FormDefinition`, with its validation schema built.

    Raises:
        DefinitionRejected: ``details["findings"]`` lists every problem found.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise _reject("FORM_TOO_LARGE", f"表单文件过大（{len(raw)} 字节，上限 {max_bytes}）")
    try:
        source = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_unique_keys,
                            parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _reject("FORM_NOT_JSON", _not_json(exc)) from None
    if not isinstance(source, dict):
        raise _reject("FORM_NOT_OBJECT", "表单文件应为 JSON 对象")
    bad = None if stored else unstorable_in(source)
    if bad is not None:
        # A "\u0000" or lone "\ud800" escape decodes, but no database stores it (engine.storable).
        where = f" {visible_text(bad.where)} 处" if bad.path else ""
        raise _reject("FORM_UNSTORABLE_TEXT", f"表单文件{where}{bad.message}")
    if not stored and BIDI_CONTROLS.search(json.dumps(source, ensure_ascii=False)):
        # Labels, options and descriptions are what applicants and reviewers read: they must read as stored.
        raise _reject("FORM_BIDI_TEXT", f"表单文件{BIDI_WHAT}，不予接受", source.get("id") if isinstance(
            source.get("id"), str) else None)
    key = source.get("id")
    if not isinstance(key, str) or not _FORM_ID.match(key):
        raise _reject("FORM_NO_ID", "表单缺少有效的 id（字母开头，仅含字母、数字、_ . -）")
    if expected_key is not None and key != expected_key:
        raise _reject("FORM_KEY_MISMATCH", f"表单 id 为 {key}，应为 {expected_key}", key)
    if not isinstance(source.get("components"), list):
        raise _reject("FORM_NO_COMPONENTS", f"表单 {key} 缺少 components 列表", key)
    found: list[FormField] = []
    findings: list[Finding] = []
    _walk(source["components"], (), False, found, findings, stored)
    findings += [_clash(f) for f in _build_tree(tuple(found))[1]]
    if not stored:
        _duplicate_ids(source["components"], {}, findings)
    if findings:
        raise DefinitionRejected(f"表单 {key} 有 {len(findings)} 处错误：{findings[0].message}",
                                 details={"findings": [f.to_dict() for f in findings]})
    canonical = json.dumps(source, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return FormDefinition(key, hashlib.sha256(canonical.encode("utf-8")).hexdigest(), source, tuple(found))


def load_forms(directory: pathlib.Path) -> dict[str, FormDefinition]:
    """Parse every ``*.form`` file directly inside ``directory`` (not recursive).

    Args:
        directory: the folder holding the form files.

    Returns:
        Forms keyed by their ``id``.

    Raises:
        DefinitionRejected: listing the problems of every bad file (prefixed with its name) and reused ids.
    """
    forms: dict[str, FormDefinition] = {}
    origin: dict[str, str] = {}
    findings: list[dict[str, Any]] = []
    for path in sorted(p for p in pathlib.Path(directory).glob("*.form") if p.is_file()):
        try:
            form = parse_form(path.read_bytes())
        except DefinitionRejected as exc:
            findings += [{**f, "message": f"{path.name}：{f['message']}"} for f in exc.details["findings"]]
            continue
        if form.key in forms:
            message = f"{path.name}：表单 id {form.key} 与 {origin[form.key]} 重复"
            findings.append(Finding("FORM_DUPLICATE_ID", message, form.key).to_dict())
            continue
        forms[form.key], origin[form.key] = form, path.name
    if findings:
        raise DefinitionRejected(f"表单目录有 {len(findings)} 处错误：{findings[0]['message']}",
                                 details={"findings": findings})
    return forms
