"""Intake (收件): receive an application for a catalog matter at a window and start its case.

One command, :class:`ReceiveApplication`, in this order so that a refused intake leaves nothing behind:

1. check the parties, the phone, the form keys and the materials checklist against the catalog (no I/O
   but reads of the matter and its process); every problem comes back at once, per field. The form may not
   set intake's own keys, change the catalog's facts, or preset what the process fills in itself
   (:func:`engine.intake_checks.process_fields`: the tasks' form fields, script results, 会签 results);
   a 一件事's form is checked against its 一表申报 form, a matter's with an application form (申请表单,
   ``application_form`` in the catalog) against that form, whose cleaned values alone go into the case;
2. stage the uploads in temporary files, refusing a file too large or of a type not allowed;
3. move the staged files into the content-addressed store, then in one transaction start the case for the
   matter (clocks from the catalog), insert the application and its ``case_materials`` rows and record
   the audit events. If that transaction fails, files this intake added and nothing refers to are removed.

The applicant's query code is returned once and only its hash is kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from . import events as ev, material_claims, online_quota
from .bundle import application_form, form_keys
from .calendar import business_date
from .catalog import Matter
from .commands import Party, ReceiveApplication, StartCase
from .deployment import LoadedDefinition
from .errors import Forbidden, InvalidInput, UnknownDistrict
from .grants import local_decision, require_grant
from .case_start import matter_for, open_case
from .handlers import CaseRef, Services
from .intake_checks import (
    PROCESS_FIELD, ChecklistLine, case_data, check_checklist, check_party, check_phone, matter_form, process_fields,
    refuse,
)
from .material_store import MaterialRejected, MaterialStore, StagedFile
from .persistence.models import MatterVersion
from .persistence.unit_of_work import SqlAlchemyUnitOfWork
from .query_codes import hash_query_code, new_query_code
from .variables import check_variables

CLERK_ROLES = ("window_clerk",)


@dataclass(frozen=True)
class IntakeResult:
    """What intake gives back: the case, its application and the query code (shown this once only)."""

    case: CaseRef
    application_id: int
    query_code: str
    tolerance: bool
    missing: tuple[str, ...]


CATALOG_FACTS = ("department", "substantive_check")
"""Start data every intake takes from the matter's catalog entry (承办部门, 实质核查): the diagrams route and
branch on them, so a case started without them could never move. A window's form may repeat the catalog's
value but not change it; an online applicant may not set them at all."""


@dataclass(frozen=True)
class IntakeRoute:
    """Where and how an application comes in: at a window (``counter``) or online (``online``, 全程网办).

    ``receiving``/``owning`` are the 收件地 and 业务属地; ``account`` the applicant account applying online;
    ``facts`` further facts put into the case data (the catalog's :data:`CATALOG_FACTS` are put in on every
    route); ``originals_later`` lets ``original`` materials come without 原件核验 (checked at a later step,
    e.g. at 送达 for an online application).
    """

    channel: str
    receiving: str | None
    owning: str | None
    account: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    originals_later: bool = False
    reserved: frozenset[str] = frozenset()
    """Form keys the applicant may not set on this route (besides ``facts``)."""


def receive_application(cmd: ReceiveApplication, svc: Services) -> IntakeResult:
    """Check, store and start the case for an application received at the clerk's window."""
    actor = cmd.actor
    if not set(CLERK_ROLES).intersection(actor.roles):
        raise Forbidden("只有窗口人员可以收件")
    receiving = actor.district
    owning = cmd.owning_district or receiving
    return take_in(cmd, svc, IntakeRoute("counter", receiving, owning))


def take_in(cmd: ReceiveApplication, svc: Services, route: IntakeRoute) -> IntakeResult:
    """Check the application, store its uploads and start its case along ``route`` (one transaction).

    An owning district (业务属地) that does not exist is refused as such (``UNKNOWN_DISTRICT``), before the
    matter is looked up there.
    """
    if svc.materials is None:
        raise InvalidInput("未配置材料存储目录（TONGBAN_MATERIALS_DIR），不能收件", code="MATERIALS_STORE_MISSING")
    receiving, owning = route.receiving, route.owning
    with svc.uow() as uow:
        if owning is not None and uow.org.district(owning) is None:
            # A 业务属地 that does not exist: not a matter "not offered" there.
            raise UnknownDistrict(f"区县代码 {owning} 不存在", details={"district": owning})
        row = matter_for(uow, cmd.matter_code, owning)
        matter = Matter.from_doc(row.doc)
        proxied = False
        if owning != receiving:
            # Refuse before any file is staged; open_case checks again inside the writing transaction.
            require_grant(uow, matter_code=matter.code, owning=owning, receiving=receiving, right="receive",
                          on=business_date(svc.clock.now()))
            # 异地代收代办 verifies originals in the receiving window's own 原件核验 task, under its grant; under
            # 就地批办 (a decide grant) the case runs the matter's own process, checked at intake as anywhere.
            proxied = matter.handoff is not None and local_decision(uow, row, owning, receiving,
                                                                    svc.clock.now()) is None
        runs = _latest(svc, uow, matter.process_key)
        bundle = None if proxied or runs.bundle_form is None else runs
        # A single matter's 申请表单, pinned by its catalog entry (a 一件事's is its 一表申报 form).
        own_form = None
        if bundle is None and matter.application_form is not None:
            own_form = svc.catalog.application_form(uow, *matter.application_form)
        # What the process fills in itself, the application may not preset (a bundle's form says its own keys).
        written = frozenset() if bundle is not None else process_fields(runs)
        if proxied:
            written |= process_fields(_latest(svc, uow, matter.handoff["process"]))
        if own_form is not None:
            written -= form_keys(own_form)
    today = business_date(svc.clock.now())   # a birth date may not follow it (on the engine's clock)
    applicant, errors = check_party(cmd.applicant, "applicant", agent=False, today=today)
    agent = None
    if cmd.agent is not None:
        agent, agent_errors = check_party(cmd.agent, "agent", agent=True, today=today)
        errors.update(agent_errors)
    errors.update(check_phone(cmd.contact_phone))
    try:
        form = check_variables(cmd.form, what="申请表")
    except InvalidInput as exc:
        form = {}
        errors.update({f"form.{k}": v for k, v in exc.details.get("fields", {"": [exc.message]}).items()})
    later = route.originals_later or proxied
    lines, checklist_errors, refused = check_checklist(matter, cmd.materials, originals_later=later)
    errors.update(checklist_errors)
    catalog = catalog_facts(matter)
    errors.update(_catalog_clash(form, catalog))
    data, clash = case_data(matter, applicant, lines, form, reserved=set(route.facts) | route.reserved)
    errors.update(clash)
    for key in sorted(written.intersection(form).difference(catalog)):
        errors.setdefault(f"form.{key}", [PROCESS_FIELD])
    if own_form is not None:
        # The form's own checks; its cleaned values are the application's start data (no free keys).
        cleaned, problems = matter_form(own_form, form, cmd.contact_phone, allowed=catalog, today=today)
        for key, messages in problems.items():
            errors.setdefault(key, messages)
        data = {**{key: value for key, value in data.items() if key not in form}, **cleaned}
    if bundle is not None:
        # 一件事: the application's form is the bundle's 一表申报 form; shared materials come from the checklist.
        problems = application_form(bundle.bundle or {}, bundle.bundle_form, form, _references(lines),
                                    cmd.contact_phone)[1]
        for key, messages in problems.items():
            errors.setdefault(key, messages)
    if errors:
        refuse(errors, refused)
    data.update(catalog)
    data.update(route.facts)
    staged = stage_lines(svc.materials, lines)
    added: list[str] = []
    try:
        if bundle is not None:
            data = _bundle_data(bundle, data, form, lines, staged, cmd.contact_phone)
        for item in staged.values():
            if svc.materials.keep(item):
                added.append(item.sha256)
        return _record(cmd, svc, route, matter, (applicant, agent), lines, staged, data, added)
    except BaseException:
        material_claims.forget_unreferenced(svc, added)
        raise
    finally:
        for item in staged.values():
            svc.materials.discard(item)


def _latest(svc: Services, uow: SqlAlchemyUnitOfWork, process_key: str) -> LoadedDefinition:
    """The newest definition of a process: the one a case started now runs."""
    return svc.catalog.get(uow, uow.definitions.latest_id(process_key))


def _references(lines: list[ChecklistLine], staged: Mapping[str, StagedFile] | None = None) -> dict[str, str]:
    """What the checklist received per material: the 电子证照 number, or the uploaded file's sha256.

    Before the files are staged (``staged`` None) an upload stands for a sha256 of the same shape, so the
    bundle form is checked with what it will hold.
    """
    found = {}
    for line in lines:
        if line.how == "license":
            found[line.material.key] = line.given.license_ref.strip()
        elif line.how == "upload":
            found[line.material.key] = staged[line.material.key].sha256 if staged is not None else "0" * 64
    return found


def _bundle_data(bundle: LoadedDefinition, data: dict[str, Any], form: Mapping[str, Any],
                 lines: list[ChecklistLine], staged: Mapping[str, StagedFile], phone: str) -> dict[str, Any]:
    """A bundle case's start data: the 一表申报 form as mapped from the application, and intake's bookkeeping.

    Intake's keys the form uses itself (its ``materials`` list beside the form's ``materials`` group) are
    left out: the form's own values are what the sub-matters read.
    """
    assert bundle.bundle_form is not None
    cleaned, problems = application_form(bundle.bundle or {}, bundle.bundle_form, form, _references(lines, staged),
                                         phone)
    if problems:
        refuse(problems, [])
    keys = form_keys(bundle.bundle_form)
    return {**{key: value for key, value in data.items() if key not in keys and key not in form}, **cleaned}


def catalog_facts(matter: Any) -> dict[str, Any]:
    """The start data the matter's catalog entry fixes: :data:`CATALOG_FACTS` and the entry's own ``facts``.

    ``facts`` name what the process branches on (不动产登记's ``sub_type``: 查封登记 runs the instant path
    whatever a window's form says).
    """
    return {**{key: matter.doc[key] for key in CATALOG_FACTS if key in matter.doc}, **matter.doc.get("facts", {})}


def _catalog_clash(form: Mapping[str, Any], catalog: Mapping[str, Any]) -> dict[str, list[str]]:
    """Form keys that would change what the matter's catalog entry says (the window may only repeat it)."""
    words = {"department": "承办部门", "substantive_check": "是否实质核查"}
    return {f"form.{key}": [f"{words[key] if key in words else key + ' '}由事项目录确定（{_shown(value)}），不能改填"]
            for key, value in catalog.items() if key in form and form[key] != value}


def _shown(value: Any) -> str:
    return {True: "是", False: "否"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def stage_lines(store: MaterialStore, lines: list[ChecklistLine]) -> dict[str, StagedFile]:
    """Stage every uploaded line's file; on a refused file, drop those staged so far and raise with its field."""
    staged: dict[str, StagedFile] = {}
    try:
        for line in lines:
            if line.how != "upload":
                continue
            try:
                staged[line.material.key] = store.stage(line.given.upload, line.given.filename,
                                                        label=line.material.name)
            except MaterialRejected as exc:
                exc.details["fields"] = {f"materials.{line.material.key}": [exc.message]}
                raise
    except BaseException:
        for item in staged.values():
            store.discard(item)
        raise
    return staged


def _record(cmd: ReceiveApplication, svc: Services, route: IntakeRoute, matter: Matter,
            parties: tuple[Party, Party | None], lines: list[ChecklistLine], staged: dict[str, StagedFile],
            data: dict[str, Any], added: list[str]) -> IntakeResult:
    now = svc.clock.now()
    actor, (applicant, agent) = cmd.actor, parties
    code = new_query_code()
    missing = tuple(line.material.key for line in lines if line.how == "tolerance")
    rows = []
    for line in lines:
        if line.how not in ("upload", "license"):
            continue
        item = staged.get(line.material.key)
        verified = line.how == "upload" and line.material.original and line.given.original_verified
        rows.append({"material_key": line.material.key, "sha256": item.sha256 if item else None,
                     "size": item.size if item else None, "media_type": item.media_type if item else None,
                     "original_filename": item.filename if item else None,
                     "license_ref": line.given.license_ref.strip() if line.how == "license" else None,
                     "verified_by": actor.username if verified else None, "verified_at": now if verified else None,
                     "received_at": now})
    manifest = tuple({"key": r["material_key"], "sha256": r["sha256"], "license_ref": r["license_ref"],
                      "original_verified": r["verified_by"] is not None} for r in rows)
    received = ev.ApplicationReceived(channel=route.channel, materials=manifest, missing=missing,
                                      tolerance=bool(missing))
    start = StartCase(None, actor, data, title=f"{matter.name}（{applicant.name}）"[:256],
                      matter_code=matter.code, owning_district=route.owning, receiving_district=route.receiving)
    pinned: dict[str, int] = {}

    def after_start(_case: object, row: MatterVersion | None) -> list[ev.Event]:
        pinned["version"] = row.version if row is not None else 0
        return [received]

    with svc.uow() as uow:
        if route.account is not None:
            online_quota.check(uow, route.account, svc.online_daily_limit, now, lock=True)
        case, created, workflow = open_case(uow, svc, start, data, now, inputs_after=after_start, intake=True)
        application_id = uow.applications.insert({
            "case_id": case.id, "matter_code": matter.code, "matter_version": pinned["version"],
            "channel": route.channel, "account": route.account, "applicant_kind": applicant.kind,
            "applicant_name": applicant.name,
            "applicant_id_type": applicant.id_type, "applicant_id_number": applicant.id_number,
            "legal_representative": applicant.legal_representative or None,
            "agent_kind": agent.kind if agent else None, "agent_name": agent.name if agent else None,
            "agent_id_type": agent.id_type if agent else None, "agent_id_number": agent.id_number if agent else None,
            "agent_authorization": agent.authorization if agent else None,
            "contact_phone": cmd.contact_phone.strip(), "form_data": dict(cmd.form), "missing": list(missing),
            "tolerance": bool(missing), "query_code_hash": hash_query_code(code), "received_by": actor.username,
            "received_at": now}, [{"case_id": case.id, **row} for row in rows])
        material_claims.secure(uow, svc.materials, staged.values(), added)
        uow.commit()
    svc.runner.checkin(case.id, case.version, case.definition_id, workflow)
    ref = CaseRef(case.id, case.case_no, case.status, case.version, created)
    return IntakeResult(ref, application_id, code, bool(missing), missing)
