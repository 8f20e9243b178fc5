"""全渝通办 grants: admins delegate rights on a matter from the owning to a receiving district."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine import RIGHTS

from ..auth import current_actor, require_role
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("grants", __name__, url_prefix="/api/v1/grants", description="全渝通办授权")


class GrantSchema(Schema):
    """A grant."""

    id = fields.Integer(dump_only=True)
    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    owning_district = fields.String(required=True, validate=validate.Length(min=1, max=12))
    receiving_district = fields.String(required=True, validate=validate.Length(min=1, max=12),
                                       metadata={"description": "区县代码，或 all"})
    rights = fields.List(fields.String(validate=validate.OneOf(sorted(RIGHTS))), required=True,
                         validate=validate.Length(min=1),
                         metadata={"description": "、".join(f"{k} {v}" for k, v in RIGHTS.items())})
    valid_from = fields.Date(load_default=None)
    valid_to = fields.Date(load_default=None)
    basis = fields.String(load_default=None, validate=validate.Length(max=500))
    created_by = fields.String(dump_only=True)
    revoked = fields.Boolean(dump_only=True)
    in_force = fields.Boolean(dump_only=True, allow_none=True,
                              metadata={"description": "今天（北京时间）是否有效：未撤销、已生效且未过期"})
    expired = fields.Boolean(dump_only=True, allow_none=True, metadata={"description": "有效期是否已过"})


class GrantQuerySchema(Schema):
    """List filters."""

    matter_code = fields.String(load_default=None)
    district = fields.String(load_default=None)
    include_revoked = fields.Boolean(load_default=False, metadata={
        "description": "包括已撤销、已过期和尚未生效的授权；默认只列出今天有效的"})


class RevokeSchema(Schema):
    """Why the grant ends."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


@blp.route("", methods=["GET"])
@require_role("admin", "supervisor", "auditor")
@blp.arguments(GrantQuerySchema, location="query")
@blp.response(200, GrantSchema(many=True))
def list_grants(query: dict[str, Any]) -> Any:
    """List grants in force (``include_revoked`` for all); an unknown ``district`` is refused (422 UNKNOWN_DISTRICT)."""
    return [g.to_dict() for g in get_engine().grants.list(**query)]


@blp.route("", methods=["POST"])
@require_role("admin")
@blp.arguments(GrantSchema)
@blp.response(201, GrantSchema)
def add_grant(body: dict[str, Any]) -> Any:
    """Delegate rights on a matter from its owning district to a receiving district (or all)."""
    info = get_engine().grants.add(matter_code=body["matter_code"], owning=body["owning_district"],
                                   receiving=body["receiving_district"], rights=body["rights"],
                                   valid_from=body["valid_from"], valid_to=body["valid_to"], basis=body["basis"],
                                   actor=current_actor().username)
    return info.to_dict()


@blp.route("/<int:grant_id>/revoke", methods=["POST"])
@require_role("admin")
@blp.arguments(RevokeSchema)
@blp.response(200, GrantSchema)
def revoke_grant(body: dict[str, Any], grant_id: int) -> Any:
    """Revoke a grant; it stays listed with ``include_revoked``."""
    return get_engine().grants.revoke(grant_id, actor=current_actor().username, reason=body["reason"]).to_dict()
