"""Applicant pages (全程网办): 我的办件 (list, detail, 网上补正, 好差评) and 网上申报 (choose an online matter, apply).

Only applicant accounts reach them (staff get the 403 page with ``APPLICANT_ONLY``); the wall in
:mod:`app.applicant_wall` keeps applicants out of every staff page. The query code of a new application is
shown once, on the case page right after applying, as the window's receipt does.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for
from werkzeug.datastructures import ImmutableMultiDict

from engine import (
    Actor, ApplyOnline, Conflict, EngineError, Forbidden, ID_TYPES, InvalidInput, MaterialInput, NotFound, Party,
    RateCase, SubmitSupplement, is_applicant,
)

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, form_view, login_required
from .labels import district_name
from .query import LEVEL_CHOICES, page_channel

CODES_KEY = "online_query_codes"
FORM = "form."
"""Prefix of the application form's fields on the page (``form.subject``, a 一件事's ``form.company_name``)."""
LABELS = {"district": "办理地", "contact_phone": "联系电话", "applicant.name": "法人名称",
          "applicant.id_number": "统一社会信用代码", "applicant.legal_representative": "法定代表人",
          "agent.authorization": "授权委托书编号", "note": "补正说明", "materials": "补正材料"}
REFUSALS = (InvalidInput, Forbidden, Conflict)
"""Refusals shown on the form itself (InvalidInput covers bad fields, files and matters)."""


def _applicant() -> Actor:
    actor = current_actor()
    if not is_applicant(actor):
        raise Forbidden("此页面仅供申请人账号使用", code="APPLICANT_ONLY")
    return actor


@bp.get("/my/cases")
@login_required
def my_cases() -> Any:
    """List the cases you applied for online."""
    actor = _applicant()
    return render_template("pages/my_cases.html", cases=get_engine().my_cases.list(actor.username),
                           me=get_engine().applicant_accounts.identity(actor.username).to_dict())


@bp.get("/my/cases/<int:case_id>")
@login_required
def my_case(case_id: int) -> Any:
    """Show one of your cases, with the 补正 upload while a one-time notice is open."""
    return _case_page(_applicant(), case_id)


@bp.post("/my/cases/<int:case_id>/supplements")
@login_required
def my_supplement(case_id: int) -> Any:
    """Upload 补正 materials; refusals come back on the case page with their messages."""
    actor = _applicant()
    detail = get_engine().my_cases.detail(actor.username, case_id)   # 404 before reading any file
    keys = [m["key"] for m in _matter(detail)["materials"]]
    items = tuple(_inputs(keys, request.form, request.files))
    try:
        get_engine().handle(SubmitSupplement(case_id, actor, items, (request.form.get("note") or "")[:600]))
    except REFUSALS as exc:
        return _case_page(actor, case_id, errors=dict(exc.details.get("fields") or {}), message=exc.message,
                          status=exc.http_status)
    return redirect(url_for("pages.my_case", case_id=case_id, supplied=1))


@bp.get("/online")
@login_required
def online_apply() -> Any:
    """List the matters offered online, or show the application form of the chosen one."""
    actor = _applicant()
    code = (request.args.get("matter") or "").strip()
    if code:
        return _form(actor, code, {}, {})
    q = (request.args.get("q") or "").strip()[:100]
    found = [m for m in get_engine().queries.matters(q=q or None, limit=500) if "online" in m["modes"]]
    return render_template("pages/online.html", matter=None, q=q, found=found[:100])


@bp.post("/online")
@login_required
def online_submit() -> Any:
    """Apply online; errors come back per field, success shows the case with its query code once."""
    actor = _applicant()
    code = (request.form.get("matter_code") or "").strip()
    if not code:    # nothing to look up: say what is missing instead of "事项  不存在"
        found = [m for m in get_engine().queries.matters(limit=500) if "online" in m["modes"]]
        return render_template("pages/online.html", matter=None, q="", found=found[:100],
                               message="申报未成功：请先选择要申报的事项。"), 422
    try:
        result = get_engine().handle(command_from_form(actor, request.form, request.files))
    except REFUSALS as exc:
        return _form(actor, code, request.form, dict(exc.details.get("fields") or {}), message=exc.message,
                     status=exc.http_status)
    session.setdefault(CODES_KEY, {})[str(result.case.case_id)] = result.query_code
    session.modified = True
    return redirect(url_for("pages.my_case", case_id=result.case.case_id))


def command_from_form(actor: Actor, form: ImmutableMultiDict, files: ImmutableMultiDict) -> ApplyOnline:
    """Build the online application from the page's fields (``as=legal`` applies for a legal person)."""
    matter = get_engine().queries.matter(form.get("matter_code", "").strip())
    applicant = None
    if form.get("as") == "legal":
        applicant = Party("legal", form.get("applicant.name", ""), id_number=form.get("applicant.id_number", ""),
                          legal_representative=form.get("applicant.legal_representative", ""))
    return ApplyOnline(matter["code"], actor, (form.get("district") or "").strip() or None,
                       form.get("contact_phone", ""),
                       tuple(_inputs([m["key"] for m in matter["materials"]], form, files)), applicant,
                       form.get("agent.authorization", ""), application_data(matter, form))


def _application_form(matter: dict[str, Any]) -> dict[str, Any] | None:
    """The form the application fills in: a 一件事's 一表申报 form, else the matter's 申请表单, else None.

    ``{"source": form-js JSON, "filled": [...]}``: ``filled`` are the fields intake fills in itself.
    """
    bundle = get_engine().documents.application_form(matter["process"])
    if bundle is not None:
        return bundle
    own = matter.get("application_form")
    return own if own and own.get("source") else None


def application_data(matter: dict[str, Any], form: ImmutableMultiDict) -> dict[str, Any]:
    """The application's ``form`` object: its application form's fields, else the summary (``form.subject``)."""
    chosen = _application_form(matter)
    if chosen is not None:
        return form_view.parse(chosen["source"], form_view.under(form, FORM), dict.fromkeys(chosen["filled"]))[0]
    subject = (form.get("form.subject") or "").strip()
    return {"subject": subject} if subject else {}


def application_fields(matter: dict[str, Any], values: Any,
                       errors: dict[str, list[str]]) -> list[form_view.Item] | None:
    """The application form's fields to fill in (``form.<key>``), without those intake fills.

    A 一件事's 一表申报 form, or the matter's 申请表单 (``application_form`` in the catalog); None when the
    matter has neither (the page asks for a free summary).
    """
    bundle = _application_form(matter)
    if bundle is None:
        return None
    mine = {key[len(FORM):]: messages for key, messages in errors.items() if key.startswith(FORM)}
    items = form_view.build(bundle["source"], form_view.under(values, FORM), mine)
    return form_view.nested(items, FORM, bundle["filled"])


def _inputs(keys: list[str], form: ImmutableMultiDict, files: ImmutableMultiDict) -> list[MaterialInput]:
    items = []
    for key in keys:
        upload = files.get(f"material.{key}")
        has_file = upload is not None and bool(upload.filename)
        license_ref = (form.get(f"license.{key}") or "").strip() or None
        missing = form.get(f"missing.{key}") == "true"
        if has_file or license_ref or missing:
            items.append(MaterialInput(key, upload.stream if has_file else None, upload.filename if has_file else "",
                                       license_ref, missing))
    return items


@bp.post("/my/cases/<int:case_id>/rating")
@login_required
def my_rate(case_id: int) -> Any:
    """Rate your closed case once (好差评); a refusal comes back on the case page with its messages."""
    actor = _applicant()
    score = request.form.get("score", "")
    comment = request.form.get("comment", "")[:2000]
    try:
        get_engine().handle(RateCase(case_id, actor, int(score) if score.isdigit() else None, page_channel(),
                                     comment))
    except EngineError as exc:       # a bad rating, one already made, a case not closed, someone else's case
        if isinstance(exc, NotFound):
            raise
        fields = dict(exc.details.get("fields") or {})
        return _case_page(actor, case_id, message=None if fields else exc.message, rating_fields=fields,
                          rating_values={"score": score, "comment": comment}, status=exc.http_status)
    return redirect(url_for("pages.my_case", case_id=case_id, rated=1))


def _case_page(actor: Actor, case_id: int, *, errors: dict[str, list[str]] | None = None,
               message: str | None = None, status: int = 200, rating_fields: dict[str, list[str]] | None = None,
               rating_values: dict[str, str] | None = None) -> Any:
    detail = get_engine().my_cases.detail(actor.username, case_id)
    codes = session.get(CODES_KEY) or {}
    query_code = codes.pop(str(case_id), None)
    if query_code is not None:
        session[CODES_KEY] = codes
    matter = _matter(detail)
    names = {m["key"]: m["name"] for m in matter["materials"]}
    return render_template("pages/my_case.html", view=detail, c=detail, levels=LEVEL_CHOICES,
                           rating_fields=rating_fields or {}, rating_values=rating_values or {},
                           rated=request.args.get("rated") == "1",
                           matter=matter, names=names, query_code=query_code, errors=errors or {}, message=message,
                           labels=LABELS, supplied=request.args.get("supplied") == "1",
                           district_label=district_name(detail["district"])), status


def _matter(detail: dict[str, Any]) -> dict[str, Any]:
    return get_engine().queries.matter(detail["matter_code"], version=detail["matter_version"])


def _form(actor: Actor, code: str, values: Any, errors: dict[str, list[str]], *, message: str | None = None,
          status: int = 200) -> Any:
    try:
        matter = get_engine().queries.matter(code)
    except NotFound:
        matter = None
    if matter is None or "online" not in matter["modes"]:
        page = render_template("pages/online.html", matter=None, q="", found=[],
                               message=message or f"事项 {code} 不存在或不支持全程网办")
        return page, 404 if status == 200 else status
    districts = _districts(matter)
    fields = application_fields(matter, values, errors)
    labels = {**LABELS, **{f"materials.{m['key']}": m["name"] for m in matter["materials"]},
              **{item.key: item.label for item in form_view.leaves(fields or [])}}
    me = get_engine().applicant_accounts.identity(actor.username).to_dict()
    return render_template("pages/online.html", matter=matter, values=values, errors=errors, message=message,
                           labels=labels, districts=districts, me=me, id_types=ID_TYPES,
                           fields=fields), status


def _districts(matter: dict[str, Any]) -> list[tuple[str, str]]:
    names = get_engine().org.district_names()
    codes = [c for c in names if c != "500000"] if matter["districts"] == "all" else list(matter["districts"])
    return [(c, names.get(c, c)) for c in codes]
