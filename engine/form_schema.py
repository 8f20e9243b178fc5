"""Marshmallow side of form-js forms: turn a form's data fields into the schema that checks submissions.

:class:`engine.form_definition.FormDefinition` builds its schema here once per form. This module owns:

* arranging fields into nested scopes by data path (:func:`_build_tree`, which also finds clashing paths);
* the marshmallow fields, validators and messages that mirror form-js rules, strict about JSON types
  (:func:`_schema_for`), and flattening marshmallow's nested errors to dotted paths (:func:`_flatten`);
* the value formats (phone, date/time) and type helpers the parser in :mod:`engine.forms` reuses.

It never imports :mod:`engine.forms` or :mod:`engine.form_definition` at runtime (both import this one): fields
are read by attribute, and :class:`~engine.form_definition.FormField` appears only in annotations. Pure module:
stdlib and marshmallow, with ``validate.pattern`` run by :mod:`engine.form_patterns` in bounded time. Shared
helpers keep their leading underscore; :mod:`engine.forms` re-exports the public constants.
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate as mv

from .form_dates import date_range
from .form_patterns import deploy_problem, pattern_check
from .text_input import written

if TYPE_CHECKING:   # annotations only: engine.form_definition imports this module
    from .form_definition import FormField

LIST_MARK = "[]"
"""Path segment meaning "inside each item of the dynamic list named just before".

See :attr:`engine.form_definition.FormField.path`.
"""
REQUIRED = "必填项"
"""Message for a required value that is missing, null, blank, an empty list or an unticked checkbox."""
READONLY = "只读字段，不能提交"
"""Message for a submitted value of a read-only or disabled component."""
OUT_OF_RANGE = "数值超出可处理的范围"
"""Message for a number field's integer beyond what a double holds (about 1.8 × 10^308)."""

# Mainland mobile (optionally +86) or landline with area code and optional extension.
_PHONE = re.compile(r"^(?:(?:\+?86[- ]?)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)\Z", re.ASCII)
_FORMATS: dict[str, tuple[re.Pattern[str], Callable[[str], Any], str]] = {
    "date": (re.compile(r"^\d{4}-\d{2}-\d{2}\Z"), date.fromisoformat, "日期格式应为 YYYY-MM-DD"),
    "time": (re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d(?:Z|[+-]\d{2}:\d{2})?\Z"), str, "时间格式应为 HH:MM"),
    "datetime": (re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})\Z"),
                 datetime.fromisoformat, "日期时间格式应为 YYYY-MM-DDTHH:MM+08:00"),
}


@dataclass
class _List:
    """A dynamic list in the scope tree: the list's own field and the scope its item fields live in."""

    field: FormField
    scope: dict[str, Any]


def _kind(x: Any) -> str:
    """The JSON type of ``x`` (``bool``, ``num`` or the Python type name): Python says True == 1, JSON not."""
    return "bool" if isinstance(x, bool) else "num" if isinstance(x, (int, float)) else type(x).__name__


def _is_num(x: Any) -> bool:
    """A JSON number a browser can hold: no bool (Python's bool is an int), NaN or Infinity (not JSON).

    An int is always finite but may exceed what a double holds (form-js reads numbers as doubles); comparing
    it with a float is exact in Python, so no float conversion (and no ``OverflowError``) happens here.
    """
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return _in_double_range(x)
    return isinstance(x, float) and math.isfinite(x)


def _in_double_range(x: int) -> bool:
    return -sys.float_info.max <= x <= sys.float_info.max


class _Number(fields.Field):
    """A real JSON number: no booleans, numeric strings or NaN; an int when ``decimalDigits`` is 0."""

    def __init__(self, digits: int | None, **kw: Any):
        super().__init__(**kw)
        self.digits = digits

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> int | float:
        if isinstance(value, int) and not isinstance(value, bool) and not _in_double_range(value):
            raise ValidationError(OUT_OF_RANGE)
        if not _is_num(value):
            raise self.make_error("invalid")
        if self.digits == 0:
            if isinstance(value, float) and not value.is_integer():
                raise ValidationError("应为整数")
            return int(value)
        exponent = Decimal(repr(value)).as_tuple().exponent if isinstance(value, float) else 0
        if self.digits is not None and isinstance(exponent, int) and exponent < -self.digits:
            raise ValidationError(f"小数位数不能超过 {self.digits} 位")
        return value


class _Bool(fields.Field):
    """Only JSON ``true``/``false``: marshmallow's Boolean also takes ``"true"``, ``1`` and ``"on"``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class _BaseSchema(Schema):
    error_messages = {"unknown": "未知字段", "type": "应为对象"}
    _groups: tuple[str, ...] = ()

    @pre_load
    def _open_groups(self, data: Any, **kw: Any) -> Any:
        # An absent group object must still report its required children ("address.city": 必填项).
        if isinstance(data, Mapping) and any(data.get(g) is None for g in self._groups):
            data = {**data, **{g: {} for g in self._groups if data.get(g) is None}}
        return data

    @post_load
    def _drop_empty(self, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
        # form-js sends null for cleared inputs: treat it like a missing key, and drop groups left empty.
        return {k: v for k, v in data.items() if v is not None and not (k in self._groups and v == {})}


def _check(test: Callable[[Any], bool], message: str) -> Callable[[Any], None]:
    def run(value: Any) -> None:
        if not test(value):
            raise ValidationError(message)
    return run


def _well_formed(subtype: str) -> Callable[[str], bool]:
    rx, parse, _ = _FORMATS[subtype]

    def ok(value: str) -> bool:
        try:
            return rx.match(value) is not None and parse(value) is not None
        except ValueError:  # matches the shape but is no real date, e.g. 2023-02-29
            return False
    return ok


def _validators(f: FormField) -> list[Callable[[Any], Any]]:
    r, out = f.rules, []
    if f.type in ("textfield", "textarea"):
        out += [_check(written, REQUIRED)] if f.required else []
        out += [mv.Length(min=r["minLength"], error="长度不能少于 {min}")] if r.get("minLength") is not None else []
        out += [mv.Length(max=r["maxLength"], error="长度不能超过 {max}")] if r.get("maxLength") is not None else []
        # A pattern deploy would refuse today comes from a form deployed before the check: it still loads, and
        # its pattern is left to the browser.
        vetted = r.get("pattern") and deploy_problem(r["pattern"]) is None
        check = pattern_check(r["pattern"], r.get("maxLength")) if vetted else None
        out += [check] if check is not None else []
        if r.get("validationType") == "email":
            out.append(mv.Email(error="邮箱格式不正确"))
        elif r.get("validationType") == "phone":
            out.append(_check(lambda v: _PHONE.match(v) is not None, "电话号码格式不正确"))
    elif f.type == "number":
        out += [mv.Range(min=r["min"], error="不能小于 {min}")] if r.get("min") is not None else []
        out += [mv.Range(max=r["max"], error="不能大于 {max}")] if r.get("max") is not None else []
    elif f.type == "checkbox" and f.required:
        out.append(_check(lambda v: v is True, REQUIRED))  # form-js: a required checkbox must be ticked
    elif f.type in ("checklist", "taglist") and f.required:
        out.append(_check(bool, REQUIRED))
    elif f.type == "datetime":
        out.append(_check(_well_formed(f.subtype or "date"), _FORMATS[f.subtype or "date"][2]))
        bounds = date_range(f, _well_formed(f.subtype or "date"))
        out += [bounds] if bounds is not None else []
    return out


def _marshmallow_field(f: FormField, name: str) -> fields.Field:
    if f.readonly:
        # The value comes from the process, not the submitter: any submitted value (even null) is refused.
        return fields.Raw(data_key=name, attribute=name, validate=[_check(lambda v: False, READONLY)],
                          error_messages={"null": READONLY})
    kw: dict[str, Any] = {"data_key": name, "attribute": name, "required": f.required,
                          "allow_none": not f.required, "validate": _validators(f)}
    msgs = {"required": REQUIRED, "null": REQUIRED, "invalid": "应为文本"}
    if f.type == "number":
        return _Number(f.decimal_digits, error_messages={**msgs, "invalid": "应为数字"}, **kw)
    if f.type == "checkbox":
        return _Bool(error_messages={**msgs, "invalid": "应为布尔值（true/false）"}, **kw)
    # Option values compare by JSON type too: Python alone says True == 1 and 1 == 1.0.
    one_of = _check(lambda v: any(_kind(v) == _kind(o) and v == o for o in f.options), "不是允许的选项")
    if f.type in ("select", "radio"):
        return fields.Raw(error_messages=msgs, **{**kw, "validate": [one_of]})
    if f.type in ("checklist", "taglist"):
        return fields.List(fields.Raw(validate=[one_of]), error_messages={**msgs, "invalid": "应为列表"}, **kw)
    return fields.String(error_messages=msgs, **kw)


def _build_tree(form_fields: tuple[FormField, ...]) -> tuple[dict[str, Any], list[FormField]]:
    """Arrange fields into nested scopes by path; return the root scope and the fields whose path clashes."""
    root: dict[str, Any] = {}
    clashes = []
    for f in form_fields:
        node: Any = root
        for seg, nxt_seg in zip(f.path[:-1], f.path[1:]):
            if seg == LIST_MARK:
                continue
            into_list = nxt_seg == LIST_MARK
            child = node.setdefault(seg, {}) if not into_list else node.get(seg)
            node = child.scope if into_list and isinstance(child, _List) else child
            if not isinstance(node, dict) or (into_list != isinstance(child, _List)):
                break
        else:
            if f.path[-1] not in node:
                node[f.path[-1]] = _List(f, {}) if f.type == "dynamiclist" else f
                continue
        clashes.append(f)
    return root, clashes


def _schema_for(scope: dict[str, Any]) -> Schema:
    # Attribute names f0, f1 ... so that a form key like "load" or "fields" cannot shadow Schema methods.
    declared: dict[str, fields.Field] = {}
    groups = []
    for i, (name, item) in enumerate(scope.items()):
        keys: dict[str, Any] = {"data_key": name, "attribute": name, "allow_none": True}
        # A scope holds only what _build_tree puts there: _List, dict (a group) or a FormField.
        if isinstance(item, _List):
            # A required dynamic list needs at least one item (e.g. every item of a one-time 补正 notice).
            needed = item.field.required
            declared[f"f{i}"] = fields.List(fields.Nested(_schema_for(item.scope)), **{
                **keys, "required": needed, "allow_none": not needed,
                "validate": [_check(bool, REQUIRED)] if needed else [],
                "error_messages": {"invalid": "应为列表", "required": REQUIRED, "null": REQUIRED}})
        elif isinstance(item, dict):
            groups.append(name)
            declared[f"f{i}"] = fields.Nested(_schema_for(item), **keys)
        else:
            declared[f"f{i}"] = _marshmallow_field(item, name)
    schema = _BaseSchema.from_dict(declared, name="FormSchema")
    schema._groups = tuple(groups)
    return schema()


def _flatten(errors: Any, prefix: str, out: dict[str, list[str]]) -> dict[str, list[str]]:
    """Flatten marshmallow's nested errors to ``{"items.0.name": [...]}``; ``_schema`` is the parent's."""
    if isinstance(errors, dict):
        for k, v in errors.items():
            _flatten(v, prefix if k == "_schema" else f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, (dict, list)):
                _flatten(item, prefix, out)
            else:
                out.setdefault(prefix or "_form", []).append(str(item))
    return out
