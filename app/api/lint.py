"""Lint uploaded definition files for designers (the modeler calls it while drawing); nothing is deployed."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from engine import LintDefinitions

from ..auth import require_role
from ..runtime import get_engine
from ..schemas import LintReportSchema
from . import Blueprint
from .definitions import uploaded_files

blp = Blueprint("lint", __name__, url_prefix="/api/v1/lint", description="流程定义检查：部署前发现问题")


@blp.route("")
class Lint(MethodView):
    """Checks of definition files."""

    @require_role("designer", "admin")
    @blp.response(200, LintReportSchema)
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
    def post(self) -> Any:
        """Report every finding in the uploaded files (field ``files``), errors first, deploying nothing."""
        bpmn, forms = uploaded_files()
        findings = [f.to_dict() for f in get_engine().handle(LintDefinitions(bpmn, forms))]
        errors = sum(1 for f in findings if f["severity"] == "error")
        return {"ok": errors == 0, "errors": errors, "warnings": len(findings) - errors, "findings": findings}
