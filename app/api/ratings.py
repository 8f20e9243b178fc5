"""好差评 for staff: ratings entered at the window, the list and statistics, and appeals (申诉复核).

整改 and 回访 are ordinary inbox tasks of the 差评整改 case (``/api/v1/tasks``); the appeal endpoints complete
the department's 差评整改 task with an appeal and the supervisor's 申诉复核 task with a decision.
"""
from __future__ import annotations

from typing import Any

from engine import CompleteTask, RateCase, appeal_data, appeal_decision_data, mask_for_roles

from ..auth import current_actor, require_role, require_user
from ..runtime import get_engine
from . import Blueprint
from .rating_schemas import (
    AppealDecisionSchema, AppealSchema, RatingEntrySchema, RatingListQuerySchema, RatingSchema, StatsQuerySchema,
    StatsSchema,
)

blp = Blueprint("ratings", __name__, url_prefix="/api/v1/ratings", description="好差评")


@blp.route("", methods=["POST"])
@require_role("window_clerk")
@blp.arguments(RatingEntrySchema)
@blp.response(201, RatingSchema)
def enter(body: dict[str, Any]) -> Any:
    """Enter the applicant's rating of a closed case received or owned by your district (窗口代录)."""
    engine, actor = get_engine(), current_actor()
    case_id = engine.ratings.case_id_for(body["case_no"])
    engine.handle(RateCase(case_id, actor, body["score"], body["channel"], body["comment"]))
    return mask_for_roles(actor.roles, engine.ratings.of_case(case_id))


@blp.route("", methods=["GET"])
@require_user
@blp.arguments(RatingListQuerySchema, location="query")
@blp.response(200, RatingSchema(many=True))
def list_ratings(query: dict[str, Any]) -> Any:
    """List the ratings in your scope, newest first (district for supervisors and windows, department for staff).

    ID numbers in comments and appeal reasons are masked except for window clerks and auditors.
    """
    return get_engine().ratings.list(current_actor(), **query)


@blp.route("/stats", methods=["GET"])
@require_user
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, StatsSchema)
def stats(query: dict[str, Any]) -> Any:
    """Count ratings per level in your scope and period; ratings removed on appeal are left out."""
    return get_engine().ratings.stats(current_actor(), **query)


@blp.route("/<int:rating_id>", methods=["GET"])
@require_user
@blp.response(200, RatingSchema)
def show(rating_id: int) -> Any:
    """Show one rating with its 差评整改 progress (404 outside your scope)."""
    return get_engine().ratings.get(current_actor(), rating_id)


@blp.route("/<int:rating_id>/appeal", methods=["POST"])
@require_user
@blp.arguments(AppealSchema)
@blp.response(200, RatingSchema)
def appeal(body: dict[str, Any], rating_id: int) -> Any:
    """Appeal a 差评 as the responsible department (完成差评整改任务 with 申诉); a supervisor decides."""
    return _complete(rating_id, ("rectify",), appeal_data(body["reason"]))


@blp.route("/<int:rating_id>/appeal/decision", methods=["POST"])
@require_role("supervisor")
@blp.arguments(AppealDecisionSchema)
@blp.response(200, RatingSchema)
def decide(body: dict[str, Any], rating_id: int) -> Any:
    """Decide an appeal (申诉复核): upheld removes the rating from the statistics, rejected sends it back."""
    return _complete(rating_id, ("appeal_review",), appeal_decision_data(body["decision"], body["opinion"]))


def _complete(rating_id: int, elements: tuple[str, ...], data: dict[str, Any]) -> Any:
    engine, actor = get_engine(), current_actor()
    engine.handle(CompleteTask(engine.ratings.open_task(actor, rating_id, elements), actor, data))
    return engine.ratings.get(actor, rating_id)
