"""The inbox: 待办 (mine), 可认领 (available) and 已办 (completed) tabs, filters and keyset paging.

A head also sees 待审批的延期申请: the open deadline extension requests of their district that ask for them,
oldest first, each with 批准 and 驳回 (a reason required) (:mod:`app.pages.cases` holds the decision's route): a
department head those of their department's cases, the district government's head (``government_head``) those
of the 45-day joint procedure (行政许可法第四十二条第二款).
"""
from __future__ import annotations

from typing import Any

from flask import render_template, request

from engine import EXTENSION_TEXT_MAX, EngineError

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, login_required

TABS = (("mine", "待办"), ("available", "可认领"), ("completed", "已办"))
HEADS = frozenset({"department_head", "government_head"})
"""The roles asked to decide extension requests (行政许可法第四十二条)."""
PAGE_SIZE = 20


@bp.get("/")
@login_required
def inbox() -> Any:
    """Show the inbox tab with its filters; an htmx request gets just the rows."""
    actor, engine = current_actor(), get_engine()
    counts = engine.queries.task_counts(actor)
    default_tab = "mine" if counts["mine"] or not counts["available"] else "available"
    tab = request.args.get("tab") if request.args.get("tab") in dict(TABS) else default_tab
    filters = {"light": request.args.get("light") or "", "matter": request.args.get("matter") or "",
               "q": (request.args.get("q") or "").strip()[:50]}
    matters = {d["process_key"]: d["name"] for d in engine.queries.definitions()}
    error = None
    try:
        rows, cursor = _rows(actor, tab, filters, request.args.get("cursor"))
    except EngineError as exc:
        rows, cursor, error = [], None, exc.message
    context = dict(tab=tab, tabs=TABS, counts=counts, filters=filters, matters=matters, rows=rows,
                   cursor=cursor, error=error)
    if request.headers.get("HX-Request"):
        more = request.headers.get("HX-Target") == "more-row"
        return render_template("pages/inbox_rows.html", more=more, **context)
    heads = bool(HEADS.intersection(actor.roles))
    extensions = engine.queries.extension_requests(actor, state="open", deciding=True) if heads else None
    waiting = engine.queries.count_extension_requests(actor, deciding=True) if heads else 0
    return render_template("pages/inbox.html", extensions=extensions, extensions_total=waiting,
                           governing="government_head" in actor.roles, extension_max=EXTENSION_TEXT_MAX, **context)


def _rows(actor: Any, tab: str, filters: dict[str, str], cursor: str | None) -> tuple[list[dict], str | None]:
    """Read one page of the tab; the text filter (case number or applicant) runs in the inbox query."""
    args: dict[str, Any] = {"scope": tab, "light": filters["light"] or None, "matter": filters["matter"] or None,
                            "q": filters["q"] or None, "sort": "created" if tab == "completed" else "due"}
    page = get_engine().queries.tasks(actor, limit=PAGE_SIZE, cursor=cursor, **args)
    return page.items, page.next_cursor
