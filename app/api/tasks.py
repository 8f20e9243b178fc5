"""The inbox: list, count, read, claim (one or many), unclaim, delegate, return and complete tasks."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from engine import ClaimTask, ClaimTasks, CompleteTask, DelegateTask, InboxQuery, ReturnTask, UnclaimTask

from ..auth import current_actor, require_user
from ..runtime import get_engine
from ..schemas import (
    BulkClaimResultSchema, BulkClaimSchema, CaseRefSchema, CompleteTaskSchema, DelegateTaskSchema, ErrorSchema,
    ReturnTaskSchema, TaskCountsSchema, TaskFilterSchema, TaskPageSchema, TaskQuerySchema, TaskSchema,
)
from . import Blueprint

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务")


@blp.route("")
class Tasks(MethodView):
    """The current user's inbox."""

    @require_user
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskPageSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="cursor made for another sort (CURSOR_SORT_MISMATCH)")
    def get(self, query: dict[str, Any]) -> Any:
        """List tasks by scope, filtered by matter, district, stage, light, due time and text, keyset-paginated.

        Sorts: created, due (undated last) or light (red, yellow, green, none; then due), asc or desc. The
        ``next_cursor`` only continues the sort and order it was made for.
        """
        return get_engine().queries.tasks(current_actor(), InboxQuery(**query))


@blp.route("/counts")
@require_user
@blp.arguments(TaskFilterSchema, location="query")
@blp.response(200, TaskCountsSchema)
def counts(query: dict[str, Any]) -> Any:
    """Count the inbox tabs (all, mine, available, completed) and the red and yellow open tasks."""
    return get_engine().queries.task_counts(current_actor(), InboxQuery(**query))


@blp.route("/claim", methods=["POST"])
@require_user
@blp.arguments(BulkClaimSchema)
@blp.response(200, BulkClaimResultSchema)
def claim_many(body: dict[str, Any]) -> Any:
    """Claim up to 100 tasks; each claim is its own transaction and every id reports claimed/conflict/not_found."""
    outcomes = get_engine().handle(ClaimTasks(tuple(body["ids"]), current_actor()))
    return {"results": [asdict(o) for o in outcomes]}


@blp.route("/<int:task_id>")
class TaskDetail(MethodView):
    """One task."""

    @require_user
    @blp.response(200, TaskSchema)
    def get(self, task_id: int) -> Any:
        """Return a task you may see (404 otherwise)."""
        return get_engine().queries.task(current_actor(), task_id)


@blp.route("/<int:task_id>/claim", methods=["POST"])
@require_user
@blp.response(200, CaseRefSchema)
def claim(task_id: int) -> Any:
    """Claim a task into your own queue (409 when someone else holds it)."""
    return get_engine().handle(ClaimTask(task_id, current_actor()))


@blp.route("/<int:task_id>/unclaim", methods=["POST"])
@require_user
@blp.response(200, CaseRefSchema)
def unclaim(task_id: int) -> Any:
    """Give a task you claimed back to its groups."""
    return get_engine().handle(UnclaimTask(task_id, current_actor()))


@blp.route("/<int:task_id>/delegate", methods=["POST"])
@require_user
@blp.arguments(DelegateTaskSchema)
@blp.response(200, CaseRefSchema)
@blp.alt_response(403, schema=ErrorSchema, description="neither the assignee nor a department head of its groups")
def delegate(body: dict[str, Any], task_id: int) -> Any:
    """Hand the task to an active member of its candidate groups (转办); the assignee or a department head may."""
    return get_engine().handle(DelegateTask(task_id, current_actor(), body["to"], body["reason"]))


@blp.route("/<int:task_id>/return", methods=["POST"])
@require_user
@blp.arguments(ReturnTaskSchema)
@blp.response(200, CaseRefSchema)
@blp.alt_response(409, schema=ErrorSchema, description="no previous user task, or the path crosses a parallel join")
def return_task(body: dict[str, Any], task_id: int) -> Any:
    """Send the case back to the user task before this one (退回), cancelling this task; the reason is audited."""
    return get_engine().handle(ReturnTask(task_id, current_actor(), body["reason"]))


@blp.route("/<int:task_id>/complete", methods=["POST"])
@require_user
@blp.arguments(CompleteTaskSchema)
@blp.response(200, CaseRefSchema)
def complete(body: dict[str, Any], task_id: int) -> Any:
    """Complete a task with its form data; 422 lists every invalid field, 409 when it is no longer yours."""
    return get_engine().handle(CompleteTask(task_id, current_actor(), body["data"]))
