r"""``validate.pattern`` of form-js text fields: which patterns a deploy takes, and running them in bounded time.

Two defences, because no static reading of a backtracking pattern catches every slow one:

* at deploy, :func:`deploy_problem` refuses patterns whose matching time can grow without limit (read from
  the stdlib's own parse: nested repeats ``(a+)+``, overlapping alternatives in a repeat ``(a|aa)+``,
  neighbouring repeats over the same characters ``\d+\d+x``, a group repeated a few times around an unbounded
  repeat ``(.*a){20}``) and the few spellings the browser reads differently from the server;
* on every submission, :func:`pattern_check` runs the pattern with the ``regex`` package, whose matcher
  stops after a timeout and releases the GIL meanwhile: at most :data:`VALUE_TIMEOUT` per value and
  :data:`SUBMISSION_BUDGET` for all the values of one submission (:func:`pattern_budget`). A value that
  cannot be checked in time is refused with :data:`PATTERN_TIMEOUT`, a field error like any other.

``regex`` is run in its ``VERSION0`` mode, which parses and matches like Python's ``re`` (what the deploy
check reads) and, like JavaScript's ``RegExp`` that form-js uses, matches ``\B`` in empty text. It also
reads ``{e<=1}`` as fuzzy matching and ``[[:alpha:]]`` as a POSIX class, where the browser sees literal
characters: a deploy refuses those spellings. This is the only engine module that imports ``regex``.
"""
from __future__ import annotations

import re
import re._constants as _sre   # the stdlib's own regex parser: how the pattern reads to re and regex alike
import re._parser as _sre_parse
import time
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import combinations
from typing import Any, Callable, Iterator

import regex
from marshmallow import ValidationError

MAX_PATTERN_LENGTH = 500
"""Longest ``validate.pattern`` a deploy accepts, in characters."""
PATTERN_MAX_INPUT = 2_000
"""Longest text a ``validate.pattern`` is run on (or the field's ``maxLength``, when smaller)."""
VALUE_TIMEOUT = 0.05
"""Seconds of processor time one value's pattern check may take before the value is refused."""
SUBMISSION_BUDGET = 0.2
"""Seconds of matching all pattern checks of one submission may take together (see :func:`pattern_budget`)."""
PATTERN_TIMEOUT = "无法在限定时间内校验该字段的格式，请简化输入"
"""Field message for a value whose pattern check ran out of time (422 ``FORM_INVALID``); nothing is written."""

_BUDGET: ContextVar[list[float] | None] = ContextVar("form_pattern_budget", default=None)   # [seconds left]
_WIDE = 32   # a repeat with more than this many (or unbounded) repetitions can backtrack without limit
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT)   # possessive repeats and atomic groups never backtrack
_SINGLE = (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN, _sre.ANY)
_ZERO_WIDTH = (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
# Characters to compare character classes on: Latin-1, a few CJK and full-width ones (and the pattern's own).
_SAMPLE = frozenset(chr(i) for i in range(256)) | frozenset("中文。，\u3000Ａ１\u2028")
_CATEGORY = {name: re.compile(rx, re.ASCII) for name, rx in (
    ("CATEGORY_DIGIT", r"\d"), ("CATEGORY_NOT_DIGIT", r"\D"), ("CATEGORY_SPACE", r"\s"),
    ("CATEGORY_NOT_SPACE", r"\S"), ("CATEGORY_WORD", r"\w"), ("CATEGORY_NOT_WORD", r"\W"),
    ("CATEGORY_LINEBREAK", r"\n"), ("CATEGORY_NOT_LINEBREAK", r"[^\n]"))}
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}", re.ASCII)   # JavaScript's {n} {n,} {n,m}
_POSIX_CLASS = re.compile(r"\[:\^?[A-Za-z]+:\]", re.ASCII)


class _Unsafe(Exception):
    """A pattern whose matching time can grow exponentially or polynomially with the input."""


def pattern_problem(pattern: str) -> str | None:
    r"""Say why the server must not run a form's ``validate.pattern``, or None when it may.

    Refused are patterns longer than :data:`MAX_PATTERN_LENGTH`; nested unbounded repeats (star height
    above 1: ``(a+)+``, ``(.*a)*``, ``(\w+\s?)+``); alternatives inside a repeat that can start on the same
    character, so one text splits many ways (``(a|aa)+``, ``(a|a)*``); unbounded repeats that
    follow one another over characters both can match (``\d+\d+x``, ``\S+@\S+\.\S+``), unless the later one
    ends the pattern (``\S+@\S+``: the first way that fits ends the search); and a group repeated a few
    times around an unbounded repeat whose neighbouring copies overlap (``(.*a){20}``). Possessive
    repeats and atomic groups never backtrack and are allowed. What this misses, such as repeated groups
    side by side (``(?:ab)+(?:ab)+$``), is bounded by the time limit of :func:`pattern_check`.

    Args:
        pattern: the pattern text, already known to compile.

    Returns:
        A Chinese sentence for a ``FORM_PATTERN_UNSAFE`` finding, or None.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"pattern 过长（{len(pattern)} 个字符，上限 {MAX_PATTERN_LENGTH}）"
    try:
        items = list(_sre_parse.parse(pattern, re.ASCII))
        _Scan(_SAMPLE | _literals(items)).scan(items, inside=False, tail=True)
    except _Unsafe as exc:
        return f"pattern 可能导致回溯失控（{exc}），服务器无法安全地校验；请去掉嵌套、重叠或相邻的重复"
    except (re.error, RecursionError, OverflowError):
        return "pattern 过于复杂，服务器无法安全地校验"
    return None


def deploy_problem(pattern: str) -> tuple[str, str] | None:
    """Why a new deploy must refuse a compiling ``validate.pattern``: ``(finding code, Chinese text)``, or None.

    ``FORM_BAD_VALIDATE`` when the browser would read the pattern differently from the server (braces that
    are no ``{n}``/``{n,}``/``{n,m}`` count, POSIX classes such as ``[:alpha:]``), else ``FORM_PATTERN_UNSAFE``
    for :func:`pattern_problem`. A form deployed before a check keeps loading: :func:`pattern_check` skips it.
    """
    differs = _read_differently(pattern)
    if differs is not None:
        return "FORM_BAD_VALIDATE", differs
    unsafe = pattern_problem(pattern)
    return ("FORM_PATTERN_UNSAFE", unsafe) if unsafe is not None else None


def _read_differently(pattern: str) -> str | None:
    r"""Spellings ``regex`` and JavaScript read differently: a literal ``{`` (``{e<=1}`` is fuzzy), ``[:alpha:]``."""
    i, start = 0, None   # start: where the open character class's items begin (a ']' there is literal)
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if start is None and c == "[":
            start = i + 2 if pattern.startswith("[^", i) else i + 1
        elif start is None and c == "{" and not _QUANTIFIER.match(pattern, i):
            return "pattern 中的 { 不是 {n}、{n,}、{n,m} 这样的次数，浏览器与服务器理解不同；字符 { 请写作 \\{"
        elif start is not None and c == "]" and i > start:
            start = None
        elif start is not None and _POSIX_CLASS.match(pattern, i):
            return "pattern 中的 [:…:] 在浏览器中不是字符类；请改用 [a-zA-Z] 这样的范围"
        i += 1
    return None


class _Scan:
    """One pattern's safety reading; ``sample`` holds the characters character classes are compared on."""

    def __init__(self, sample: frozenset[str]):
        self.sample = sample

    def scan(self, items: list[Any], *, inside: bool, tail: bool) -> None:
        """Raise :class:`_Unsafe` for a wide repeat inside another (``inside``) or overlapping neighbours.

        ``tail``: the sequence ends the whole pattern, so its last repeat may overlap the one before it.
        """
        self.neighbours(items, tail=tail)
        for i, (op, av) in enumerate(items):
            last = tail and i == len(items) - 1
            if op in _REPEATS:
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
            elif op is _sre.SUBPATTERN:
                self.scan(list(av[3]), inside=inside, tail=last)
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

    def neighbours(self, items: list[Any], *, tail: bool) -> None:
        """Refuse an unbounded single-character repeat reachable from another over a shared character."""
        flat = _flat(items)
        open_: list[frozenset[str]] = []   # what an earlier repeat and everything since can both still match
        for i, (op, av) in enumerate(flat):
            if op is _sre.AT:
                continue
            if op in _REPEATS and len(av[2]) == 1 and av[2][0][0] in _SINGLE:
                chars = self.chars(*av[2][0])
                if av[1] == _sre.MAXREPEAT or av[1] > _WIDE:
                    # Ending the pattern with at most one character required, the first split that fits wins.
                    if any(chars & earlier for earlier in open_) and not (tail and i == len(flat) - 1 and av[0] <= 1):
                        raise _Unsafe("相邻的不定次重复可匹配相同字符，如 \\d+\\d+x")
                    open_.append(chars)
                elif av[0] >= 1:
                    open_ = [earlier & chars for earlier in open_ if earlier & chars]
                continue
            if op in _SINGLE:
                chars = self.chars(op, av)
                open_ = [earlier & chars for earlier in open_ if earlier & chars]
                continue
            open_ = []   # anything else (alternatives, repeated groups, lookarounds) is judged on its own

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
            elif op in _REPEATS:
                self.ambiguous(list(av[2]), self.first(list(av[2]))[0] | after)
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                self.ambiguous(list(av[1]), frozenset())

    def first(self, items: list[Any]) -> tuple[frozenset[str], bool]:
        """The characters a sequence's match may start with, and whether it may match empty text."""
        found: frozenset[str] = frozenset()
        for op, av in items:
            if op in _SINGLE:
                return found | self.chars(op, av), False
            if op in _ZERO_WIDTH:
                continue
            if op in _REPEATS or op is _sre.POSSESSIVE_REPEAT:
                chars, empty = self.first(list(av[2]))
                found |= chars
                if av[0] > 0 and not empty:
                    return found, False
                continue
            if op is _sre.SUBPATTERN:
                parts = [av[3]]
            elif op is _sre.ATOMIC_GROUP:
                parts = [av]
            elif op is _sre.BRANCH:
                parts = list(av[1])
            elif op is _sre.GROUPREF_EXISTS:
                parts = [av[1], av[2] or []]
            else:   # a backreference: anything, or nothing
                return found | self.sample, True
            firsts = [self.first(list(part)) for part in parts]
            found = found.union(*(chars for chars, _ in firsts))
            if not any(empty for _, empty in firsts):
                return found, False
        return found, True

    def chars(self, op: Any, av: Any) -> frozenset[str]:
        """The sample characters one single-character item matches (all of them when unsure)."""
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


def _literals(items: list[Any]) -> frozenset[str]:
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


def _flat(items: list[Any]) -> list[Any]:
    r"""The items of a sequence with plain groups opened, so ``(\d+)\d+`` is seen as two neighbours."""
    out = []
    for op, av in items:
        out += _flat(list(av[3])) if op is _sre.SUBPATTERN else [(op, av)]
    return out


@contextmanager
def pattern_budget(seconds: float = SUBMISSION_BUDGET) -> Iterator[None]:
    """Share ``seconds`` of matching among the pattern checks run inside (one submission); later ones are refused.

    Only the time spent matching counts, so a busy machine's other work never refuses an ordinary value.
    """
    # Not business time: it never decides what a case records, only whether to refuse this request now.
    token = _BUDGET.set([seconds])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def pattern_check(pattern: str, max_length: int | None) -> Callable[[Any], None] | None:
    """The validator for ``validate.pattern``: a JavaScript-like search in bounded time, on bounded input only.

    Args:
        pattern: the field's ``validate.pattern``.
        max_length: the field's ``validate.maxLength``; longer text is left to that rule.

    Returns:
        The validator, or None when ``regex`` cannot compile the pattern. Any pattern runs in bounded time; a
        caller still leaves one a deploy would refuse today (:func:`deploy_problem`) to the browser.
    """
    try:
        # form-js runs JavaScript RegExp.test: a search, where \d and \w are ASCII.
        rx = regex.compile(pattern, regex.ASCII | regex.VERSION0)
    except (regex.error, RecursionError, OverflowError):
        return None
    cap = min(max_length, PATTERN_MAX_INPUT) if max_length is not None else PATTERN_MAX_INPUT

    def run(value: str) -> None:
        if len(value) > cap:
            if max_length is not None and len(value) > max_length:
                return   # the maxLength validator reports it; running the pattern would only cost time
            raise ValidationError(f"格式不正确：超过 {cap} 个字符的文本无法校验格式")
        budget = _BUDGET.get()
        left = VALUE_TIMEOUT if budget is None else min(VALUE_TIMEOUT, budget[0])
        started = time.perf_counter()
        try:
            if left <= 0:
                raise TimeoutError
            found = rx.search(value, timeout=left)   # regex counts the process's processor time, releases the GIL
        except TimeoutError:
            raise ValidationError(PATTERN_TIMEOUT) from None
        finally:
            if budget is not None:
                budget[0] -= time.perf_counter() - started
        if found is None:
            raise ValidationError("格式不正确")
    return run
