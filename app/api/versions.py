"""Versions of a process: list with running cases, structural diff, case migration (plan, then apply)."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from ..auth import current_actor, require_role
from ..runtime import get_engine
from ..schemas_versions import (
    DiffArgsSchema, DiffSchema, MigrationReportSchema, MigrationRequestSchema, VersionsSchema,
)
from . import Blueprint

blp = Blueprint("versions", __name__, url_prefix="/api/v1/definitions",
                description="流程版本：版本列表、结构差异、办件迁移")
READERS = ("designer", "admin", "auditor")


@blp.route("/<process_key>/versions")
class Versions(MethodView):
    """The versions of one process."""

    @require_role(*READERS)
    @blp.response(200, VersionsSchema)
    def get(self, process_key: str) -> Any:
        """List every version, newest first: who deployed it and when, its cases, its log entries."""
        return get_engine().versions.list(process_key)


@blp.route("/<process_key>/diff")
class Diff(MethodView):
    """What changed between two versions."""

    @require_role(*READERS)
    @blp.arguments(DiffArgsSchema, location="query")
    @blp.response(200, DiffSchema)
    def get(self, args: dict[str, Any], process_key: str) -> Any:
        """Compare two versions element by element: added, removed and changed element ids."""
        return get_engine().versions.diff(process_key, args["from_"], args["to"])


@blp.route("/<process_key>/migrations")
class Migrations(MethodView):
    """Moving running cases to another version."""

    @require_role("admin", code="MIGRATION_FORBIDDEN")
    @blp.arguments(MigrationRequestSchema)
    @blp.response(200, MigrationReportSchema)
    def post(self, body: dict[str, Any], process_key: str) -> Any:
        """Check every selected case (dry_run), or check and migrate the allowed ones in batches (admins only)."""
        report = get_engine().versions.migrate(process_key, body["from_"], body["to"], actor=current_actor(),
                                               cases=body["cases"], dry_run=body["dry_run"], batch=body["batch"])
        return report.to_dict()
