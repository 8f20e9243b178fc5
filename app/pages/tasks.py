"""The task page: case summary, materials, history, diagram; claim, unclaim and complete through the form."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from engine import ClaimTask, CompleteTask, Conflict, FormInvalid, Forbidden, UnclaimTask, business_date

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, form_view, login_required
from .labels import materials


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id: int) -> Any:
    """Show a task you may see (404 otherwise) with its form when it is yours to complete."""
    return _render(task_id)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Any:
    """Claim the task, then come back to it."""
    return _act(task_id, ClaimTask(task_id, current_actor()), "已认领，可以办理")


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int) -> Any:
    """Give the task back to its groups."""
    return _act(task_id, UnclaimTask(task_id, current_actor()), "已退回，其他人可以认领")


@bp.post("/tasks/<int:task_id>/complete")
@login_required
def complete(task_id: int) -> Any:
    """Complete the task with the posted form; invalid fields come back with their messages."""
    engine = get_engine()
    source = engine.documents.task_form(current_actor(), task_id) or {"components": []}
    data, flat = form_view.parse(source, request.form, _collected(engine.queries.task(current_actor(), task_id)))
    try:
        engine.handle(CompleteTask(task_id, current_actor(), data))
    except FormInvalid as exc:
        return _render(task_id, values=flat, errors=exc.details.get("fields", {}), status=422)
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "error")
        return redirect(url_for("pages.task", task_id=task_id))
    flash(f"已办理：{engine.queries.task(current_actor(), task_id)['name']}")
    return redirect(url_for("pages.inbox"))


def _act(task_id: int, command: Any, done: str) -> Any:
    try:
        get_engine().handle(command)
        flash(done)
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "error")
    return redirect(url_for("pages.task", task_id=task_id))


def _render(task_id: int, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
            status: int = 200) -> Any:
    actor, engine = current_actor(), get_engine()
    item = engine.queries.task(actor, task_id)
    case = engine.queries.case(actor, item["case_id"])
    source = engine.documents.task_form(actor, task_id)
    # The picker's min/max follow the form's date bounds on today's business date, as the engine checks them.
    fields = form_view.build(source, values, errors, today=business_date(engine.clock.now())) if source else []
    form_view.mark_collected(fields, _collected(item))
    known = {f.key for f in form_view.leaves(fields)}
    stray = {key: messages for key, messages in (errors or {}).items() if key not in known}
    return render_template(
        "pages/task.html", task=item, case=case, fields=fields, errors=errors or {}, stray_errors=stray,
        labels={f.key: f.label for f in form_view.leaves(fields)},
        materials=materials(engine.documents.started_data(actor, item["case_id"]),
                            engine.materials.list(actor, item["case_id"])),
        events=engine.queries.events(item["case_id"]), mine=item["assignee"] == actor.username,
        # The deadlines drawn on this task (the 容缺 deadline on 接收容缺材料), while it is open.
        timers=engine.case_timers.waiting(item["case_id"], attached_to=item["element_id"])
        if item["state"] == "open" else [],
        highlight=[item["element_id"]] if item["state"] == "open" else []), status


def _collected(task: dict[str, Any]) -> dict[str, Any]:
    """The form values a 一件事 bundle already collected for this task (none for a single matter)."""
    return task.get("bundle", {}).get("values", {})
