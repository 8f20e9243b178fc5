"""Designer pages: the process list, the bpmn-js modeler with our properties panel, and the form-js editor.

The pages only read; saving drafts, linting, dry runs and deploys go through the JSON API from the page
(session plus CSRF header), so the browser and API clients share one path.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for

from engine import ROLES, Forbidden, InvalidInput, NotFound

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, login_required

DESIGNER_ROLES = ("designer", "admin")
MAX_ID, MAX_INT32 = 2**63 - 1, 2**31 - 1
"""The largest draft id (BIGINT) and version (INTEGER) a row can have."""


def _require_designer() -> Any:
    actor = current_actor()
    if not set(DESIGNER_ROLES).intersection(actor.roles):
        raise Forbidden("流程设计页面仅对流程设计人员和管理员开放")
    return actor


@bp.get("/designer")
@login_required
def designer() -> Any:
    """List process keys with their deployed versions and drafts; ``?key=&name=`` opens a new process."""
    _require_designer()
    if "key" in request.args:
        key = request.args["key"].strip()
        if not key:
            raise InvalidInput("请填写流程标识（字母或下划线开头，仅含字母、数字、_ . -）")
        return redirect(url_for("pages.modeler", process_key=key, name=request.args.get("name") or None))
    engine = get_engine()
    processes: dict[str, dict[str, Any]] = {}
    for row in engine.queries.definitions():
        entry = processes.setdefault(row["process_key"], {"name": row["name"], "versions": [], "drafts": []})
        entry["versions"].append(row)
    for draft in engine.drafts.list():
        entry = processes.setdefault(draft.process_key, {"name": draft.process_key, "versions": [], "drafts": []})
        entry["drafts"].append(draft)
    return render_template("pages/designer_list.html", processes=dict(sorted(processes.items())))


@bp.get("/designer/<process_key>")
@login_required
def modeler(process_key: str) -> Any:
    """Open the modeler on a draft (``?draft=``), a version (``?version=``, else the latest) or a new process."""
    actor, engine = _require_designer(), get_engine()
    versions = engine.queries.definitions(process_key)
    document, title = _document(engine, process_key, versions)
    boot = {"process_key": process_key, "latest_version": versions[0]["version"] if versions else None,
            "designer": "designer" in actor.roles, "urls": _urls(process_key), **document, **_choices(engine)}
    name = versions[0]["name"] if versions else (request.args.get("name") or process_key)
    return render_template("pages/designer_modeler.html", boot=boot, name=name, title=title,
                           process_key=process_key, versions=versions)


@bp.get("/designer/forms/<form_id>")
@login_required
def form_editor(form_id: str) -> Any:
    """Open the form-js editor on a form: the draft's copy (``?draft=``), else the deployed one, else a new form."""
    actor, engine = _require_designer(), get_engine()
    draft_id = _number_arg("draft", "草稿编号", MAX_ID)
    draft = engine.drafts.get(draft_id) if draft_id is not None else None
    boot = {"form_id": form_id, "designer": "designer" in actor.roles, **_form_document(engine, form_id, draft),
            "draft": None if draft is None else {"id": draft.info.id, "revision": draft.info.revision,
                                                 "process_key": draft.info.process_key},
            "urls": {"drafts": url_for("drafts.create_draft"), "definitions": url_for("definitions.Definitions"),
                     "back": url_for("pages.modeler", process_key=draft.info.process_key, draft=draft.info.id)
                     if draft is not None else url_for("pages.designer")}}
    return render_template("pages/designer_form.html", boot=boot, form_id=form_id, draft=draft)


def _number_arg(name: str, noun: str, largest: int) -> int | None:
    """A query parameter that must be a positive whole number when given.

    ``?version=abc`` is refused (422), not silently read as "the latest"; a number past what its column holds
    (``largest``) names no row, so it is the 404 page, as an id past its column is everywhere else.
    """
    text = request.args.get(name)
    if text is None:
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or not text.lstrip("0"):
        raise InvalidInput(f"{noun}应为正整数，收到 “{text[:20]}”")
    digits = text.lstrip("0")
    if len(digits) > len(str(largest)) or int(digits) > largest:
        raise NotFound(f"{noun} {digits[:20]} 不存在")
    return int(digits)


def _document(engine: Any, process_key: str, versions: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The diagram the modeler opens (draft, deployed version or blank) and how the page names it."""
    draft_id, version = _number_arg("draft", "草稿编号", MAX_ID), _number_arg("version", "版本号", MAX_INT32)
    if draft_id is not None:
        draft = engine.drafts.get(draft_id)
        if draft.info.process_key != process_key:
            raise NotFound(f"草稿 {draft_id} 不属于流程 {process_key}")
        return {"bpmn": draft.bpmn, "forms": draft.forms, "base_version": draft.info.base_version,
                "draft": {"id": draft.info.id, "revision": draft.info.revision}}, f"草稿 #{draft_id}"
    if versions:
        source = engine.drafts.deployed_source(process_key, version)
        return {"bpmn": source["bpmn"], "forms": {}, "base_version": source["version"], "draft": None}, \
            f"第 {source['version']} 版"
    blank = engine.drafts.blank(process_key, request.args.get("name"))
    return {"bpmn": blank, "forms": {}, "base_version": None, "draft": None}, "新流程"


def _form_document(engine: Any, form_id: str, draft: Any) -> dict[str, Any]:
    """The form the editor opens: the draft's copy, else the latest deployed version, else an empty form."""
    deployed = engine.drafts.deployed_forms()
    if draft is not None and form_id in draft.forms:
        schema, source = draft.forms[form_id], "draft"
    elif form_id in deployed:
        schema, source = engine.drafts.deployed_form(form_id), "deployed"
    else:
        schema, source = engine.drafts.blank_form(form_id), "new"
    return {"schema": schema, "source": source, "deployed_version": deployed.get(form_id)}


def _choices(engine: Any) -> dict[str, Any]:
    """What the properties panel offers: roles, districts, departments and the deployed forms."""
    districts = engine.org.districts()
    departments: dict[str, str] = {}
    for district in districts:
        for code, name, _users in district.departments:
            departments.setdefault(code, name)
    return {"roles": list(ROLES), "districts": [{"code": d.code, "name": d.name} for d in districts],
            "departments": [{"code": c, "name": n} for c, n in sorted(departments.items())],
            "deployed_forms": engine.drafts.deployed_forms()}


def _urls(process_key: str) -> dict[str, str]:
    return {"lint": url_for("lint.Lint"), "drafts": url_for("drafts.create_draft"), "dryrun": "/api/v1/dryrun",
            "form_editor": url_for("pages.form_editor", form_id="__FORM__"),
            "modeler": url_for("pages.modeler", process_key=process_key),
            "moddle": url_for("static", filename="designer/tb-moddle.json")}
