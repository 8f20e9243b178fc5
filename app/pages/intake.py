"""The clerk's intake page (收件): find a matter offered at your window, fill in the application, print the receipt.

The query code is shown on the receipt's first render right after intake only: it travels from the intake
POST to the receipt in the session (signed, one read) and is then gone; the database keeps only its hash.
"""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for
from werkzeug.datastructures import FileStorage, ImmutableMultiDict

from engine import (
    AGENT_KINDS, APPLICANT_KINDS, ID_TYPES, Actor, ApplicationInvalid, Forbidden, GrantMissing, MaterialInput,
    MaterialRejected, MatterUnavailable, NotFound, Party, ReceiveApplication,
)

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, form_view, login_required
from .labels import district_name
from .online import application_data, application_fields

PARTY_FIELDS = ("kind", "name", "id_type", "id_number", "legal_representative", "authorization")
LABELS = {"applicant.kind": "申请人类型", "applicant.name": "申请人姓名或名称", "applicant.id_type": "申请人证件类型",
          "applicant.id_number": "申请人证件号码", "applicant.legal_representative": "法定代表人",
          "agent.kind": "代理方式", "agent.name": "代理人姓名", "agent.id_type": "代理人证件类型",
          "agent.id_number": "代理人证件号码", "agent.authorization": "授权委托书编号", "contact_phone": "联系电话",
          "matter_code": "事项"}
"""Chinese names of the fields, for the error summary at the top of the form."""
NO_MATTER = "请选择事项"
"""The field error for an application posted without a matter (no ``matter_code``)."""
CODES_KEY = "intake_query_codes"


def _clerk() -> Actor:
    actor = current_actor()
    if "window_clerk" not in actor.roles:
        raise Forbidden("只有窗口人员可以收件")
    return actor


@bp.get("/intake")
@login_required
def intake() -> Any:
    """Show the matter search, or the application form of the chosen matter."""
    actor = _clerk()
    code = (request.args.get("matter") or "").strip()
    if not code:
        return render_template("pages/intake.html", matter=None, q="", found=_search(actor, ""))
    return _form(actor, code, {}, {}, owning=(request.args.get("owning") or "").strip() or None)


@bp.get("/intake/matters")
@login_required
def intake_matters() -> Any:
    """List matters offered at your window whose name or code contains ``q`` (htmx partial)."""
    actor = _clerk()
    q = (request.args.get("q") or "").strip()[:100]
    template = "pages/intake_matters.html" if request.headers.get("HX-Request") else "pages/intake.html"
    return render_template(template, matter=None, q=q, found=_search(actor, q))


@bp.post("/intake")
@login_required
def intake_submit() -> Any:
    """Receive the application; invalid fields come back with their messages, success shows the receipt."""
    actor = _clerk()
    code = (request.form.get("matter_code") or "").strip()
    owning = (request.form.get("owning_district") or "").strip() or None
    if not code:    # nothing to look up: say what is missing instead of "事项  不存在"
        return render_template("pages/intake.html", matter=None, q="", found=_search(actor, ""),
                               message="收件未成功：请先选择要收件的事项。", errors={"matter_code": [NO_MATTER]},
                               labels=LABELS), 422
    try:
        result = get_engine().handle(command_from_form(actor, request.form, request.files))
    except (ApplicationInvalid, MaterialRejected, MatterUnavailable, NotFound, GrantMissing) as exc:
        errors = dict(exc.details.get("fields") or {})
        return _form(actor, code, request.form, errors, message=exc.message, status=422, owning=owning)
    session.setdefault(CODES_KEY, {})[str(result.case.case_id)] = result.query_code
    session.modified = True
    return redirect(url_for("pages.receipt", case_id=result.case.case_id))


@bp.get("/cases/<int:case_id>/receipt")
@login_required
def receipt(case_id: int) -> Any:
    """Show the printable 收件回执; the query code appears on the first render after intake only."""
    data = get_engine().receipts.receipt(current_actor(), case_id)
    codes = session.get(CODES_KEY) or {}
    query_code = codes.pop(str(case_id), None)
    if query_code is not None:
        session[CODES_KEY] = codes
    return render_template("pages/receipt.html", r=data, query_code=query_code)


def command_from_form(actor: Actor, form: ImmutableMultiDict, files: ImmutableMultiDict) -> ReceiveApplication:
    """Build the intake command from the page's flat fields (``applicant.name``, ``material.<key>`` ...)."""
    owning = (form.get("owning_district") or "").strip() or None
    matter = get_engine().queries.matter(form.get("matter_code", "").strip(), district=owning or actor.district)
    materials = []
    for item in matter["materials"]:
        key = item["key"]
        upload: FileStorage | None = files.get(f"material.{key}")
        has_file = upload is not None and bool(upload.filename)
        materials.append(MaterialInput(
            key, upload.stream if has_file else None, upload.filename if has_file else "",
            (form.get(f"license.{key}") or "").strip() or None, form.get(f"missing.{key}") == "true",
            form.get(f"verified.{key}") == "true"))
    agent = None
    if form.get("agent.kind"):
        agent = Party(**{f: (form.get(f"agent.{f}") or "") for f in PARTY_FIELDS})
    applicant = Party(**{f: (form.get(f"applicant.{f}") or "") for f in PARTY_FIELDS if f != "authorization"})
    return ReceiveApplication(matter["code"], actor, applicant, form.get("contact_phone", ""), tuple(materials),
                              agent, application_data(matter, form),
                              owning_district=owning if owning != actor.district else None)


def _search(actor: Actor, q: str) -> list[dict[str, Any]]:
    """Matters offered at the clerk's window, then those other districts granted it to receive (异地收件)."""
    engine = get_engine()
    found = [{**m, "owning": None} for m in engine.queries.matters(q=q or None, district=actor.district, limit=20)]
    needle = q.lower()
    for grant in engine.grants.receivable(actor.district or ""):
        try:
            matter = engine.queries.matter(grant.matter_code, district=grant.owning_district)
        except NotFound:
            continue
        if needle and needle not in matter["name"].lower() and needle not in matter["code"].lower():
            continue
        found.append({**matter, "owning": grant.owning_district, "owning_name": district_name(grant.owning_district)})
    return found


def _form(actor: Actor, code: str, values: Any, errors: dict[str, list[str]], *, message: str | None = None,
          status: int = 200, owning: str | None = None) -> Any:
    owning = owning if owning and owning != actor.district else None
    try:
        matter = get_engine().queries.matter(code, district=owning or actor.district)
    except NotFound:
        matter = None
    granted = get_engine().grants.receivable(actor.district or "") if owning else []
    if owning and not any(g.matter_code == code and g.owning_district == owning for g in granted):
        matter = None
    if matter is None or not _offered(matter, owning or actor.district):
        return render_template("pages/intake.html", matter=None, q=code, found=_search(actor, ""),
                               message=message or f"事项 {code} 不存在或未在本区县提供"), \
            404 if status == 200 else status
    fields = application_fields(matter, values, errors)
    labels = {**LABELS, **{f"materials.{m['key']}": m["name"] for m in matter["materials"]},
              **{item.key: item.label for item in form_view.leaves(fields or [])}}
    return render_template("pages/intake.html", matter=matter, values=values, errors=errors, message=message,
                           fields=fields, labels=labels, owning=owning,
                           owning_name=district_name(owning) if owning else None,
                           applicant_kinds=APPLICANT_KINDS, agent_kinds=AGENT_KINDS, id_types=ID_TYPES), status


def _offered(matter: dict[str, Any], district: str | None) -> bool:
    return matter["districts"] == "all" or district in matter["districts"]
