"""Auditors' checks of one case: replay it against its record, verify its hash chain (auditors only)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from engine import replay_for, replay_report, verify_for

from ..auth import current_actor, require_user
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("audit_checks", __name__, url_prefix="/api/v1/cases", description="重放核对与链条校验（审计）")

REASONS = ("mismatch 事件不一致 / missing 记录有、重放无 / extra 重放多出 / refused 重放命令被拒绝 / "
           "unsupported 无法重放的输入 / case_row 事件全部一致，但办件记录的时限、到期时间、状态或办结时间"
           "与重放结果不同（expected、got 为不同的字段）")


class DivergenceSchema(Schema):
    """Where the replay first differs from the record."""

    seq = fields.Integer(metadata={"description": "记录中首个不一致的事件序号"})
    reason = fields.String(metadata={"description": REASONS})
    message = fields.String()
    expected = fields.Dict(allow_none=True, metadata={"description": "记录的事件；重放多出事件时为 null"})
    got = fields.Dict(allow_none=True,
                      metadata={"description": "重放产生的事件（任务编号换算为记录中的编号）；未产生时为 null"})


class ReplayReportSchema(Schema):
    """The verdict of a replay."""

    case_id = fields.Integer()
    case_no = fields.String()
    identical = fields.Boolean(metadata={"description": "每个记录的事件都被重现，且没有多余事件"})
    events = fields.Integer(metadata={"description": "比对的记录事件数"})
    divergence = fields.Nested(DivergenceSchema, allow_none=True)


class VerificationSchema(Schema):
    """The check of the case's hash chain and of the districts' sealed daily heads."""

    case_id = fields.Integer()
    case_no = fields.String()
    ok = fields.Boolean()
    checked = fields.Integer(metadata={"description": "校验的事件数"})
    broken_seq = fields.Integer(allow_none=True, metadata={
        "description": "第一个断链的事件序号；快照不符时为记下快照摘要的事件序号"})
    reason = fields.String(allow_none=True, metadata={
        "description": "断链原因，含与封存链头不符、流程状态快照不符的情况"})
    state_checked = fields.Boolean(metadata={
        "description": "是否已将办件的流程状态快照与链上记下的摘要比对（此功能之前写入的办件没有摘要）"})
    state_differs = fields.Boolean(metadata={"description": "事件链完整，但流程状态快照不是引擎写入的那一份"})


@blp.route("/<int:case_id>/replay", methods=["POST"])
@require_user
@blp.response(200, ReplayReportSchema)
@blp.alt_response(403, description="AUDIT_FORBIDDEN：仅供审计人员")
@blp.alt_response(404, description="NOT_FOUND：办件不存在")
@blp.alt_response(409, description="DEFINITION_MISSING / DEFINITION_CHANGED：锁定的流程定义已从定义库删除或被改动；"
                 "CHAIN_BROKEN：记录该定义的事件已被改动（链条断裂处）；HISTORY_CALENDAR_REPLACED：办件办理时在用的"
                 "节假日安排被替换且未被保存，重放无法得到原办理的工作日；HISTORY_CALENDAR_INVALID：节假日安排的"
                 "各版本不是逐年依次生效（记录被改动）")
def replay(case_id: int) -> Any:
    """Replay the case from its pinned definition and recorded inputs, and name the first divergence."""
    return replay_report(replay_for(get_engine(), current_actor(), case_id))


@blp.route("/<int:case_id>/verify", methods=["GET"])
@require_user
@blp.response(200, VerificationSchema)
@blp.alt_response(403, description="AUDIT_FORBIDDEN：仅供审计人员")
@blp.alt_response(404, description="NOT_FOUND：办件不存在")
def verify(case_id: int) -> Any:
    """Verify the case's hash chain and its sealed daily heads; name the first broken link."""
    return verify_for(get_engine(), current_actor(), case_id).to_dict()
