"""The composition root: the only place that wires database, SpiffWorkflow adapter, clock and handlers."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, Callable

from . import case_migration, case_start, clock_handlers, draft_deploy, extension_handlers, handlers, intake, \
    message_delivery, online_intake, ratings, supervision, supplements, task_handlers
from .clock import Clock, SystemClock
from .command_text import check_command_text
from .commands import (
    ClaimTask, ClaimTasks, CloseSupervision, Command, CompleteTask, DelegateTask, DeliverMessage, DeployDefinitions,
    ExtendDeadline, FireDueTimers, RaiseSupervision, RateCase, ReceiveApplication, RecomputeDeadlines, ResumeClock,
    ReturnTask, StartCase, SuspendClock, UnclaimTask, LintDefinitions, MigrateCase, DeployDraft, ApplyOnline,
    SubmitSupplement, RequestExtension, DecideExtension, WithdrawExtension,
)
from .access_log import AccessLogBook
from .applicant_access import Applicants, QueryGuard
from .applicant_accounts import ApplicantAccounts
from .case_documents import CaseDocuments
from .case_timers import CaseTimers
from .calendar_functions import CalendarProvider, calendar_functions
from .bundle import is_bundle_file
from .catalog import is_catalog_file
from .config import EngineConfig
from .deployment import DefinitionCatalog, LoadedDefinition
from .drafts import Drafts
from .expressions import Evaluator
from .grants import Grants
from .history import CaseHistory
from .identity import Identity
from .inbox_separation import SeparationMarks
from .logins import LoginGuard
from .material_access import MaterialAccess
from .material_store import MaterialStore
from .my_cases import MyCases
from .message_admin import Messages
from .message_delivery import receiver_problem
from .messages import MessageSettings
from .metrics import Metrics
from .metrics_backfill import backfill_case_facts
from .metrics_rollup import rebuild as rebuild_rollup, roll_up
from .masking import install_log_masking
from .org import Organisation
from .persistence.calendar_repository import CalendarRepository
from .project_targets import load_targets, target_functions
from .persistence.db import Database, make_database
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .queries import Queries
from .rating_queries import RatingReads
from .receipts import Receipts
from .reports import Reports
from .spiff.runner import WorkflowRunner
from .spiff.script_env import safe_script_engine
from .spiff.workflow_cache import WorkflowCache
from .versions import Versions

COMMAND_HANDLERS: dict[type[Command], Callable[[Any, handlers.Services], Any]] = {
    DeployDefinitions: handlers.deploy_definitions,
    LintDefinitions: handlers.lint_definitions,
    DeployDraft: draft_deploy.deploy_draft,
    StartCase: case_start.start_case,
    ClaimTask: handlers.claim_task,
    UnclaimTask: handlers.unclaim_task,
    CompleteTask: handlers.complete_task,
    ClaimTasks: task_handlers.claim_tasks,
    DelegateTask: task_handlers.delegate_task,
    ReturnTask: task_handlers.return_task,
    FireDueTimers: handlers.fire_due_timers,
    SuspendClock: clock_handlers.suspend_clock,
    ResumeClock: clock_handlers.resume_clock,
    ExtendDeadline: extension_handlers.extend_deadline,
    RequestExtension: extension_handlers.request_extension,
    DecideExtension: extension_handlers.decide_extension,
    WithdrawExtension: extension_handlers.withdraw_extension,
    RecomputeDeadlines: clock_handlers.recompute_deadlines,
    RaiseSupervision: supervision.raise_supervision,
    CloseSupervision: supervision.close_supervision,
    ReceiveApplication: intake.receive_application,
    DeliverMessage: lambda cmd, svc: message_delivery.deliver_message(cmd.message_id, svc, actor=cmd.actor),
    MigrateCase: case_migration.migrate_case,
    RateCase: ratings.rate_case,
    ApplyOnline: online_intake.apply_online,
    SubmitSupplement: supplements.submit_supplement,
}


class Engine:
    """What the app and the CLI hold: ``handle(command)``, ``queries``, ``identity``, ``org``, the database.

    ``documents`` reads diagrams, forms and initial data for the pages; ``logins`` checks page logins;
    ``receipts`` reads 收件回执; ``materials`` lists a case's materials and hands out their files, each
    download recorded in ``access_log``; ``applicants`` answers query-code lookups and ratings (办件查询, 好差评);
    ``applicant_accounts`` creates applicant accounts (全程网办) and ``my_cases`` reads their own cases;
    ``case_timers`` reads a case's waiting timers with their due instants (容缺补齐期限 …);
    ``ratings`` reads ratings, their 差评整改 progress and statistics; ``history`` reads case histories
    for auditors (timeline, path, state as of an event); ``versions`` lists, diffs and migrates definition
    versions; ``drafts`` keeps designers' drafts; ``metrics`` reads the 效能 figures and ``reports`` the 通报.
    """

    def __init__(self, config: EngineConfig, database: Database, services: handlers.Services):
        self.config = config
        self.database = database
        self.services = services
        self.clock = services.clock
        self.calendar: CalendarProvider | None = services.calendar
        self.queries = Queries(database.read_sessions, services.clock, services.calendar,
                               SeparationMarks(self._definition), targets=services.catalog.targets)
        self.identity = Identity(services.uow, services.clock, database.read_sessions)
        self.documents = CaseDocuments(database.read_sessions, self.queries)
        self.logins = LoginGuard(services.uow, database.read_sessions, services.clock, self.identity)
        self.org = Organisation(services.uow, services.clock)
        self.grants = Grants(services.uow, services.clock)
        self.receipts = Receipts(database.read_sessions, self.queries, services.uow, services.clock)
        self.access_log = AccessLogBook(database.read_sessions, services.uow, services.clock)
        self.materials = MaterialAccess(database.read_sessions, services.materials, self.access_log)
        self.metrics = Metrics(database.read_sessions, services.clock, services.calendar)
        self.reports = Reports(database.read_sessions, services.uow, services.clock, self.metrics)
        self.history = CaseHistory(self)
        self.ratings = RatingReads(database.read_sessions)
        self.case_timers = CaseTimers(database.read_sessions, self._definition)
        self.applicants = Applicants(database.read_sessions, services, QueryGuard(services.uow, services.clock),
                                     self.ratings, self.handle, timers=self.case_timers)
        self.applicant_accounts = ApplicantAccounts(services.uow, services.clock)
        self.my_cases = MyCases(database.read_sessions, self.applicants.view)
        self.messages = Messages(services.uow, services.clock, services.messages, handlers._record,
                                 partial(receiver_problem, catalog=services.catalog))
        self.versions = Versions(services, lambda: SqlAlchemyUnitOfWork(database.engine),
                                 max_bpmn_bytes=config.max_bpmn_bytes)
        self.drafts = Drafts(services.uow, services.clock, max_bpmn_bytes=config.max_bpmn_bytes,
                             max_form_bytes=config.max_form_bytes)
        self._dryruns: Any = None

    @property
    def dryruns(self) -> Any:
        """Dry runs of drafts against scenarios in throw-away databases (:class:`engine.dryrun.DryRuns`)."""
        if self._dryruns is None:
            from .dryrun import DryRuns  # builds scratch engines with bootstrap(): imported on first use
            self._dryruns = DryRuns(self)
        return self._dryruns

    def _definition(self, definition_id: int) -> LoadedDefinition:
        """The parsed definition (cached per process; a miss reads it in a unit of work)."""
        with self.services.uow() as uow:
            return self.services.catalog.get(uow, definition_id)

    def handle(self, command: Command) -> Any:
        """Run one command in its own transaction and return its result.

        Text no database stores is refused first, whichever way the command came (:mod:`engine.command_text`).
        """
        handler = COMMAND_HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        check_command_text(command)
        return handler(command, self.services)

    def shipped_files(self, processes_dir: Path | None = None,
                      forms_dir: Path | None = None) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        """Read the BPMN files, matter catalogs and bundle mappings in ``processes/`` and the forms in ``forms/``."""
        pdir, fdir = processes_dir or self.config.processes_dir, forms_dir or self.config.forms_dir
        found = sorted(p for p in pdir.rglob("*") if p.suffix == ".bpmn" or is_catalog_file(p.name)
                       or is_bundle_file(p.name)) \
            if pdir.is_dir() else []
        bpmn = [(str(p.relative_to(pdir)), p.read_bytes()) for p in found]
        forms = [(p.name, p.read_bytes()) for p in sorted(fdir.glob("*.form"))] if fdir.is_dir() else []
        return bpmn, forms

    def recompute_deadlines(self, reason: str, *, provisional_only: bool = False) -> tuple[int, int]:
        """Recompute due dates and re-arm date timers of running cases; return (cases checked, changed).

        Run after a calendar year is imported or replaced. Each case is its own transaction, so a large
        backlog is worked through without one long lock. A case whose recompute fails is logged and left
        out of the counts; the rest go on, and the worker's recount (which picks every running case counted
        with an older calendar) tries that case again.
        """
        checked = changed = 0
        for row in self.queries.cases_with_clocks(provisional_only=provisional_only, with_timers=True):
            try:
                ref = self.handle(RecomputeDeadlines(row["id"], reason))
            except Exception:  # noqa: BLE001 - one case must not stop the others'; the worker retries it
                logging.getLogger("tongban.calendar").exception(
                    "recomputing the deadlines of case %s failed; the worker's recount will retry it", row["id"])
                continue
            checked += 1
            changed += ref.version != row["version"]
        return checked, changed

    def roll_up_metrics(self, *, rebuild: bool = False) -> int:
        """Add the finished days missing from the daily metrics rollup (all of them again with ``rebuild``).

        Returns the number of days written; any number of workers may call it, each day is written once.
        """
        return (rebuild_rollup if rebuild else roll_up)(self.services.uow, self.clock.now())

    def backfill_metric_facts(self) -> int:
        """Fill in the metric facts of cases written before they existed; rebuild the rollup if any were.

        Returns the number of cases filled in (``tongban migrate`` calls this after the schema upgrade).
        """
        filled = backfill_case_facts(self.services.uow, self.calendar.get() if self.calendar else None)
        if filled:
            self.roll_up_metrics(rebuild=True)
        return filled

    def ping(self) -> bool:
        """Return True when the database answers a trivial query."""
        from sqlalchemy import text
        with self.database.read_sessions() as session:
            return session.execute(text("SELECT 1")).scalar() == 1

    def close(self) -> None:
        """Release database connections, the history's replay scratch space and dry-run scratch files."""
        self.history.close()
        if self._dryruns is not None:
            self._dryruns.close()
        self.database.dispose()


def bootstrap(config: EngineConfig, *, clock: Clock | None = None, database: Database | None = None) -> Engine:
    """Build an :class:`Engine` from ``config``; tests pass a ManualClock and their own database."""
    for name in ("spiff", "spiff.task", "spiff.workflow"):
        # SpiffWorkflow collects log extras on every state change unless its loggers are above INFO.
        logging.getLogger(name).setLevel(logging.WARNING)
    install_log_masking()  # no personal ID number reaches a log, whoever configures the handlers
    clock = clock or SystemClock()
    database = database or make_database(config.database_url, echo=config.sql_echo)
    calendar = CalendarProvider(lambda: _read_calendar(database))
    targets = load_targets(config.processes_dir)
    functions = {**calendar_functions(calendar), **target_functions(targets)}
    evaluator = Evaluator(functions)
    runner = WorkflowRunner(safe_script_engine(functions, allow_scripts=config.allow_script_tasks), clock,
                            cache=WorkflowCache(config.workflow_cache_size))
    catalog = DefinitionCatalog(evaluator, max_bpmn_bytes=config.max_bpmn_bytes,
                                max_form_bytes=config.max_form_bytes, targets=targets)
    secret = config.message_secret.encode() if config.message_secret else secrets.token_bytes(32)
    settings = MessageSettings(secret, ttl=timedelta(hours=config.message_ttl_hours),
                               max_attempts=config.message_max_attempts)
    services = handlers.Services(clock=clock, runner=runner, catalog=catalog,
                                 uow=lambda: SqlAlchemyUnitOfWork(database.writer, calendar=calendar),
                                 calendar=calendar,
                                 materials=MaterialStore(config.materials_dir, config.max_material_bytes),
                                 messages=settings,
                                 rectification_workdays=config.rectification_workdays,
                                 online_daily_limit=config.online_daily_limit,
                                 on_case_completed=(ratings.close_rectification,))
    return Engine(config, database, services)


def _read_calendar(database: Database) -> Any:
    with database.read_sessions() as session:
        return CalendarRepository(session).load_calendar()
