"""The inbox: list, read, claim, unclaim and complete tasks."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import ClaimTask, CompleteTask, UnclaimTask

from ..auth import current_actor, require_user
from ..runtime import get_engine
from ..schemas import CaseRefSchema, CompleteTaskSchema, TaskPageSchema, TaskQuerySchema, TaskSchema

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务")


@blp.route("")
class Tasks(MethodView):
    """The current user's inbox."""

    @require_user
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, query: dict[str, Any]) -> Any:
        """List tasks assigned to me or open to my groups (scope=all|mine|available|completed)."""
        return get_engine().queries.tasks(current_actor(), **query)


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


@blp.route("/<int:task_id>/complete", methods=["POST"])
@require_user
@blp.arguments(CompleteTaskSchema)
@blp.response(200, CaseRefSchema)
def complete(body: dict[str, Any], task_id: int) -> Any:
    """Complete a task with its form data; 422 lists every invalid field, 409 when it is no longer yours."""
    return get_engine().handle(CompleteTask(task_id, current_actor(), body["data"]))
