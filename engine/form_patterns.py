r"""``validate.pattern`` of form-js text fields: which patterns a deploy takes, and running them in bounded time.

Two defences, because no static reading of a backtracking pattern catches every slow one:

* at deploy, :func:`deploy_problem` refuses patterns whose matching time can grow without limit, as read by
  :mod:`engine.form_pattern_scan` from the stdlib's own parse: nested repeats ``(a+)+``; overlapping
  alternatives in a repeat ``(a|aa)+``; a group repeated a few times around an unbounded repeat ``(.*a){20}``;
  a repeat whose copies can split one text many ways through a variable count inside ``(a{1,30}){1,30}$``;
  and unbounded repeats in a row (characters, groups or branches holding one) that can share out the same
  text, judged on the characters each may start and end with and what stands between them: ``\d+\d+$``,
  ``(?:ab)+(?:ab)+$``, ``[ab]+ab[ab]+$``, ``\S+@\S+\.\S+``. Two such repeats are refused, since the search
  retries every split from every start (cubic); a pattern anchored by a leading ``^`` may hold one such pair
  (quadratic: ``^[^@\s]+@[^@\s]+\.[^@\s]+$``) but not a chain of three (``^\S+@\S+\.\S+$``); a last repeat
  that ends the pattern is free (``\S+@\S+``). It also refuses the few spellings the browser reads
  differently from the server;
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
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

import regex
from marshmallow import ValidationError

from .form_pattern_scan import backtracking_risk

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
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}", re.ASCII)   # JavaScript's {n} {n,} {n,m}
_POSIX_CLASS = re.compile(r"\[:\^?[A-Za-z]+:\]", re.ASCII)


def pattern_problem(pattern: str) -> str | None:
    r"""Say why the server must not run a form's ``validate.pattern``, or None when it may.

    Refused are patterns longer than :data:`MAX_PATTERN_LENGTH`; nested unbounded repeats (star height
    above 1: ``(a+)+``, ``(.*a)*``, ``(\w+\s?)+``); alternatives inside a repeat that can start on the same
    character, so one text splits many ways (``(a|aa)+``, ``(a|a)*``); unbounded repeats in a row that can
    share out the same text (``\d+\d+x``, ``(?:ab)+(?:ab)+$``, ``\S+@\S+\.\S+``), unless the later one ends
    the pattern (``\S+@\S+``: the first way that fits ends the search) or they are one pair in a pattern
    anchored by ``^`` (``^[^@\s]+@[^@\s]+\.[^@\s]+$``); and a group repeated a few times around an unbounded
    repeat whose neighbouring copies overlap (``(.*a){20}``); and a repeat whose copies can split one text
    more than 1,000 ways through a repeat of variable count inside (``(a{1,30}){1,30}$``), or any number of
    ways when it is unbounded (``(a{1,3})+``). Possessive repeats and atomic groups never backtrack and are
    allowed. What this misses, such as a repeated group walking to the end from every start
    (``((a)|(b))+$``, quadratic), is bounded by the time limit of :func:`pattern_check`.

    Args:
        pattern: the pattern text, already known to compile.

    Returns:
        A Chinese sentence for a ``FORM_PATTERN_UNSAFE`` finding, or None.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"pattern 过长（{len(pattern)} 个字符，上限 {MAX_PATTERN_LENGTH}）"
    try:
        risk = backtracking_risk(pattern)
    except (re.error, RecursionError, OverflowError):
        return "pattern 过于复杂，服务器无法安全地校验"
    if risk is not None:
        return f"pattern 可能导致回溯失控（{risk}），服务器无法安全地校验；请去掉嵌套、重叠或相邻的重复"
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
