"""Schemas of the 好差评 and 办件查询 API: what applicants send and see, what staff read."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine import CHANNELS, LEVELS

from ..schemas import RequestDate

SCORE_HELP = "满意度（GB/T 39046 A.8）：" + "、".join(f"{k} {v}" for k, v in LEVELS.items())
CHANNEL_HELP = "评价渠道（GB/T 39046 表9）：" + "、".join(f"{k} {v}" for k, v in CHANNELS.items())


class QuerySchema(Schema):
    """The credential an applicant holds: the 办件编号 and the query code printed on the receipt."""

    case_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    query_code = fields.String(required=True, validate=validate.Length(min=1, max=16))


class ScoreFields(Schema):
    """A rating's level, channel and comment (checked by the engine: ``RATING_INVALID``)."""

    score = fields.Integer(required=True, strict=True, metadata={"description": SCORE_HELP})
    channel = fields.String(required=True, metadata={"description": CHANNEL_HELP})
    comment = fields.String(load_default="", metadata={"description": "文字评价（差评必填，最多 500 字）"})


class PublicRatingSchema(QuerySchema, ScoreFields):
    """An applicant's rating of a closed case, authenticated by the query code."""


class RatingEntrySchema(ScoreFields):
    """A rating a window clerk enters for the applicant (e.g. on the hall's tablet or by phone)."""

    case_no = fields.String(required=True, validate=validate.Length(min=1, max=40))


class DeadlineSchema(Schema):
    """One clock as the applicant reads it."""

    kind = fields.String(metadata={"description": "committed 承诺 / legal 法定"})
    label = fields.String()
    budget = fields.String(allow_none=True)
    started = fields.Boolean()
    paused = fields.Boolean()
    due_date = fields.String(allow_none=True, metadata={"description": "办结期限（含当日），YYYY-MM-DD"})
    left = fields.Integer(allow_none=True, metadata={"description": "剩余天数，单位见 unit；负数为已超期天数"})
    unit = fields.String(allow_none=True, metadata={"description": "workday 工作日 / day 自然日"})
    unit_zh = fields.String(allow_none=True, metadata={"description": "个工作日、日"})
    light = fields.String(metadata={"description": "green / yellow / red / paused / not_started"})
    overdue = fields.Boolean(metadata={"description": "已超期（红灯；周五到期后的周末 left 为 0 亦已超期）"})
    provisional = fields.Boolean(metadata={
        "description": "暂定：期限落在节假日安排尚未公布的年份，公布后可能调整"})
    rule = fields.String(allow_none=True, metadata={"description": "未起算时的计算规则"})
    extended_days = fields.Integer(metadata={"description": "经负责人批准延长的工作日数（《行政许可法》第四十二条）"})
    extension_reason = fields.String(allow_none=True, metadata={"description": "延长理由"})


class NoticeItemSchema(Schema):
    """One item of a one-time notice."""

    name = fields.String()
    requirement = fields.String()


class NoticeSchema(Schema):
    """The one-time notice (一次性告知) in force: every item to supply."""

    kind = fields.String(metadata={"description": "correction 补正 / tolerance 容缺补正"})
    kind_label = fields.String()
    noticed_at = fields.DateTime(allow_none=True)
    notice_no = fields.String(allow_none=True)
    items = fields.List(fields.Nested(NoticeItemSchema))


class ToleranceDeadlineSchema(Schema):
    """The last day to bring the 容缺 material while the case waits for it; the case ends after it."""

    due_date = fields.String(metadata={"description": "补齐容缺材料的最后一日（含当日，北京时间），YYYY-MM-DD"})
    text = fields.String(metadata={"description": "请于 YYYY-MM-DD（含当日）前补齐容缺材料，逾期将终止办理"})


class ApplicantRatingSchema(Schema):
    """The applicant's own rating and what became of it."""

    score = fields.Integer()
    level = fields.String()
    channel_name = fields.String()
    comment = fields.String(allow_none=True)
    rated_at = fields.DateTime()
    status = fields.String(metadata={"description": "recorded / rectifying / rectified / removed"})
    status_label = fields.String()
    rectification_due_at = fields.DateTime(allow_none=True)
    rectification_stage = fields.String(allow_none=True)
    removed_reason = fields.String(allow_none=True)


class ApplicantViewSchema(Schema):
    """Where the case stands, in plain Chinese; no personal data."""

    case_no = fields.String()
    matter_name = fields.String()
    status = fields.String()
    stage = fields.String(metadata={"description": "received / correction / accepted / reviewing / special / "
                                                   "completed / halted"})
    stage_label = fields.String(metadata={"description": "已收件、待补正、已受理、审查中、特别程序、已办结、办理中断"})
    hint = fields.String()
    next_step = fields.String(allow_none=True)
    received_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    committed_due_at = fields.DateTime(allow_none=True)
    legal_due_at = fields.DateTime(allow_none=True)
    deadlines = fields.List(fields.Nested(DeadlineSchema))
    notice = fields.Nested(NoticeSchema, allow_none=True)
    tolerance = fields.Boolean()
    missing = fields.List(fields.String(), metadata={"description": "容缺受理时须补交的材料"})
    tolerance_deadline = fields.Nested(ToleranceDeadlineSchema, allow_none=True, metadata={
        "description": "等待补齐容缺材料时：最后期限，逾期将终止办理；否则为空"})
    result = fields.String(allow_none=True, metadata={"description": "办结时到达的结束事件名称"})
    rating = fields.Nested(ApplicantRatingSchema, allow_none=True)
    can_rate = fields.Boolean()


class RemovedSchema(Schema):
    """Who removed a rating after an upheld appeal, and why."""

    at = fields.DateTime()
    by = fields.String()
    reason = fields.String()


class RectificationTaskSchema(Schema):
    """One task of the 差评整改 case."""

    id = fields.Integer()
    element_id = fields.String()
    name = fields.String()
    state = fields.String()
    assignee = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)


class RectificationSchema(Schema):
    """The 差评整改 case of a 差评."""

    case_id = fields.Integer()
    case_no = fields.String()
    status = fields.String()
    stage = fields.String()
    due_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(RectificationTaskSchema))


class RatingSchema(Schema):
    """A rating as staff see it."""

    id = fields.Integer()
    case_id = fields.Integer()
    case_no = fields.String()
    matter_code = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    score = fields.Integer()
    level = fields.String()
    bad = fields.Boolean()
    channel = fields.String()
    channel_name = fields.String()
    comment = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "applicant 申请人凭查询码 / window 窗口代录"})
    rated_by = fields.String()
    rated_at = fields.DateTime()
    status = fields.String()
    status_label = fields.String()
    removed = fields.Nested(RemovedSchema, allow_none=True)
    rectification_case_id = fields.Integer(allow_none=True)
    rectification = fields.Nested(RectificationSchema, allow_none=True)


class RatingListQuerySchema(Schema):
    """Filters of the rating list."""

    district = fields.String(load_default=None, validate=validate.Length(max=12))
    department = fields.String(load_default=None, validate=validate.Length(max=40))
    status = fields.String(load_default=None, validate=validate.OneOf(["recorded", "rectifying", "rectified",
                                                                       "removed"]))
    bad_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class StatsQuerySchema(Schema):
    """Scope and period of the statistics (business dates, inclusive)."""

    district = fields.String(load_default=None, validate=validate.Length(max=12))
    department = fields.String(load_default=None, validate=validate.Length(max=40))
    since = RequestDate(load_default=None, data_key="from")
    until = RequestDate(load_default=None, data_key="to")


class LevelCountSchema(Schema):
    """How many ratings of one level."""

    score = fields.Integer()
    level = fields.String()
    count = fields.Integer()


class StatsSchema(Schema):
    """Rating counts; removed (申诉成立) ratings are left out and counted apart."""

    total = fields.Integer()
    good = fields.Integer(metadata={"description": "好评：非常满意、满意、基本满意"})
    bad = fields.Integer(metadata={"description": "差评：不满意、非常不满意"})
    removed = fields.Integer()
    good_rate = fields.Float(allow_none=True)
    by_level = fields.List(fields.Nested(LevelCountSchema))
    district = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    since = fields.String(allow_none=True, data_key="from")
    until = fields.String(allow_none=True, data_key="to")


class AppealSchema(Schema):
    """The department's appeal (申诉) against a 差评."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AppealDecisionSchema(Schema):
    """The supervisor's decision on an appeal (申诉复核)."""

    decision = fields.String(required=True, validate=validate.OneOf(["upheld", "rejected"]),
                             metadata={"description": "upheld 申诉成立（撤销评价） / rejected 不成立（继续整改）"})
    opinion = fields.String(required=True, validate=validate.Length(min=1, max=2000))
