r"""The static reading of a form's ``validate.pattern``: can its matching time grow without limit?

:func:`backtracking_risk` reads the pattern from the stdlib's own parse (how it reads to ``re`` and to
``regex``'s ``VERSION0`` alike) and names the first construct whose backtracking can grow faster than the
text: an unbounded repeat inside another (``(a+)+``), alternatives inside a repeat that can start on one
character (``(a|aa)+``), a group repeated a few times around neighbours that overlap (``(.*a){20}``), and
unbounded repeats side by side that can share out the same text many ways (``\d+\d+x``, ``(?:ab)+(?:ab)+$``).

That last rule, made precise. Take two unbounded repeats X and Y, X before Y, and whatever M stands between
them. If a text splits many ways between X, M and Y, each split is tried before a failing suffix; the stretch
between the first and the last split position is matched by X in one split and by Y in another, and in a
split in the middle M lies inside it. So X and Y are refused together only when:

* some characters are both X's and Y's (their *region*), and each part M requires (a character, a required
  group, a branch through one of its alternatives) can match region characters;
* Y may start with a character of X (the stretch starts where Y does in the first split) and X may end with
  a character of Y (it ends where X does in the last);
* when only zero-width items stand between them, what may follow a complete X inside a longer one meets Y's
  first characters, and X's last characters meet what may precede a complete Y inside a longer one: for a
  repeat of a fixed run of single characters (``\d``, ``(?:ab)``, ``(?:\d{3},)``) its body's first and
  last characters, else any of its characters. ``(?:\d{3},)+\d+$`` splits one way only: every X ends in ``,``.

Characters are compared as :mod:`engine.form_pattern_chars` reads them: character classes on a sample of
characters, in both cases when the pattern ignores case; a backreference may be any character.
Lookarounds are zero-width here and checked on their own. Repeats chained this way multiply: a
text of n characters costs up to n to the power of their number, times n again when the search may start
anywhere. A deploy therefore refuses a chain of two (cubic with the search, ``\d+\d+$``: seconds on 2,000
characters), and takes one pair, no more, in a pattern anchored by a leading ``^`` or ``\A`` without
``(?m)`` (quadratic, as a lone ``\d+$`` searched: ``^[^@\s]+@[^@\s]+\.[^@\s]+$``, tens of milliseconds).
Possessive repeats and atomic groups never give characters back, so they start no chain, but one that
follows an overlapping repeat is re-run for each of its splits and ends a chain. An unbounded repeat
(with at most one repetition required) that ends the pattern ends the search at the first split that fits
(``\S+@\S+``) and is left alone.

A repeat runs like copies of its body side by side. When a repeat of variable count inside lets two copies
share out the same text (the rule above, with ``a{1,30}`` open like ``a+``), a text of shared characters
splits among the copies in up to the product of their choices, each split tried from every start before a
failing suffix: ``(a{1,30}){1,30}$`` about 30^30 ways, ``(?:(?:ab){1,32}){1,32}$`` 32^32. More than
:data:`_SPLITS` is refused (on the 2,000 characters a value may have, millions of steps: the 50 ms a value
may take), and so is an unbounded repeat of such copies (``(a{1,3})+``, exponential). Copies of fixed
length (``^(?:[A-Z]{2}\d{2}){1,3}$``) or that share no text (``(\d{1,3}\.){3}``: each ends in a dot) split one
way; ``(a{1,10}){3}`` has 1,000 ways, and ``(a?){1,32}`` one per count, as an empty copy ends the repeat.

This module holds the rules. The character-set reading they stand on (which characters a piece of the parse
may start or end with or match at all, the sample character classes are compared on) moved to
:mod:`engine.form_pattern_chars`; :class:`_Scan` extends its :class:`~engine.form_pattern_chars.PatternChars`.
"""
from __future__ import annotations

import re
import re._constants as _sre   # the stdlib's own regex parser: how the pattern reads to re and regex alike
import re._parser as _sre_parse
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from .form_pattern_chars import REPEATS, SAMPLE, SINGLE, ZERO_WIDTH, PatternChars, literals, sequences_in
from .form_pattern_text import fragment

_WIDE = 32   # a repeat with more than this many (or unbounded) repetitions can backtrack without limit
_SPLITS = 1_000   # most ways a repeat's copies may split one text through a repeat of variable count inside
_ANCHORS = (_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING)


class _Unsafe(Exception):
    """A pattern whose matching time can grow exponentially or polynomially with the input.

    ``region``: for repeats in a row, the characters both may match (what they share out).
    """

    def __init__(self, message: str, region: frozenset[str] = frozenset()):
        super().__init__(message)
        self.region = region


def backtracking_risk(pattern: str) -> str | None:
    r"""Name the construct of ``pattern`` that can make matching time grow without limit, or None.

    Args:
        pattern: a pattern that compiles.

    Returns:
        A Chinese phrase such as ``嵌套的不定次重复，如 (a+)+``, or None when no rule applies.

    Raises:
        re.error, RecursionError, OverflowError: when the stdlib cannot parse the pattern.
    """
    parsed = _sre_parse.parse(pattern, re.ASCII)
    items = list(parsed)
    flags = _flags(items, parsed.state.flags)
    caret = _anchored(items)
    scan = _Scan(SAMPLE | literals(items), fold=bool(flags & re.IGNORECASE),
                 anchored=caret and not flags & re.MULTILINE, caret=caret)
    try:
        scan.scan(items, inside=False, tail=True, top=True)
    except _Unsafe as exc:
        return str(exc)
    return None


@dataclass
class _Open:
    """An unbounded repeat met in a sequence, while a later one may still take characters from it."""

    text: str
    chars: frozenset[str]
    last: frozenset[str]
    cont: frozenset[str]   # what may follow a complete match of it inside a longer one
    depth: int             # unbounded repeats chained up to it, itself included
    between: list[Any] = field(default_factory=list)   # the items since (none: directly adjacent)


class _Scan(PatternChars):
    """One pattern's safety reading; ``sample`` holds the characters character classes are compared on."""

    def __init__(self, sample: frozenset[str], *, fold: bool = False, anchored: bool = False, caret: bool = False):
        super().__init__(sample, fold=fold)
        self.anchored, self.caret = anchored, caret

    def scan(self, items: list[Any], *, inside: bool, tail: bool, top: bool = False) -> None:
        """Raise :class:`_Unsafe` for a wide repeat inside another (``inside``) or overlapping neighbours.

        ``tail``: the sequence ends the whole pattern, so its last repeat may overlap the one before it;
        ``top``: the sequence is the pattern's own (groups opened), where an anchored pattern may hold one pair.
        """
        self.neighbours(items, tail=tail, top=top)
        for i, (op, av) in enumerate(items):
            last = tail and i == len(items) - 1
            if op in REPEATS:
                low, high, body = av
                wide = high == _sre.MAXREPEAT or high > _WIDE
                if wide and inside:
                    raise _Unsafe("嵌套的不定次重复，如 (a+)+")
                if high >= 2:
                    self.ambiguous(list(body), self.first(list(body))[0])
                if high >= 2 and not wide:
                    try:   # (X){2,20} runs like X X ...: two copies side by side must not overlap
                        self.neighbours(list(body) + list(body), tail=False)
                    except _Unsafe:
                        raise _Unsafe("重复的组内有不定次重复，相邻两次可匹配相同字符，如 (.*a){20}") from None
                self.scan(list(body), inside=inside or wide, tail=False)
                if high >= 2:
                    self.copies((op, av), wide=wide)
            elif op is _sre.SUBPATTERN:
                self.scan(list(av[3]), inside=inside, tail=last, top=top)
            elif op is _sre.BRANCH:
                for branch in av[1]:
                    self.scan(list(branch), inside=inside, tail=last)
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                self.scan(list(av[1]), inside=inside, tail=False)
            elif op is _sre.GROUPREF_EXISTS:
                for branch in av[1:]:
                    if branch is not None:
                        self.scan(list(branch), inside=inside, tail=False)
            # ATOMIC_GROUP and POSSESSIVE_REPEAT do not backtrack into themselves: nothing to check inside.

    def copies(self, item: Any, *, wide: bool) -> None:
        """Refuse a repeat whose copies split one text many ways through a repeat of variable count (see the module).

        Run once the body is scanned, so that a nested unbounded repeat keeps its own message.
        """
        body = list(item[1][2])
        try:
            self.neighbours(body + body, tail=False, counted=True)
        except _Unsafe as shared:
            if wide and self.ways(body, shared.region, copy=True) > 1:
                raise _Unsafe(f"重复的组内有次数可变的重复，相邻两次可匹配相同字符，分法随长度成倍增加："
                              f"{fragment([item])}") from None
            if not wide and self.ways([item], shared.region) > _SPLITS:
                raise _Unsafe(f"重复的组内有次数可变的重复，相邻两次可匹配相同字符，同一段文字的分法超过 {_SPLITS} 种："
                              f"{fragment([item])}") from None

    def ways(self, items: list[Any], region: frozenset[str], *, copy: bool = False) -> int:
        r"""In how many ways a sequence may match a text of ``region`` characters, at most ``_SPLITS + 1``.

        Counted repeats multiply, alternatives add up. ``copy``: only non-empty matches, as a repeat takes no
        copy after an empty one. A repeat of no ``region`` character (``[-\s]?`` among digits) counts once, as
        it stays empty there, and so does an unbounded repeat: its own splits are the other rules' business.
        """
        total = 1
        for op, av in items:
            parts = sequences_in(op, av)
            if op in REPEATS and av[1] != _sre.MAXREPEAT and av[1] <= _WIDE and self.chars_of(parts[0]) & region:
                total *= _powers(self.ways(parts[0], region, copy=True), av[0], av[1])
            elif op is _sre.BRANCH or op is _sre.GROUPREF_EXISTS:
                total *= sum(self.ways(part, region) for part in parts or [])
            elif op is _sre.SUBPATTERN:
                total *= self.ways(parts[0], region)
            total = min(total, _SPLITS + 1)
        return total - 1 if copy and total > 1 and self.first(items)[1] else total

    def neighbours(self, items: list[Any], *, tail: bool, top: bool = False, counted: bool = False) -> None:
        """Refuse unbounded repeats in a row that can share out the same text (see the module).

        Two are refused, or three in the pattern's own sequence (``top``) when the pattern is anchored.
        ``counted``: repeats of variable count (``a{1,30}``) are taken as unbounded ones.
        """
        limit = 3 if top and self.anchored else 2
        flat = _flat(items)
        open_: list[_Open] = []
        for i, item in enumerate(flat):
            op, av = item
            if op in ZERO_WIDTH:
                continue
            depth = self.wide([item], counted=counted)
            # Ending the pattern with at most one repetition required, the first split that fits wins.
            if depth and not (tail and i == len(flat) - 1 and op in REPEATS and av[0] <= 1):
                hits = [earlier for earlier in open_ if self.overlap(earlier, item)]
                if hits:
                    chained = max(hits, key=lambda earlier: earlier.depth)
                    depth += chained.depth
                    if depth >= limit:
                        caret_helps = top and depth == 2 and not self.caret
                        raise _Unsafe(f"相邻的不定次重复 {chained.text} 与 {fragment([item])} 可匹配同一段文字"
                                      + ("，且之前已有一处这样的重复" if limit > 2 else "") + "，分法随长度成倍增加"
                                      + ("；以 ^ 开头的 pattern 可容许一处" if caret_helps else ""),
                                      chained.chars & self.chars_of([item]))
            for earlier in open_:
                earlier.between.append(item)
            # A repeat can hand over no text to a later one across an item it cannot match itself.
            open_ = [earlier for earlier in open_ if self.fits([item], earlier.chars)]
            if depth and op is not _sre.POSSESSIVE_REPEAT and op is not _sre.ATOMIC_GROUP:
                chars = self.chars_of([item])
                cont = self.first(list(av[2]))[0] if op in REPEATS and _rigid(list(av[2])) else chars
                open_.append(_Open(fragment([item]), chars, self.first([item], end=True)[0], cont, depth))

    def overlap(self, earlier: _Open, item: Any) -> bool:
        """Whether ``item`` (with unbounded repeats) can take over text from ``earlier`` (see the module)."""
        chars = self.chars_of([item])
        region = earlier.chars & chars
        starts = self.first([item])[0]
        if not (region and starts & earlier.chars and earlier.last & chars):
            return False
        if earlier.between:
            return all(self.fits([between], region) for between in earlier.between)
        op, av = item
        ends = self.first(list(av[2]), end=True)[0] if op in REPEATS and _rigid(list(av[2])) else chars
        return bool(earlier.cont & starts & region and earlier.last & ends & region)

    def wide(self, items: list[Any], *, counted: bool = False) -> int:
        """How many unbounded repeats one match of a sequence may pass through (0: its length is bounded).

        ``counted``: a repeat of variable count that can backtrack (``a{1,30}``, not ``a{3}``) counts as unbounded.
        """
        count = 0
        for op, av in items:
            parts = sequences_in(op, av)
            if op in REPEATS or op is _sre.POSSESSIVE_REPEAT:
                inner = self.wide(parts[0], counted=counted)
                varies = counted and op in REPEATS and av[0] < av[1]
                count += 1 + inner if av[1] == _sre.MAXREPEAT or av[1] > _WIDE or varies else av[1] * inner
            elif op is _sre.GROUPREF:
                count += 1   # as long as the group it repeats
            elif parts:   # a group, or the alternative that passes through most
                count += max(self.wide(part, counted=counted) for part in parts)
        return count

    def ambiguous(self, items: list[Any], follow: frozenset[str]) -> None:
        """Refuse alternatives (inside a repeat) that can start on one character; ``follow``: what may come next."""
        for i, (op, av) in enumerate(items):
            rest, empty = self.first(items[i + 1:])
            after = rest | follow if empty else rest
            if op is _sre.BRANCH:
                starts = [self.first(list(alt)) for alt in av[1]]
                starts = [(chars | after if empty else chars, empty) for chars, empty in starts]
                if any(a & b or (a_empty and b_empty) for (a, a_empty), (b, b_empty) in combinations(starts, 2)):
                    raise _Unsafe("重复内的分支可匹配相同的文本，如 (a|aa)+")
                for alt in av[1]:
                    self.ambiguous(list(alt), after)
            elif op is _sre.SUBPATTERN:
                self.ambiguous(list(av[3]), after)
            elif op in REPEATS:
                self.ambiguous(list(av[2]), self.first(list(av[2]))[0] | after)
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                self.ambiguous(list(av[1]), frozenset())


def _flags(items: list[Any], flags: int) -> int:
    """The pattern's global flags with every flag a group turns on (``(?i:...)``)."""
    todo: list[Any] = [items]
    while todo:
        node = todo.pop()
        if isinstance(node, tuple) and len(node) == 2 and node[0] is _sre.SUBPATTERN:
            flags |= node[1][1]
        if isinstance(node, (tuple, list, _sre_parse.SubPattern)):
            todo.extend(node)
    return flags


def _anchored(items: list[Any]) -> bool:
    r"""Whether the pattern matches only at the start of the text (it opens with ``^`` or ``\A``)."""
    flat = _flat(items)
    return bool(flat) and flat[0][0] is _sre.AT and flat[0][1] in _ANCHORS


def _flat(items: list[Any]) -> list[Any]:
    r"""The items of a sequence with plain groups opened, so ``(\d+)\d+`` is seen as two neighbours."""
    out = []
    for op, av in items:
        out += _flat(list(av[3])) if op is _sre.SUBPATTERN else [(op, av)]
    return out


def _powers(base: int, low: int, high: int) -> int:
    """The sum of ``base`` to the powers ``low`` to ``high`` (the ways of that many copies), at most ``_SPLITS + 1``."""
    total, power = 0, 1
    for count in range(high + 1):
        total += power if count >= low else 0
        if total > _SPLITS:
            return _SPLITS + 1
        power = min(power * base, _SPLITS + 1)
    return total


def _rigid(items: list[Any]) -> bool:
    r"""Whether a sequence matches a fixed number of single characters (``\d``, ``ab``, ``\d{3},``)."""
    return bool(items) and all(
        op in SINGLE or (op in REPEATS and av[0] == av[1] and _rigid(list(av[2])))
        or (op is _sre.SUBPATTERN and _rigid(list(av[3]))) for op, av in items)
