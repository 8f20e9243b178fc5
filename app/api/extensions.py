"""Deadline extension requests (行政许可法第四十二条): staff ask, the 负责人 approves or rejects.

The 负责人 is a department head of the case's 承办部门, or for the 45-day joint procedure the district government's
head (``government_head``, 第四十二条第二款): each request names it in ``approver_role``.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from engine import DecideExtension, ExtensionApproverRequired, WithdrawExtension

from ..auth import current_actor, require_user
from ..runtime import get_engine
from ..schemas import DecideExtensionSchema, ExtensionQuerySchema, ExtensionRequestSchema
from . import Blueprint

blp = Blueprint("extensions", __name__, url_prefix="/api/v1/extension-requests", description="延长时限申请")


HEADS = frozenset({"department_head", "government_head"})


def heads_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse anyone but a department or government head before the body is read (403 before 422), as the engine."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not HEADS.intersection(current_actor().roles):
            raise ExtensionApproverRequired()
        return view(*args, **kwargs)
    return wrapper


@blp.route("", methods=["GET"])
@require_user
@blp.arguments(ExtensionQuerySchema, location="query")
@blp.response(200, ExtensionRequestSchema(many=True), headers={
    "X-Total-Count": {"description": "符合筛选条件的申请总数（分页用）", "schema": {"type": "integer"}}})
def list_requests(query: dict[str, Any]) -> Any:
    """List the requests of your district: ``open`` (the default) is the heads' queue, oldest first.

    A head lists the requests that ask for them (``approver_role``): a department head those of their
    department's cases, the government head those of the 45-day joint procedure. ``may_decide`` says whether
    you may decide a row. Page with ``limit`` and ``offset``; the ``X-Total-Count`` header tells how many match.
    """
    actor, queries = current_actor(), get_engine().queries
    rows = queries.extension_requests(actor, **query)
    total = queries.count_extension_requests(actor, state=query["state"], case_id=query["case_id"])
    return rows, {"X-Total-Count": str(total)}


@blp.route("/<int:request_id>/approve", methods=["POST"])
@require_user
@heads_only
@blp.arguments(DecideExtensionSchema)
@blp.response(200, ExtensionRequestSchema)
def approve(body: dict[str, Any], request_id: int) -> Any:
    """Approve as the head the request asks for (``approver_role``) in its district: the extension applies at once.

    403 ``EXTENSION_APPROVER_REQUIRED`` for anyone else (a department head on a joint procedure's request too),
    404 outside your district, 409 ``EXTENSION_REQUEST_CLOSED`` once decided or withdrawn, 409 ``CLOCK_CLOSED``
    when the case has ended.
    """
    return get_engine().handle(DecideExtension(request_id, current_actor(), True, body["comment"]))


@blp.route("/<int:request_id>/reject", methods=["POST"])
@require_user
@heads_only
@blp.arguments(DecideExtensionSchema)
@blp.response(200, ExtensionRequestSchema)
def reject(body: dict[str, Any], request_id: int) -> Any:
    """Reject as the head the request asks for in its district; ``comment`` (the reason) is required."""
    return get_engine().handle(DecideExtension(request_id, current_actor(), False, body["comment"]))


@blp.route("/<int:request_id>/withdraw", methods=["POST"])
@require_user
@blp.response(200, ExtensionRequestSchema)
def withdraw(request_id: int) -> Any:
    """Withdraw your own open request (403 ``EXTENSION_NOT_REQUESTER`` for anyone else's)."""
    return get_engine().handle(WithdrawExtension(request_id, current_actor()))
