"""全程网办 for applicant accounts: online matters, online applications, 我的办件, 网上补正 and 好差评.

Every endpoint needs an applicant account (bearer token or page session); staff get 403 ``APPLICANT_ONLY``.
Applications and supplements are ``multipart/form-data``: a JSON field plus one file field ``material.<key>``
per uploaded material, as at the window's intake.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import request
from marshmallow import Schema, ValidationError, fields, validate

from engine import (
    DISTRICT_CODE_SHAPE_PATTERN, Actor, ApplyOnline, Forbidden, InvalidInput, MaterialInput, Party, RateCase,
    SubmitSupplement, is_applicant,
)

from ..auth import current_actor
from ..errors import translate
from ..json_body import JsonNotValid, loads
from ..runtime import get_engine
from ..schemas import Instant
from . import Blueprint
from .applications import FILE_PREFIX, IntakeResultSchema, MaterialChoiceSchema, PartySchema, uploads_of
from .matters import MatterSchema
from .rating_schemas import ApplicantViewSchema, ScoreFields

blp = Blueprint("online", __name__, url_prefix="/api/v1", description="全程网办：申请人账号的网上申报与我的办件")


class OnlineApplicationSchema(Schema):
    """The JSON in the ``application`` field of an online application."""

    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    # A district that must exist: a code of its shape the organisation lacks is UNKNOWN_DISTRICT (the engine).
    district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE_SHAPE_PATTERN),
                             metadata={"description": "办理地（业务属地）：提供该事项的区县之一；只有一个时可省略"})
    applicant = fields.Nested(PartySchema, load_default=None, allow_none=True, metadata={
        "description": "省略即本人（账号实名身份）；为法人申报时 kind=legal，本人为其授权代理人"})
    authorization = fields.String(load_default="", validate=validate.Length(max=128),
                                  metadata={"description": "为法人申报时的授权委托书编号"})
    contact_phone = fields.String(required=True, validate=validate.Length(max=20))
    form = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "申请表数据"})
    materials = fields.Dict(keys=fields.String(), values=fields.Nested(MaterialChoiceSchema), load_default=dict)


class SupplementSchema(Schema):
    """The optional JSON in the ``supplement`` field: 电子证照 references and a note."""

    materials = fields.Dict(keys=fields.String(), values=fields.Nested(MaterialChoiceSchema), load_default=dict)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class OnlineMattersSchema(Schema):
    """The matters offered online, as the catalog gives them (``GET /api/v1/matters``)."""

    items = fields.List(fields.Nested(MatterSchema))


class MyCaseSchema(Schema):
    """One of my cases in the list."""

    case_id = fields.Integer()
    case_no = fields.String()
    matter_name = fields.String()
    status = fields.String()
    status_label = fields.String()
    district = fields.String(allow_none=True)
    received_at = fields.DateTime()
    committed_due_at = fields.DateTime(allow_none=True, metadata={
        "description": "承诺办结期限（办理中且已受理时；办结后见 committed_used_days）"})
    ended_at = fields.DateTime(allow_none=True)
    committed_used_days = fields.Integer(allow_none=True, metadata={"description": "办结时用去的工作日（承诺时限）"})
    committed_limit_days = fields.Integer(allow_none=True, metadata={"description": "承诺时限（工作日，含延长）"})
    committed_late = fields.Boolean(allow_none=True, metadata={"description": "是否超过承诺时限办结"})
    committed_paused = fields.Boolean(metadata={
        "description": "承诺时限暂停计时中（补正、特别程序、容缺），暂无办结期限"})


class MyCasesSchema(Schema):
    """My cases, newest first."""

    items = fields.List(fields.Nested(MyCaseSchema))


class ReceivedMaterialSchema(Schema):
    """A material of my case as received (uploaded or an 电子证照 reference)."""

    key = fields.String()
    filename = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    media_type = fields.String(allow_none=True)
    license_ref = fields.String(allow_none=True)
    received_at = Instant()


class SupplementRecordSchema(Schema):
    """A 补正 I uploaded online."""

    seq = fields.Integer()
    at = Instant()
    materials = fields.List(fields.Dict())
    note = fields.String()


class MyCaseDetailSchema(ApplicantViewSchema):
    """My case: where it stands (as 办件查询 tells it), what I submitted, and whether I can upload 补正 now."""

    case_id = fields.Integer()
    status_label = fields.String()
    channel = fields.String()
    district = fields.String(allow_none=True)
    matter_code = fields.String()
    matter_version = fields.Integer()
    can_supplement = fields.Boolean(metadata={"description": "一次性告知补正未结：可上传补正材料"})
    applicant = fields.Dict()
    agent = fields.Dict(allow_none=True)
    contact_phone = fields.String()
    materials_received = fields.List(fields.Nested(ReceivedMaterialSchema))
    supplements = fields.List(fields.Nested(SupplementRecordSchema))


class SupplementResultSchema(Schema):
    """The supplement as recorded."""

    case_id = fields.Integer()
    case_no = fields.String()
    materials = fields.List(fields.Dict())
    received_at = Instant()


def applicant() -> Actor:
    """Return the calling applicant account (403 ``APPLICANT_ONLY`` for staff)."""
    actor = current_actor()
    if not is_applicant(actor):
        raise Forbidden("此功能仅供申请人账号使用", code="APPLICANT_ONLY")
    return actor


def applicants_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse staff (403 ``APPLICANT_ONLY``) and anonymous callers (401) before any argument is read.

    Put it between ``@blp.route`` and ``@blp.arguments``/``@blp.response``, so that it wraps the argument
    parsing: staff get the 403 whatever the body, not a 422 about a field they should never have sent.
    """
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        applicant()
        return view(*args, **kwargs)
    return wrapper


@blp.route("/online/matters", methods=["GET"])
@applicants_only
@blp.response(200, OnlineMattersSchema)
def online_matters() -> Any:
    """List the matters offered online (全程网办), with the districts that offer them; ``q`` searches."""
    applicant()
    q = (request.args.get("q") or "").strip()[:100] or None
    found = [m for m in get_engine().queries.matters(q=q, limit=500) if "online" in m["modes"]]
    return {"items": found[:100]}


@blp.route("/online/applications", methods=["POST"])
@applicants_only
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"application": {"type": "string",
                                                     "description": "OnlineApplicationSchema 的 JSON"}},
    "additionalProperties": {"type": "string", "format": "binary", "description": "material.<key> 上传的材料"}}}}})
@blp.response(201, IntakeResultSchema)
def apply() -> Any:
    """Apply online as yourself (or as the authorised agent of a legal person); get the 办件编号 and query code."""
    body = _load(OnlineApplicationSchema(), request.form.get("application"), "application")
    result = get_engine().handle(online_command(applicant(), body, request.files))
    return {"case_id": result.case.case_id, "case_no": result.case.case_no, "status": result.case.status,
            "query_code": result.query_code, "tolerance": result.tolerance, "missing": list(result.missing),
            "receipt_url": f"/my/cases/{result.case.case_id}",
            "created_task_ids": list(result.case.created_task_ids)}


@blp.route("/my/cases", methods=["GET"])
@applicants_only
@blp.response(200, MyCasesSchema)
def my_cases() -> Any:
    """List the cases you applied for online, newest first."""
    return {"items": get_engine().my_cases.list(applicant().username)}


@blp.route("/my/cases/<int:case_id>", methods=["GET"])
@applicants_only
@blp.response(200, MyCaseDetailSchema)
def my_case(case_id: int) -> Any:
    """Show one of your cases: stage, deadlines, the one-time 补正 notice, materials (someone else's: 404)."""
    return get_engine().my_cases.detail(applicant().username, case_id)


@blp.route("/my/cases/<int:case_id>/supplements", methods=["POST"])
@applicants_only
@blp.response(201, SupplementResultSchema)
def supplement(case_id: int) -> Any:
    """Upload the materials an open 补正 notice asks for (409 ``NO_OPEN_CORRECTION`` when none is open)."""
    raw = request.form.get("supplement")
    body = _load(SupplementSchema(), raw, "supplement") if raw else {"materials": {}, "note": ""}
    materials = tuple(_materials(body["materials"], request.files))
    return get_engine().handle(SubmitSupplement(case_id, applicant(), materials, body["note"]))


@blp.route("/my/cases/<int:case_id>/rating", methods=["POST"])
@applicants_only
@blp.arguments(ScoreFields)
@blp.response(201, MyCaseDetailSchema)
def rate(body: dict[str, Any], case_id: int) -> Any:
    """Rate your closed case once (好差评); 不满意 and 非常不满意 go to the responsible department for 整改.

    409 ``CASE_NOT_CLOSED`` before the case ends, 409 ``ALREADY_RATED`` the second time, 422
    ``RATING_INVALID`` for a bad level or channel or a 差评 without a comment; someone else's case: 404.
    """
    actor = applicant()
    get_engine().handle(RateCase(case_id, actor, body["score"], body["channel"], body["comment"]))
    return get_engine().my_cases.detail(actor.username, case_id)


def online_command(actor: Actor, body: dict[str, Any], files: Any) -> ApplyOnline:
    """Build the online application command from the parsed JSON and the uploaded files."""
    party = Party(**body["applicant"]) if body["applicant"] else None
    return ApplyOnline(body["matter_code"], actor, body["district"], body["contact_phone"],
                       tuple(_materials(body["materials"], files)), party, body["authorization"], body["form"])


def _materials(choices: dict[str, dict[str, Any]], files: Any) -> list[MaterialInput]:
    uploads = uploads_of(files)
    out = []
    for key in sorted(set(choices) | set(uploads)):
        choice, upload = choices.get(key, {}), uploads.get(key)
        out.append(MaterialInput(key, upload.stream if upload else None, upload.filename if upload else "",
                                 choice.get("license_ref"), choice.get("missing", False),
                                 choice.get("original_verified", False)))
    return out


def _load(schema: Schema, raw: str | None, name: str) -> dict[str, Any]:
    if not raw:
        raise InvalidInput(f"缺少 {name} 字段（JSON）")
    try:
        return schema.load(loads(raw, what=f"{name} 字段"))
    except JsonNotValid as exc:
        raise InvalidInput(exc.message, details={"reason": exc.reason}) from None
    except ValidationError as exc:
        raise InvalidInput("请求参数有误", details={"fields": translate(exc.messages)}) from None


__all__ = ["FILE_PREFIX", "blp", "online_command"]
