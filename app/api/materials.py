"""A case's materials for the staff who may see the case, and the access log of their downloads for auditors."""
from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import Schema, fields, validate

from engine import ACCESS_OUTCOMES

from ..auth import current_actor, require_role, require_user
from ..bounds import case_ref
from ..material_files import file_response
from ..runtime import get_engine
from ..schemas import ErrorSchema
from . import Blueprint

blp = Blueprint("materials", __name__, url_prefix="/api/v1", description="申请材料与查阅记录")


class CaseMaterialSchema(Schema):
    """One received material: an uploaded file or a 电子证照 reference."""

    key = fields.String(metadata={"description": "事项目录中的材料编码"})
    name = fields.String(metadata={"description": "材料名称"})
    kind = fields.String(metadata={"description": "file（上传文件）或 license（电子证照）"})
    filename = fields.String(allow_none=True, metadata={"description": "上传时的文件名"})
    size = fields.Integer(allow_none=True)
    media_type = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    license_ref = fields.String(allow_none=True, metadata={"description": "电子证照编号"})
    verified_by = fields.String(allow_none=True, metadata={"description": "核验原件的工作人员"})
    verified_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    download_url = fields.String(allow_none=True)


class AccessEntrySchema(Schema):
    """One recorded download."""

    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    case_id = fields.Integer()
    case_no = fields.String()
    resource = fields.String(metadata={"description": "材料编码"})
    sha256 = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "、".join(f"{k} {v}" for k, v in ACCESS_OUTCOMES.items())})


class AccessLogQuerySchema(Schema):
    """Which access-log rows to list."""

    case = fields.String(load_default=None, validate=[validate.Length(min=1, max=40), case_ref],
                         metadata={"description": "办件 id 或办件编号"})
    actor = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1024),
                           metadata={"description": "上一页响应头 X-Next-Cursor 的值，须与上一页的 case、actor 相同"})


NEXT_PAGE_HEADERS = {
    "X-Next-Cursor": {"description": "还有更早的记录时：下一页的 cursor（最后一页没有此响应头）",
                      "schema": {"type": "string"}},
    "Link": {"description": '还有更早的记录时：下一页的完整地址，<...>; rel="next"（RFC 8288）',
             "schema": {"type": "string"}},
}


@blp.route("/cases/<int:case_id>/materials", methods=["GET"])
@require_user
@blp.response(200, CaseMaterialSchema(many=True))
def list_materials(case_id: int) -> Any:
    """List the case's received materials, if you may see the case (404 otherwise)."""
    items = get_engine().materials.list(current_actor(), case_id)
    for item in items:
        item["download_url"] = (f"/api/v1/cases/{case_id}/materials/{item['key']}/file"
                                if item["kind"] == "file" else None)
    return items


@blp.route("/cases/<int:case_id>/materials/<material_key>/file", methods=["GET"])
@require_user
@blp.response(200, content_type="application/octet-stream", description="材料文件（按收件时识别的类型）")
def download_material(case_id: int, material_key: str) -> Any:
    """Download one material's file, checked against its sha256 and recorded in the access log."""
    return file_response(get_engine().materials.open(current_actor(), case_id, material_key))


@blp.route("/access-log", methods=["GET"])
@require_role("auditor", "admin")
@blp.arguments(AccessLogQuerySchema, location="query")
@blp.response(200, AccessEntrySchema(many=True), headers=NEXT_PAGE_HEADERS)
@blp.alt_response(400, schema=ErrorSchema, description="CURSOR_FILTER_MISMATCH：cursor 属于另一组 case/actor 筛选")
def access_log(query: dict[str, Any]) -> Any:
    """List recorded material downloads, newest first (auditors and admins), keyset-paginated.

    Rows come newest first by ``id`` (ids grow in the order rows are recorded). The body stays the JSON
    array it was before paging, so existing clients keep working; the next page is announced in headers
    instead: when older rows exist, ``X-Next-Cursor`` carries the cursor and ``Link: <...>; rel="next"`` the
    URL of the next page (same ``case``, ``actor`` and ``limit``). The last page has neither header. Pass
    the cursor back as ``cursor`` with the same ``case`` and ``actor``: a cursor made for other filters is
    refused with 400 ``CURSOR_FILTER_MISMATCH``, a malformed one with 422 ``INVALID_INPUT`` (as the inbox
    refuses its cursors).
    """
    page = get_engine().access_log.page(current_actor(), **query)
    if page.next_cursor is None:
        return [e.to_dict() for e in page.items]
    following = {name: value for name, value in {**query, "cursor": page.next_cursor}.items() if value is not None}
    headers = {"X-Next-Cursor": page.next_cursor,
               "Link": f'<{url_for("materials.access_log", **following)}>; rel="next"'}
    return [e.to_dict() for e in page.items], headers
