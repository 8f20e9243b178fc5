"""A parsed form-js form: its data fields (:class:`FormField`) and checking a submission (:class:`FormDefinition`).

:func:`engine.forms.parse_form` builds these from an untrusted ``.form`` file; a :class:`FormDefinition` builds
its marshmallow schema once (:mod:`engine.form_schema`) and checks every submission with it, then checks the
fields a ``conditional.hide`` makes required only while it shows them (:mod:`engine.form_conditions`). Pure
module: stdlib and marshmallow only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from marshmallow import Schema, ValidationError

from .definitions import Finding
from .errors import DefinitionRejected, FormInvalid
from .form_conditions import HideCondition
from .form_dates import TODAY
from .form_schema import REQUIRED, _build_tree, _flatten, _schema_for
from .form_patterns import pattern_budget
from .storable import unstorable_in, visible_text
from .text_input import written


@dataclass(frozen=True)
class FormField:
    """One data-carrying component of a form.

    Attributes:
        key: dotted data path, e.g. ``address.city``; a dynamic list ``items`` has children ``items.name``.
        type: form-js component type (``textfield``, ``number``, ``select``, ``dynamiclist`` ...).
        label: the label shown to the user.
        required: the value must always be present; False whenever a ``conditional`` may hide the component.
        path: key segments with ``"[]"`` after a dynamic list, e.g. ``("items", "[]", "name")``.
        readonly: ``readonly``/``disabled`` components are display-only; submitting them is refused.
        options: allowed values of select/radio/checklist/taglist, exactly as typed in the form.
        subtype: ``date``/``time``/``datetime`` for datetime components.
        decimal_digits: ``decimalDigits`` of a number (0 means integer).
        rules: the component's ``validate`` object.
        component_id: the form-js component id, to point the designer at it.
        hide: for a required component with a ``conditional.hide`` the server understands (see
            :mod:`engine.form_conditions`): it is required whenever this condition does not hide it.
        disallow_passed: form-js ``disallowPassedDates`` of a date field: no day before today. With
            ``rules["minDate"]``/``rules["maxDate"]`` (``YYYY-MM-DD``, ``today``, ``today+N``, ``today-N``)
            these bound a date, checked against the business date given to :meth:`FormDefinition.validate`.
    """

    key: str
    type: str
    label: str
    required: bool
    path: tuple[str, ...] = ()
    readonly: bool = False
    options: tuple[Any, ...] = ()
    subtype: str | None = None
    decimal_digits: int | None = None
    rules: Mapping[str, Any] = field(default_factory=dict, compare=False)
    component_id: str | None = None
    hide: HideCondition | None = field(default=None, compare=False)
    disallow_passed: bool = False


def _clash(f: FormField) -> Finding:
    return Finding("FORM_DUPLICATE_KEY", f"字段 {f.key} 与其他字段的数据路径重复或冲突", f.component_id or f.key)


@dataclass(frozen=True)
class FormDefinition:
    """A parsed form: its key (the BPMN formKey), a content hash, the source JSON and its data fields.

    Attributes:
        key: the form's ``id``; user tasks name it in ``formKey``/``formRef``.
        content_hash: sha256 hex of the canonical JSON, to tell deployed versions apart.
        source: the parsed JSON, as handed to the browser for rendering.
        fields: every data-carrying component in document order (a dynamic list before its children).
    """

    key: str
    content_hash: str
    source: dict = field(compare=False, repr=False)
    fields: tuple[FormField, ...] = ()
    _schema: Schema = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        root, clashes = _build_tree(self.fields)
        if clashes:
            raise DefinitionRejected(f"表单 {self.key} 字段路径冲突：{clashes[0].key}",
                                     details={"findings": [_clash(f).to_dict() for f in clashes]})
        object.__setattr__(self, "_schema", _schema_for(root))

    def validate(self, data: Mapping[str, Any], *, partial: bool = False, today: date | None = None) -> dict[str, Any]:
        """Check a submission and return the cleaned data.

        Its ``validate.pattern`` checks share a time budget (:func:`~engine.form_patterns.pattern_budget`): a
        value not checked in time is a field error, so a crafted value never holds the caller's lock for long.

        Args:
            data: the submitted JSON object.
            partial: when True, required fields may be missing (a draft); present values are still checked.
            today: the business date (Beijing) the submission is made on; date bounds counted from today
                (``disallowPassedDates``, ``minDate``/``maxDate`` of ``today±N``) are checked only when given.

        Returns:
            JSON-native data (dates stay ISO strings); optional fields missing or null are absent.

        Raises:
            FormInvalid: listing every bad field in ``details["fields"]`` (dotted path -> Chinese messages).
        """
        found: dict[str, list[str]] = {}
        token = TODAY.set(today)
        try:
            with pattern_budget():
                cleaned = self._schema.load(data, partial=partial)
        except ValidationError as exc:
            found = _flatten(exc.messages, "", {})
        finally:
            TODAY.reset(token)
        if isinstance(data, Mapping):
            _unstorable_fields(data, found)
        if not partial and isinstance(data, Mapping):
            for f in self.fields:
                if f.hide is not None and f.key not in found and not f.hide.hides(data) \
                        and _blank(_value_at(data, f.path)):
                    found[f.key] = [REQUIRED]
        if found:
            raise FormInvalid(f"表单数据有误（共 {len(found)} 处）", details={"fields": found})
        return cleaned


def _unstorable_fields(data: Mapping[str, Any], found: dict[str, list[str]]) -> None:
    """Add to ``found`` each top-level field whose value holds text no database stores (:mod:`engine.storable`).

    The schema takes such text (a textarea value is any string); PostgreSQL would then refuse the NUL, and
    a lone surrogate fails hashing the audit event. Named by its dotted path (``items.0.name``).
    """
    for key, value in data.items():
        bad = unstorable_in({key: value})
        if bad is not None:
            found.setdefault(visible_text(bad.where), []).append(bad.message)


def _value_at(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for segment in path:
        value = value.get(segment) if isinstance(value, Mapping) else None
    return value


def _blank(value: Any) -> bool:
    """Missing for a required field: null, text with nothing visible, an empty list or an unticked checkbox.

    Text of only blanks or invisible characters (zero-width spaces, direction marks: :func:`~.text_input.written`)
    is blank, as the clock, 退回 and 转办 reasons treat it: a required 审查意见 of two U+200B recorded nothing.
    """
    return value is None or value is False or value == [] or isinstance(value, str) and not written(value)
