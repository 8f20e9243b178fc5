"""Start and read cases."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from engine import ExtendDeadline, RequestExtension, ResumeClock, StartCase, SuspendClock, TimerWorker

from ..auth import current_actor, require_user
from ..runtime import get_engine
from ..schemas import (
    CaseRefSchema, CaseSchema, ExtendDeadlineSchema, ExtensionRequestSchema, RequestExtensionSchema, ResumeClockSchema,
    StartCaseSchema, SuspendClockSchema,
)
from . import Blueprint

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="办件")


@blp.route("")
class Cases(MethodView):
    """The collection of cases."""

    @require_user
    @blp.arguments(StartCaseSchema)
    @blp.response(201, CaseRefSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Start a case of a deployed process with its initial data."""
        return get_engine().handle(StartCase(actor=current_actor(), **body))


@blp.route("/<int:case_id>")
class CaseDetail(MethodView):
    """One case."""

    @require_user
    @blp.response(200, CaseSchema)
    def get(self, case_id: int) -> Any:
        """Return a case with its tasks and its waiting timers (e.g. the 容缺 deadline), if you may see it.

        ``failing_timers`` lists its timers whose firing failed: still retried by the worker (``waiting``) or set
        aside for an administrator (``failed``, ``tongban timers retry``).
        """
        engine = get_engine()
        detail = engine.queries.case(current_actor(), case_id)   # 404 unless the caller may see the case
        return {**detail, "timers": engine.case_timers.waiting(case_id),
                "failing_timers": TimerWorker.case_failing_timers(engine, case_id)}


@blp.route("/<int:case_id>/clocks/suspend", methods=["POST"])
@require_user
@blp.arguments(SuspendClockSchema)
@blp.response(200, CaseRefSchema)
def suspend(body: dict[str, Any], case_id: int) -> Any:
    """Pause the case's clocks for 补正, 特别程序 or 容缺, with the reason (409 when already paused)."""
    body["clocks"] = tuple(body["clocks"])
    return get_engine().handle(SuspendClock(case_id, current_actor(), **body))


@blp.route("/<int:case_id>/clocks/resume", methods=["POST"])
@require_user
@blp.arguments(ResumeClockSchema)
@blp.response(200, CaseRefSchema)
def resume(body: dict[str, Any], case_id: int) -> Any:
    """Resume the case's paused clocks (409 when they are running)."""
    return get_engine().handle(ResumeClock(case_id, current_actor(), tuple(body["clocks"])))


@blp.route("/<int:case_id>/clocks/extend", methods=["POST"])
@require_user
@blp.arguments(ExtendDeadlineSchema)
@blp.response(200, CaseRefSchema)
def extend(body: dict[str, Any], case_id: int) -> Any:
    """A department head of the owning district extends one clock, approving it by acting.

    Anyone else asks with ``clocks/extension-requests``. 403 ``EXTENSION_NOT_APPROVED`` when the caller is not
    such a head or names another approver; 409 ``EXTENSION_LIMIT_EXCEEDED`` for a second extension or past the
    legal maximum.
    """
    return get_engine().handle(ExtendDeadline(case_id, current_actor(), **body))


@blp.route("/<int:case_id>/clocks/extension-requests", methods=["POST"])
@require_user
@blp.arguments(RequestExtensionSchema)
@blp.response(201, ExtensionRequestSchema)
def request_extension(body: dict[str, Any], case_id: int) -> Any:
    """Ask a department head of the owning district to extend one clock; it waits in the heads' list.

    Refused at once when the approval would be: 409 ``EXTENSION_LIMIT_EXCEEDED`` after an extension or past the
    legal maximum, 409 ``EXTENSION_REQUEST_OPEN`` while another request for the clock waits.
    """
    return get_engine().handle(RequestExtension(case_id, current_actor(), **body))
