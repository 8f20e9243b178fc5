"""Messages between cases for administrators: list, retry, discard, and accept signed envelopes."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine import MESSAGE_STATES

from ..auth import current_actor, require_role
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages", description="办件间消息")


class MessageQuerySchema(Schema):
    """List filters."""

    state = fields.List(fields.String(validate=validate.OneOf(sorted(MESSAGE_STATES))), load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class MessageSchema(Schema):
    """One message (its payload stays in the database; the audit log keeps its sha256)."""

    id = fields.Integer()
    idempotency_key = fields.String()
    name = fields.String()
    correlation_key = fields.String(allow_none=True)
    sender_case_no = fields.String(allow_none=True)
    receiver_case_no = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "、".join(f"{k} {v}" for k, v in MESSAGE_STATES.items())})
    state_label = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    available_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class ResolveSchema(Schema):
    """Why an administrator retries or discards a message."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class EnvelopeSchema(Schema):
    """A signed message envelope from outside (another deployment)."""

    idempotency_key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    correlation_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256))
    payload = fields.Dict(required=True)
    sender = fields.String(load_default=None, allow_none=True)
    signature = fields.String(required=True, validate=validate.Length(equal=64))


@blp.route("", methods=["GET"])
@require_role("admin")
@blp.arguments(MessageQuerySchema, location="query")
@blp.response(200, MessageSchema(many=True))
def list_messages(query: dict[str, Any]) -> Any:
    """List messages, newest first (``state`` may repeat)."""
    return get_engine().messages.list(states=tuple(query["state"]) if query["state"] else None,
                                      limit=query["limit"])


@blp.route("/<int:message_id>/retry", methods=["POST"])
@require_role("admin")
@blp.arguments(ResolveSchema)
@blp.response(200, MessageSchema)
def retry(body: dict[str, Any], message_id: int) -> Any:
    """Put a poison or expired message back in the queue (409 in any other state)."""
    get_engine().messages.retry(message_id, current_actor(), body["reason"])
    return _one(message_id)


@blp.route("/<int:message_id>/discard", methods=["POST"])
@require_role("admin")
@blp.arguments(ResolveSchema)
@blp.response(200, MessageSchema)
def discard(body: dict[str, Any], message_id: int) -> Any:
    """Close a poison, expired or rejected message (409 in any other state)."""
    get_engine().messages.discard(message_id, current_actor(), body["reason"])
    return _one(message_id)


@blp.route("/envelopes", methods=["POST"])
@require_role("admin")
@blp.arguments(EnvelopeSchema)
@blp.response(201, MessageSchema)
def submit(body: dict[str, Any]) -> Any:
    """Queue a signed envelope; a bad signature or a known idempotency key is refused (409) and recorded."""
    message_id = get_engine().messages.submit(body, source=f"api:{current_actor().username}")
    return _one(message_id)


def _one(message_id: int) -> dict[str, Any]:
    return get_engine().messages.get(message_id)
