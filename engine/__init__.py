"""tongban's workflow engine: commands in, events out, one transaction per command. No Flask in here.

The public surface is re-exported here; ``app/`` imports nothing else from ``engine``.
"""
from .archive_registry import STATES as ARCHIVE_STATES, ArchiveFile, ArchiveInfo, archive_file, list_archives
from .archive_verify import ArchiveCheck, ArchiveProblem, verify_archive
from .archive_writer import ArchiveBuildFailed
from .audit_checks import AUDIT_ROLES, may_audit, replay_for, replay_report, verify_for
from .archives import build_now as build_archive, queue_missing as queue_missing_archives
from .bootstrap import Engine, bootstrap
from .chain_heads import HeadProblem, SealedDay, seal_days
from .chain_recount import check_chain_heads
from .csv_cells import spreadsheet_safe
from .exports import MEDIA_TYPES as EXPORT_MEDIA_TYPES, ExportQuery, export_events
from .calendar import (
    CalendarInvalid, CalendarUnknown, CalendarYearExists, DayFact, DayKind, Due, WorkCalendar, YearSchedule,
    business_date, parse_schedule,
)
from .bundle import is_bundle_file
from .catalog import Matter, is_catalog_file
from .clock import CST, Clock, ManualClock, SystemClock
from .commands import (
    Actor, ClaimTask, ClaimTasks, CloseSupervision, Command, CompleteTask, DelegateTask, DeliverMessage,
    DeployDefinitions,
    ExtendDeadline, FireDueTimers, LintDefinitions, MaterialInput, MigrateCase, Party, RaiseSupervision, RateCase,
    ReceiveApplication, RecomputeDeadlines, ResumeClock, ReturnTask, StartCase, SuspendClock, UnclaimTask,
    ApplyOnline, SubmitSupplement, RequestExtension, DecideExtension, WithdrawExtension,
)
from .applicant_accounts import APPLICANT_ROLE, VERIFIER_ROLES, ApplicantAccounts, ApplicantIdentity, is_applicant
from .my_cases import MyCases
from .extension_handlers import MAX_TEXT as EXTENSION_TEXT_MAX, REQUEST_STATES as EXTENSION_REQUEST_STATES
from .org_file import ROLE_NAMES
from .legal_clock_records import (
    ClockClosed, ClockKind, ExtensionApproverRequired, ExtensionLimitExceeded, ExtensionNotApproved,
)
from .case_migration import MigrationRefused, Refusal
from .commands import DeployDraft
from .config import EngineConfig
from .dryrun import DryRunResult, DryRuns
from .scenario import ScenarioInvalid, parse_scenario
from .errors import (
    ApplicationInvalid, BadRequest, Conflict, DefinitionRejected, EngineError, ExpressionFailed, ExpressionRejected,
    Forbidden, FormInvalid, InvalidInput, MatterUnavailable, NotFound, OrgFileInvalid, TooManyAttempts,
    UnknownDepartment, UnknownDistrict, WorkflowFailed,
)
from .grants import RIGHTS, GrantInfo, GrantMissing, Grants
from .file_echo import clipped, shown_json
from .identifiers import (
    DISTRICT_CODE, DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN, ID_TYPES, district_code_problem,
    is_valid_credit_code,
)
from .identity import ROLES, UserInfo
from .inbox import InboxQuery
from .intake import CLERK_ROLES, IntakeResult
from .intake_checks import AGENT_KINDS, APPLICANT_KINDS
from .access_log import OUTCOMES as ACCESS_OUTCOMES, AccessEntry, AccessPage, may_read_access_log
from .material_access import MaterialFile
from .material_store import ALLOWED_TYPES, MaterialRejected
from .masking import (
    FULL_ID_NUMBER_ROLES, IdNumberFilter, install_log_masking, is_valid_id_number, mask_for_roles,
    mask_id_number, mask_mapping, mask_text, sees_full_id_numbers,
)
from .applicant_access import Applicants, QueryGuard
from .org import DistrictInfo, OrgChange, Organisation
from .org_file import CSV_COLUMNS, KINDS, OrgFile, parse_org_file, reference_org
from .metrics import Metrics
from .metrics_period import MetricsQueryInvalid, Period
from .migrations import upgrade_database
from .reports import KINDS as REPORT_KINDS, report_period
from .persistence.calendar_repository import CalendarLoad, CalendarYearInfo, ImportOutcome
from .calendar_store import (
    CalendarCoverage, calendar_coverage, calendar_log, calendar_years, ensure_calendar_seeded, import_calendar_year,
    load_work_calendar,
)
from .rating_queries import RatingReads, rating_scope
from .ratings import (
    APPLICANT, BAD_SCORES, CHANNELS, LEVELS, RECTIFICATION_PROCESS, STATUSES, appeal_data, appeal_decision_data,
    check_rating,
)
from .replay import Replayer
from .replay_calendar import CalendarNotCarried, CalendarVersionLost
from .replay_commands import REPLAYED_EVENTS
from .replay_inputs import ChainBroken, DefinitionChanged, DefinitionMissing
from .replay_results import ReplayDivergence, ReplayResult
from .case_history import CaseHistory, load_case_history
from .history_file import (
    FORMAT as HISTORY_FORMAT, HistoryFileError, dumps_history, loads_history, read_history, verify_history,
    write_history,
)
from .timers import PeriodicResult, SweepResult, TimerWorker, run_forever, start_background
from .message_delivery import DeliveryOutcome, WorkerKilled, deliver_message
from .message_worker import MessageSweep, MessageWorker
from .messages import STATES as MESSAGE_STATES, MessageRejected, MessageSettings
from .handoffs import ManifestMismatch
from .variables import nested_deeper_than
from .verification import CaseVerification, verify_all, verify_case
from .text_input import BIDI_CONTROLS, BIDI_WHAT
from .storable import unstorable, unstorable_in, visible_text
from .form_dates import date_limits
from .case_clocks import NoticeAlreadyGiven
from .versions import CasePlan, MigrationReport, Versions

__all__ = [
    "BIDI_CONTROLS", "BIDI_WHAT", "date_limits", "NoticeAlreadyGiven", "unstorable", "unstorable_in", "visible_text",
    "AUDIT_ROLES", "may_audit", "replay_for", "replay_report", "verify_for",
    "AccessEntry", "AccessPage", "ACCESS_OUTCOMES", "may_read_access_log",
    "Actor", "AGENT_KINDS", "ALLOWED_TYPES", "APPLICANT_KINDS", "ApplicationInvalid", "BadRequest", "bootstrap",
    "business_date", "calendar_coverage", "calendar_log", "calendar_years", "CalendarCoverage", "CalendarInvalid",
    "CalendarLoad",
    "CalendarUnknown", "CalendarYearExists", "CalendarYearInfo", "CaseVerification", "ClaimTask", "ClaimTasks",
    "Clock", "CloseSupervision", "Command", "CompleteTask", "Conflict", "CST", "CSV_COLUMNS", "DayFact", "DayKind",
    "CalendarNotCarried", "CalendarVersionLost", "ChainBroken", "DefinitionChanged", "DefinitionMissing",
    "DefinitionRejected", "DelegateTask", "DeployDefinitions",
    "DistrictInfo", "Due", "Engine", "EngineConfig",
    "EngineError", "ensure_calendar_seeded", "ExpressionFailed", "ExpressionRejected", "ExtendDeadline",
    "FireDueTimers", "Forbidden", "FormInvalid", "FULL_ID_NUMBER_ROLES", "GrantInfo", "GrantMissing", "Grants",
    "ID_TYPES", "IdNumberFilter", "import_calendar_year", "ImportOutcome", "InboxQuery", "install_log_masking",
    "IntakeResult", "InvalidInput", "is_bundle_file", "is_catalog_file", "is_valid_credit_code",
    "is_valid_id_number", "KINDS", "load_work_calendar", "ManualClock", "mask_for_roles", "mask_id_number",
    "mask_mapping", "mask_text", "MaterialFile", "MaterialInput", "MaterialRejected", "Matter", "MatterUnavailable",
    "NotFound",
    "Organisation", "OrgChange", "OrgFile", "OrgFileInvalid", "parse_org_file", "parse_schedule", "Party",
    "RaiseSupervision", "ReceiveApplication", "RecomputeDeadlines", "reference_org", "ResumeClock", "ReturnTask",
    "RIGHTS", "ROLES", "run_forever", "sees_full_id_numbers", "start_background", "StartCase", "SuspendClock",
    "SweepResult", "SystemClock", "TimerWorker", "TooManyAttempts", "UnclaimTask", "UnknownDepartment",
    "UnknownDistrict", "upgrade_database", "UserInfo", "verify_all", "verify_case", "WorkCalendar",
    "WorkflowFailed", "YearSchedule",
    "RequestExtension", "DecideExtension", "WithdrawExtension", "EXTENSION_REQUEST_STATES", "EXTENSION_TEXT_MAX",
    "ROLE_NAMES", "ClockClosed", "ExtensionApproverRequired", "ExtensionLimitExceeded", "ExtensionNotApproved",
    "ClockKind",
    "REPLAYED_EVENTS", "ReplayDivergence", "Replayer", "ReplayResult",
    "CaseHistory", "load_case_history", "HISTORY_FORMAT", "HistoryFileError", "dumps_history", "loads_history",
    "read_history", "verify_history", "write_history",
    "LintDefinitions", "DeliverMessage", "DeliveryOutcome", "WorkerKilled", "deliver_message", "MessageSweep",
    "MessageWorker", "MESSAGE_STATES", "MessageRejected", "MessageSettings", "ManifestMismatch",
    "CasePlan", "DryRunResult", "DryRuns", "MigrateCase", "MigrationRefused", "MigrationReport", "parse_scenario",
    "Refusal", "ScenarioInvalid", "Versions",
    "DeployDraft",
    "LintDefinitions",
    "ARCHIVE_STATES", "ArchiveBuildFailed", "ArchiveCheck", "ArchiveFile", "ArchiveInfo", "ArchiveProblem",
    "archive_file", "build_archive", "check_chain_heads", "EXPORT_MEDIA_TYPES", "export_events", "ExportQuery",
    "spreadsheet_safe",
    "HeadProblem", "list_archives", "queue_missing_archives", "seal_days", "SealedDay", "verify_archive",
    "APPLICANT", "Applicants", "BAD_SCORES", "CHANNELS", "check_rating", "LEVELS", "QueryGuard", "RateCase",
    "RatingReads", "rating_scope", "RECTIFICATION_PROCESS", "STATUSES", "appeal_data", "appeal_decision_data",
    "APPLICANT_ROLE", "VERIFIER_ROLES", "ApplicantAccounts", "ApplicantIdentity", "ApplyOnline", "is_applicant",
    "MyCases", "SubmitSupplement", "CLERK_ROLES", "nested_deeper_than",
    "Metrics", "MetricsQueryInvalid", "Period", "PeriodicResult", "report_period", "REPORT_KINDS",
    "clipped", "shown_json",
    "DISTRICT_CODE", "DISTRICT_CODE_PATTERN", "DISTRICT_CODE_SHAPE_PATTERN", "district_code_problem",
]
