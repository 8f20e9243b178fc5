"""The restricted evaluator every diagram expression and script task runs in.

An uploaded diagram is data, never code. Gateway conditions, timers, multi-instance, correlation
expressions and script tasks are evaluated here in a small Python subset, in three layers:

* a static check of the parsed source allows only whitelisted syntax, calls of the function table and of a
  few value methods (:data:`ALLOWED_METHODS`); no dunder, import, ``eval``, file or lambda is reachable;
* the checked tree is rewritten so loops, ``+ - * // %``, comparisons, subscripts and method calls go through
  guards that charge a per-evaluation budget (:class:`Limits`), so nothing runs or grows unboundedly;
* code runs with empty builtins, and every failure leaves as :class:`~engine.errors.ExpressionRejected`
  (static) or :class:`~engine.errors.ExpressionFailed` (runtime), never as a bare Python exception.

The work is split across three modules: :mod:`engine.expression_check` parses, checks, rewrites and
compiles (the first layer and the rewrite of the second); :mod:`engine.expression_guards` holds
:class:`Limits`, :data:`ALLOWED_METHODS`, the budget and the guards the rewritten code calls; this module is
the public face: :data:`DEFAULT_FUNCTIONS` and :class:`Evaluator`, which runs compiled code with empty
builtins under a fresh budget (the third layer).
"""
from __future__ import annotations

import types
from typing import Any, Callable, Mapping

# ExpressionRejected is not used here any more (the checks moved to engine.expression_check), but it was
# importable from this module before the split and the Evaluator raises it, so it stays importable.
from .errors import EngineError, ExpressionFailed, ExpressionRejected  # noqa: F401
from .expression_check import _compile, _free_names
from .expression_guards import (
    ALLOWED_METHODS, _BUDGET, _GUARDS, _RUNTIME, Limits, _Budget, _charged, _plain, _int, _round, _sorted, _sum,
)

__all__ = ["ALLOWED_METHODS", "DEFAULT_FUNCTIONS", "Evaluator", "Limits"]

def _unbound_value_of(name: str, default: Any = None) -> Any:
    """Placeholder for ``value_of`` outside an evaluation (each evaluation binds its own data)."""
    raise ExpressionFailed("value_of 只能在表达式求值时使用", details={"reason": "error"})


DEFAULT_FUNCTIONS: Mapping[str, Callable[..., Any]] = types.MappingProxyType({
    "len": len, "min": _charged(min, True), "max": _charged(max, True), "sum": _sum, "abs": abs,
    "round": _round, "int": _int, "float": float, "str": _charged(str, True, printed=True), "bool": bool,
    "any": _charged(any, False), "all": _charged(all, False), "sorted": _sorted, "value_of": _unbound_value_of})
"""Functions every expression may call (bounded wrappers where the builtin could run long).

``value_of(name, default=None)`` reads a process variable that may not be set (a case started without
it), where the bare name would fail the step: bound to each evaluation's data in ``Evaluator._scope``.
"""


class Evaluator:
    """Checks, caches and runs diagram expressions and scripts under :class:`Limits`.

    Args:
        functions: extra callables expressions may call, added to :data:`DEFAULT_FUNCTIONS` (e.g. calendar
            helpers); names must be identifiers not starting with ``_``.
        limits: static and per-evaluation bounds.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, limits: Limits | None = None):
        extra = dict(functions or {})
        for name in extra:
            if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"invalid expression function name {name!r}")
        self.limits = limits if limits is not None else Limits()
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

        def value_of(name: str, default: Any = None) -> Any:
            # The data as given: never a function of the table, never a private (underscore) name.
            if type(name) is not str or name.startswith("_"):
                return default
            return names.get(name, default)
        scope.update(self._table)   # functions win: data cannot shadow len or a guard
        scope["value_of"] = value_of
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
