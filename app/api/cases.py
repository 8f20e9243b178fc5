"""Start and read cases."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import ExtendDeadline, ResumeClock, StartCase, SuspendClock

from ..auth import current_actor, require_user
from ..runtime import get_engine
from ..schemas import (
    CaseRefSchema, CaseSchema, ExtendDeadlineSchema, ResumeClockSchema, StartCaseSchema, SuspendClockSchema,
)

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
        """Return a case with its tasks, if you may see it."""
        return get_engine().queries.case(current_actor(), case_id)


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
    """Extend one clock once, approved by a department head (403 without approval, 409 past the limit)."""
    return get_engine().handle(ExtendDeadline(case_id, current_actor(), **body))
