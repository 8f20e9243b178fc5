"""marshmallow schemas describing the API (not the tables)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from engine import DISTRICT_CODE_PATTERN, DISTRICT_CODE_SHAPE_PATTERN

from .bounds import DbId, DbInt

# Starting a case names a district that must exist: a code of GB/T 2260's shape outside 重庆 (999999) is
# answered UNKNOWN_DISTRICT by the engine, so the schema takes that shape; the inbox filter takes only 重庆's.
DISTRICT_CODE = DISTRICT_CODE_SHAPE_PATTERN
MASKED = "居民身份证号按角色脱敏（5001**********1234）：仅窗口人员和审计人员可见全文"


class Instant(fields.DateTime):
    """An instant in ISO 8601 in UTC (``+00:00``), as the API gives every stored time.

    Times read back from the database are UTC already; one the engine just made on its clock is China
    Standard Time (``+08:00``), so an answer written right after a change would otherwise differ from a read.
    """

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class RequestInstant(fields.AwareDateTime):
    """An instant a request names (ISO 8601 with an offset) that a query compares with a stored time.

    Only years 2000 to 2100 (UTC) are taken: no case, task or deadline lies outside them, and a time near the
    ends of the calendar (``0001-01-01T00:00:00+14:00``) would overflow converting to UTC on its way to the
    database (a 500). Outside them it is a 422 ``INVALID_INPUT`` with the field's message.
    """

    EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
    LATEST = datetime(2101, 1, 1, tzinfo=timezone.utc)
    default_error_messages = {"range": "时间应在 2000 年至 2100 年之间（UTC）"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = instant.astimezone(timezone.utc)
        except OverflowError:
            raise self.make_error("range") from None
        if not self.EARLIEST <= utc < self.LATEST:
            raise self.make_error("range")
        return instant


class RequestDate(fields.Date):
    """A business date a request names (``YYYY-MM-DD``) that a query turns into an instant.

    Only 2000-01-01 to 2100-12-31: the start of year 1 in Beijing time is before year 1 in UTC, and the day
    after 9999-12-31 does not exist, so either would overflow on the way to the database (a 500). Outside
    them it is a 422 ``INVALID_INPUT`` with the field's message.
    """

    EARLIEST = date(2000, 1, 1)
    LATEST = date(2100, 12, 31)
    default_error_messages = {"range": "日期应在 2000-01-01 至 2100-12-31 之间"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not self.EARLIEST <= day <= self.LATEST:
            raise self.make_error("range")
        return day


class ErrorSchema(Schema):
    """Every error: a stable code, a Chinese message, optional details."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class DeployedSchema(Schema):
    """One line of a deploy report."""

    kind = fields.String()
    key = fields.String()
    version = fields.Integer(metadata={"description": "the version whose content this is"})
    status = fields.String(metadata={"description": "created (a new version) or unchanged (equals `version`)"})
    content_hash = fields.String()
    latest_version = fields.Integer(metadata={
        "description": "the newest version after the deploy; above `version` when the content is an older one's, "
                       "which a deploy never reinstates"})
    message = fields.String(metadata={"description": "what the deploy did, in Chinese"})


class FindingSchema(Schema):
    """One lint finding: stable code, Chinese message, where it is and how bad."""

    code = fields.String()
    message = fields.String()
    element_id = fields.String(allow_none=True)
    severity = fields.String(metadata={"description": "error 或 warning"})
    file = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)


class LintReportSchema(Schema):
    """What ``POST /api/v1/lint`` returns: whether the files would deploy, and every finding."""

    ok = fields.Boolean(metadata={"description": "没有错误（可以有警告）"})
    errors = fields.Integer()
    warnings = fields.Integer()
    findings = fields.List(fields.Nested(FindingSchema))


class DefinitionSchema(Schema):
    """A deployed process definition version."""

    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String(allow_none=True)


class StartCaseSchema(Schema):
    """Start a case."""

    process_key = fields.String(load_default=None, validate=validate.Length(min=1, max=128),
                                metadata={"description": "流程；给出 matter_code 时可省略"})
    matter_code = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                                metadata={"description": "事项实施编码：按事项收件，时限取自事项目录"})
    version = DbInt(load_default=None)
    data = fields.Dict(keys=fields.String(), load_default=dict)
    business_key = fields.String(load_default=None, validate=validate.Length(max=128))
    title = fields.String(load_default=None, validate=validate.Length(max=256))
    owning_district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE))
    receiving_district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE))

    @validates_schema
    def needs_process_or_matter(self, data: dict, **_kwargs: object) -> None:
        """Refuse a start that names neither a process nor a matter."""
        if not data.get("process_key") and not data.get("matter_code"):
            raise ValidationError("请指定流程（process_key）或事项（matter_code）", field_name="process_key")


class CaseRefSchema(Schema):
    """The result of a command on a case."""

    case_id = fields.Integer()
    case_no = fields.String()
    status = fields.String()
    version = fields.Integer()
    created_task_ids = fields.List(fields.Integer())


class TaskSchema(Schema):
    """An inbox row; ID numbers in it are masked unless your role needs them."""

    id = fields.Integer()
    case_id = fields.Integer()
    case_no = fields.String()
    case_title = fields.String(allow_none=True, metadata={"description": MASKED})
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    state = fields.String()
    assignee = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    district = fields.String(allow_none=True)
    created_at = fields.DateTime()
    claimed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    yellow_at = fields.DateTime(allow_none=True)
    deadline_clock = fields.String(allow_none=True, metadata={
        "description": "legal / committed: the task's own budget counts on that case clock (it pauses and extends "
                       "with it; due_at is null while it stands still or has not started); null: counted on its own"})
    case_committed_due_at = fields.DateTime(allow_none=True)
    case_legal_due_at = fields.DateTime(allow_none=True)
    light = fields.String(allow_none=True, metadata={
        "description": "green / yellow / red; paused while the clock it follows stands still; not_started while "
                       "the case clock its budget counts on waits for 受理; null without a deadline"})
    applicant_name = fields.String(allow_none=True, metadata={"description": "申请人, copied from the case data"})
    stage = fields.String(allow_none=True, metadata={"description": "the case's stage, else the task's lane"})
    inbox_due_at = fields.DateTime(allow_none=True, metadata={
        "description": "the instant the light and due-order use: the task's own budget, else the case's 承诺 clock"})
    separated = fields.String(allow_none=True, metadata={
        "description": "职责分离: why the current user may not claim or complete this task (the claim would be "
                       "refused with SEPARATION_OF_DUTIES); null when they may"})
    not_candidate = fields.String(allow_none=True, metadata={
        "description": "组织调整: why you, holding this task, may no longer complete, return or delegate it "
                       "(NOT_CANDIDATE_ANYMORE); release it. Null when you may"})
    bundle = fields.Dict(metadata={"description": "一件事 sub-task (detail only): the matter, form values and "
                                                  "materials the bundle application already collected"})


class TaskPageSchema(Schema):
    """A page of tasks; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items = fields.List(fields.Nested(TaskSchema))
    next_cursor = fields.String(allow_none=True)


class TaskFilterSchema(Schema):
    """Inbox filters shared by the listing and the tab counts."""

    matter = fields.String(load_default=None, validate=validate.Length(min=1, max=128),
                           metadata={"description": "事项: the process key"})
    process_key = fields.String(load_default=None, validate=validate.Length(min=1, max=128),
                                metadata={"description": "alias of matter"})
    district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE_PATTERN),
                             metadata={"description": "owning district (业务属地) code, as in the org file: "
                                                      "500103 (GB/T 2260) or CQ-LJXQ (functional zone)"})
    stage = fields.String(load_default=None, validate=validate.Length(min=1, max=128))
    light = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))
    due_before = RequestInstant(load_default=None, metadata={"description": "due strictly before (ISO 8601, "
                                                                        "with offset; years 2000-2100)"})
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                      metadata={"description": "text in the case number or the applicant's name"})

    @post_load
    def merge_alias(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """Fold ``process_key`` into ``matter``."""
        alias = data.pop("process_key", None)
        if data.get("matter") is None:
            data["matter"] = alias
        return data


class TaskQuerySchema(TaskFilterSchema):
    """Inbox listing: scope, filters, sort and keyset pagination."""

    scope = fields.String(load_default="all", validate=validate.OneOf(["all", "mine", "available", "completed"]),
                          metadata={"description": "all = mine + my groups' unclaimed; completed = by me"})
    sort = fields.String(load_default="created", validate=validate.OneOf(["created", "due", "light"]),
                         metadata={"description": "light = red, yellow, green, none, then by due"})
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512),
                           metadata={"description": "next_cursor of the previous page, for the same sort and order"})


class TaskCountsSchema(Schema):
    """Task counts for the inbox tabs; red and yellow count among the open tasks (all)."""

    all = fields.Integer()
    mine = fields.Integer()
    available = fields.Integer()
    completed = fields.Integer()
    red = fields.Integer()
    yellow = fields.Integer()


class DelegateTaskSchema(Schema):
    """Hand a task to another member of its groups (转办)."""

    to = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={"description": "username"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReturnTaskSchema(Schema):
    """Send a case back to the previous step (退回)."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class BulkClaimSchema(Schema):
    """Claim several tasks at once (at most 100)."""

    ids = fields.List(DbId(strict=True), required=True,
                      validate=validate.Length(min=1, max=100))


class ClaimOutcomeSchema(Schema):
    """One id's outcome: claimed, conflict (someone holds it, or it is closed) or not_found."""

    task_id = fields.Integer()
    result = fields.String(metadata={"description": "claimed / conflict / not_found"})
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    case_id = fields.Integer(allow_none=True)


class BulkClaimResultSchema(Schema):
    """Every id's outcome, in the order given; each claim was its own transaction."""

    results = fields.List(fields.Nested(ClaimOutcomeSchema))


class CompleteTaskSchema(Schema):
    """Form data for completing a task."""

    data = fields.Dict(keys=fields.String(), load_default=dict)


class CaseSchema(Schema):
    """A case with its tasks; ID numbers in it are masked unless your role needs them."""

    id = fields.Integer()
    case_no = fields.String()
    process_key = fields.String()
    definition_version = fields.Integer(metadata={"description": "办件固定运行的流程定义版本（部署新版后不变）"})
    matter_code = fields.String(allow_none=True, metadata={"description": "事项实施编码（按事项收件时）"})
    matter_version = fields.Integer(allow_none=True, metadata={"description": "收件时的事项目录版本"})
    matter_name = fields.String(allow_none=True, metadata={"description": "事项名称（按事项收件时，取当时的目录版本）"})
    business_key = fields.String(allow_none=True, metadata={"description": MASKED})
    title = fields.String(allow_none=True, metadata={"description": MASKED})
    status = fields.String()
    stage = fields.String(allow_none=True)
    owning_district = fields.String(allow_none=True)
    receiving_district = fields.String(allow_none=True)
    deciding_district = fields.String(allow_none=True, metadata={
        "description": "就地批办时作出决定的收件地（依业务属地授权）；为空表示由业务属地决定"})
    clock_district = fields.String(allow_none=True, metadata={
        "description": "办理时限由哪个区县的人员处置（暂停、恢复、申请与批准延期）："
                       "就地批办时为决定地，否则为业务属地"})
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    event_count = fields.Integer()
    chain_head = fields.String()
    legal_due_at = fields.DateTime(allow_none=True)
    committed_due_at = fields.DateTime(allow_none=True)
    clocks = fields.List(fields.Nested(lambda: ClockViewSchema()))
    tasks = fields.List(fields.Nested(TaskSchema))
    bundle = fields.Dict(metadata={"description": "一件事 cases: each sub-matter's state (waiting / running / "
                                                  "completed) and open task count"})
    partners = fields.List(fields.Nested(lambda: PartnerCaseSchema()),
                           metadata={"description": "linked cases (异地代收代办: the other district's case)"})
    timers = fields.List(fields.Nested(lambda: CaseTimerSchema()), metadata={
        "description": "waiting timers with a real due instant, soonest first (容缺补齐期限届满 …)"})
    failing_timers = fields.List(fields.Nested(lambda: FailingTimerSchema()), metadata={
        "description": "timers whose firing failed, due first: still retried by the worker, or set aside for an "
                       "administrator (empty when none)"})


class CaseTimerSchema(Schema):
    """A timer the case waits on, e.g. the 容缺 deadline: the case is terminated when it fires."""

    element_id = fields.String()
    name = fields.String(metadata={"description": "the name drawn in the pinned definition"})
    attached_to = fields.String(allow_none=True, metadata={
        "description": "a boundary timer's task element id; null for any other timer"})
    ends_case = fields.Boolean(metadata={"description": "firing terminates the case (终止办理)"})
    due_at = fields.DateTime()


class FailingTimerSchema(Schema):
    """A timer of the case whose firing failed: the worker retries it with back-off, or has set it aside."""

    id = fields.Integer(metadata={"description": "the timer's id (tongban timers retry ID)"})
    element_id = fields.String()
    name = fields.String(metadata={"description": "the name drawn in the pinned definition"})
    state = fields.String(metadata={"description": "waiting: retried with back-off; failed: set aside after its "
                                                   "last failed firing, until an administrator retries it"})
    due_at = fields.DateTime()
    attempts = fields.Integer(metadata={"description": "failed firings counted (set aside after the tenth)"})
    retry_at = fields.DateTime(allow_none=True, metadata={"description": "when a waiting one is tried next"})
    last_error = fields.String(allow_none=True, metadata={
        "description": "the last firing's error, ID and mobile numbers masked, at most 300 characters"})


class PartnerCaseSchema(Schema):
    """The other side of a handoff, as both sides see it."""

    case_id = fields.Integer()
    case_no = fields.String()
    relation = fields.String(metadata={"description": "handoff (异地代收代办) or message"})
    role = fields.String(metadata={"description": "the partner's side: receiving 收件地 / owning 业务属地"})
    process_key = fields.String()
    status = fields.String()
    owning_district = fields.String(allow_none=True)
    receiving_district = fields.String(allow_none=True)
    legal_due_at = fields.DateTime(allow_none=True)
    committed_due_at = fields.DateTime(allow_none=True)
    open_tasks = fields.List(fields.String())


class ClockViewSchema(Schema):
    """One of the case's clocks as people read it."""

    kind = fields.String(metadata={"description": "legal (法定) or committed (承诺)"})
    budget = fields.String()
    t0 = fields.String()
    due_date = fields.String()
    status = fields.String(metadata={"description": "confirmed, or provisional past the loaded calendar years; "
                                                    "not_started before 受理; between_periods between two stages"})
    left = fields.Integer()
    used = fields.Integer()
    light = fields.String()
    paused = fields.Boolean()
    extended_days = fields.Integer()
    extension_reason = fields.String(allow_none=True, metadata={"description": "延长理由（已批准的延长）"})
    extension_approver_role = fields.String(allow_none=True, metadata={"description": (
        "延长须经谁批准：department_head 承办部门的科室负责人，government_head 本级人民政府负责人"
        "（联合办理 45 个工作日，《行政许可法》第四十二条第二款）")})
    rule = fields.String()
    periods = fields.Integer(metadata={"description": "时段序号：按阶段计时（tb:clock stopsAt）的时限，已开始的时段数"})


class ClockKinds(fields.List):
    """The clocks a pause or resume names (``legal``, ``committed``; both when left out), each once in order.

    A name given twice is taken once: it was applied once anyway, but the answer named the clock twice.
    """

    def __init__(self) -> None:
        super().__init__(fields.String(validate=validate.OneOf(["legal", "committed"])),
                         load_default=lambda: ["legal", "committed"],
                         validate=validate.Length(min=1, error="至少选择一个时限（legal 或 committed）"),
                         metadata={"description": "legal（法定）、committed（承诺），缺省为两者；重复的只算一次"})

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))


class SuspendClockSchema(Schema):
    """Pause clocks: correction (补正), special_procedure (特别程序) or tolerance (容缺)."""

    reason_kind = fields.String(required=True,
                                validate=validate.OneOf(["correction", "special_procedure", "tolerance"]))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    clocks = ClockKinds()
    procedure = fields.String(load_default="", validate=validate.Length(max=64))
    expected_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=3650))


class ResumeClockSchema(Schema):
    """Resume paused clocks."""

    clocks = ClockKinds()


class RequestExtensionSchema(Schema):
    """Ask a department head of the owning district to extend one clock (行政许可法第四十二条)."""

    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=15),
                          metadata={"description": "工作日，整数 1-15（一般时限至多 10，联合办理 45 日时限至多 15）"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    clock = fields.String(load_default="legal", validate=validate.OneOf(["legal", "committed"]))
    told_to_applicant = fields.Boolean(load_default=False, truthy={True}, falsy={False})


class ExtendDeadlineSchema(RequestExtensionSchema):
    """A department head of the owning district extends one clock, approving it by acting."""

    approved_by = fields.String(load_default="", validate=validate.Length(max=64),
                                metadata={"description": "批准人：省略或为本人（负责人本人在系统中批准）"})


class ExtensionQuerySchema(Schema):
    """Filters of the extension request list."""

    state = fields.String(load_default="open", validate=validate.OneOf(
        ["open", "lapsed", "approved", "rejected", "withdrawn", "all"]))
    case_id = DbId(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000),
                            metadata={"description": "跳过的条数（分页）；总数见响应头 X-Total-Count"})


class DecideExtensionSchema(Schema):
    """The head's opinion: optional when approving, required when rejecting."""

    comment = fields.String(load_default="", allow_none=True, validate=validate.Length(max=500))


class ExtensionRequestSchema(Schema):
    """One deadline extension request."""

    id = fields.Integer()
    case_id = fields.Integer()
    case_no = fields.String()
    title = fields.String(allow_none=True)
    process_key = fields.String()
    clock = fields.String(metadata={"description": "legal 法定时限 / committed 承诺时限"})
    days = fields.Integer()
    reason = fields.String()
    told_to_applicant = fields.Boolean()
    district = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "open 待审批 / approved 已批准 / rejected 已驳回 / "
                                                   "withdrawn 已撤回 / lapsed 办件已办结而失效"})
    state_label = fields.String()
    approver_role = fields.String(metadata={"description": (
        "审批人：department_head 承办部门的科室负责人 / government_head 本级人民政府负责人"
        "（联合办理 45 个工作日的延长，《行政许可法》第四十二条第二款）")})
    approver_label = fields.String(metadata={"description": "审批人（中文）"})
    may_decide = fields.Boolean(metadata={"description": "调用者可否审批该申请（列表中）"})
    requested_by = fields.String()
    requested_by_name = fields.String(metadata={"description": "申请人姓名（列表中）"})
    requested_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_by_name = fields.String(allow_none=True, metadata={"description": "审批人姓名（列表中）"})
    decided_at = fields.DateTime(allow_none=True)
    comment = fields.String(allow_none=True)
