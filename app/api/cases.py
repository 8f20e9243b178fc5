"""Start and read cases."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import StartCase

from ..auth import current_actor, require_user
from ..runtime import get_engine
from ..schemas import CaseRefSchema, CaseSchema, StartCaseSchema

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
