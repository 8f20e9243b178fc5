"""Make SpiffWorkflow's timer code read the engine's clock, and refuse timer values it would choke on.

``bpmn/specs/event_definitions/timer.py`` calls ``datetime.now(timezone.utc)`` itself. We replace that
module's ``datetime`` name with a subclass whose ``now`` reads the clock bound to the current context, so a
ManualClock drives timers in tests, scenarios and replay, and each thread or request sees its own clock.

SpiffWorkflow also trusts the value a timer expression evaluates to: ``"P999999999Y"`` loops once per month
(billions of times) while the case holds its lock, ``"R/PT0S"`` fires forever, ``"R-1/PT1H"`` repeats
forever, and ``"PT2X"`` or ``5`` raise bare exceptions. :func:`check_timer_value` says in Chinese what is
wrong with such a value; deploy and lint apply it to quoted literals (:mod:`.parser`), and :func:`install`
guards every timer as it is armed, so a computed value fails the step with ``EXPRESSION_FAILED`` instead.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import reprlib
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..clock import Clock
from ..errors import EngineError, ExpressionFailed

_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("tongban_clock", default=None)
_install_lock = threading.Lock()

MAX_TIMER_YEARS = 100
"""The longest duration or cycle period a timer may name; anything longer is a typo or an attack."""
_MAX_DAYS = MAX_TIMER_YEARS * 365.25
_DAYS_PER = {"years": 365.25, "months": 365.25 / 12, "weeks": 7.0, "days": 1.0, "hours": 1 / 24,
             "minutes": 1 / 1440, "seconds": 1 / 86400}
_CYCLE = re.compile(r"^R(?P<count>[^/]*)/(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_KIND_ZH = {"date": "时间", "duration": "时长", "cycle": "重复周期"}


class TimerValueInvalid(ValueError):
    """A timer value SpiffWorkflow must not be given; ``reason`` says why, in Chinese."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def timer_kind(event_definition: Any) -> str | None:
    """Return ``date``, ``duration`` or ``cycle`` for a timer event definition, None for anything else."""
    if isinstance(event_definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(event_definition, DurationTimerEventDefinition):
        return "duration"
    if isinstance(event_definition, TimerEventDefinition):
        return "date"
    return None


def check_timer_value(kind: str, value: Any) -> None:
    """Refuse a timer value that SpiffWorkflow would reject, loop on or fire forever with.

    Args:
        kind: ``date`` (timeDate), ``duration`` (timeDuration) or ``cycle`` (timeCycle).
        value: what the timer expression evaluated to.

    Raises:
        TimerValueInvalid: the value is not a string, not valid ISO 8601 for its kind, names a duration or
            period longer than :data:`MAX_TIMER_YEARS` years, a cycle period of zero, or a negative repeat
            count.
    """
    if not isinstance(value, str):
        raise TimerValueInvalid(f"定时器的值应为 ISO 8601 字符串（须加引号），实际是 {type(value).__name__} 类型")
    if kind == "duration":
        _duration_days(value)
    elif kind == "cycle":
        _check_cycle(value)
    else:
        if value.upper().startswith("P"):
            raise TimerValueInvalid("时间定时器（timeDate）需要一个日期时间，这里给的是时长；时长请用 timeDuration")
        _instant(value)


def _duration_days(text: str) -> float:
    """Parse an ISO 8601 duration as SpiffWorkflow does; return its approximate length in days."""
    if not text.upper().startswith("P"):
        raise TimerValueInvalid("不是有效的 ISO 8601 时长（应形如 P5D、PT2H）")
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception('Invalid duration')
        raise TimerValueInvalid("不是有效的 ISO 8601 时长（应形如 P5D、PT2H）") from None
    days = sum(float(parsed.get(unit, 0)) * per for unit, per in _DAYS_PER.items())
    if days > _MAX_DAYS:
        raise TimerValueInvalid(f"时长超过 {MAX_TIMER_YEARS} 年，不予接受")
    return days


def _instant(text: str) -> datetime:
    try:
        instant = TimerEventDefinition.parse_time_or_duration(text)
    except Exception:  # noqa: BLE001 - fromisoformat, fromisocalendar, a failed week-date match, overflow
        instant = None
    if not isinstance(instant, datetime):
        raise TimerValueInvalid("不是有效的 ISO 8601 日期时间（应形如 2026-12-01T09:00:00+08:00）")
    return instant


def _check_cycle(text: str) -> None:
    match = _CYCLE.match(text.strip().replace("--", "/"))
    if match is None:
        raise TimerValueInvalid("不是有效的 ISO 8601 重复周期（应形如 R3/PT1H、R/2026-12-01T09:00:00+08:00/P1D）")
    count = match["count"]
    if count.strip().startswith("-"):
        raise TimerValueInvalid("重复次数不能为负数（不限次数请写 R/…）")
    if count and not count.isdigit():
        raise TimerValueInvalid(f"重复次数 {count!r} 不是非负整数")
    parts = match["rest"].split("/")
    durations = [p for p in parts if p.upper().startswith("P")]
    if len(parts) not in (1, 2) or len(durations) != 1:
        raise TimerValueInvalid("重复周期应写成 R[次数]/周期、R[次数]/开始时间/周期 或 R[次数]/周期/结束时间")
    for part in parts:
        if part in durations:
            if _duration_days(part) <= 0:
                raise TimerValueInvalid("重复周期的间隔不能为零")
        else:
            _instant(part)
    try:
        _cycles, _start, period = TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:  # noqa: BLE001 - whatever SpiffWorkflow still dislikes
        raise TimerValueInvalid("不是有效的 ISO 8601 重复周期") from None
    if period.total_seconds() <= 0:
        raise TimerValueInvalid("重复周期的间隔不能为零")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxset = 2, 4, 6, 6, 6
_SHORT.maxstring = _SHORT.maxlong = _SHORT.maxother = 80


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, built from a few elements only: never the whole value.

    A value an expression computed may be a list shared a million times over, or an integer whose digits
    Python refuses to print; its first elements say enough in an error message.
    """
    try:
        shown = _SHORT.repr(value)
    except (ValueError, RecursionError):      # an int past Python's 4,300 digits; a self-containing list
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def timer_value_failed(element_id: str | None, kind: str, value: Any, reason: str) -> ExpressionFailed:
    """The error a step fails with when timer ``element_id`` evaluated to an unusable ``value``."""
    shown = short_repr(value)
    return ExpressionFailed(f"元素 {element_id} 的定时器{_KIND_ZH.get(kind, '')}值 {shown} 无效：{reason}",
                            details={"element_id": element_id, "value": shown})


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        clock = _current.get()
        if clock is None:
            return datetime.now(tz)
        instant = clock.now()
        return instant.astimezone(tz) if tz else instant.astimezone(timezone.utc).replace(tzinfo=None)


def _guarded(original: Callable[[Any, Any], Any], kind: str) -> Callable[[Any, Any], Any]:
    """Wrap a timer's arming method: check the evaluated value first, and turn a crash into a refusal."""
    @functools.wraps(original)
    def arm(self: Any, my_task: Any) -> Any:
        element_id = getattr(my_task.task_spec, "bpmn_id", None) or my_task.task_spec.name
        value: Any = None
        if my_task._get_internal_data("event_value") is None and not my_task._get_internal_data("event_fired"):
            # SpiffWorkflow evaluates the expression when the timer is armed; evaluate it here first (it is
            # pure) and look at the value before SpiffWorkflow does.
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            try:
                check_timer_value(kind, value)
            except TimerValueInvalid as exc:
                raise timer_value_failed(element_id, kind, value, exc.reason) from None
        try:
            return original(self, my_task)
        except (EngineError, SpiffWorkflowException):
            raise
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow's parsers raise bare exceptions
            raise timer_value_failed(element_id, kind, value if value is not None else
                                     my_task._get_internal_data("event_value"), str(exc) or type(exc).__name__) \
                from None
    arm.tongban_guarded = True  # type: ignore[attr-defined]
    return arm


_GUARDS = ((TimeDateEventDefinition, "has_fired", "date"), (DurationTimerEventDefinition, "has_fired", "duration"),
           (CycleTimerEventDefinition, "cycle_complete", "cycle"))


def install() -> None:
    """Patch the timer module once per process (idempotent): the engine clock, and the value guards."""
    with _install_lock:
        if _timer_module.datetime is not _ClockedDatetime:
            _timer_module.datetime = _ClockedDatetime  # type: ignore[misc]
        for cls, name, kind in _GUARDS:
            method = cls.__dict__[name]
            if not getattr(method, "tongban_guarded", False):
                setattr(cls, name, _guarded(method, kind))


@contextlib.contextmanager
def using(clock: Clock) -> Iterator[None]:
    """Bind ``clock`` as SpiffWorkflow's notion of now for the duration of the block."""
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
