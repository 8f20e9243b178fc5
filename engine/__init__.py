"""tongban's workflow engine: commands in, events out, one transaction per command. No Flask in here.

The public surface is re-exported here; ``app/`` imports nothing else from ``engine``.
"""
from .bootstrap import Engine, bootstrap
from .calendar import (
    CalendarInvalid, CalendarUnknown, CalendarYearExists, DayFact, DayKind, Due, WorkCalendar, YearSchedule,
    business_date, parse_schedule,
)
from .clock import CST, Clock, ManualClock, SystemClock
from .commands import (
    Actor, ClaimTask, ClaimTasks, Command, CompleteTask, DelegateTask, DeployDefinitions, ExtendDeadline,
    FireDueTimers, RecomputeDeadlines, ResumeClock, ReturnTask, StartCase, SuspendClock, UnclaimTask,
)
from .config import EngineConfig
from .errors import (
    BadRequest, Conflict, DefinitionRejected, EngineError, ExpressionFailed, ExpressionRejected, Forbidden, FormInvalid,
    InvalidInput, NotFound, WorkflowFailed,
)
from .identity import ROLES
from .inbox import InboxQuery
from .migrations import upgrade_database
from .persistence.calendar_repository import (
    CalendarYearInfo, ImportOutcome, calendar_years, ensure_calendar_seeded, import_calendar_year,
    load_work_calendar,
)
from .timers import SweepResult, TimerWorker, run_forever, start_background

__all__ = [
    "ExtendDeadline", "RecomputeDeadlines", "ResumeClock", "SuspendClock",
    "BadRequest", "ClaimTasks", "DelegateTask", "InboxQuery", "ReturnTask",
    "Actor", "CST", "ClaimTask", "Clock", "Command", "CompleteTask", "Conflict", "DefinitionRejected",
    "DeployDefinitions", "Engine", "EngineConfig", "EngineError", "ExpressionFailed", "ExpressionRejected",
    "FireDueTimers", "Forbidden", "FormInvalid", "InvalidInput", "ManualClock", "NotFound", "ROLES", "StartCase",
    "SweepResult", "SystemClock", "TimerWorker", "UnclaimTask", "WorkflowFailed", "bootstrap", "run_forever",
    "start_background", "upgrade_database",
    # statutory calendar
    "CalendarInvalid", "CalendarUnknown", "CalendarYearExists", "CalendarYearInfo", "DayFact", "DayKind",
    "Due", "ImportOutcome", "WorkCalendar", "YearSchedule", "calendar_years", "ensure_calendar_seeded",
    "business_date", "import_calendar_year", "load_work_calendar", "parse_schedule",
]
