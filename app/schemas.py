"""marshmallow schemas describing the API (not the tables)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

# GB/T 2260 codes (500103) and the functional zones' internal codes (CQ-LJXQ).
DISTRICT_CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{1,11}$"
MASKED = "居民身份证号按角色脱敏（5001**********1234）：仅窗口人员和审计人员可见全文"


class ErrorSchema(Schema):
    """Every error: a stable code, a Chinese message, optional details."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class DeployedSchema(Schema):
    """One line of a deploy report."""

    kind = fields.String()
    key = fields.String()
    version = fields.Integer()
    status = fields.String()
    content_hash = fields.String()


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

    process_key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    data = fields.Dict(keys=fields.String(), load_default=dict)
    business_key = fields.String(load_default=None, validate=validate.Length(max=128))
    title = fields.String(load_default=None, validate=validate.Length(max=256))
    owning_district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE))
    receiving_district = fields.String(load_default=None, validate=validate.Regexp(DISTRICT_CODE))


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
    case_committed_due_at = fields.DateTime(allow_none=True)
    case_legal_due_at = fields.DateTime(allow_none=True)
    light = fields.String(allow_none=True, metadata={"description": "green / yellow / red; null without a deadline"})
    bundle = fields.Dict(metadata={"description": "一件事 sub-task (detail only): the matter, form values and "
                                                  "materials the bundle application already collected"})


class TaskPageSchema(Schema):
    """A page of tasks; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items = fields.List(fields.Nested(TaskSchema))
    next_cursor = fields.String(allow_none=True)


class TaskQuerySchema(Schema):
    """Inbox filters."""

    scope = fields.String(load_default="all", validate=validate.OneOf(["all", "mine", "available", "completed"]))
    process_key = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)
    light = fields.String(load_default=None, validate=validate.OneOf(["green", "yellow", "red"]))
    sort = fields.String(load_default="created", validate=validate.OneOf(["created", "due"]))


class CompleteTaskSchema(Schema):
    """Form data for completing a task."""

    data = fields.Dict(keys=fields.String(), load_default=dict)


class CaseSchema(Schema):
    """A case with its tasks; ID numbers in it are masked unless your role needs them."""

    id = fields.Integer()
    case_no = fields.String()
    process_key = fields.String()
    business_key = fields.String(allow_none=True, metadata={"description": MASKED})
    title = fields.String(allow_none=True, metadata={"description": MASKED})
    status = fields.String()
    stage = fields.String(allow_none=True)
    owning_district = fields.String(allow_none=True)
    receiving_district = fields.String(allow_none=True)
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


class ClockViewSchema(Schema):
    """One of the case's clocks as people read it."""

    kind = fields.String(metadata={"description": "legal (法定) or committed (承诺)"})
    budget = fields.String()
    t0 = fields.String()
    due_date = fields.String()
    status = fields.String(metadata={"description": "confirmed, or provisional past the loaded calendar years"})
    left = fields.Integer()
    used = fields.Integer()
    light = fields.String()
    paused = fields.Boolean()
    extended_days = fields.Integer()
    rule = fields.String()


class SuspendClockSchema(Schema):
    """Pause clocks: correction (补正), special_procedure (特别程序) or tolerance (容缺)."""

    reason_kind = fields.String(required=True,
                                validate=validate.OneOf(["correction", "special_procedure", "tolerance"]))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    clocks = fields.List(fields.String(validate=validate.OneOf(["legal", "committed"])),
                         load_default=lambda: ["legal", "committed"])
    procedure = fields.String(load_default="", validate=validate.Length(max=64))
    expected_days = fields.Integer(load_default=None, validate=validate.Range(min=1, max=3650))


class ResumeClockSchema(Schema):
    """Resume paused clocks."""

    clocks = fields.List(fields.String(validate=validate.OneOf(["legal", "committed"])),
                         load_default=lambda: ["legal", "committed"])


class ExtendDeadlineSchema(Schema):
    """Extend one clock, approved by a department head of the owning district."""

    days = fields.Integer(required=True, validate=validate.Range(min=1, max=15))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    approved_by = fields.String(required=True, validate=validate.Length(min=1, max=64))
    clock = fields.String(load_default="legal", validate=validate.OneOf(["legal", "committed"]))
    told_to_applicant = fields.Boolean(load_default=False)
