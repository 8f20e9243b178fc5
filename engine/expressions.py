"""The restricted evaluator every diagram expression and script task runs in.

An uploaded diagram is data, never code. Gateway conditions, timers, multi-instance, correlation
expressions and script tasks are evaluated here in a small Python subset, in three layers:

* a static check of the parsed source allows only whitelisted syntax, calls of the function table and of a
  few value methods (:data:`ALLOWED_METHODS`); no dunder, import, ``eval``, file or lambda is reachable;
* the checked tree is rewritten so loops, ``+ - * %``, comparisons, subscripts and method calls go through
  guards that charge a per-evaluation budget (:class:`Limits`), so nothing runs or grows unboundedly;
* code runs with empty builtins, and every failure leaves as :class:`~engine.errors.ExpressionRejected`
  (static) or :class:`~engine.errors.ExpressionFailed` (runtime), never as a bare Python exception.
"""
from __future__ import annotations

import ast
import contextvars
import functools
import textwrap
import threading
import time
import types
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import EngineError, ExpressionFailed, ExpressionRejected

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


_MAX_DEPTH = 150          # keeps the recursive tree walkers (transformer, compiler) off the recursion limit
_MAX_INT_BITS = 16_384    # repeated squaring would otherwise build integers of unbounded size
_FLAT = frozenset({int, float, bool, complex, type(None)})
_TEXT = (str, bytes)
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (dict, list, tuple, set, frozenset, type({}.keys()), type({}.values()), type({}.items()))
_HASHED = (dict, set, frozenset, type({}.keys()), type({}.items()))   # `in` is a hash lookup, not a scan
_IDENTITY = (ast.Is, ast.IsNot)   # comparisons by identity never traverse their operands
_UNCOUNTED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_BUDGET: contextvars.ContextVar[_Budget] = contextvars.ContextVar("tongban_expression_budget")
_COMPILE_LOCK = threading.Lock()   # catch_warnings swaps process-global filters; never interleave two


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
            if not self.items % 1000 and time.monotonic() > self.deadline:
                self.fail("max_seconds")
            yield item

    def weigh(self, value: Any, factor: int = 1) -> None:
        """Charge what traversing ``value`` costs; shared references count each time (as == and str() do)."""
        room, total, stack = (self.limits.max_work - self.work) // factor, 0, [value]
        while stack:
            item = stack.pop()
            if type(item) in _FLAT:   # the common case, and the cheapest test
                continue
            if isinstance(item, _TEXT):
                total += len(item) >> 4
            elif isinstance(item, _CONTAINERS):
                total += len(item)
                if total <= room:   # never copy a huge container onto the stack just to find it is too big
                    stack.extend(item)
                    if isinstance(item, dict):
                        stack.extend(item.values())
            if total > room:
                self.fail("max_work")
        self.charge(total * factor)


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
    return a + b


def _sub(a: Any, b: Any, /) -> Any:
    result = a - b
    if isinstance(result, (set, frozenset)):
        _current().charge(len(result))
    return result


def _mul(a: Any, b: Any, /) -> Any:
    seq, n = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
    if isinstance(seq, _SEQUENCES) and isinstance(n, int):
        _current().produce(len(seq) * max(n, 0), isinstance(seq, _TEXT))
    elif isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > _MAX_INT_BITS:
        _current().fail("max_int_bits")
    return a * b


def _mod(a: Any, b: Any, /) -> Any:
    if isinstance(a, _TEXT):   # printf formatting: "%*d" % (10**9, 1) builds a gigabyte
        raise ExpressionFailed("表达式不允许对字符串使用 % 格式化",
                               details={"expression": _current().source, "reason": "format"})
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


def _charged(function: Callable[..., Any], deep: bool) -> Callable[..., Any]:
    """Wrap a builtin so its arguments' traversal cost is charged first (deep: compared/printed)."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        for value in args:
            if deep:
                budget.weigh(value)
            elif isinstance(value, _CONTAINERS):
                budget.charge(len(value))
        return function(*args, **kwargs)
    return wrapper


def _sorted(iterable: Any, /, *, key: Callable[..., Any] | None = None, reverse: bool = False) -> list[Any]:
    """``sorted`` whose n·log n comparisons are charged to the budget."""
    items = list(iterable)
    _current().weigh(items, max(1, len(items).bit_length()))
    return sorted(items, key=key, reverse=reverse)


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    """``sum`` of numbers only: a list start would concatenate quadratically."""
    if not isinstance(start, (int, float)):
        raise TypeError("sum() start must be a number")
    if isinstance(iterable, _CONTAINERS):
        _current().charge(len(iterable))
    return sum(iterable, start)


def _round(number: Any, ndigits: int | None = None) -> Any:
    """``round`` with bounded digits: ``round(1, -10**8)`` would build 10**(10**8)."""
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > 1000:
        raise ValueError("round() ndigits out of range")
    return round(number, ndigits)


DEFAULT_FUNCTIONS: Mapping[str, Callable[..., Any]] = types.MappingProxyType({
    "len": len, "min": _charged(min, True), "max": _charged(max, True), "sum": _sum, "abs": abs,
    "round": _round, "int": int, "float": float, "str": _charged(str, True), "bool": bool,
    "any": _charged(any, False), "all": _charged(all, False), "sorted": _sorted})
"""Functions every expression may call (bounded wrappers where the builtin could run long)."""

_GUARDS: dict[str, Any] = {
    "__tb_iter__": _guard_iter, "__tb_deep__": _guard_deep, "__tb_in__": _guard_in, "__tb_add__": _add,
    "__tb_sub__": _sub, "__tb_mul__": _mul, "__tb_mod__": _mod, "__tb_item__": _item, "__tb_slice__": slice,
    "__tb_method__": _method}
_ARITH = {ast.Add: "__tb_add__", ast.Sub: "__tb_sub__", ast.Mult: "__tb_mul__", ast.Mod: "__tb_mod__"}

_EXPRESSION_NODES = frozenset({
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
    ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.IfExp, ast.Constant, ast.Name, ast.Load,
    ast.Store, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Subscript, ast.Slice, ast.Call, ast.keyword,
    ast.Attribute, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension})
_SCRIPT_NODES = (_EXPRESSION_NODES - {ast.Expression}) | {ast.Module, ast.Assign, ast.AugAssign, ast.If,
                                                          ast.Pass, ast.For}
_SHOWN = {ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
          ast.Invert: "~", ast.MatMult: "@", ast.Lambda: "lambda", ast.NamedExpr: ":=",
          ast.JoinedStr: "f-string", ast.Starred: "*", ast.Import: "import", ast.ImportFrom: "import",
          ast.FunctionDef: "def", ast.ClassDef: "class", ast.While: "while", ast.Expr: "表达式语句"}


def _reject(message: str, source: Any, reason: str, node: ast.AST | None = None,
            **extra: Any) -> ExpressionRejected:
    details = {"expression": source if isinstance(source, str) else repr(source), "reason": reason, **extra}
    if getattr(node, "lineno", None) is not None:
        details["line"] = node.lineno   # type: ignore[union-attr]
    return ExpressionRejected(message, details=details)


def _bind(target: ast.AST, approved: set[int]) -> bool:
    """Approve a binding target made only of names (nested tuples/lists allowed); False otherwise."""
    approved.add(id(target))
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_bind(element, approved) for element in target.elts)
    return isinstance(target, ast.Name)


def _check(tree: ast.AST, source: str, script: bool, functions: frozenset[str], max_nodes: int) -> None:
    """Walk the user's tree (iteratively: depth is checked here) and refuse anything not whitelisted."""
    allowed = _SCRIPT_NODES if script else _EXPRESSION_NODES
    approved: set[int] = set()   # ids of nodes a parent vouched for: method attributes, binding targets
    count, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind not in allowed:
            shown = _SHOWN.get(kind, kind.__name__)
            raise _reject(f"表达式不允许使用语法 '{shown}'", source, "node", node, syntax=kind.__name__)
        if not isinstance(node, _UNCOUNTED):
            count += 1
            if count > max_nodes:
                raise _reject(f"表达式过于复杂（超过 {max_nodes} 个语法节点）", source, "size")
        if depth > _MAX_DEPTH:
            raise _reject("表达式嵌套过深", source, "depth", node)
        store = isinstance(getattr(node, "ctx", None), ast.Store)
        if store and id(node) not in approved:
            raise _reject("只能给变量赋值（不能给属性或下标赋值）", source, "target", node)
        if kind is ast.Name:
            if node.id.startswith("_"):
                raise _reject(f"表达式不允许使用以下划线开头的名称 '{node.id}'", source, "name", node, name=node.id)
            if store and node.id in functions:
                raise _reject(f"不允许给函数名 '{node.id}' 赋值", source, "name", node, name=node.id)
        elif kind is ast.Attribute:
            if node.attr not in ALLOWED_METHODS:
                raise _reject(f"表达式不允许使用属性 '{node.attr}'", source, "attribute", node, name=node.attr)
            if id(node) not in approved:
                raise _reject(f"方法 '{node.attr}' 只能直接调用", source, "attribute", node, name=node.attr)
        elif kind is ast.Call:
            if isinstance(node.func, ast.Attribute):
                approved.add(id(node.func))
            elif not isinstance(node.func, ast.Name):
                raise _reject("表达式只能调用内置函数或允许的方法", source, "call", node)
            elif node.func.id not in functions:
                raise _reject(f"表达式不允许调用 '{node.func.id}'", source, "call", node, name=node.func.id)
            if any(keyword.arg is None for keyword in node.keywords):
                raise _reject("表达式不允许使用 ** 展开参数", source, "node", node)
        elif kind is ast.Dict and None in node.keys:
            raise _reject("表达式不允许使用 ** 展开字典", source, "node", node)
        elif kind is ast.comprehension and node.is_async:
            raise _reject("表达式不允许使用 async", source, "node", node)
        targets = node.targets if kind is ast.Assign else [node.target] if kind in (
            ast.AugAssign, ast.For, ast.comprehension) else []
        if not all([_bind(target, approved) for target in targets]):
            raise _reject("只能给变量赋值（不能给属性或下标赋值）", source, "target", node)
        stack.extend(reversed([(child, depth + 1) for child in ast.iter_child_nodes(node)]))   # source order


def _count(node: ast.AST) -> int:
    return sum(1 for child in ast.walk(node) if not isinstance(child, _UNCOUNTED))


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]), like)


def _deep(node: ast.expr) -> ast.expr:
    return node if isinstance(node, ast.Constant) else _call("__tb_deep__", [node], node)


class _Guard(ast.NodeTransformer):
    """Rewrite a checked tree so every potentially expensive operation goes through a charging guard."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        guard = _ARITH.get(type(node.op))
        return _call(guard, [node.left, node.right], node) if guard else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.Assign:
        # x += y becomes x = x + y: never extend in place a list that may be shared with task data
        self.generic_visit(node)
        left = ast.Name(id=node.target.id, ctx=ast.Load())   # type: ignore[attr-defined]
        guard = _ARITH.get(type(node.op))
        value = _call(guard, [left, node.value], node) if guard else ast.BinOp(left, node.op, node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Compare(self, node: ast.Compare) -> ast.Compare:
        self.generic_visit(node)
        operands, ops = [node.left, *node.comparators], node.ops
        for i, operand in enumerate(operands):
            before, after = (ops[i - 1] if i else None), (ops[i] if i < len(ops) else None)
            used = [op for op in (before, after) if op is not None and not isinstance(op, _IDENTITY)]
            if used and not isinstance(operand, ast.Constant):
                only_in = len(used) == 1 and used[0] is before and isinstance(before, (ast.In, ast.NotIn))
                operands[i] = _call("__tb_in__" if only_in else "__tb_deep__", [operand], operand)
        node.left, node.comparators = operands[0], operands[1:]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.Call:
        self.generic_visit(node)
        key = node.slice
        if isinstance(key, ast.Slice):
            parts = [part or ast.Constant(None) for part in (key.lower, key.upper, key.step)]
            key = _call("__tb_slice__", parts, node)
        return _call("__tb_item__", [node.value, key], node)

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Attribute):
            node.args = [node.func.value, ast.Constant(node.func.attr), *node.args]
            node.func = ast.Name(id="__tb_method__", ctx=ast.Load())
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.Dict:
        self.generic_visit(node)
        node.keys = [_deep(key) for key in node.keys]   # type: ignore[arg-type]
        return node

    def visit_Set(self, node: ast.Set) -> ast.Set:
        self.generic_visit(node)
        node.elts = [_deep(element) for element in node.elts]
        return node

    def visit_comprehension_node(self, node: Any) -> Any:
        cost = _count(node)   # of the user's nodes, counted before the rewrite
        self.generic_visit(node)
        for generator in node.generators:
            generator.iter = _call("__tb_iter__", [generator.iter, ast.Constant(cost)], generator.iter)
        if isinstance(node, ast.SetComp):
            node.elt = _deep(node.elt)
        elif isinstance(node, ast.DictComp):
            node.key = _deep(node.key)
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_comprehension_node

    def visit_For(self, node: ast.For) -> ast.For:
        cost = 1 + sum(_count(statement) for statement in node.body)
        self.generic_visit(node)
        node.iter = _call("__tb_iter__", [node.iter, ast.Constant(cost)], node.iter)
        return node


def _parse(source: Any, script: bool, max_length: int) -> ast.AST:
    if not isinstance(source, str):
        raise _reject("表达式必须是文本", source, "type")
    if len(source) > max_length:
        raise _reject(f"表达式过长（{len(source)} 个字符，上限 {max_length}）", source, "length")
    text = textwrap.dedent(source) if script else source.strip()   # diagrams indent their CDATA
    try:
        with _COMPILE_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")   # SyntaxWarning/DeprecationWarning must not turn into errors
            return ast.parse(text, mode="exec" if script else "eval")
    except SyntaxError as exc:   # SpiffWorkflow chokes on SyntaxError without lineno: never let one out
        where = {"line": exc.lineno or 1, "column": exc.offset or 0}   # always a position, even for NUL bytes
        raise _reject(f"表达式语法错误（第 {where['line']} 行）：{exc.msg}", source, "syntax", error=exc.msg,
                      **where) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _reject("表达式无法解析", source, "syntax", error=str(exc)) from None


@functools.lru_cache(maxsize=4096)
def _compile(source: str, script: bool, functions: frozenset[str], max_length: int,
             max_nodes: int) -> tuple[types.CodeType, frozenset[str]]:
    """Check, guard and compile once; return the code and the names a script assigns."""
    tree = _parse(source, script, max_length)
    _check(tree, source, script, functions, max_nodes)
    bound = [node.targets if isinstance(node, ast.Assign) else [node.target] for node in ast.walk(tree)
             if isinstance(node, (ast.Assign, ast.AugAssign, ast.For))]
    assigned = frozenset(name.id for targets in bound for target in targets for name in ast.walk(target)
                         if isinstance(name, ast.Name))
    try:
        guarded = ast.fix_missing_locations(_Guard().visit(tree))
        with _COMPILE_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = compile(guarded, "<script>" if script else "<expression>", "exec" if script else "eval",
                           dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _reject("表达式无法编译", source, "syntax", error=str(exc)) from None
    return code, assigned


def _free(node: ast.AST, bound: set[str], found: set[str]) -> None:
    """Collect names read before being bound (comprehension scopes; scripts in statement order)."""
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in bound:
            found.add(node.id)
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        inner = set(bound)
        for i, generator in enumerate(node.generators):
            _free(generator.iter, inner if i else bound, found)   # the first iterable is read outside
            inner |= {name.id for name in ast.walk(generator.target) if isinstance(name, ast.Name)}
            for condition in generator.ifs:
                _free(condition, inner, found)
        for part in ((node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)):
            _free(part, inner, found)
    elif isinstance(node, (ast.Assign, ast.AugAssign, ast.For)):
        if isinstance(node, ast.AugAssign) and node.target.id not in bound:   # type: ignore[attr-defined]
            found.add(node.target.id)   # type: ignore[attr-defined]
        _free(node.iter if isinstance(node, ast.For) else node.value, bound, found)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
            bound |= {name.id for name in ast.walk(target) if isinstance(name, ast.Name)}
        for statement in (node.body + node.orelse if isinstance(node, ast.For) else []):
            _free(statement, bound, found)
    else:
        for child in ast.iter_child_nodes(node):
            _free(child, bound, found)


@functools.lru_cache(maxsize=1024)
def _free_names(source: str, functions: frozenset[str], max_length: int, max_nodes: int) -> frozenset[str]:
    try:
        tree, script = _parse(source, False, max_length), False
    except ExpressionRejected as exc:   # not an expression: maybe a script
        try:
            tree, script = _parse(source, True, max_length), True
        except ExpressionRejected:
            raise exc from None
    _check(tree, source, script, functions, max_nodes)
    found: set[str] = set()
    _free(tree, set(), found)
    return frozenset(found - functions)


_RUNTIME = ((ZeroDivisionError, "除以零", "zero_division"), (TypeError, "类型不匹配", "type"),
            (KeyError, "键不存在", "key"), (IndexError, "下标越界", "index"),
            (AttributeError, "对象没有该方法", "attribute"), (RecursionError, "嵌套过深", "depth"),
            (OverflowError, "数值溢出", "overflow"), (ValueError, "取值无效", "value"),
            (MemoryError, "内存不足", "memory"))


def _plain(value: Any, name: str, budget: _Budget, depth: int = 0) -> Any:
    """Copy a script result as JSON-like data (tuples become lists) or refuse it; weigh it first."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not depth:
        budget.weigh(value)   # a shared structure copied as a tree could be exponentially large
    if depth < 64 and isinstance(value, (list, tuple)):
        return [_plain(item, name, budget, depth + 1) for item in value]
    if depth < 64 and isinstance(value, dict) and all(type(key) is str for key in value):
        return {key: _plain(item, name, budget, depth + 1) for key, item in value.items()}
    kind = type(value).__name__
    raise ExpressionFailed(f"脚本变量 '{name}' 的值不是可保存的数据（{kind}）", details={
        "expression": budget.source, "reason": "value", "name": name, "type": kind})


class Evaluator:
    """Checks, caches and runs diagram expressions and scripts under :class:`Limits`.

    Args:
        functions: extra callables expressions may call, added to :data:`DEFAULT_FUNCTIONS` (e.g. calendar
            helpers); names must be identifiers not starting with ``_``.
        limits: static and per-evaluation bounds.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, limits: Limits = Limits()):
        extra = dict(functions or {})
        for name in extra:
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"invalid expression function name {name!r}")
        self.limits = limits
        self.functions: Mapping[str, Callable[..., Any]] = types.MappingProxyType(
            {**DEFAULT_FUNCTIONS, **extra})
        self._names = frozenset(self.functions)
        self._table = {**self.functions, **_GUARDS}

    def check_expression(self, source: str) -> None:
        """Statically check an expression.

        Raises:
            ExpressionRejected: the source is too long, too complex, not valid syntax or uses a forbidden
                construct; ``details["reason"]`` says which.
        """
        _compile(source, False, self._names, self.limits.max_length, self.limits.max_nodes)

    def check_script(self, source: str) -> None:
        """Statically check a script task's source.

        Raises:
            ExpressionRejected: as for :meth:`check_expression`, or a forbidden statement or target.
        """
        _compile(source, True, self._names, self.limits.max_length, self.limits.max_nodes)

    def evaluate(self, source: str, names: Mapping[str, Any]) -> Any:
        """Evaluate an expression over ``names`` (names starting with ``_`` are invisible).

        Returns:
            The value; a top-level generator is materialized as a list within the budget.

        Raises:
            ExpressionRejected: the expression fails the static check.
            ExpressionFailed: it failed at runtime (unknown name, type error, budget exceeded...).
        """
        code, _ = _compile(source, False, self._names, self.limits.max_length, self.limits.max_nodes)
        return self._run(code, self._scope(names), source, lambda result, budget: (
            list(result) if isinstance(result, types.GeneratorType) else result))

    def execute(self, source: str, names: dict[str, Any]) -> None:
        """Run a script; the names it assigns are written back into ``names`` all at once, or not at all.

        Raises:
            ExpressionRejected: the script fails the static check.
            ExpressionFailed: it failed at runtime, or assigned a value that is not JSON-like data.
        """
        code, assigned = _compile(source, True, self._names, self.limits.max_length, self.limits.max_nodes)
        scope = self._scope(names)

        def results(_: Any, budget: _Budget) -> dict[str, Any]:
            missing = object()
            return {name: _plain(scope[name], name, budget) for name in assigned
                    if name in scope and names.get(name, missing) is not scope[name]}

        names.update(self._run(code, scope, source, results))

    def names_used(self, source: str) -> frozenset[str]:
        """Free variable names an expression (or script) reads, without functions and comprehension variables.

        Raises:
            ExpressionRejected: the source fails the static check.
        """
        return _free_names(source, self._names, self.limits.max_length, self.limits.max_nodes)

    def _scope(self, names: Mapping[str, Any]) -> dict[str, Any]:
        scope = {key: value for key, value in names.items() if type(key) is str and not key.startswith("_")}
        scope.update(self._table)   # functions win: data cannot shadow len or a guard
        scope["__builtins__"] = {}  # without this key Python would insert the real builtins
        return scope

    def _run(self, code: types.CodeType, scope: dict[str, Any], source: str,
             finish: Callable[[Any, _Budget], Any]) -> Any:
        budget = _Budget(self.limits, source)
        token = _BUDGET.set(budget)
        try:
            return finish(eval(code, scope), budget)   # noqa: S307 - checked, guarded code, empty builtins
        except EngineError:
            raise
        except NameError as exc:
            name = getattr(exc, "name", None) or "?"
            raise ExpressionFailed(f"表达式引用了未定义的变量 '{name}'",
                                   details={"expression": source, "reason": "name", "name": name}) from None
        except Exception as exc:   # never let a bare Python exception reach the engine
            zh, reason = next(((zh, reason) for kind, zh, reason in _RUNTIME if isinstance(exc, kind)),
                              ("计算出错", "error"))
            raise ExpressionFailed(f"表达式计算失败：{zh}", details={
                "expression": source, "reason": reason, "error": f"{type(exc).__name__}: {exc}"}) from exc
        finally:
            _BUDGET.reset(token)
