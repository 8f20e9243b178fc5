"""Drafts of processes and their forms: designers save work without deploying it, then deploy a draft."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine import DeployDraft

from ..auth import current_actor, require_role
from ..bounds import DbInt
from ..runtime import get_engine
from ..schemas import DeployedSchema, FindingSchema, Instant
from . import Blueprint

blp = Blueprint("drafts", __name__, url_prefix="/api/v1/drafts", description="流程草稿：保存、打开、删除、部署")

EDITORS = ("designer", "admin")
FORMS_DOC = "表单标识 → form-js JSON（其 id 须等于标识）；更新时按标识合并，值为 null 表示从草稿中移除该表单"


class DraftInfoSchema(Schema):
    """A draft as listed."""

    id = fields.Integer()
    process_key = fields.String()
    revision = fields.Integer(metadata={"description": "每次保存加一；更新和部署时须给出当前值"})
    base_version = fields.Integer(allow_none=True, metadata={"description": "草稿据以修改的已部署版本"})
    base_hash = fields.String(allow_none=True)
    author = fields.String()
    created_at = Instant()
    updated_by = fields.String()
    updated_at = Instant()
    form_keys = fields.List(fields.String())


class DraftSchema(DraftInfoSchema):
    """A draft with its diagram and forms."""

    bpmn = fields.String()
    forms = fields.Dict(keys=fields.String(), values=fields.Dict())


class DraftCreateSchema(Schema):
    """A new draft."""

    process_key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    bpmn = fields.String(required=True, metadata={"description": "BPMN 2.0 XML"})
    forms = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict,
                        metadata={"description": FORMS_DOC})
    base_version = DbInt(load_default=None, metadata={"description": "打开的已部署版本；新流程不填"})


class DraftUpdateSchema(Schema):
    """Changes to a draft: a new diagram and/or forms, with the revision they were made on."""

    revision = DbInt(required=True)
    bpmn = fields.String(load_default=None)
    forms = fields.Dict(keys=fields.String(), values=fields.Dict(allow_none=True), load_default=None,
                        metadata={"description": FORMS_DOC})


class DraftQuerySchema(Schema):
    """List filter."""

    process_key = fields.String(load_default=None)


class DeployDraftSchema(Schema):
    """Deploy options."""

    revision = DbInt(load_default=None, metadata={"description": "须仍是草稿的当前保存次数"})
    force = fields.Boolean(load_default=False, metadata={"description": "草稿的基础版本已不是最新版时仍部署"})


class DraftDeployedSchema(Schema):
    """What deploying a draft did."""

    process_key = fields.String()
    version = fields.Integer()
    status = fields.String(metadata={"description": "created（新版本）或 unchanged（与已有版本相同）"})
    previous_version = fields.Integer(allow_none=True)
    message = fields.String()
    report = fields.List(fields.Nested(DeployedSchema))
    warnings = fields.List(fields.Nested(FindingSchema))


@blp.route("", methods=["GET"])
@require_role(*EDITORS)
@blp.arguments(DraftQuerySchema, location="query")
@blp.response(200, DraftInfoSchema(many=True))
def list_drafts(query: dict[str, Any]) -> Any:
    """List drafts, the latest saved first."""
    return [d.to_dict() for d in get_engine().drafts.list(query["process_key"])]


@blp.route("", methods=["POST"])
@require_role(*EDITORS)
@blp.arguments(DraftCreateSchema)
@blp.response(201, DraftInfoSchema)
def create_draft(body: dict[str, Any]) -> Any:
    """Save a new draft; nothing is deployed."""
    return get_engine().drafts.create(actor=current_actor().username, **body).to_dict()


@blp.route("/<int:draft_id>", methods=["GET"])
@require_role(*EDITORS)
@blp.response(200, DraftSchema)
def read_draft(draft_id: int) -> Any:
    """Open a draft with its diagram and forms."""
    return get_engine().drafts.get(draft_id).to_dict()


@blp.route("/<int:draft_id>", methods=["PUT"])
@require_role(*EDITORS)
@blp.arguments(DraftUpdateSchema)
@blp.response(200, DraftInfoSchema)
def update_draft(body: dict[str, Any], draft_id: int) -> Any:
    """Save changes to a draft made on its current revision (409 ``DRAFT_CHANGED`` otherwise)."""
    return get_engine().drafts.update(draft_id, actor=current_actor().username, **body).to_dict()


@blp.route("/<int:draft_id>", methods=["DELETE"])
@require_role(*EDITORS)
@blp.response(204)
def delete_draft(draft_id: int) -> Any:
    """Delete a draft; deployed versions stay."""
    get_engine().drafts.delete(draft_id)
    return ""


@blp.route("/<int:draft_id>/deploy", methods=["POST"])
@require_role("designer", code="DEPLOY_FORBIDDEN")
@blp.arguments(DeployDraftSchema)
@blp.response(201, DraftDeployedSchema)
@blp.alt_response(200, schema=DraftDeployedSchema, description="草稿与已部署的某一版本相同，未产生新版本")
def deploy_draft(body: dict[str, Any], draft_id: int) -> Any:
    """Lint the draft and deploy it as the next version (designers only); the draft is then removed.

    201 when a new version was created, 200 when the draft equals a deployed version (as deploy answers).
    """
    deployed = get_engine().handle(DeployDraft(draft_id, current_actor(), **body))
    return deployed.to_dict(), 201 if deployed.status == "created" else 200
