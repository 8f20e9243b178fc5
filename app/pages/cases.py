"""The case page (summary, materials, clocks, tasks, timeline), its material files and the bpmn-js diagram.

The clocks section also lists the timers the case waits on with their due instants, e.g. the 容缺 deadline
(容缺补齐期限届满) that terminates the case when it passes. A timer whose firing failed (the worker retries it, or
has set it aside for an administrator) is told above everything else, in a warning block: a deadline that did
not act must not go unseen by those who read the case.

The clocks section carries the deadline extension of 行政许可法第四十二条: staff of the district acting on the
clocks (the case's ``clock_district``: the owning one, or the deciding one under 就地批办) ask (申请延长时限) and
the clock's approver in that district approves or rejects in the inbox, or extends directly, approving by
acting: a department head, or for the 45-day joint procedure the district government's head (第二款), to whom a
department head asks like other staff. The requester may withdraw an open request. Refusals are told on the
page, in Chinese.
"""
from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for

from engine import (
    EXTENSION_TEXT_MAX, DecideExtension, EngineError, ExtendDeadline, InvalidInput, NotFound, RequestExtension,
    TimerWorker, WithdrawExtension,
)

from ..auth import current_actor
from ..material_files import file_response
from ..runtime import get_engine
from ..security import inert
from . import bp, login_required
from .labels import CLOCKS, materials

STAFF = frozenset({"window_clerk", "reviewer", "department_head"})
HEADS = frozenset({"department_head", "government_head"})
CLOCK_KINDS = tuple(CLOCKS)  # legal, committed: every ClockKind
MAX_DAYS = 15


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id: int) -> Any:
    """Show a case you may see (404 otherwise)."""
    return _render(case_id)


def _render(case_id: int, form: dict[str, Any] | None = None, error: str | None = None, status: int = 200) -> Any:
    """Render the case page; ``form`` and ``error`` refill the extension form after a refusal."""
    actor, engine = current_actor(), get_engine()
    detail = engine.queries.case(actor, case_id)
    current = [t for t in detail["tasks"] if t["state"] == "open"]
    # Only the tasks whose page the viewer may open are links (the task page's own rule, one query for all).
    openable = engine.queries.openable_tasks(actor, [t["id"] for t in detail["tasks"]])
    return render_template(
        "pages/case.html", case=detail, events=engine.queries.events(case_id), openable=openable,
        materials=materials(engine.documents.started_data(actor, case_id), engine.materials.list(actor, case_id)),
        highlight=sorted({t["element_id"] for t in current}), highlight_names=[t["name"] for t in current],
        extension=_extension_context(actor, detail, form, error), timers=engine.case_timers.waiting(case_id),
        failing_timers=TimerWorker.case_failing_timers(engine, case_id)), status


def _extension_context(actor: Any, detail: dict[str, Any], form: dict[str, Any] | None,
                       error: str | None) -> dict[str, Any]:
    """What the clocks section offers the viewer: the request list, and the forms to extend and to ask.

    The approver of a clock (``extension_approver_role``: a department head, or the government head for a
    joint procedure) extends it directly; other staff ask, a department head too for a joint procedure's clock.
    """
    ours = actor.district is not None and actor.district == detail["clock_district"] and detail["status"] == "running"
    staff = ours and bool(STAFF.intersection(actor.roles))
    # A clock may be extended once, after it started (受理): offer the started ones not yet extended.
    requests = get_engine().queries.extension_requests(actor, state="all", case_id=detail["id"])
    waiting = {r["clock"] for r in requests if r["state"] == "open"}   # decided first, then asked again
    clocks = [c for c in detail["clocks"] if c.get("t0") and not c.get("extended_days")
              and c["kind"] in CLOCK_KINDS and c["kind"] not in waiting]
    direct = [c["kind"] for c in clocks if ours and c.get("extension_approver_role") in actor.roles]
    ask = [c["kind"] for c in clocks if staff and c["kind"] not in direct]
    # A refusal is told in the form it came from, refilled; a form no longer offered tells it above the forms.
    error_at = None if form is None else "direct" if form["direct"] and direct else \
        "ask" if not form["direct"] and ask else None
    return {"requests": requests, "may_ask": staff, "may_extend": ours and bool(HEADS.intersection(actor.roles)),
            "direct_clocks": direct, "ask_clocks": ask, "error_at": error_at,
            "government": {c["kind"] for c in clocks if c.get("extension_approver_role") == "government_head"},
            "form": form or {}, "error": error, "max_days": MAX_DAYS, "max_text": EXTENSION_TEXT_MAX}


@bp.post("/cases/<int:case_id>/extension-requests")
@login_required
def case_request_extension(case_id: int) -> Any:
    """Ask the clock's approver in the owning district to extend it; the request then waits in their inbox."""
    return _extension_form(case_id, direct=False)


@bp.post("/cases/<int:case_id>/extend")
@login_required
def case_extend(case_id: int) -> Any:
    """The clock's approver in the owning district extends it directly, approving it by acting."""
    return _extension_form(case_id, direct=True)


def _extension_form(case_id: int, *, direct: bool) -> Any:
    form = {"clock": request.form.get("clock", "legal"), "days": request.form.get("days", "").strip(),
            "reason": request.form.get("reason", ""), "told_to_applicant": bool(request.form.get("told_to_applicant")),
            "direct": direct}
    actor = current_actor()
    try:
        days = _days(form["days"])
        if form["clock"] not in CLOCK_KINDS:
            raise InvalidInput("请选择要延长的时限（法定时限或承诺时限）")
        if direct:
            get_engine().handle(ExtendDeadline(case_id, actor, days, form["reason"], clock=form["clock"],
                                               told_to_applicant=form["told_to_applicant"]))
        else:
            asked = get_engine().handle(RequestExtension(case_id, actor, days, form["reason"], clock=form["clock"],
                                                         told_to_applicant=form["told_to_applicant"]))
    except NotFound:
        raise
    except EngineError as exc:
        return _render(case_id, form=form, error=exc.message, status=exc.http_status)
    waits_for = "本级人民政府负责人" if not direct and asked["approver_role"] == "government_head" else "科室负责人"
    flash(f"已延长{CLOCKS[form['clock']]} {days} 个工作日" if direct else f"已提交延期申请，等待{waits_for}审批")
    return redirect(url_for("pages.case", case_id=case_id, _anchor="clocks-title"))


def _days(text: str) -> int:
    """Read the days field: a whole number of working days, 1 to :data:`MAX_DAYS`."""
    if not (text.isascii() and text.isdigit() and len(text) <= 3) or not 1 <= int(text) <= MAX_DAYS:
        raise InvalidInput(f"延长天数应为 1 到 {MAX_DAYS} 之间的整数（工作日）",
                           details={"fields": {"days": "取值无效"}})
    return int(text)


@bp.post("/extension-requests/<int:request_id>/<any(approve, reject):decision>")
@login_required
def decide_extension(request_id: int, decision: str) -> Any:
    """Approve (the extension applies at once) or reject (a reason is required) a request, as its approver."""
    verb = "已批准" if decision == "approve" else "已驳回"
    return _on_request(DecideExtension(request_id, current_actor(), decision == "approve",
                                       request.form.get("comment", "")),
                       lambda done: f"{verb}办件 {done['case_no']} 的延期申请（{done['days']} 个工作日）")


@bp.post("/extension-requests/<int:request_id>/withdraw")
@login_required
def withdraw_extension(request_id: int) -> Any:
    """Withdraw your own open request."""
    return _on_request(WithdrawExtension(request_id, current_actor()),
                       lambda done: f"已撤回办件 {done['case_no']} 的延期申请")


def _on_request(command: Any, told: Any) -> Any:
    """Run a decision or withdrawal; flash what happened (or the refusal) and go back. 404 stays the 404 page."""
    try:
        flash(told(get_engine().handle(command)))
    except NotFound:
        raise
    except EngineError as exc:
        flash(exc.message, "error")
    return redirect(_back())


def _back() -> str:
    """Where a decision returns to: the case page it was made on (``back=case``), else the inbox's list."""
    case_id = request.form.get("case_id", "")
    if request.form.get("back") == "case" and case_id.isascii() and case_id.isdigit() and len(case_id) < 19:
        return url_for("pages.case", case_id=int(case_id), _anchor="clocks-title")
    return url_for("pages.inbox", _anchor="extensions-title")


@bp.get("/cases/<int:case_id>/diagram.bpmn")
@login_required
def diagram(case_id: int) -> Any:
    """Send the BPMN XML of the case's pinned definition version, as a download that can never run as a page.

    The diagram viewer fetches it (``fetch`` reads the body whatever the disposition); opened directly, the
    browser saves it instead of rendering it, and the sandbox CSP and ``nosniff`` keep any markup planted in a
    deployed diagram inert even then.
    """
    xml = get_engine().documents.diagram(current_actor(), case_id)
    return inert(Response(xml, mimetype="application/xml", headers={
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'attachment; filename="case-{case_id}.bpmn"'}))


@bp.get("/cases/<int:case_id>/materials/<material_key>")
@login_required
def case_material(case_id: int, material_key: str) -> Any:
    """Download a material's file (checked and recorded in the access log; errors as a page)."""
    return file_response(get_engine().materials.open(current_actor(), case_id, material_key))
