"""Static side of the restricted evaluator: parse, whitelist-check, guard-rewrite and compile source.

This module owns everything done to a diagram's text before it runs (the two entry points are cached per
source, so a diagram's expressions are checked and compiled once per process):

* the syntax whitelists (:data:`_EXPRESSION_NODES`, :data:`_SCRIPT_NODES`); :func:`_parse` and
  :func:`_check` refuse over-long, over-complex or over-deep source and any syntax, name, attribute or call
  outside them, as :class:`~engine.errors.ExpressionRejected`;
* :class:`_Guard`, which rewrites the checked tree so expensive operations call the runtime guards of
  :mod:`engine.expression_guards` (by their ``__tb_*__`` names), and :func:`_compile`, which compiles it;
* :func:`_free_names`, the variables an expression or script reads before assigning them.

Names keep their leading underscore: they are shared only with the other ``engine.expression*`` modules.
"""
from __future__ import annotations

import ast
import functools
import textwrap
import threading
import types
import warnings
from typing import Any

from .errors import ExpressionRejected
from .expression_guards import ALLOWED_METHODS
from .parser_text import detail

_MAX_DEPTH = 150          # keeps the recursive tree walkers (transformer, compiler) off the recursion limit
_IDENTITY = (ast.Is, ast.IsNot)   # comparisons by identity never traverse their operands
_UNCOUNTED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_COMPILE_LOCK = threading.Lock()   # catch_warnings swaps process-global filters; never interleave two

# Operators whose guard (in engine.expression_guards._GUARDS) charges what the result costs to build and
# holds integer results to _MAX_INT_BITS. True division is left alone: on bounded integers it is cheap.
_ARITH = {ast.Add: "__tb_add__", ast.Sub: "__tb_sub__", ast.Mult: "__tb_mul__", ast.FloorDiv: "__tb_floordiv__",
          ast.Mod: "__tb_mod__"}

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
        raise _reject(f"表达式语法错误{_syntax_zh(exc.msg)}，无法解析"
                      + detail(exc.msg, line=where["line"], column=where["column"] or None),
                      source, "syntax", error=exc.msg, **where) from None
    except (RecursionError, MemoryError) as exc:
        raise _reject("表达式嵌套过深或过于复杂，无法解析", source, "syntax", error=str(exc)) from None
    except ValueError as exc:
        raise _reject("表达式含有无法解析的内容" + detail(exc), source, "syntax", error=str(exc)) from None


# Python's commonest syntax complaints, said in Chinese (anything else only by Python's words after it).
_SYNTAX_ZH = (("was never closed", "括号没有闭合"), ("unmatched", "括号不成对"), ("does not match", "括号不成对"),
              ("unterminated string", "字符串缺少结束引号"), ("unterminated triple-quoted", "字符串缺少结束引号"),
              ("unexpected EOF", "表达式不完整"), ("invalid character", "含有不允许的字符"),
              ("null bytes", "含有空字符"), ("unexpected indent", "缩进不正确"), ("unindent", "缩进不正确"),
              ("expected an indented block", "缺少缩进的语句块"), ("expected ':'", "缺少冒号"),
              ("cannot assign", "不能给此处赋值"), ("Perhaps you forgot a comma", "可能缺少逗号"),
              ("invalid decimal literal", "数字写法不正确"), ("leading zeros", "数字不能以 0 开头"),
              ("too many nested parentheses", "括号嵌套过深"))


def _syntax_zh(message: str | None) -> str:
    text = message or ""
    return next((f"：{zh}" for english, zh in _SYNTAX_ZH if english in text), "")


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
        raise _reject("表达式无法编译" + detail(exc), source, "syntax", error=str(exc)) from None
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
    """Check ``source`` (an expression, else a script); return the names it reads, minus functions."""
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
