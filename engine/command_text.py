"""The storable-text rule (:mod:`engine.storable`) applied to every command before its handler runs.

Commands reach :meth:`engine.bootstrap.Engine.handle` from the API, but also from the CLI, the worker, dry
runs, replay and Python callers, none of which passed the API's JSON guard. :func:`check_command_text` walks
a command's fields (strings, and strings nested in dicts, lists and the dataclasses a command holds: its
:class:`~engine.commands.Actor`, a :class:`~engine.commands.Party`, each
:class:`~engine.commands.MaterialInput`) and refuses the first text no database stores, before anything
is read or written. Bytes and file objects (uploads, definition files) are not text and are not walked.

A field whose handler refuses such text itself, first and more precisely, is left to it
(:data:`HANDLER_CHECKED`): form data keeps ``FORM_INVALID``, an application's form ``APPLICATION_INVALID``
with ``form.<key>``, a StartCase its labelled ``details.fields``, a definition file name its lint finding.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .commands import ApplyOnline, Command, CompleteTask, DeployDefinitions, LintDefinitions, ReceiveApplication, \
    StartCase
from .storable import Unstorable, refusal, unstorable, unstorable_in

HANDLER_CHECKED: dict[type[Command], frozenset[str]] = {
    # engine.case_start.check_start_text (labelled details.fields) and check_variables, before any query.
    StartCase: frozenset({"process_key", "title", "business_key", "matter_code", "owning_district",
                          "receiving_district", "data"}),
    # The task's form (FORM_INVALID naming the form field) or, without one, check_variables (INVALID_INPUT).
    CompleteTask: frozenset({"data"}),
    # check_variables inside intake's own refusal: APPLICATION_INVALID naming ``form.<key>``.
    ReceiveApplication: frozenset({"form"}),
    ApplyOnline: frozenset({"form"}),
    # File names: lint's FILE_NAME_UNSAFE finding (DEFINITION_REJECTED on deploy); contents are bytes.
    DeployDefinitions: frozenset({"bpmn_files", "form_files"}),
    LintDefinitions: frozenset({"bpmn_files", "form_files"}),
}
"""Per command type, the fields its handler checks for unstorable text itself before anything is written."""

_NAMES: dict[type, tuple[str, ...]] = {}
_NONE: frozenset[str] = frozenset()
_SCALARS = frozenset({int, bool, float, type(None), bytes})


def check_command_text(command: Command) -> None:
    """Refuse ``command`` when one of its fields holds text no database stores (U+0000, a lone surrogate).

    Raises:
        InvalidInput: ``INVALID_INPUT`` with a Chinese message naming the field by its dotted path
            (``reason``, ``applicant.name``, ``materials.0.filename``) and ``details`` ``field``, ``reason``
            (``nul`` or ``unicode``) and ``fields`` (the path and the message, as other field errors).
    """
    found = unstorable_field(command)
    if found is not None:
        raise refusal(found)


def unstorable_field(command: Command) -> Unstorable | None:
    """The first unstorable text in ``command``'s fields (less :data:`HANDLER_CHECKED`), its path from the command."""
    skip = HANDLER_CHECKED.get(type(command), _NONE)
    for name in _field_names(type(command)):
        if name not in skip:
            found = _first(getattr(command, name))
            if found is not None:
                return Unstorable(found.reason, found.message, (name, *found.path))
    return None


def _first(value: Any) -> Unstorable | None:
    """The first unstorable text in one value, with its path below it.

    The path is built only for what is found: the check runs on every command, so a clean one must cost next
    to nothing (about 3 µs for a CompleteTask).
    """
    if isinstance(value, str):   # most fields: a reason, a name
        return unstorable(value)
    if type(value) in _SCALARS:   # ids, flags: before the isinstance tests below (Mapping's is slow)
        return None
    if hasattr(type(value), "__dataclass_fields__"):   # Actor, Party, MaterialInput
        for name in _field_names(type(value)):
            found = _first(getattr(value, name))
            if found is not None:
                return Unstorable(found.reason, found.message, (name, *found.path))
        return None
    if isinstance(value, (list, tuple)):
        if not any(hasattr(type(item), "__dataclass_fields__") for item in value):
            return unstorable_in(value)   # iterative, however deep
        for index, item in enumerate(value):   # materials: MaterialInput each
            found = _first(item)
            if found is not None:
                return Unstorable(found.reason, found.message, (index, *found.path))
        return None
    if isinstance(value, Mapping):
        return unstorable_in(value if isinstance(value, dict) else dict(value))
    return None   # numbers, booleans, None, bytes, file objects


def _field_names(kind: type) -> tuple[str, ...]:
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(kind))
    return names
