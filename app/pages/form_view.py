"""Render a form-js form as plain HTML inputs and turn a posted HTML form back into the form's JSON data.

The server-side form works without JavaScript; the engine validates the JSON exactly as for the API, and
its per-field errors are shown next to the inputs. Field names are the dotted data paths (``address.city``);
inside a dynamic list they carry the row number (``missing_items.0.item_name``). Without JavaScript rows
cannot be added, so a list shows its filled rows plus :data:`SPARE_ROWS` empty ones; empty rows are dropped.

The same items put submitted data into words where it is shown again (the history pages): each key under
its field's label, option values as their option labels (:func:`fields_of`, :func:`described`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from werkzeug.datastructures import MultiDict

from engine import date_limits

INPUT_TYPES = {"textfield": "text", "number": "number"}
DATE_INPUTS = {"date": "date", "time": "time", "datetime": "datetime-local"}
SPARE_ROWS = 3
"""Empty rows offered below the filled rows of a dynamic list (at least ``defaultRepetitions`` rows)."""
DENSE_ROWS = 100
"""Rows of a dynamic list built one after another; beyond, only rows that hold a value or an error."""
_ROW = re.compile(r"^(\d+)\.")
_STEP_DIGITS = 15
"""The most decimal digits a number input's step spells out: a double holds 15 significant ones."""


@dataclass
class Item:
    """One thing to show: a data field, a heading or text, a separator, or a group of items."""

    kind: str
    key: str = ""
    label: str = ""
    description: str = ""
    required: bool = False
    readonly: bool = False
    input_type: str = "text"
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    rules: Mapping[str, Any] = field(default_factory=dict)
    step: str | None = None
    children: list["Item"] = field(default_factory=list)
    disallow_passed: bool = False

    @property
    def dom_id(self) -> str:
        """An HTML id for the field's input."""
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)


def build(source: Mapping[str, Any], values: Mapping[str, Any] | None = None,
          errors: Mapping[str, list[str]] | None = None, *, today: date | None = None) -> list[Item]:
    """Return the items to render for ``source``, filled with ``values`` and ``errors`` (dotted keys).

    ``today`` (the business date) gives date inputs the ``min``/``max`` of their bounds (``disallowPassedDates``,
    ``validate.minDate``/``maxDate``), so the browser's picker offers only days the engine accepts.
    """
    items = _items(source.get("components") or [], "", values or {}, errors or {})
    if today is not None:
        for item in leaves(items):
            if item.input_type == "date":
                low, high = date_limits(item.disallow_passed, item.rules, today)
                item.rules = {**item.rules, **({"min": low.isoformat()} if low else {}),
                              **({"max": high.isoformat()} if high else {})}
    return items


def _items(components: list[Any], prefix: str, values: Mapping[str, Any],
           errors: Mapping[str, list[str]]) -> list[Item]:
    out: list[Item] = []
    for comp in components:
        if not isinstance(comp, dict):
            continue
        ctype = comp.get("type")
        if ctype == "text":
            out.append(Item("text", label=_plain(str(comp.get("text") or ""))))
        elif ctype == "separator":
            out.append(Item("separator"))
        elif ctype == "group":
            path = f"{prefix}{comp['path']}." if comp.get("path") else prefix
            out.append(Item("group", label=str(comp.get("label") or ""),
                            children=_items(comp.get("components") or [], path, values, errors)))
        elif ctype == "dynamiclist" and comp.get("path"):
            out.append(_list(comp, prefix + str(comp["path"]), values, errors))
        elif ctype in ("textfield", "number", "textarea", "select", "radio", "checkbox", "checklist",
                       "taglist", "datetime") and comp.get("key"):
            out.append(_field(comp, prefix + str(comp["key"]), values, errors))
    return out


def _list(comp: Mapping[str, Any], key: str, values: Mapping[str, Any],
          errors: Mapping[str, list[str]]) -> Item:
    """A dynamic list: its label, required mark and errors, and one group of fields per row."""
    filled = {int(m.group(1)) for k in list(values) + list(errors) if k.startswith(key + ".")
              for m in [_ROW.match(k[len(key) + 1:])] if m}
    default = comp.get("defaultRepetitions")
    wanted = default if isinstance(default, int) else 1
    # Every row up to the last one posted or filled, then spare ones; but a posted row number is a name, not a
    # count of rows to build (``items.100000.x`` took seconds of processor time per request): past
    # :data:`DENSE_ROWS` only the rows that hold something are built.
    posted = sorted(set(range(min(max(filled, default=-1) + 1, DENSE_ROWS))) | filled)
    after = posted[-1] + 1 if posted else 0
    rows = posted + list(range(after, after + max(SPARE_ROWS, wanted - len(posted))))
    label = str(comp.get("label") or key)
    children = [Item("group", label=f"第 {n} 项",
                     children=_items(comp.get("components") or [], f"{key}.{i}.", values, errors))
                for n, i in enumerate(rows, start=1)]
    return Item("list", key=key, label=label, description=str(comp.get("description") or ""),
                required=(comp.get("validate") or {}).get("required") is True,
                errors=list(errors.get(key, [])), children=children)


def _field(comp: Mapping[str, Any], key: str, values: Mapping[str, Any],
           errors: Mapping[str, list[str]]) -> Item:
    rules = comp.get("validate") or {}
    ctype = comp["type"]
    kind = {"taglist": "checklist"}.get(ctype, ctype)
    value = values.get(key, comp.get("defaultValue"))
    item = Item(kind, key=key, label=str(comp.get("label") or comp.get("dateLabel") or comp.get("timeLabel") or key),
                description=str(comp.get("description") or ""), required=rules.get("required") is True,
                readonly=comp.get("readonly") is True or comp.get("disabled") is True,
                options=[(_text(v.get("value")), str(v.get("label", v.get("value"))))
                         for v in comp.get("values") or [] if isinstance(v, dict)],
                value=value, errors=list(errors.get(key, [])), rules=rules)
    if ctype in INPUT_TYPES:
        item.input_type = INPUT_TYPES[ctype]
    if ctype == "datetime":
        item.input_type = DATE_INPUTS.get(comp.get("subtype", "date"), "date")
        item.disallow_passed = comp.get("disallowPassedDates") is True
    if ctype == "number":
        item.step = _step(comp.get("decimalDigits"), comp.get("increment"))
    return item


def _step(digits: Any, increment: Any) -> str:
    """The number input's ``step``: the form's increment, else one unit of the last decimal digit.

    ``decimalDigits`` is any non-negative integer a designer wrote: finer than a double tells apart (15 digits),
    or beyond what a float holds at all, the input takes ``any`` step and the engine still counts the decimals.
    """
    if digits is None:
        return "any"
    if increment:
        return str(increment)
    if not digits:
        return "1"
    return f"{10 ** -digits:.{digits}f}" if digits <= _STEP_DIGITS else "any"


def leaves(items: list[Item]) -> list[Item]:
    """Every data field of ``items`` (groups opened), and each dynamic list itself before its rows' fields."""
    found: list[Item] = []
    for item in items:
        if item.kind == "list":
            found += [item] + leaves(item.children)    # the list's own errors, and each row's fields
        else:
            found += leaves(item.children) if item.kind == "group" else [item] if item.key else []
    return found


def fields_of(sources: Iterable[Mapping[str, Any]]) -> dict[str, Item]:
    """Every data field of the form-js forms ``sources`` by its key; a key in several forms: the first form's."""
    found: dict[str, Item] = {}
    for source in sources:
        for item in leaves(build(source)):
            found.setdefault(item.key, item)
    return found


@dataclass(frozen=True)
class Entry:
    """One submitted value in words: the data key, its field's label and the value (option values as labels)."""

    key: str
    label: str
    value: Any


def described(data: Mapping[str, Any] | None, fields: Mapping[str, Item]) -> list[Entry]:
    """Put ``data`` into words with the form ``fields`` (see :func:`fields_of`), in the order of the keys.

    A key no field names keeps its key and value as they are.
    """
    entries = []
    for key in sorted(data or {}, key=lambda k: (str(k).lower(), str(k))):
        value, item = (data or {})[key], fields.get(key)
        entries.append(Entry(key, item.label, _worded(item, value)) if item else Entry(key, key, value))
    return entries


def _worded(item: Item, value: Any) -> Any:
    options = dict(item.options)
    if not options or isinstance(value, (dict, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [options.get(_text(v), v) if not isinstance(v, (dict, list)) else v for v in value]
    return options.get(_text(value), value)


def mark_collected(items: list[Item], collected: Mapping[str, Any]) -> None:
    """Show the fields a 一件事 bundle already collected as read-only, filled in and marked 已收取.

    The engine fills these values in itself when the task is completed, so the person is never asked for
    them again (and :func:`parse` leaves read-only fields out of the posted data).
    """
    for item in _walk(items):
        if item.key in collected:
            item.value, item.readonly, item.required = collected[item.key], True, False
            item.description = "已由一件事申报收取，无需重复提交"


def nested(items: list[Item], prefix: str, leave_out: Iterable[str] = ()) -> list[Item]:
    """Return ``items`` with their keys under ``prefix``, for a form shown inside another page's form.

    The fields ``leave_out`` names (unprefixed keys) are dropped, and a group left without fields with them;
    e.g. 网上申报 shows a 一件事's 一表申报 form as ``form.company_name`` ... without the fields intake fills.
    """
    skip, kept = set(leave_out), []
    for item in items:
        if item.kind in ("group", "list"):
            item.children = nested(item.children, prefix, skip)
            if item.kind == "group" and not any(c.kind not in ("text", "separator") for c in item.children):
                continue
        elif item.key in skip:
            continue
        if item.key:
            item.key = prefix + item.key
        kept.append(item)
    return kept


def under(form: Mapping[str, Any], prefix: str) -> MultiDict:
    """The posted fields named ``<prefix><key>``, as ``<key>`` (to :func:`build` or :func:`parse` them)."""
    pairs = form.items(multi=True) if isinstance(form, MultiDict) else form.items()
    return MultiDict([(key[len(prefix):], value) for key, value in pairs if key.startswith(prefix)])


def parse(source: Mapping[str, Any], form: MultiDict,
          collected: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Turn posted fields into (nested JSON data for the engine, flat dotted values to refill the form).

    Empty inputs are left out so that the engine reports required fields as missing; numbers and option
    values are converted back to the types the form declares, and anything unconvertible is passed on as
    text for the engine to reject with its own message.
    """
    data: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    items = build(source, _posted_rows(form))
    for item in _walk(items):
        if item.readonly or item.key in (collected or {}):
            continue
        value = _read(item, form, _options(source, item.key))
        if value is None:
            continue
        flat[item.key] = value
        target = data
        *parents, last = item.key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    for item in _lists(items):
        _rows_to_list(data, flat, item.key)
    return data, flat


def _posted_rows(form: MultiDict) -> dict[str, Any]:
    # Enough to build as many rows as were posted (their values are read from the form itself).
    return {key: "" for key in form if any(part.isdigit() for part in key.split("."))}


def _lists(items: list[Item]) -> list[Item]:
    found: list[Item] = []
    for item in items:
        found += ([item] if item.kind == "list" else []) + _lists(item.children)
    return found


def _rows_to_list(data: dict[str, Any], flat: dict[str, Any], key: str) -> None:
    """Turn ``{"0": {...}, "2": {...}}`` under ``key`` into a list of the non-empty rows, renumbering ``flat``."""
    *parents, last = key.split(".")
    target: Any = data
    for part in parents:
        target = target.get(part) if isinstance(target, dict) else None
    rows = target.get(last) if isinstance(target, dict) else None
    if not isinstance(rows, dict):
        return
    kept = [(index, row) for index, row in sorted(rows.items(), key=lambda kv: int(kv[0]))
            if any(v not in (None, False, "", [], {}) for v in row.values())]
    target[last] = [row for _i, row in kept]
    if not kept:
        del target[last]
    renumber = {old: str(new) for new, (old, _row) in enumerate(kept)}
    for flat_key in [k for k in flat if k.startswith(key + ".")]:
        index, _, rest = flat_key[len(key) + 1:].partition(".")
        value = flat.pop(flat_key)
        if index in renumber:
            flat[f"{key}.{renumber[index]}.{rest}"] = value


def _walk(items: list[Item]) -> list[Item]:
    found: list[Item] = []
    for item in items:
        if item.kind in ("group", "list"):
            found += _walk(item.children)
        elif item.key:
            found.append(item)
    return found


def _read(item: Item, form: MultiDict, options: dict[str, Any]) -> Any:
    if item.kind == "checkbox":
        # The page's box sends "true" when ticked and nothing when not; any other value was not sent by it and
        # stays text, which the form check refuses (应为布尔值) as the API does.
        sent = form.getlist(item.key)
        if sent in ([], ["true"]):
            return sent == ["true"]
        return sent[0] if len(sent) == 1 else sent
    if item.kind == "checklist":
        chosen = form.getlist(item.key)
        return [options.get(v, v) for v in chosen] if chosen else None
    raw = (form.get(item.key) or "").strip()
    if raw == "":
        return None
    if item.kind in ("select", "radio"):
        return options.get(raw, raw)
    if item.kind == "number":
        # Only what a number input sends: Python's float() would also take "1_000", full-width "１２", "nan"
        # and "inf". Anything else stays text, which the form check refuses as 应为数字.
        if not _NUMBER.fullmatch(raw):
            return raw
        number = float(raw)
        if not math.isfinite(number):
            return raw
        if "." in raw:
            return number
        # An integer keeps every digit it was typed with (float() rounds past 2**53); 1e3 is 1000, 1e-3 0.001.
        exact = Decimal(raw)
        return int(exact) if exact == exact.to_integral_value() else number
    return raw


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _options(source: Mapping[str, Any], key: str) -> dict[str, Any]:
    def find(components: list[Any], prefix: str) -> dict[str, Any] | None:
        for comp in components:
            if not isinstance(comp, dict):
                continue
            if comp.get("type") == "group":
                path = f"{prefix}{comp['path']}." if comp.get("path") else prefix
                hit = find(comp.get("components") or [], path)
                if hit is not None:
                    return hit
            elif prefix + str(comp.get("key")) == key:
                return {_text(v.get("value")): v.get("value") for v in comp.get("values") or []
                        if isinstance(v, dict)}
        return None
    return find(source.get("components") or [], "") or {}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain(markdown: str) -> str:
    """Strip the little markdown form designers use in text components (headings, emphasis)."""
    return re.sub(r"[#*_`]+\s?", "", markdown).strip()
