"""marshmallow schemas describing the API (not the tables)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


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
    owning_district = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9]{2,12}$"))
    receiving_district = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9]{2,12}$"))


class CaseRefSchema(Schema):
    """The result of a command on a case."""

    case_id = fields.Integer()
    case_no = fields.String()
    status = fields.String()
    version = fields.Integer()
    created_task_ids = fields.List(fields.Integer())


class TaskSchema(Schema):
    """An inbox row."""

    id = fields.Integer()
    case_id = fields.Integer()
    case_no = fields.String()
    case_title = fields.String(allow_none=True)
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
    light = fields.String(allow_none=True)


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


class CompleteTaskSchema(Schema):
    """Form data for completing a task."""

    data = fields.Dict(keys=fields.String(), load_default=dict)


class CaseSchema(Schema):
    """A case with its tasks."""

    id = fields.Integer()
    case_no = fields.String()
    process_key = fields.String()
    business_key = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
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
    tasks = fields.List(fields.Nested(TaskSchema))
