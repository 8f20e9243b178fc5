"""form-js ``conditional.hide`` expressions the server understands, so "required when shown" is enforced.

form-js hides a component when its FEEL ``hide`` expression is true, and a hidden component is neither
shown nor submitted. A required component that a condition hides is therefore required exactly when the
condition is false: 否定必有依据 — the legal basis of a refusal is required when the decision is a refusal.

The server reads a small, exact subset of FEEL and nothing else: comparisons of a field path with a
literal, ``path = literal`` or ``path != literal`` (string, number, ``true``, ``false``, ``null``), joined
all by ``and`` or all by ``or``. Example: ``=decision != "reject"``. Any other expression is left to the
browser and the component stays optional on the server, as before. Pure module: stdlib only.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

_LITERAL = r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null'
_COMPARISON = re.compile(rf'\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*(!=|=)\s*({_LITERAL})\s*')
_JOINER = re.compile(r"\s*(and|or)\s+")


@dataclass(frozen=True)
class HideCondition:
    """A parsed ``conditional.hide``: comparisons joined by one operator.

    Attributes:
        source: the FEEL text as written in the form.
        joiner: ``and`` or ``or`` (``and`` for a single comparison).
        comparisons: ``(path, negated, literal)`` triples; ``path`` is a tuple of key segments.
    """

    source: str
    joiner: str
    comparisons: tuple[tuple[tuple[str, ...], bool, Any], ...]

    def hides(self, data: Mapping[str, Any]) -> bool:
        """Whether the component is hidden for the submitted ``data`` (a missing value is ``null``)."""
        results = []
        for path, negated, literal in self.comparisons:
            results.append(_same(_lookup(data, path), literal) != negated)
        return all(results) if self.joiner == "and" else any(results)


def parse_hide(text: Any) -> HideCondition | None:
    """Parse a form-js ``hide`` expression; None when it is outside the subset the server understands."""
    if not isinstance(text, str) or not text.startswith("="):
        return None
    body, pos, comparisons, joiners = text[1:], 0, [], set()
    while True:
        match = _COMPARISON.match(body, pos)
        if match is None:
            return None
        try:
            literal = json.loads(match.group(3))
        except ValueError:
            return None
        comparisons.append((tuple(match.group(1).split(".")), match.group(2) == "!=", literal))
        pos = match.end()
        if pos == len(body):
            break
        joiner = _JOINER.match(body, pos)
        if joiner is None:
            return None
        joiners.add(joiner.group(1))
        pos = joiner.end()
    if len(joiners) > 1:
        return None
    return HideCondition(text, joiners.pop() if joiners else "and", tuple(comparisons))


def _lookup(data: Any, path: tuple[str, ...]) -> Any:
    for segment in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(segment)
    return data


def _same(value: Any, literal: Any) -> bool:
    # FEEL compares by type: "1" is not 1 and true is not 1 (Python alone says True == 1).
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (value, literal)):
        return bool(value == literal)
    return type(value) is type(literal) and value == literal
