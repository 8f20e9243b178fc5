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
    ExtendDeadline, LintDefinitions, FireDueTimers, MaterialInput, Party, RaiseSupervision, ReceiveApplication, RecomputeDeadlines,
    ResumeClock, ReturnTask, StartCase,
    SuspendClock, UnclaimTask,
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
from .migrations import upgrade_database
from .persistence.calendar_repository import (
    CalendarCoverage, CalendarYearInfo, ImportOutcome, calendar_coverage, calendar_years, ensure_calendar_seeded,
    import_calendar_year, load_work_calendar,
)
from .timers import SweepResult, TimerWorker, run_forever, start_background
from .verification import CaseVerification, verify_all, verify_case

__all__ = [
    "Matter", "is_bundle_file", "is_catalog_file", "RIGHTS", "GrantInfo", "GrantMissing", "Grants", "CaseVerification", "verify_all", "verify_case",
    # intake
    "AGENT_KINDS", "ALLOWED_TYPES", "APPLICANT_KINDS", "ApplicationInvalid", "ID_TYPES", "IntakeResult",
    "MaterialInput", "MaterialRejected", "MatterUnavailable", "Party", "ReceiveApplication", "is_valid_credit_code",
    "ExtendDeadline", "RecomputeDeadlines", "ResumeClock", "SuspendClock", "CloseSupervision", "RaiseSupervision",
    "BadRequest", "ClaimTasks", "DelegateTask", "InboxQuery", "ReturnTask",
    "Actor", "CST", "ClaimTask", "Clock", "Command", "CompleteTask", "Conflict", "DefinitionRejected",
    "DeployDefinitions", "Engine", "EngineConfig", "EngineError", "ExpressionFailed", "ExpressionRejected",
    "LintDefinitions",
    "FireDueTimers", "Forbidden", "FormInvalid", "InvalidInput", "ManualClock", "NotFound", "ROLES", "StartCase",
    "SweepResult", "SystemClock", "TimerWorker", "TooManyAttempts", "UnclaimTask", "WorkflowFailed", "bootstrap",
    "run_forever",
    "start_background", "upgrade_database",
    # statutory calendar
    "CalendarInvalid", "CalendarUnknown", "CalendarYearExists", "CalendarYearInfo", "DayFact", "DayKind",
    "CalendarCoverage", "calendar_coverage", "Due", "ImportOutcome", "WorkCalendar", "YearSchedule", "calendar_years", "ensure_calendar_seeded",
    "business_date", "import_calendar_year", "load_work_calendar", "parse_schedule",
    # organisation model and personal ID numbers
    "CSV_COLUMNS", "DistrictInfo", "FULL_ID_NUMBER_ROLES", "IdNumberFilter", "KINDS", "OrgChange", "OrgFile",
    "OrgFileInvalid", "Organisation", "UnknownDepartment", "UnknownDistrict", "UserInfo",
    "install_log_masking", "is_valid_id_number", "mask_for_roles", "mask_id_number", "mask_mapping", "mask_text", "parse_org_file",
    "reference_org", "sees_full_id_numbers",
]
