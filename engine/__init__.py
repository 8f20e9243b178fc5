"""tongban's workflow engine: commands in, events out, one transaction per command. No Flask in here.

The public surface is re-exported here; ``app/`` imports nothing else from ``engine``.
"""
from .bootstrap import Engine, bootstrap
from .calendar import (
    CalendarInvalid, CalendarUnknown, CalendarYearExists, DayFact, DayKind, Due, WorkCalendar, YearSchedule,
    business_date, parse_schedule,
)
from .bundle import is_bundle_file
from .catalog import Matter, is_catalog_file
from .clock import CST, Clock, ManualClock, SystemClock
from .commands import (
    Actor, ClaimTask, ClaimTasks, CloseSupervision, Command, CompleteTask, DelegateTask, DeployDefinitions,
    ExtendDeadline, FireDueTimers, LintDefinitions, MaterialInput, Party, RaiseSupervision, ReceiveApplication,
    RecomputeDeadlines, ResumeClock, ReturnTask, StartCase, SuspendClock, UnclaimTask,
)
from .config import EngineConfig
from .errors import (
    ApplicationInvalid, BadRequest, Conflict, DefinitionRejected, EngineError, ExpressionFailed, ExpressionRejected,
    Forbidden, FormInvalid, InvalidInput, MatterUnavailable, NotFound, OrgFileInvalid, TooManyAttempts,
    UnknownDepartment, UnknownDistrict, WorkflowFailed,
)
from .grants import RIGHTS, GrantInfo, GrantMissing, Grants
from .identifiers import ID_TYPES, is_valid_credit_code
from .identity import ROLES, UserInfo
from .inbox import InboxQuery
from .intake import IntakeResult
from .intake_checks import AGENT_KINDS, APPLICANT_KINDS
from .material_store import ALLOWED_TYPES, MaterialRejected
from .masking import (
    FULL_ID_NUMBER_ROLES, IdNumberFilter, install_log_masking, is_valid_id_number, mask_for_roles,
    mask_id_number, mask_mapping, mask_text, sees_full_id_numbers,
)
from .org import DistrictInfo, OrgChange, Organisation
from .org_file import CSV_COLUMNS, KINDS, OrgFile, parse_org_file, reference_org
from .metrics import Metrics
from .metrics_period import MetricsQueryInvalid, Period
from .migrations import upgrade_database
from .reports import KINDS as REPORT_KINDS, report_period
from .persistence.calendar_repository import (
    CalendarCoverage, CalendarYearInfo, ImportOutcome, calendar_coverage, calendar_years, ensure_calendar_seeded,
    import_calendar_year, load_work_calendar,
)
from .replay import REPLAYED_EVENTS, ReplayDivergence, Replayer, ReplayResult
from .timers import PeriodicResult, SweepResult, TimerWorker, run_forever, start_background
from .verification import CaseVerification, verify_all, verify_case

__all__ = [
    "Actor", "AGENT_KINDS", "ALLOWED_TYPES", "APPLICANT_KINDS", "ApplicationInvalid", "BadRequest", "bootstrap",
    "business_date", "calendar_coverage", "calendar_years", "CalendarCoverage", "CalendarInvalid",
    "CalendarUnknown", "CalendarYearExists", "CalendarYearInfo", "CaseVerification", "ClaimTask", "ClaimTasks",
    "Clock", "CloseSupervision", "Command", "CompleteTask", "Conflict", "CST", "CSV_COLUMNS", "DayFact", "DayKind",
    "DefinitionRejected", "DelegateTask", "DeployDefinitions", "DistrictInfo", "Due", "Engine", "EngineConfig",
    "EngineError", "ensure_calendar_seeded", "ExpressionFailed", "ExpressionRejected", "ExtendDeadline",
    "FireDueTimers", "Forbidden", "FormInvalid", "FULL_ID_NUMBER_ROLES", "GrantInfo", "GrantMissing", "Grants",
    "ID_TYPES", "IdNumberFilter", "import_calendar_year", "ImportOutcome", "InboxQuery", "install_log_masking",
    "IntakeResult", "InvalidInput", "is_bundle_file", "is_catalog_file", "is_valid_credit_code",
    "is_valid_id_number", "KINDS", "load_work_calendar", "ManualClock", "mask_for_roles", "mask_id_number",
    "mask_mapping", "mask_text", "MaterialInput", "MaterialRejected", "Matter", "MatterUnavailable", "NotFound",
    "Organisation", "OrgChange", "OrgFile", "OrgFileInvalid", "parse_org_file", "parse_schedule", "Party",
    "RaiseSupervision", "ReceiveApplication", "RecomputeDeadlines", "reference_org", "ResumeClock", "ReturnTask",
    "RIGHTS", "ROLES", "run_forever", "sees_full_id_numbers", "start_background", "StartCase", "SuspendClock",
    "SweepResult", "SystemClock", "TimerWorker", "TooManyAttempts", "UnclaimTask", "UnknownDepartment",
    "UnknownDistrict", "upgrade_database", "UserInfo", "verify_all", "verify_case", "WorkCalendar",
    "WorkflowFailed", "YearSchedule",
    "REPLAYED_EVENTS", "ReplayDivergence", "Replayer", "ReplayResult",
    "LintDefinitions", "Metrics", "MetricsQueryInvalid", "Period", "PeriodicResult", "report_period",
    "REPORT_KINDS",
]
