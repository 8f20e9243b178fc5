"""A case's history for auditors: the timeline page by page, and the case's state as of one event."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..auth import current_actor, require_user
from ..bounds import DbInt
from ..runtime import get_engine
from ..schemas import MASKED
from . import Blueprint

blp = Blueprint("history", __name__, url_prefix="/api/v1/cases", description="办理历史（审计）")
CALENDAR_NOTE = "时限未能按当时情形计算之处（当时的节假日安排被替换且未保存，或当时尚未载入），无则为 null"
STATES = "not_started 未起算 / running 计时中 / paused 已暂停 / stopped 已办结停止"


class HistoryQuerySchema(Schema):
    """Keyset paging of the timeline."""

    after = DbInt(min=0, load_default=0,
                  metadata={"description": "返回序号大于此值的事件；下一页传上一页的 next_after"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ClockAtSchema(Schema):
    """One clock as it stood at an event."""

    kind = fields.String(metadata={"description": "legal 法定 / committed 承诺"})
    state = fields.String(metadata={"description": STATES})
    used = fields.Integer(allow_none=True, metadata={"description": "已用工作日（自然日时限为自然日）"})
    left = fields.Integer(allow_none=True, metadata={"description": "剩余天数，超期为负"})
    due_date = fields.String(allow_none=True)
    light = fields.String(allow_none=True)


class ActorSchema(Schema):
    """Who acted: user name, display name and district (null for the system)."""

    username = fields.String()
    display_name = fields.String(allow_none=True)
    district = fields.String(allow_none=True)


class ElementSchema(Schema):
    """A BPMN element passed by the engine."""

    element_id = fields.String()
    name = fields.String()


class ResumedClockSchema(Schema):
    """A clock a 受理 resumed (its 补正 pause ended there), in words."""

    kind = fields.String(metadata={"description": "legal / committed"})
    reason_kind = fields.String(metadata={"description": "the reason of the pause that ended, e.g. correction"})
    label = fields.String(metadata={"description": "e.g. 承诺时限（补正）"})


class HistoryEventSchema(Schema):
    """One event of the timeline, with both clocks right after it."""

    seq = fields.Integer()
    event_type = fields.String()
    occurred_at = fields.DateTime()
    actor = fields.Nested(ActorSchema, allow_none=True)
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    data = fields.Dict(allow_none=True, metadata={"description": "提交的表单数据（收件、办理完成）；" + MASKED})
    details = fields.Dict(metadata={"description": "事件的其他内容（理由、计时、转办对象等）"})
    state_sha256 = fields.String(allow_none=True, metadata={
        "description": "该命令写入的流程状态快照的 sha256（命令的最后一个事件记下；校验链条时与办件当前的快照比对）"})
    calendar_generation = fields.Integer(allow_none=True, metadata={
        "description": "该命令计算工作日所用的节假日安排：载入记录的前 N 次载入之后的安排（命令的第一个事件记下，"
                       "重放按它取日历；该命令的其余事件为空）"})
    passed = fields.List(fields.Nested(ElementSchema), metadata={"description": "流程流转经过的元素"})
    clocks = fields.List(fields.Nested(ClockAtSchema))
    calendar_note = fields.String(allow_none=True, metadata={"description": CALENDAR_NOTE})
    resumed = fields.List(fields.Nested(ResumedClockSchema), metadata={
        "description": "受理时恢复计时的时限（ClocksStarted.resumed：下一阶段受理结束了该时限的补正暂停）"})


class PathStepSchema(Schema):
    """An element on the path taken, with how often it was entered (loops count each round)."""

    element_id = fields.String()
    name = fields.String()
    count = fields.Integer()


class IntegritySchema(Schema):
    """The verification of the case's hash chain."""

    ok = fields.Boolean()
    checked = fields.Integer()
    broken_seq = fields.Integer(allow_none=True, metadata={"description": "第一个断链的事件序号"})
    reason = fields.String(allow_none=True)
    state_checked = fields.Boolean(metadata={"description": "是否已将流程状态快照与链上记下的摘要比对"})
    state_differs = fields.Boolean(metadata={"description": "事件链完整，但流程状态快照不是引擎写入的那一份"})


class HistoryCaseSchema(Schema):
    """The case and the definition version it is pinned to."""

    id = fields.Integer()
    case_no = fields.String()
    title = fields.String(allow_none=True, metadata={"description": MASKED})
    process_key = fields.String()
    status = fields.String()
    event_count = fields.Integer()
    definition_version = fields.Integer()
    content_hash = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class HistoryPageSchema(Schema):
    """A page of the timeline, with the path taken and the chain's integrity."""

    case = fields.Nested(HistoryCaseSchema)
    integrity = fields.Nested(IntegritySchema)
    path = fields.List(fields.Nested(PathStepSchema))
    events = fields.List(fields.Nested(HistoryEventSchema))
    next_after = fields.Integer(allow_none=True, metadata={"description": "下一页的 after；最后一页为 null"})


class StateTaskSchema(Schema):
    """A task as it stood then."""

    task_id = fields.Integer(allow_none=True)
    element_id = fields.String()
    element_name = fields.String(allow_none=True)
    name = fields.String()
    state = fields.String()
    assignee = fields.String(allow_none=True)
    assignee_name = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_by_name = fields.String(allow_none=True)


class CaseStateSchema(Schema):
    """The case as of one event, rebuilt by replaying it from its pinned definition."""

    seq = fields.Integer()
    through_seq = fields.Integer(metadata={"description": "同一操作写下的最后一个事件：状态为该操作完成后的状态"})
    event_type = fields.String()
    occurred_at = fields.DateTime()
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    status = fields.String()
    tasks = fields.List(fields.Nested(StateTaskSchema))
    data = fields.Dict(metadata={"description": "当时的流程数据；" + MASKED})
    clocks = fields.List(fields.Nested(ClockAtSchema))
    calendar_note = fields.String(allow_none=True, metadata={"description": CALENDAR_NOTE})


@blp.route("/<int:case_id>/history")
@require_user
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, HistoryPageSchema)
def history(query: dict[str, Any], case_id: int) -> Any:
    """Return a page of the case's timeline with the path taken and the chain check (auditors, staff)."""
    actor, engine = current_actor(), get_engine()
    overview = engine.history.overview(actor, case_id)
    page = engine.history.timeline(actor, case_id, **query)
    return {"case": page.case, "integrity": overview.integrity.to_dict(), "path": overview.path,
            "events": page.events, "next_after": page.next_after}


@blp.route("/<int:case_id>/history/<int:seq>/state")
@require_user
@blp.response(200, CaseStateSchema)
def state(case_id: int, seq: int) -> Any:
    """Return the case as of event ``seq`` (404 EVENT_NOT_FOUND out of range, 409 if replay diverges)."""
    return get_engine().history.state_at(current_actor(), case_id, seq)
