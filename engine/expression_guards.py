"""Runtime side of the restricted evaluator: the per-evaluation budget and the guards that charge it.

:mod:`engine.expression_check` rewrites a checked tree so loops, ``+ - * // %``, comparisons, subscripts and
method calls call the guards below (under the ``__tb_*__`` names in :data:`_GUARDS`). This module owns:

* the bounds (:class:`Limits`) and the method whitelist (:data:`ALLOWED_METHODS`), here rather than in
  :mod:`engine.expressions` because both the guards and the static check need them and neither may import
  the public module (it imports them); :mod:`engine.expressions` re-exports both;
* :class:`_Budget`, the context variable holding the running evaluation's budget, and the guards;
* the bounded wrappers of builtins that :data:`engine.expressions.DEFAULT_FUNCTIONS` is made of;
* turning runtime results and exceptions into engine data: :func:`_plain` and the :data:`_RUNTIME` table.

Names keep their leading underscore: they are shared only with the other ``engine.expression*`` modules.
"""
from __future__ import annotations

import contextvars
import functools
import time
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ExpressionFailed
from .storable import unstorable

ALLOWED_METHODS: frozenset[str] = frozenset({
    "get", "keys", "values", "items", "startswith", "endswith", "lower", "upper", "strip", "split",
    "count", "index", "join", "replace", "isdigit"})
"""Method names callable on values. None mutates its receiver or formats (``format`` reads attributes)."""


@dataclass(frozen=True)
class Limits:
    """Static and per-evaluation bounds.

    Attributes:
        max_length: characters of source.
        max_nodes: AST nodes (operators and load/store markers not counted).
        max_iterations: items pulled through comprehensions and ``for`` loops per evaluation.
        max_sequence: longest str/bytes/list/tuple that ``+``, ``*``, ``join`` or ``replace`` may build.
        max_seconds: wall-clock budget per evaluation, checked at iteration and charging points.
        max_work: abstract work units per evaluation: loop items times the loop body's node count, plus
            elements built, copied, compared or hashed (strings count one unit per 16 characters).
    """

    max_length: int = 4000
    max_nodes: int = 500
    max_iterations: int = 100_000
    max_sequence: int = 100_000
    max_seconds: float = 0.5
    max_work: int = 1_000_000


_MAX_INT_BITS = 16_384    # no integer the evaluator builds is larger, so every operation on one stays cheap
_MAX_INT_DIGITS = 4300    # Python's default int/str limit: json.dumps/json.loads refuse longer integers
_STORABLE_INT = 10 ** _MAX_INT_DIGITS
_SMALL_INT = 1 << 256     # smaller integers weigh nothing (a comparison is faster than bit_length())
# What no database stores (engine.storable): a lone surrogate is not even UTF-8; PostgreSQL refuses a NUL.
_UNSTORABLE_TEXT = {"nul": "含有空字符（U+0000），无法保存", "unicode": "含有无法保存的字符（孤立的代理码位）"}
_FLAT = frozenset({int, float, bool, complex, type(None)})
_TEXT = (str, bytes)
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (dict, list, tuple, set, frozenset, type({}.keys()), type({}.values()), type({}.items()))
_HASHED = (dict, set, frozenset, type({}.keys()), type({}.items()))   # `in` is a hash lookup, not a scan
_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("tongban_expression_budget")


class _Budget:
    """Work done so far by one evaluation; every guard charges it and fails once a limit is passed."""

    __slots__ = ("limits", "source", "items", "work", "next_clock", "deadline")

    def __init__(self, limits: Limits, source: str):
        self.limits, self.source = limits, source
        self.items = self.work = 0
        self.next_clock = 10_000
        self.deadline = time.monotonic() + limits.max_seconds

    def fail(self, limit: str) -> None:
        raise ExpressionFailed("表达式运算超出限制",
                               details={"expression": self.source, "reason": "budget", "limit": limit})

    def charge(self, units: int) -> None:
        self.work += units
        if self.work > self.limits.max_work:
            self.fail("max_work")
        if self.work >= self.next_clock:   # reading the clock on every charge would cost more than the work
            self.next_clock = self.work + 10_000
            if time.monotonic() > self.deadline:
                self.fail("max_seconds")

    def produce(self, length: int, text: bool) -> None:
        if length > self.limits.max_sequence:
            self.fail("max_sequence")
        self.charge(length >> 4 if text else length)

    def iterate(self, iterable: Any, cost: int) -> Any:
        limits = self.limits
        for item in iterable:
            self.items += 1
            self.work += cost
            if self.items > limits.max_iterations:
                self.fail("max_iterations")
            if self.work > limits.max_work:
                self.fail("max_work")
            if not self.items % 1000 or self.work >= self.next_clock:
                self.next_clock = self.work + 10_000
                if time.monotonic() > self.deadline:
                    self.fail("max_seconds")
            yield item

    def weigh(self, value: Any, factor: int = 1, printed: bool = False, text: bool = False) -> None:
        """Charge what traversing ``value`` costs; shared references count each time (as == and str() do).

        Large integers weigh by size: comparing or hashing one is linear in its bits, printing it (``printed``:
        ``str()``, the JSON snapshot) quadratic. ``text``: ``value`` is about to become ``str()``'s text, which
        must not hold a function anywhere (it prints as its memory address).
        """
        room, total, stack = (self.limits.max_work - self.work) // factor, 0, [value]
        while stack:
            item = stack.pop()
            if type(item) in _FLAT:   # the common case, and the cheapest test
                if type(item) is not int or -_SMALL_INT < item < _SMALL_INT:
                    continue
                bits = item.bit_length()
                total += bits * bits >> 18 if printed else bits >> 12
            elif isinstance(item, _TEXT):
                total += len(item) >> 4
            elif isinstance(item, _CONTAINERS):
                total += len(item)
                if total <= room:   # never copy a huge container onto the stack just to find it is too big
                    stack.extend(item)
                    if isinstance(item, dict):
                        stack.extend(item.values())
            elif text and callable(item):
                # A function prints as its memory address: text that differs from process to process, so the
                # case's data would differ on replay (and the address would leak).
                raise ExpressionFailed("str() 只能用于数据（文本、数字、列表、字典），不能用于函数", details={
                    "expression": self.source, "reason": "value", "type": "function"})
            if total > room:
                self.fail("max_work")
        self.charge(total * factor)

    def integer(self, value: Any) -> Any:
        """Return ``value``, failing if it is an integer past :data:`_MAX_INT_BITS`."""
        if type(value) is int and value.bit_length() > _MAX_INT_BITS:
            self.fail("max_int_bits")
        return value


def _current() -> _Budget:
    # Outside an evaluation (a helper called directly, a generator that escaped) use a fresh default budget.
    budget = _BUDGET.get(None)
    return budget if budget is not None else _Budget(Limits(), "")


def _guard_iter(iterable: Any, cost: int, /) -> Any:
    return _current().iterate(iterable, cost)   # binds the budget now, not when the generator first runs


def _guard_deep(value: Any, /) -> Any:
    if type(value) not in _FLAT:
        _current().weigh(value)
    return value


def _guard_in(container: Any, /) -> Any:
    if not isinstance(container, _HASHED):
        _current().weigh(container)
    return container


def _add(a: Any, b: Any, /) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _current().produce(len(a) + len(b), isinstance(a, _TEXT))   # check before the copy is made
    result = a + b
    if type(result) is int:   # x = x + x doubles: one bit per step
        _current().integer(result)
    return result


def _sub(a: Any, b: Any, /) -> Any:
    result = a - b
    if isinstance(result, (set, frozenset)):
        _current().charge(len(result))
    elif type(result) is int:
        _current().integer(result)
    return result


def _mul(a: Any, b: Any, /) -> Any:
    seq, n = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
    if isinstance(seq, _SEQUENCES) and isinstance(n, int):
        _current().produce(len(seq) * max(n, 0), isinstance(seq, _TEXT))
    elif isinstance(a, int) and isinstance(b, int):
        a_bits, b_bits = a.bit_length(), b.bit_length()
        if a_bits + b_bits > _MAX_INT_BITS:
            _current().fail("max_int_bits")
        if a_bits > 256 and b_bits > 256:
            _current().charge(a_bits * b_bits >> 19)
    return a * b


def _divide_cost(a: Any, b: Any) -> None:
    """Charge a long division of integers: the quotient's bits times the divisor's, plus reading ``a``."""
    if isinstance(a, int) and isinstance(b, int):
        a_bits, b_bits = a.bit_length(), b.bit_length()
        if a_bits > 256:
            _current().charge(((max(a_bits - b_bits, 0) + 1) * b_bits >> 18) + (a_bits >> 10))


def _floordiv(a: Any, b: Any, /) -> Any:
    _divide_cost(a, b)
    return a // b


def _mod(a: Any, b: Any, /) -> Any:
    if isinstance(a, _TEXT):   # printf formatting: "%*d" % (10**9, 1) builds a gigabyte
        raise ExpressionFailed("表达式不允许对字符串使用 % 格式化",
                               details={"expression": _current().source, "reason": "format"})
    _divide_cost(a, b)
    return a % b


def _item(obj: Any, key: Any, /) -> Any:
    if type(key) is slice:
        if isinstance(obj, _SEQUENCES):
            _current().charge(len(range(*key.indices(len(obj)))) >> (4 if isinstance(obj, _TEXT) else 0))
    elif type(key) not in _FLAT:
        _current().weigh(key)   # hashing a tuple key walks all of it
    return obj[key]


def _method(obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
    budget = _current()
    if name not in ALLOWED_METHODS or callable(obj):   # the static check ensured this; belt and braces
        raise ExpressionFailed(f"表达式不允许调用方法 '{name}'",
                               details={"expression": budget.source, "reason": "call"})
    for value in (*args, *kwargs.values()):
        if type(value) not in _FLAT:
            budget.weigh(value)
    if isinstance(obj, _TEXT):
        budget.charge(len(obj) if name == "split" else len(obj) >> 4)   # split may return len(obj) items
        if name == "join" and len(args) == 1:
            args = (list(args[0]),)
            size = sum(len(part) for part in args[0] if isinstance(part, _TEXT))
            budget.produce(size + len(obj) * max(len(args[0]) - 1, 0), True)
        elif name == "replace" and len(args) >= 2 and all(isinstance(arg, type(obj)) for arg in args[:2]):
            old, new = args[0], args[1]
            found = obj.count(old) if old else len(obj) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                found = min(found, args[2])
            budget.produce(len(obj) + found * (len(new) - len(old)), True)
    elif name in ("count", "index"):
        budget.weigh(obj)   # compares every element with the argument
    return getattr(obj, name)(*args, **kwargs)


def _charged(function: Callable[..., Any], deep: bool, printed: bool = False) -> Callable[..., Any]:
    """Wrap a builtin so its arguments' traversal cost is charged first (deep: compared, or printed)."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        for value in args:
            if deep or printed:
                budget.weigh(value, printed=printed, text=printed)
            elif isinstance(value, _CONTAINERS):
                budget.charge(len(value))
        return function(*args, **kwargs)
    return wrapper


def _sorted(iterable: Any, /, *, key: Callable[..., Any] | None = None, reverse: bool = False) -> list[Any]:
    """``sorted`` whose n·log n comparisons are charged to the budget."""
    items = list(iterable)
    _current().weigh(items, max(1, len(items).bit_length()))
    return sorted(items, key=key, reverse=reverse)


def _int(value: Any = 0, /, *args: Any, **kwargs: Any) -> int:
    """``int`` whose result is held to :data:`_MAX_INT_BITS`: ``int(text, 32)`` is exempt from Python's digit limit."""
    budget = _current()
    if isinstance(value, _TEXT):
        budget.charge(len(value) >> 4)
    result = budget.integer(int(value, *args, **kwargs))
    if isinstance(value, _TEXT) and result.bit_length() > 256:
        budget.charge(result.bit_length() ** 2 >> 18)   # decimal text is parsed in quadratic time
    return result


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    """``sum`` of numbers only: a list start would concatenate quadratically."""
    if not isinstance(start, (int, float)):
        raise TypeError("sum() start must be a number")
    budget = _current()
    if isinstance(iterable, _CONTAINERS):
        budget.weigh(iterable)   # every item is added: large integers cost by size
    return budget.integer(sum(iterable, start))


def _round(number: Any, ndigits: int | None = None) -> Any:
    """``round`` with bounded digits: ``round(1, -10**8)`` would build 10**(10**8)."""
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > 1000:
        raise ValueError("round() ndigits out of range")
    if isinstance(number, int) and isinstance(ndigits, int) and ndigits < 0:
        _divide_cost(number, 10 ** -ndigits)   # rounding an integer divides it by a power of ten
    return _current().integer(round(number, ndigits))


# The transformer in engine.expression_check emits calls of these names; keep the two in step.
_GUARDS: dict[str, Any] = {
    "__tb_iter__": _guard_iter, "__tb_deep__": _guard_deep, "__tb_in__": _guard_in, "__tb_add__": _add,
    "__tb_sub__": _sub, "__tb_mul__": _mul, "__tb_floordiv__": _floordiv, "__tb_mod__": _mod, "__tb_item__": _item,
    "__tb_slice__": slice, "__tb_method__": _method}

# Runtime exception -> (message, details reason); the first isinstance match wins, so subclasses come first.
_RUNTIME = ((ZeroDivisionError, "除以零", "zero_division"), (TypeError, "类型不匹配", "type"),
            (KeyError, "键不存在", "key"), (IndexError, "下标越界", "index"),
            (AttributeError, "对象没有该方法", "attribute"), (RecursionError, "嵌套过深", "depth"),
            (OverflowError, "数值溢出", "overflow"), (ValueError, "取值无效", "value"),
            (MemoryError, "内存不足", "memory"))


def _plain(value: Any, name: str, budget: _Budget, depth: int = 0) -> Any:
    """Copy a script result as JSON-like data (tuples become lists) or refuse it; weigh it first.

    Refused too: what the snapshot could not store, an integer of more than :data:`_MAX_INT_DIGITS` digits
    (JSON would not write it back or read it), and text no database stores (:mod:`engine.storable`): a lone
    surrogate (not encodable as UTF-8) or a NUL (PostgreSQL refuses it where the value lands in a column,
    such as a task's applicant; SQLite would store it).
    """
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if -_STORABLE_INT < value < _STORABLE_INT:
            return value
        raise ExpressionFailed(f"脚本变量 '{name}' 的值是超过 {_MAX_INT_DIGITS} 位的整数，无法保存", details={
            "expression": budget.source, "reason": "value", "name": name, "type": "int"})
    if isinstance(value, str):
        return _text(value, name, budget)
    if not depth:   # a shared structure copied as a tree could be exponentially large; JSON prints integers
        budget.weigh(value, printed=True)
    if depth < 64 and isinstance(value, (list, tuple)):
        return [_plain(item, name, budget, depth + 1) for item in value]
    if depth < 64 and isinstance(value, dict) and all(type(key) is str for key in value):
        return {_text(key, name, budget): _plain(item, name, budget, depth + 1) for key, item in value.items()}
    kind = type(value).__name__
    raise ExpressionFailed(f"脚本变量 '{name}' 的值不是可保存的数据（{kind}）", details={
        "expression": budget.source, "reason": "value", "name": name, "type": kind})


def _text(value: str, name: str, budget: _Budget) -> str:
    bad = unstorable(value)
    if bad is None:
        return value
    raise ExpressionFailed(f"脚本变量 '{name}' 的文本{_UNSTORABLE_TEXT[bad.reason]}", details={
        "expression": budget.source, "reason": "value", "name": name, "type": "str"})
