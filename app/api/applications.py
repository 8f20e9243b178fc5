"""Intake (收件) over the API: a window clerk posts an application with its materials; applicants look up status.

``POST /api/v1/applications`` is ``multipart/form-data`` with one field ``application`` holding the JSON
described by :class:`ApplicationSchema`, and one file field ``material.<key>`` per uploaded material.
"""
from __future__ import annotations

from typing import Any

from flask import request, url_for
from marshmallow import Schema, ValidationError, fields, validate

from engine import (
    CLERK_ROLES, DISTRICT_CODE_SHAPE_PATTERN, ApplicationInvalid, Forbidden, InvalidInput, MaterialInput, Party,
    ReceiveApplication,
)

from ..auth import current_actor, require_user
from ..errors import translate
from ..json_body import JsonNotValid, loads
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("applications", __name__, url_prefix="/api/v1/applications", description="收件")
FILE_PREFIX = "material."


class PartySchema(Schema):
    """An applicant (person / legal) or an agent (entrusted / relative)."""

    kind = fields.String(required=True, metadata={"description": "申请人 person|legal；代理人 entrusted|relative"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    id_type = fields.String(load_default="", metadata={"description": "证件类型代码 GA/T 2000.156，如 111 居民身份证"})
    id_number = fields.String(load_default="", validate=validate.Length(max=32),
                              metadata={"description": "证件号码；法人填统一社会信用代码"})
    legal_representative = fields.String(load_default="", validate=validate.Length(max=64))
    authorization = fields.String(load_default="", validate=validate.Length(max=128),
                                  metadata={"description": "代理人的授权委托书编号"})


class MaterialChoiceSchema(Schema):
    """How a material without an uploaded file is supplied, and the clerk's 原件核验 of an uploaded one."""

    license_ref = fields.String(load_default=None, validate=validate.Length(max=128),
                                metadata={"description": "电子证照编号（材料允许电子证照时）"})
    missing = fields.Boolean(load_default=False, metadata={"description": "缺少：仅容缺材料可受理"})
    original_verified = fields.Boolean(load_default=False, metadata={"description": "已核验原件"})


class ApplicationSchema(Schema):
    """The JSON in the ``application`` field."""

    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    applicant = fields.Nested(PartySchema, required=True)
    agent = fields.Nested(PartySchema, load_default=None, allow_none=True)
    contact_phone = fields.String(required=True, validate=validate.Length(max=20))
    form = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "申请表数据"})
    materials = fields.Dict(keys=fields.String(), values=fields.Nested(MaterialChoiceSchema), load_default=dict)
    # A district that must exist: a code of its shape the organisation lacks is UNKNOWN_DISTRICT (the engine).
    owning_district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE_SHAPE_PATTERN), metadata={
        "description": "业务属地，省略即本窗口所在区县；异地收件须有该区县授予的 receive 授权"})


class IntakeResultSchema(Schema):
    """The received case; ``query_code`` is shown this once and never again."""

    case_id = fields.Integer()
    case_no = fields.String(metadata={"description": "办件编号"})
    status = fields.String()
    query_code = fields.String(metadata={"description": "查询码：只返回这一次，系统仅保存其哈希"})
    tolerance = fields.Boolean(metadata={"description": "是否容缺受理"})
    missing = fields.List(fields.String(), metadata={"description": "容缺材料的标识"})
    receipt_url = fields.String()
    created_task_ids = fields.List(fields.Integer())


class LookupSchema(Schema):
    """An applicant's status lookup."""

    case_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    query_code = fields.String(required=True, validate=validate.Length(min=1, max=16))


class LookupResultSchema(Schema):
    """What an applicant learns about their case."""

    case_no = fields.String()
    matter_name = fields.String()
    status = fields.String()
    received_at = fields.DateTime()
    committed_due_at = fields.DateTime(allow_none=True)
    tolerance = fields.Boolean()
    missing = fields.List(fields.String())


@blp.route("", methods=["POST"])
@require_user
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"application": {"type": "string", "description": "ApplicationSchema 的 JSON"}},
    "additionalProperties": {"type": "string", "format": "binary", "description": "material.<key> 上传的材料"}}}}})
@blp.response(201, IntakeResultSchema)
def receive() -> Any:
    """Receive an application at your window (window clerks only) and start its case."""
    _may_receive()
    result = get_engine().handle(command(_parse(request.form.get("application")), request.files))
    return {"case_id": result.case.case_id, "case_no": result.case.case_no, "status": result.case.status,
            "query_code": result.query_code, "tolerance": result.tolerance, "missing": list(result.missing),
            "receipt_url": url_for("pages.receipt", case_id=result.case.case_id),
            "created_task_ids": list(result.case.created_task_ids)}


@blp.route("/lookup", methods=["POST"])
@blp.arguments(LookupSchema)
@blp.response(200, LookupResultSchema)
def lookup(body: dict[str, Any]) -> Any:
    """Look up a case's status with its 办件编号 and query code (no login; ``/api/v1/public/lookup`` tells more)."""
    return get_engine().applicants.lookup(body["case_no"], body["query_code"], request.remote_addr or "unknown")


def _may_receive() -> None:
    """Refuse (403) a caller who is no window clerk before the body is read, so that the body's errors (422) are
    only ever told to one who may receive; the engine's intake refuses the same callers with the same words."""
    if not set(CLERK_ROLES).intersection(current_actor().roles):
        raise Forbidden("只有窗口人员可以收件")


def _parse(raw: str | None) -> dict[str, Any]:
    if not raw:
        raise InvalidInput("缺少 application 字段（申请 JSON）")
    try:
        return ApplicationSchema().load(loads(raw, what="application 字段"))
    except JsonNotValid as exc:
        raise InvalidInput(exc.message, details={"reason": exc.reason}) from None
    except ValidationError as exc:
        raise InvalidInput("请求参数有误", details={"fields": translate(exc.messages)}) from None


def uploads_of(files: Any) -> dict[str, Any]:
    """The uploaded file of each material key (``material.<key>``); two files for one key are refused."""
    found = {}
    for name in files:
        if not name.startswith(FILE_PREFIX):
            continue
        key, stored = name[len(FILE_PREFIX):], [f for f in files.getlist(name) if f.filename]
        if len(stored) > 1:
            raise ApplicationInvalid("每项材料只能上传一个文件", details={
                "fields": {f"materials.{key}": ["每项材料只能上传一个文件（多页请合并为一个 PDF）"]}})
        if stored:
            found[key] = stored[0]
    return found


def command(body: dict[str, Any], files: Any) -> ReceiveApplication:
    """Build the intake command from the parsed JSON and the uploaded files (``material.<key>``)."""
    choices: dict[str, dict[str, Any]] = dict(body["materials"])
    uploads = uploads_of(files)
    materials = []
    for key in sorted(set(choices) | set(uploads)):
        choice, upload = choices.get(key, {}), uploads.get(key)
        materials.append(MaterialInput(key, upload.stream if upload else None, upload.filename if upload else "",
                                       choice.get("license_ref"), choice.get("missing", False),
                                       choice.get("original_verified", False)))
    agent = Party(**body["agent"]) if body["agent"] else None
    return ReceiveApplication(body["matter_code"], current_actor(), Party(**body["applicant"]), body["contact_phone"],
                              tuple(materials), agent, body["form"], owning_district=body["owning_district"])
