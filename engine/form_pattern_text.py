r"""Writing a pattern parsed by the stdlib (``re._parser``) back as text, to name a fragment in a message.

The text means what the designer wrote, not always in the same spelling: the parser reads ``(?:a|b)`` as
``[ab]`` and ``(?:ab|ac)`` as ``a(?:b|c)``. :mod:`engine.form_pattern_scan` names the repeats it refuses so.
"""
from __future__ import annotations

import re._constants as _sre
from typing import Any

_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)
_SINGLE = (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY)


def render(items: list[Any]) -> str:
    r"""Write a parsed sequence back as pattern text (``(?:ab)+``, ``[^@\s]+``)."""
    return "".join(_render_item(op, av) for op, av in items)


def fragment(items: list[Any]) -> str:
    """:func:`render`, shortened to 40 characters."""
    text = render(items)
    return text if len(text) <= 40 else text[:39] + "…"


_AT_TEXT = {_sre.AT_BEGINNING: "^", _sre.AT_BEGINNING_STRING: r"\A", _sre.AT_END: "$", _sre.AT_END_STRING: r"\Z",
            _sre.AT_BOUNDARY: r"\b", _sre.AT_NON_BOUNDARY: r"\B"}
_IN_CLASS = "\\]^-"   # written with a backslash inside [...]
_CATEGORY_TEXT = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
                  "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def _render_item(op: Any, av: Any) -> str:
    if op is _sre.LITERAL:
        return _escape(chr(av), "\\.^$|?*+()[]{}")
    if op is _sre.NOT_LITERAL:
        return "[^" + _escape(chr(av), _IN_CLASS) + "]"
    if op is _sre.ANY:
        return "."
    if op is _sre.IN:
        if len(av) == 1 and av[0][0] is _sre.CATEGORY and str(av[0][1]) in _CATEGORY_TEXT:
            return _CATEGORY_TEXT[str(av[0][1])]
        return "[" + "".join(_render_class_item(kind, value) for kind, value in av) + "]"
    if op in _REPEATS:
        low, high, body = av
        text = render(list(body))
        if len(body) != 1 or body[0][0] not in (*_SINGLE, _sre.SUBPATTERN, _sre.BRANCH):   # a branch has its own (?:)
            text = f"(?:{text})"
        count = {(0, _sre.MAXREPEAT): "*", (1, _sre.MAXREPEAT): "+", (0, 1): "?"}.get((low, high)) or (
            f"{{{low}}}" if low == high else f"{{{low},{'' if high == _sre.MAXREPEAT else high}}}")
        return text + count + ("?" if op is _sre.MIN_REPEAT else "+" if op is _sre.POSSESSIVE_REPEAT else "")
    if op is _sre.SUBPATTERN:
        return ("(" if av[0] else "(?:") + render(list(av[3])) + ")"
    if op is _sre.BRANCH:
        return "(?:" + "|".join(render(list(branch)) for branch in av[1]) + ")"
    if op is _sre.ATOMIC_GROUP:
        return "(?>" + render(list(av)) + ")"
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return "(?" + ("<" if av[0] < 0 else "") + ("=" if op is _sre.ASSERT else "!") + render(list(av[1])) + ")"
    if op is _sre.GROUPREF:
        return f"\\{av}"
    if op is _sre.AT:
        return _AT_TEXT.get(av, "")
    return "…"


def _render_class_item(kind: Any, value: Any) -> str:
    if kind is _sre.NEGATE:
        return "^"
    if kind is _sre.LITERAL:
        return _escape(chr(value), _IN_CLASS)
    if kind is _sre.RANGE:
        return _escape(chr(value[0]), _IN_CLASS) + "-" + _escape(chr(value[1]), _IN_CLASS)
    return _CATEGORY_TEXT.get(str(value), "…")


def _escape(char: str, special: str) -> str:
    if char in special:
        return "\\" + char
    return char if char.isprintable() else {"\n": "\\n", "\t": "\\t"}.get(char, f"\\u{ord(char):04x}")
