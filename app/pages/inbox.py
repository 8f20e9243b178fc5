"""The inbox: 待办 (mine), 可认领 (available) and 已办 (completed) tabs, filters and keyset paging.

The tabs count what they list: with filters (时限状态、事项、搜索) each tab's badge counts the tasks the filtered
tab shows, as the API's ``/counts`` takes the list's filters (and as a Camunda Tasklist filter's count runs the
list's query, search criteria included). A tab link keeps the filters; a filter sent by htmx swaps the tabs
too (out of band), so no badge is left counting another list.

A head also sees 待审批的延期申请: the open deadline extension requests of their district that ask for them,
oldest first, each with 批准 and 驳回 (a reason required) (:mod:`app.pages.cases` holds the decision's route): a
department head those of their department's cases, the district government's head (``government_head``) those
of the 45-day joint procedure (行政许可法第四十二条第二款).
"""
from __future__ import annotations

from typing import Any

from flask import render_template, request

from engine import EXTENSION_TEXT_MAX, EngineError, InboxQuery

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
    filters = {"light": request.args.get("light") or "", "matter": request.args.get("matter") or "",
               "q": (request.args.get("q") or "").strip()[:50]}
    more = bool(request.headers.get("HX-Request")) and request.headers.get("HX-Target") == "more-row"
    counts, error = _counts(actor, filters) if not more else ({}, None)
    default_tab = "mine" if not counts or counts["mine"] or not counts["available"] else "available"
    tab = request.args.get("tab") if request.args.get("tab") in dict(TABS) else default_tab
    matters = {d["process_key"]: d["name"] for d in engine.queries.definitions()}
    try:
        rows, cursor = _rows(actor, tab, filters, request.args.get("cursor"))
    except EngineError as exc:
        rows, cursor, error = [], None, exc.message
    context = dict(tab=tab, tabs=TABS, counts=counts, filters=filters, matters=matters, rows=rows,
                   cursor=cursor, error=error, filtered=any(filters.values()) and not error)
    if request.headers.get("HX-Request"):
        return render_template("pages/inbox_rows.html", more=more, swap_tabs=not more, **context)
    heads = bool(HEADS.intersection(actor.roles))
    extensions = engine.queries.extension_requests(actor, state="open", deciding=True) if heads else None
    waiting = engine.queries.count_extension_requests(actor, deciding=True) if heads else 0
    return render_template("pages/inbox.html", extensions=extensions, extensions_total=waiting,
                           governing="government_head" in actor.roles, extension_max=EXTENSION_TEXT_MAX, **context)


def _counts(actor: Any, filters: dict[str, str]) -> tuple[dict[str, int], str | None]:
    """Count the tabs with the filters; with filters the inbox refuses, count every task and give the reason."""
    query = InboxQuery(**_filter_args(filters))
    try:
        query.check()
    except EngineError as exc:
        return get_engine().queries.task_counts(actor), exc.message
    return get_engine().queries.task_counts(actor, query), None


def _filter_args(filters: dict[str, str]) -> dict[str, Any]:
    return {"light": filters["light"] or None, "matter": filters["matter"] or None, "q": filters["q"] or None}


def _rows(actor: Any, tab: str, filters: dict[str, str], cursor: str | None) -> tuple[list[dict], str | None]:
    """Read one page of the tab; the text filter (case number or applicant) runs in the inbox query."""
    args: dict[str, Any] = {"scope": tab, **_filter_args(filters), "sort": "created" if tab == "completed" else "due"}
    page = get_engine().queries.tasks(actor, limit=PAGE_SIZE, cursor=cursor, **args)
    return page.items, page.next_cursor
