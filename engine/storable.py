r"""Text a database can store: the one rule every way into the engine applies to the text it will keep.

Two kinds of character reach Python strings but no database: U+0000, which PostgreSQL refuses in ``text`` and
``jsonb`` (SQLite would store it, so the two databases would disagree), and a lone UTF-16 surrogate
(U+D800–U+DFFF on its own), which a JSON ``"\ud800"`` or YAML ``"\ud800"`` escape decodes to and which cannot
be encoded as UTF-8 at all (hashing, storing or answering it raises ``UnicodeEncodeError``).

Each way in refuses such text with its own error: the API's text guard and JSON bodies (400 ``BAD_REQUEST``),
form and YAML definition files (``DEFINITION_REJECTED`` with a finding), process variables and form data
(``INVALID_INPUT`` / ``FORM_INVALID``), uploaded file names, dry-run scenarios (``SCENARIO_YAML``), every
other text field of every command, however it reaches ``Engine.handle`` (CLI, worker, replay, Python callers:
``INVALID_INPUT`` naming the field, :mod:`engine.command_text`), a script task's results (``EXPRESSION_FAILED``,
:mod:`engine.expression_guards`) and a message's correlation key (``WorkflowFailed``, :mod:`engine.messages`).
The engine's services that take text outside ``Engine.handle`` (users and tokens, applicant accounts,
grants, drafts, message administration, the calendar's import, the organisation's load) call
:func:`refuse_unstorable` first, with the same ``INVALID_INPUT`` naming the field.
They all ask this module, so "storable" means the same everywhere. Bidirectional controls are another matter (text
that is stored but displays differently): see :data:`engine.text_input.BIDI_CONTROLS`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""U+0000 and the surrogate code points: what no database stores (a surrogate in a ``str`` is always lone)."""

NUL_WHAT = "含有空字符（U+0000），无法保存"
SURROGATE_WHAT = "含有无效的 Unicode 字符（不成对的 UTF-16 代理项），无法保存"


@dataclass(frozen=True)
class Unstorable:
    """The first text found that no database stores.

    Attributes:
        reason: ``nul`` or ``unicode`` (the words the API's ``details.reason`` uses).
        message: a Chinese phrase to put after what holds it (``"标题" + message``).
        path: where it is in a nested value: the keys and list indices leading to the string (or to the key
            holding it); empty for the text itself.
    """

    reason: str
    message: str
    path: tuple[str | int, ...] = ()

    @property
    def where(self) -> str:
        """The path dotted, as form errors name fields (``items.0.name``); "" for the text itself."""
        return ".".join(str(p) for p in self.path)


def unstorable(text: str) -> Unstorable | None:
    """Why ``text`` cannot be stored (its first bad character), or None when it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return Unstorable("nul", NUL_WHAT)
    return Unstorable("unicode", SURROGATE_WHAT)


def unstorable_in(value: Any) -> Unstorable | None:
    """The first key or string anywhere in ``value`` (dicts, lists, tuples) that cannot be stored, or None.

    Iterative, so a value nested thousands deep never recurses out of the stack; keys are checked too (a JSON
    object's keys are stored as well as its values).
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            found = unstorable(node)
            if found is not None:
                return Unstorable(found.reason, found.message, path)
        elif isinstance(node, dict):
            for key, child in reversed(list(node.items())):
                stack.append((child, (*path, key)))
                if isinstance(key, str):
                    stack.append((key, (*path, key)))
        elif isinstance(node, (list, tuple)):
            stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(node))))
    return None


def visible_text(text: str) -> str:
    r"""``text`` as it can be shown back: NUL, surrogates and direction controls as escapes such as ``\u0000``."""
    return re.sub("[\x00\ud800-\udfff\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text)


def refuse_unstorable(**fields: Any) -> None:
    """Refuse the first of ``fields`` (checked in the order given) holding text no database stores.

    A service calls it first, before anything is read or written, with its text arguments by the names its
    callers know them (``refuse_unstorable(reason=reason, actor=actor)``); a value may be a string, None, or
    dicts and lists holding strings (their keys are checked too).

    Raises:
        InvalidInput: ``INVALID_INPUT`` with the message and ``details`` that :mod:`engine.command_text` gives
            a command's field: the field by its dotted path (``forms.f1.components.0.label``), ``reason``
            (``nul`` or ``unicode``) and ``fields`` (the path and the message).
    """
    for name, value in fields.items():
        found = unstorable_in(value)
        if found is not None:
            raise refusal(Unstorable(found.reason, found.message, (name, *found.path)))


def refusal(found: Unstorable) -> InvalidInput:
    """The ``INVALID_INPUT`` refusal of ``found``, whose path starts with the field's name."""
    field = visible_text(found.where)
    message = f"{field} 字段{found.message}"
    return InvalidInput(message, details={"field": field, "reason": found.reason, "fields": {field: [message]}})
