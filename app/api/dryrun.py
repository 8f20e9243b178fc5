"""Dry run of a draft against a scenario, for designers (the modeler calls it); nothing real is touched."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from ..auth import require_role
from ..runtime import get_engine
from ..schemas_versions import DryRunRequestSchema, DryRunResultSchema
from . import Blueprint

blp = Blueprint("dryrun", __name__, url_prefix="/api/v1/dryrun", description="演练：草稿按场景试运行")


@blp.route("")
class DryRun(MethodView):
    """Runs of drafts in throw-away databases."""

    @require_role("designer")
    @blp.arguments(DryRunRequestSchema)
    @blp.response(200, DryRunResultSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Lint the draft, then run the scenario on the manual clock; per-step results, path and deadlines."""
        return get_engine().dryruns.run_draft(body["bpmn"], body["forms"], body["scenario"]).to_dict()
