"""督办: the items supervisors follow up (deadlines missed or near) and closing them with an opinion."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine import CloseSupervision

from ..auth import current_actor, require_role
from ..runtime import get_engine
from ..schemas import Instant
from . import Blueprint

blp = Blueprint("supervision", __name__, url_prefix="/api/v1/supervision", description="督办")
KINDS = ["committed_overdue", "legal_warning", "legal_overdue"]


class SupervisionQuerySchema(Schema):
    """Filters of the 督办 list."""

    state = fields.String(load_default="open", validate=validate.OneOf(["open", "closed", "all"]))
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class SupervisionItemSchema(Schema):
    """One 督办 item."""

    id = fields.Integer()
    case_id = fields.Integer()
    case_no = fields.String()
    title = fields.String(allow_none=True)
    process_key = fields.String()
    kind = fields.String(metadata={"description": "committed_overdue 承诺超期 / legal_warning 法定临期 / "
                                                  "legal_overdue 法定超期"})
    clock = fields.String()
    due_at = fields.DateTime()
    district = fields.String(allow_none=True)
    state = fields.String()
    raised_at = fields.DateTime()
    closed_by = fields.String(allow_none=True)
    closed_at = Instant(allow_none=True)
    opinion = fields.String(allow_none=True)


class CloseSupervisionSchema(Schema):
    """The supervisor's opinion (what was done and asked of the department)."""

    opinion = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ClosedSchema(Schema):
    """A closed item."""

    id = fields.Integer()
    case_id = fields.Integer()
    case_no = fields.String()
    state = fields.String()
    closed_by = fields.String()
    closed_at = Instant()


@blp.route("", methods=["GET"])
@require_role("supervisor")
@blp.arguments(SupervisionQuerySchema, location="query")
@blp.response(200, SupervisionItemSchema(many=True))
def list_items(query: dict[str, Any]) -> Any:
    """List the 督办 items of the district you supervise (city-level supervisors see every district)."""
    return get_engine().queries.supervision(current_actor(), **query)


@blp.route("/<int:item_id>/close", methods=["POST"])
@require_role("supervisor")
@blp.arguments(CloseSupervisionSchema)
@blp.response(200, ClosedSchema)
def close(body: dict[str, Any], item_id: int) -> Any:
    """Close an open item with your opinion (404 outside your district, 409 when already closed)."""
    return get_engine().handle(CloseSupervision(item_id, current_actor(), body["opinion"]))
