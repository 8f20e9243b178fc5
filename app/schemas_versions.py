"""marshmallow schemas of the versions, diff, migration and dry-run API."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .bounds import DbInt, case_ref

MAX_DRAFT_CHARS = 5_000_000


class LogEntrySchema(Schema):
    """One definition log entry: a deploy that created a version, or a migration run."""

    action = fields.String(metadata={"description": "deploy 或 migrate"})
    version = fields.Integer()
    from_version = fields.Integer(allow_none=True)
    content_hash = fields.String(allow_none=True)
    actor = fields.String()
    at = fields.DateTime()
    detail = fields.Dict()


class VersionSchema(Schema):
    """One deployed version with its cases."""

    id = fields.Integer()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String(allow_none=True)
    current = fields.Boolean(metadata={"description": "新办件使用的版本"})
    running_cases = fields.Integer()
    cases = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "按状态计的办件数"})
    log = fields.List(fields.Nested(LogEntrySchema))


class VersionsSchema(Schema):
    """Every version of a process, newest first, and its definition log."""

    process_key = fields.String()
    name = fields.String()
    current_version = fields.Integer()
    versions = fields.List(fields.Nested(VersionSchema))
    log = fields.List(fields.Nested(LogEntrySchema))


class DiffArgsSchema(Schema):
    """The two versions to compare."""

    from_ = DbInt(required=True, data_key="from")
    to = DbInt(required=True)


class VersionHeadSchema(Schema):
    """Which version a side of a diff is."""

    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String(allow_none=True)


class PinChangeSchema(Schema):
    """A form key both versions pin, at different form versions."""

    key = fields.String()
    from_hash = fields.String()
    to_hash = fields.String()


class FormsDiffSchema(Schema):
    """Form keys pinned only by the newer version, only by the older one, or at another form version."""

    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    changed = fields.List(fields.Nested(PinChangeSchema))


class BundleEntrySchema(Schema):
    """An entry of a 一件事 bundle mapping one version has and the other has not, named by its path."""

    entry = fields.String(metadata={"description": "如 matters.sub_seal.fields.company_name"})
    value = fields.Raw(allow_none=True)


class BundleChangeSchema(Schema):
    """An entry of a 一件事 bundle mapping both versions have, with different values."""

    entry = fields.String()
    from_ = fields.Raw(allow_none=True, attribute="from", data_key="from")
    to = fields.Raw(allow_none=True)


class BundleDiffSchema(Schema):
    """Entries of the 一件事 bundle mapping only the newer version has, only the older one has, or changed."""

    added = fields.List(fields.Nested(BundleEntrySchema))
    removed = fields.List(fields.Nested(BundleEntrySchema))
    changed = fields.List(fields.Nested(BundleChangeSchema))


class ResourcesDiffSchema(Schema):
    """File names of the diagrams a version calls into (deployed with it): added, removed, changed."""

    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    changed = fields.List(fields.String())


class DiffSchema(Schema):
    """Element ids per category (to colour a diagram) and what changed in each."""

    process_key = fields.String()
    from_ = fields.Nested(VersionHeadSchema, attribute="from", data_key="from")
    to = fields.Nested(VersionHeadSchema)
    added = fields.List(fields.String())
    removed = fields.List(fields.String())
    changed = fields.List(fields.String())
    unchanged = fields.Integer()
    details = fields.Dict(metadata={"description": "元素 id → {type, name, changes: [{aspect, from, to}]}"})
    forms = fields.Nested(FormsDiffSchema, metadata={"description": "两版锁定的表单版本之差"})
    bundle = fields.Nested(BundleDiffSchema, metadata={"description": "两版一件事映射（bundle.yaml）之差"})
    resources = fields.Nested(ResourcesDiffSchema, metadata={"description": "两版随流程部署的被调用流程文件之差"})


class CaseRef(fields.Field):
    """A case named by its id (a number) or its 办件编号 (text)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not 0 < len(str(value)) <= 40:
            raise ValidationError("应为办件 id 或办件编号")
        case_ref(value)
        return str(value)


class MigrationRequestSchema(Schema):
    """Which cases to move from which version to which: plan only (dry_run) or plan then apply."""

    from_ = DbInt(required=True, data_key="from")
    to = DbInt(required=True)
    cases = fields.List(CaseRef(), load_default=None,
                        validate=validate.Length(min=1, max=10000),
                        metadata={"description": "办件 id 或办件编号；与 all 二选一"})
    all = fields.Boolean(load_default=False, metadata={"description": "源版本上所有办理中的办件"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "只检查，不迁移"})
    batch = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _one_selection(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("cases") is None) == (not data.get("all")):
            raise ValidationError("请指定 cases（办件列表）或 all: true，二者选其一", "cases")


class RefusalSchema(Schema):
    """Why a case cannot migrate."""

    code = fields.String()
    message = fields.String()
    element_id = fields.String(allow_none=True)


class CasePlanSchema(Schema):
    """One case of a migration plan."""

    case_id = fields.Integer()
    case_no = fields.String()
    allowed = fields.Boolean()
    waiting_at = fields.List(fields.String())
    refusals = fields.List(fields.Nested(RefusalSchema))


class MigrationReportSchema(Schema):
    """A migration plan and, unless dry, what was migrated and refused."""

    process_key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    dry_run = fields.Boolean()
    planned = fields.Integer()
    allowed = fields.Integer()
    retried = fields.Integer()
    cases = fields.List(fields.Nested(CasePlanSchema))
    migrated = fields.List(fields.Nested(CasePlanSchema))
    refused = fields.List(fields.Nested(CasePlanSchema))


class DryRunRequestSchema(Schema):
    """A draft and the scenario to run it against."""

    bpmn = fields.String(required=True, validate=validate.Length(min=1, max=MAX_DRAFT_CHARS))
    forms = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=128)), values=fields.Dict(),
                        load_default=dict, metadata={"description": "表单 id → form-js JSON"})
    scenario = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000))


class DryRunStepSchema(Schema):
    """One step's outcome (index 0 is starting the case)."""

    index = fields.Integer()
    kind = fields.String()
    line = fields.Integer(allow_none=True)
    ok = fields.Boolean()
    message = fields.String()


class DryRunDeadlineSchema(Schema):
    """A deadline the run computed."""

    clock = fields.String(metadata={"description": "legal、committed 或 task"})
    due = fields.String(metadata={"description": "到期时刻（ISO 8601，+08:00）"})
    element = fields.String(allow_none=True)
    step = fields.Integer(metadata={"description": "首次出现于第几步之后"})


class DryRunErrorSchema(Schema):
    """A lint finding or scenario problem that kept the draft from running."""

    code = fields.String()
    message = fields.String()
    element = fields.String(allow_none=True)
    line = fields.Integer()


class DryRunResultSchema(Schema):
    """What a dry run found."""

    ok = fields.Boolean()
    scenario = fields.String()
    steps = fields.List(fields.Nested(DryRunStepSchema))
    path = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "元素 id → 经过次数"})
    deadlines = fields.List(fields.Nested(DryRunDeadlineSchema))
    errors = fields.List(fields.Nested(DryRunErrorSchema))
    warnings = fields.List(fields.Nested(DryRunErrorSchema))
