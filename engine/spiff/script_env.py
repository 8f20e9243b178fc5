"""The restricted script environment SpiffWorkflow evaluates every expression and script in.

SpiffWorkflow's default environment ``eval``s diagram text with full builtins. Every string the engine
evaluates (gateway conditions, timer expressions, multi-instance and loop conditions, correlation retrieval
expressions, script tasks) goes through ``environment.evaluate``/``execute``, so replacing the environment
closes that door; :func:`safe_script_engine` builds one around :class:`engine.expressions.Evaluator`.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from ..expressions import Evaluator


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow environment that only runs what :class:`Evaluator` allows."""

    def __init__(self, evaluator: Evaluator, *, allow_scripts: bool = True):
        super().__init__({})
        self.evaluator = evaluator
        self.allow_scripts = allow_scripts

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """Evaluate an expression over the task data (and data objects, when any)."""
        names = {**external_context, **context} if external_context else context
        return self.evaluator.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        """Run a script task; assigned names land in the task data."""
        if not self.allow_scripts:
            from ..errors import ExpressionRejected
            raise ExpressionRejected("本系统已禁用脚本任务")
        if not external_context:
            self.evaluator.execute(script, context)
            return True
        names = {**external_context, **context}
        self.evaluator.execute(script, names)
        for key, value in names.items():
            if key in context or external_context.get(key, _MISSING) is not value:
                context[key] = value
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        """Service tasks have no implementation in tongban; refuse rather than guess."""
        from ..errors import ExpressionRejected
        raise ExpressionRejected("本系统不支持服务任务（serviceTask）调用")


_MISSING = object()


def safe_script_engine(functions: Mapping[str, Callable[..., Any]] | None = None, *,
                       allow_scripts: bool = True) -> PythonScriptEngine:
    """Return a PythonScriptEngine whose environment is the restricted evaluator."""
    return PythonScriptEngine(environment=RestrictedEnvironment(Evaluator(functions), allow_scripts=allow_scripts))
