"""Opening a case: who may start one, on which definition and matter, with which clocks, run to its first wait.

A case opens by a person's StartCase (:func:`start_case`, checked by :func:`check_starter`; its start data
may not preset what the process fills in itself, :func:`refuse_process_presets`), or by intake, a rating, a
message or a replay, each with its own rules, through :func:`open_case`: the matter and its grants
(异地代收代办, 就地批办), the definition version, the clocks (diagram, catalog, project category), the first step,
and the case row with its first hash-chained events, in the caller's transaction.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Callable

from . import events as ev
from .audit import GENESIS
from .bundle import form_keys
from .calendar import business_date
from .calendar_functions import case_clocks_bound
from .case_clocks import catalog_clock_specs, derived_columns, start_clocks
from .case_metrics import FACTS_VERSION, department_of
from .case_opening import Opening
from .catalog import Matter
from .category_limit import CategoryLimit, resolve_pending
from .clock import CST
from .commands import Actor, StartCase
from .definitions import ClockSpec
from .errors import ApplicationInvalid, Forbidden, InvalidInput, MatterUnavailable, UnknownDistrict
from .grants import local_decision, require_grant
from .handlers import CaseRef, Services, _apply_step
from .handoffs import proxy_opening
from .intake_checks import preset_problems, process_fields
from .persistence.case_records import CaseRecord
from .persistence.models import MatterVersion
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .spiff.serializer import SERIALIZER_VERSION
from .storable import unstorable
from .variables import check_variables


STARTER_ROLES = ("window_clerk", "reviewer", "department_head")
"""Who may start a case by command (``POST /api/v1/cases``): the staff who handle cases, and the system.
Auditors, designers, supervisors and administrators do not: what they check or configure, they never create."""


def start_case(cmd: StartCase, svc: Services) -> CaseRef:
    """Start a case on the latest (or requested) definition version and run it until it waits.

    The actor must have the right to start it (:func:`check_starter`), and the start data may not preset a
    name the process fills in itself (:func:`refuse_process_presets`).
    """
    return start_as_given(cmd, svc, check=check_starter, outside=True)


def start_as_given(cmd: StartCase, svc: Services,
                   check: Callable[[SqlAlchemyUnitOfWork, StartCase], None] | None = None, *,
                   outside: bool = False) -> CaseRef:
    """Start a case as the command says, after ``check`` (when given) in the same transaction.

    A dry run starts the case its scenario describes without ``check``: in production that case opens
    through intake, a rating or a message, whose own rules admit it, never by a person's StartCase.
    ``outside``: the start data comes from outside the engine (see :func:`open_case`).
    """
    check_start_text(cmd)
    data = check_variables(cmd.data, what="办件初始数据")
    now = svc.clock.now()
    with svc.uow() as uow:
        if check is not None:
            check(uow, cmd)
        case, created, workflow = open_case(uow, svc, cmd, data, now, outside=outside)
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    return CaseRef(case.id, case.case_no, case.status, case.version, created)


_TEXT_FIELDS = {"process_key": "流程标识", "title": "标题", "business_key": "业务编号", "matter_code": "事项编码",
                "owning_district": "业务属地", "receiving_district": "收件地"}


def check_start_text(cmd: StartCase) -> None:
    """Refuse a StartCase whose text fields hold text no database stores (:mod:`engine.storable`).

    Raises:
        InvalidInput: naming every such field in ``details.fields``; nothing is written.
    """
    problems = {name: f"{label}{found.message}" for name, label in _TEXT_FIELDS.items()
                if isinstance(value := getattr(cmd, name), str) and (found := unstorable(value)) is not None}
    if problems:
        raise InvalidInput(next(iter(problems.values())),
                           details={"fields": {name: [message] for name, message in problems.items()}})


def check_starter(uow: SqlAlchemyUnitOfWork, cmd: StartCase) -> None:
    """Refuse a start the actor has no right to; nothing is written.

    A person starts cases at their own window: the receiving district (收件地) is their district, never one
    they name. A case for another owning district (业务属地) must name its matter, so that the district's
    ``receive`` grant is checked (``open_case``); the district must exist. The system (worker, migrations)
    starts cases for whichever districts its sources name.
    """
    actor = cmd.actor
    if "system" in actor.roles:
        return
    if not set(actor.roles) & set(STARTER_ROLES):
        raise Forbidden("只有窗口、审查和审批人员可以发起办件", code="START_FORBIDDEN",
                        details={"roles": list(actor.roles)})
    if cmd.receiving_district is not None and cmd.receiving_district != actor.district:
        raise Forbidden(f"收件地只能是您所在的区县（{actor.district or '未指定'}），不能代其他区县收件",
                        code="RECEIVING_DISTRICT_FORBIDDEN",
                        details={"receiving_district": cmd.receiving_district, "district": actor.district})
    owning = cmd.owning_district
    if owning is None or owning == actor.district:
        return
    if uow.org.district(owning) is None:
        raise UnknownDistrict(f"区县代码 {owning} 不存在", details={"district": owning})
    if actor.district is not None and not cmd.matter_code:
        raise Forbidden("为其他区县发起办件须指定事项（matter_code），以便核验异地收件授权",
                        code="CROSS_DISTRICT_NEEDS_MATTER", details={"owning_district": owning})


def open_case(uow: SqlAlchemyUnitOfWork, svc: Services, cmd: StartCase, data: dict[str, Any], now: datetime,
              inputs_after: Callable[[CaseRecord, MatterVersion | None], list[ev.Event]] | None = None,
              opening: Opening | None = None, intake: bool = False,
              outside: bool = False) -> tuple[CaseRecord, tuple[int, ...], Any]:
    """Insert and run a new case inside ``uow`` (the caller commits); return it, its new tasks, its workflow.

    ``inputs_after`` adds audit events recorded right after ``CaseStarted`` (intake records the
    application there); it gets the case row and the matter version received under. ``opening`` says how
    a case opens otherwise (a message start, see :class:`~engine.case_opening.Opening`); a matter received
    for another district whose catalog entry has ``handoff`` opens its receiving process (异地代收代办).
    ``intake``: ``data`` comes from intake (收件, or its replay) and holds intake's bookkeeping (applicant,
    matter_code, 承办部门 ...) beside the application, so a bundle checks only its 一表申报 form's keys;
    intake has checked the application against that form already (:func:`engine.bundle.application_form`).
    ``outside``: ``data`` is a person's start data (``StartCase``, ``POST /api/v1/cases``), refused where it
    presets what the process fills in itself (:func:`refuse_process_presets`), or where it would open a
    receiving process (:func:`refuse_handoff_start`). Intake checks its application so itself; a message, a
    rating and replay pass data the engine made or recorded, and leave it False.
    """
    owning = cmd.owning_district or cmd.actor.district
    receiving = cmd.receiving_district or cmd.actor.district or owning
    # A matter is offered by its owning district (业务属地); another district receives it only under a grant.
    explicit = opening is not None and opening.process_key is not None
    matter_row = matter_for(uow, cmd.matter_code, owning, None if explicit else cmd.process_key) \
        if cmd.matter_code else None
    grant = decider = None
    if matter_row is not None and receiving != owning and (opening is None or opening.check_grant):
        grant = require_grant(uow, matter_code=matter_row.code, owning=owning, receiving=receiving,
                              right="receive", on=business_date(now))
        if opening is None:
            decider = local_decision(uow, matter_row, owning, receiving, now)
    if opening is None and matter_row is not None and decider is None:
        # 就地批办 needs no handoff: the receiving district runs the matter's own process and decides.
        opening = proxy_opening(uow, matter_row, owning, receiving, now)
        if outside and opening is not None:
            refuse_handoff_start(matter_row, owning)
    opening = opening or Opening()
    given = data
    data = {**data, **opening.data}
    process_key = matter_row.process_key if matter_row is not None else cmd.process_key
    process_key = opening.process_key or process_key
    if not process_key:
        raise InvalidInput("请指定流程（process_key）或事项（matter_code）")
    definition = svc.catalog.get(uow, uow.definitions.latest_id(process_key, cmd.version))
    if outside:
        refuse_process_presets(uow, svc, definition, matter_row, given)
    # From here on the clocks, the catalog's when= and the first step count days: with the calendar committed
    # by now, even when another process imported it a moment ago (one cheap statement; none when a case row
    # was read in this unit already).
    uow.check_calendar()
    if definition.bundle_form is not None:
        # 一表申报: a bundle's case starts from its one application form, checked like any task form.
        if intake:
            keys = form_keys(definition.bundle_form)
            bookkeeping = {key: value for key, value in data.items() if key not in keys}
            data = {**bookkeeping, **definition.bundle_form.validate(
                {key: value for key, value in data.items() if key in keys}, today=business_date(now))}
        else:
            data = definition.bundle_form.validate(data, today=business_date(now))
    # A clock with when= (e.g. the committed limit of one 不动产登记 sub-type) applies only where it holds.
    specs = tuple(s for s in definition.clocks if s.when is None or svc.catalog.evaluator.evaluate(s.when, data))
    by_category = False
    if matter_row is not None and opening.catalog_clocks:
        matter = Matter.from_doc(matter_row.doc)
        limits = {"legal": (matter.legal_limit.amount, matter.legal_limit.unit)}
        committed = matter.committed_limit_in(owning)
        # A limit per project category has no amount here: the diagram's committed clock (amountFrom) keeps its own.
        by_category = isinstance(committed, CategoryLimit)
        if not by_category:
            limits["committed"] = (committed.amount, committed.unit)
        specs = catalog_clock_specs(specs, limits, matter.lights)
    if opening.clocks_from is not None:
        # T0 is fixed elsewhere (收件地受理 in the receiving district's case): every clock starts now.
        specs = tuple(replace(s, starts_at=None, notice_at=None, amount_from=None) for s in specs)
    # The clocks exist before the first step, so timers reached at once can read legal_due().
    clock_columns = _clock_columns(specs, svc, opening.clocks_from or now, cmd.actor, data)
    with case_clocks_bound(clock_columns.get("clocks")):
        workflow, step = (opening.begin or svc.runner.start)(definition.spec, definition.subprocess_specs, data)
    if by_category and clock_columns.get("clocks"):
        # The first step computed the case's own target (工改: target_workdays): its clock shows it from 收件 on.
        clock_columns["clocks"] = resolve_pending(clock_columns["clocks"], svc.runner.current_data(workflow))
    day = now.astimezone(CST).strftime("%Y%m%d")
    case_no = f"TB{day}{uow.cases.next_number(day):06d}"
    case = uow.cases.insert({
        "case_no": case_no, "definition_id": definition.id, "process_key": definition.process_key,
        "business_key": cmd.business_key, "title": cmd.title, "status": "running", "owning_district": owning,
        "receiving_district": receiving, "started_by": cmd.actor.username,
        "started_at": now, "updated_at": now, "event_seq": 0, "chain_head": GENESIS,
        "serializer_version": SERIALIZER_VERSION, "workflow_state": "", "version": 1,
        "matter_code": matter_row.code if matter_row is not None else None,
        "matter_version": matter_row.version if matter_row is not None else None,
        "deciding_district": receiving if decider is not None else None,
        "department": department_of(matter_row.doc if matter_row is not None else None, data),
        "corrections": 0, "tolerance": False, "visits": 0, "facts_version": FACTS_VERSION,
        **clock_columns})
    started = ev.CaseStarted(process_key=definition.process_key, definition_version=definition.version,
                             content_hash=definition.content_hash, data=data,
                             owning_district=case.owning_district, receiving_district=case.receiving_district)
    inputs: list[ev.Event] = [started]
    if matter_row is not None:
        inputs.append(ev.MatterReceived(code=matter_row.code, version=matter_row.version,
                                        content_hash=matter_row.content_hash))
    if grant is not None:
        inputs.append(ev.GrantExercised(grant_id=grant.id, right="receive", owning_district=owning,
                                        receiving_district=receiving))
    if decider is not None:
        # 就地批办: the decision tasks (${deciding}) go to the receiving district under this grant.
        inputs.append(ev.GrantExercised(grant_id=decider.id, right="decide", owning_district=owning,
                                        receiving_district=receiving))
    if inputs_after is not None:
        inputs += inputs_after(case, matter_row)
    started_now = {kind: {"budget": entry["clock"]["budget"], "t0": entry["clock"]["t0"]}
                   for kind, entry in (case.clocks or {}).items() if "clock" in entry}
    if started_now:
        inputs.append(ev.ClocksStarted(clocks=started_now))
    created, rows = _apply_step(uow, svc, case, definition, workflow, step, inputs, cmd.actor, now, {})
    uow.cases.save(case, events=rows)
    return case, created, workflow


def refuse_handoff_start(matter_row: MatterVersion, owning: str) -> None:
    """Refuse a StartCase that would open another district's matter on its receiving process (异地代收代办).

    That process hands the application over with what only intake records (``applicant``, ``materials`` and
    their files, the verification record); a case started without them could never be handed over. Such a
    matter comes in through 收件 (``POST /api/v1/applications``, the ``/intake`` page). A 就地批办 start (a
    ``decide`` grant in force) runs the matter's own process and is not refused.

    Raises:
        InvalidInput: ``HANDOFF_NEEDS_INTAKE`` (422); nothing is written.
    """
    raise InvalidInput(f"事项“{matter_row.name}”属业务属地 {owning}，本窗口只能异地代收代办：请通过收件"
                       "（/intake 页面或 POST /api/v1/applications）登记申请人和材料，核验后移交，不能直接发起办件",
                       code="HANDOFF_NEEDS_INTAKE",
                       details={"matter_code": matter_row.code, "owning_district": owning})


def refuse_process_presets(uow: SqlAlchemyUnitOfWork, svc: Services, definition: Any,
                           matter_row: MatterVersion | None, data: dict[str, Any]) -> None:
    """Refuse start data that presets a name the process fills in itself, as intake refuses an application.

    The names are :func:`engine.intake_checks.process_fields` of the process started and, for a matter, of
    the matter's own process too (a 异地代收代办 receiving case's data goes on to it); a matter's application
    form (申请表单) keys stay the caller's, as at intake. A preset ``design_opinions`` (工改's 会审 votes)
    would otherwise wedge the case for good.

    Raises:
        ApplicationInvalid: ``APPLICATION_INVALID`` (422), ``details.fields`` mapping each ``data.<key>`` to
            :data:`~engine.intake_checks.PROCESS_FIELD`; nothing is written.
    """
    written = process_fields(definition)
    if matter_row is not None:
        if matter_row.process_key != definition.process_key:
            written |= process_fields(svc.catalog.get(uow, uow.definitions.latest_id(matter_row.process_key)))
        own_form = Matter.from_doc(matter_row.doc).application_form
        if own_form is not None:
            written -= form_keys(svc.catalog.application_form(uow, *own_form))
    problems = preset_problems(written, data, "data")
    if problems:
        keys = "、".join(key.removeprefix("data.") for key in problems)
        raise ApplicationInvalid(f"办件初始数据不能预置由办理过程填写的字段：{keys}", details={"fields": problems})


def matter_for(uow: SqlAlchemyUnitOfWork, code: str, receiving: str | None,
               process_key: str | None = None) -> MatterVersion:
    """Return the newest version of matter ``code``; refuse one unknown or not offered at ``receiving``.

    ``process_key``, when given, must be the matter's process.
    """
    row = uow.definitions.matter(code)
    if row is None:
        raise MatterUnavailable(f"事项 {code} 不在事项目录中", code="MATTER_NOT_FOUND", details={"matter_code": code})
    if not Matter.from_doc(row.doc).offered_in(receiving):
        raise MatterUnavailable(f"事项“{row.name}”未在本区县（{receiving or '未指定'}）提供，不能在此收件",
                                details={"matter_code": row.code, "district": receiving})
    handoff = Matter.from_doc(row.doc).handoff or {}
    if process_key and process_key not in (row.process_key, handoff.get("process")):
        raise InvalidInput(f"事项“{row.name}”由流程 {row.process_key} 办理，与指定的流程 {process_key} 不符",
                           code="MATTER_PROCESS_MISMATCH", details={"matter_code": row.code})
    return row


def _clock_columns(specs: tuple[ClockSpec, ...], svc: Services, now: datetime, actor: Actor,
                   data: dict[str, Any]) -> dict[str, Any]:
    if not specs:
        return {}
    doc = start_clocks(specs, now, actor.username, data)
    return {"clocks": doc, **derived_columns(doc, svc.calendar.get())}
