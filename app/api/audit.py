"""Auditors' downloads: a closed case's archive package, and the events of a period streamed for analysis."""
from __future__ import annotations

from typing import Any

from flask import Response, send_file, stream_with_context
from marshmallow import Schema, fields, validate

from engine import EXPORT_MEDIA_TYPES, ExportQuery, archive_file, export_events

from ..auth import require_role
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计：归档信息包与数据导出")

_DATE_ERRORS = {"invalid": "日期格式应为 YYYY-MM-DD", "required": "必填项"}


class ExportEventsQuerySchema(Schema):
    """Which events to export."""

    start = fields.Date(required=True, data_key="from", error_messages=_DATE_ERRORS,
                        metadata={"description": "起始日期（含，北京时间）"})
    end = fields.Date(required=True, data_key="to", error_messages=_DATE_ERRORS,
                      metadata={"description": "结束日期（含，北京时间）"})
    format = fields.String(load_default="csv", validate=validate.OneOf(sorted(EXPORT_MEDIA_TYPES)))
    district = fields.String(load_default=None, validate=validate.Length(min=1, max=12),
                             metadata={"description": "只导出该区县（业务属地）的办件"})


@blp.route("/cases/<int:case_id>/archive", methods=["GET"])
@require_role("auditor", "admin")
@blp.response(200, content_type="application/zip", description="归档信息包（zip）")
def download_archive(case_id: int) -> Any:
    """Download a closed case's archive package (409 while it is being built)."""
    found = archive_file(get_engine(), case_id)
    response = send_file(found.path, mimetype="application/zip", as_attachment=True,
                         download_name=found.download_name, etag=found.sha256)
    response.headers["X-Content-SHA256"] = found.sha256
    return response


@blp.route("/exports/events", methods=["GET"])
@require_role("auditor", "admin")
@blp.arguments(ExportEventsQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="事件（CSV 或 JSON lines），边查边发送")
def export_events_view(query: dict[str, Any]) -> Any:
    """Stream the audit events of a period as CSV or JSON lines, personal data masked."""
    export = ExportQuery(**query)
    lines = export_events(get_engine(), export)
    return Response(stream_with_context(lines), mimetype=EXPORT_MEDIA_TYPES[export.format],
                    headers={"Content-Disposition": f'attachment; filename="{export.filename}"'})
