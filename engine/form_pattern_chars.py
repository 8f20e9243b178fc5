r"""What a piece of a parsed pattern may match, character by character: the reading the safety rules stand on.

:mod:`engine.form_pattern_scan` decides whether a form's ``validate.pattern`` can backtrack without limit by
asking, of pieces of the stdlib's parse (``re._parser``), which characters they may start or end with, which
they may match anywhere, and whether they can match a text of given characters only. :class:`PatternChars`
answers those questions and holds no rule of its own, so the rules read apart from this set arithmetic.

Character classes are compared on a sample (:data:`SAMPLE`: Latin-1, a few CJK and full-width characters,
plus every character the pattern names, :func:`literals`), in both cases when the pattern ignores case; a
backreference may be any character.
"""
from __future__ import annotations

import re
import re._constants as _sre   # the stdlib's own regex parser: how the pattern reads to re and regex alike
import re._parser as _sre_parse
from typing import Any

REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT)
"""The repeats that backtrack (possessive repeats and atomic groups never do)."""
SINGLE = (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY)
"""The items that match exactly one character."""
ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
"""The items that match no character: anchors and lookarounds."""
SAMPLE = frozenset(chr(i) for i in range(256)) | frozenset("中文。，\u3000Ａ１\u2028")
"""Characters to compare character classes on: Latin-1, a few CJK and full-width ones (and the pattern's own)."""
_CATEGORY = {name: re.compile(rx, re.ASCII) for name, rx in (
    ("CATEGORY_DIGIT", r"\d"), ("CATEGORY_NOT_DIGIT", r"\D"), ("CATEGORY_SPACE", r"\s"),
    ("CATEGORY_NOT_SPACE", r"\S"), ("CATEGORY_WORD", r"\w"), ("CATEGORY_NOT_WORD", r"\W"),
    ("CATEGORY_LINEBREAK", r"\n"), ("CATEGORY_NOT_LINEBREAK", r"[^\n]"))}


class PatternChars:
    """The characters pieces of one pattern may match, as subsets of ``sample``; ``fold``: the pattern ignores case."""

    def __init__(self, sample: frozenset[str], *, fold: bool = False):
        self.sample, self.fold = sample, fold

    def fits(self, items: list[Any], region: frozenset[str]) -> bool:
        """Whether a sequence can match some text (maybe empty) of ``region`` characters only."""
        for op, av in items:
            parts = sequences_in(op, av)
            if op in SINGLE:
                ok = bool(self.chars(op, av) & region)
            elif op in REPEATS or op is _sre.POSSESSIVE_REPEAT:
                ok = av[0] == 0 or self.fits(parts[0], region)
            else:   # a group, a branch through one of its alternatives; zero-width items and references: any
                ok = not parts or any(self.fits(part, region) for part in parts)
            if not ok:
                return False
        return True

    def first(self, items: list[Any], *, end: bool = False) -> tuple[frozenset[str], bool]:
        """The characters a sequence's match may start (``end``: end) with, and whether it may match empty text."""
        found: frozenset[str] = frozenset()
        for op, av in reversed(items) if end else items:
            if op in SINGLE:
                return found | self.chars(op, av), False
            if op in ZERO_WIDTH:
                continue
            if op in REPEATS or op is _sre.POSSESSIVE_REPEAT:
                chars, empty = self.first(list(av[2]), end=end)
                found |= chars
                if av[0] > 0 and not empty:
                    return found, False
                continue
            parts = sequences_in(op, av)
            if parts is None:   # a backreference: anything, or nothing
                return found | self.sample, True
            firsts = [self.first(part, end=end) for part in parts]
            found = found.union(*(chars for chars, _ in firsts))
            if not any(empty for _, empty in firsts):
                return found, False
        return found, True

    def chars_of(self, items: list[Any]) -> frozenset[str]:
        """Every sample character a sequence may match anywhere in it."""
        found: frozenset[str] = frozenset()
        for op, av in items:
            parts = sequences_in(op, av)
            if op in SINGLE:
                found |= self.chars(op, av)
            elif parts is not None:
                found = found.union(*(self.chars_of(part) for part in parts))
            elif op not in ZERO_WIDTH:   # a backreference: anything
                return self.sample
        return found

    def chars(self, op: Any, av: Any) -> frozenset[str]:
        """The sample characters one single-character item matches (all of them when unsure)."""
        chars = self._chars(op, av)
        if self.fold:   # (?i): a class matches the other case too
            chars |= {other for c in chars for other in (c.lower(), c.upper()) if other in self.sample}
        return frozenset(chars)

    def _chars(self, op: Any, av: Any) -> frozenset[str]:
        if op is _sre.LITERAL:
            return frozenset({chr(av)})
        if op is _sre.NOT_LITERAL:
            return self.sample - {chr(av)}
        if op is _sre.ANY:
            return self.sample - {"\n"}
        chars: set[str] = set()
        negate = False
        for kind, value in av:
            if kind is _sre.NEGATE:
                negate = True
            elif kind is _sre.LITERAL:
                chars.add(chr(value))
            elif kind is _sre.RANGE:
                chars |= {c for c in self.sample if value[0] <= ord(c) <= value[1]}
            elif kind is _sre.CATEGORY and str(value) in _CATEGORY:
                chars |= {c for c in self.sample if _CATEGORY[str(value)].match(c)}
            else:
                return self.sample
        return self.sample - chars if negate else frozenset(chars)


def literals(items: list[Any]) -> frozenset[str]:
    r"""Every character the pattern names (``\u7701``, range ends), so classes are compared on them too."""
    found: set[str] = set()
    todo: list[Any] = [items]
    while todo:
        node = todo.pop()
        if isinstance(node, tuple) and len(node) == 2 and node[0] in (_sre.LITERAL, _sre.NOT_LITERAL):
            found.add(chr(node[1]))
        elif isinstance(node, tuple) and len(node) == 2 and node[0] is _sre.RANGE:
            found |= {chr(node[1][0]), chr(node[1][1])}
        elif isinstance(node, (tuple, list, _sre_parse.SubPattern)):
            todo.extend(node)
    return frozenset(found)


def sequences_in(op: Any, av: Any) -> list[list[Any]] | None:
    """The sequences inside an item: a repeat's or group's body, the alternatives of a branch or conditional."""
    if op in REPEATS or op is _sre.POSSESSIVE_REPEAT:
        return [list(av[2])]
    if op is _sre.SUBPATTERN:
        return [list(av[3])]
    if op is _sre.ATOMIC_GROUP:
        return [list(av)]
    if op is _sre.BRANCH:
        return [list(branch) for branch in av[1]]
    if op is _sre.GROUPREF_EXISTS:
        return [list(av[1]), list(av[2] or [])]
    return None
