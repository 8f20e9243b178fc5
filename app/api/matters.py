"""The matter catalog (事项目录): search matters and read one entry with its versions."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..auth import current_actor, require_user
from ..bounds import DbInt
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("matters", __name__, url_prefix="/api/v1/matters", description="事项目录")


class LimitSchema(Schema):
    """A time limit."""

    amount = fields.Integer()
    unit = fields.String(metadata={"description": "workday 工作日 / day 自然日"})


class CategoryLimitSchema(Schema):
    """The committed limit of one project category, as in force on ``as_of`` (targets.yaml)."""

    category = fields.String(metadata={"description": "项目类别代码，如 social"})
    name = fields.String(metadata={"description": "项目类别名称，如 一般社会投资项目"})
    workdays = fields.Integer(metadata={"description": "承诺时限（审批目标时限，工作日）"})
    effective_from = fields.String(attribute="from", data_key="from",
                                   metadata={"format": "date", "description": "该时限的生效日期"})


class CommittedLimitSchema(LimitSchema):
    """A committed limit: an amount, or set per project category (``by``) with each category's figure."""

    amount = fields.Integer(metadata={"description": "天数；按项目类别确定时无此项"})
    by = fields.String(metadata={"description": "按项目类别确定时为 project_category，天数见 categories；"
                                                "每个办件的承诺时限以其受理时的类别目标为准"})
    as_of = fields.String(metadata={"format": "date", "description": "categories 所列时限的生效查询日（今日）"})
    categories = fields.List(fields.Nested(CategoryLimitSchema),
                             metadata={"description": "各项目类别当日生效的承诺时限，按 targets.yaml 的顺序"})


class MaterialSchema(Schema):
    """One item of the materials list."""

    key = fields.String()
    name = fields.String()
    required = fields.Boolean()
    tolerance = fields.Boolean(metadata={"description": "容缺：可在受理后补交"})
    license = fields.String(allow_none=True, metadata={"description": "可替代上传的电子证照类型"})
    original = fields.Boolean(metadata={"description": "须核验原件"})


class FormFieldSchema(Schema):
    """One field of an application form: send its value in the application's ``form`` under ``key``."""

    key = fields.String(metadata={"description": "数据路径（如 project_name；分组内为 a.b）"})
    label = fields.String()
    type = fields.String(metadata={"description": "form-js 组件类型：textfield、select、number ..."})
    required = fields.Boolean()
    options = fields.List(fields.Raw(), metadata={"description": "可选值（select、radio 等）"})
    validate = fields.Dict(metadata={"description": "form-js 的校验规则（maxLength、min ...）"})


class ApplicationFormSchema(Schema):
    """The matter's application form (申请表单): the application's ``form`` must pass it, with no other keys."""

    key = fields.String(metadata={"description": "表单标识"})
    version = fields.Integer(metadata={"description": "表单版本（事项目录固定的版本）"})
    content_hash = fields.String()
    fields_ = fields.List(fields.Nested(FormFieldSchema), data_key="fields", attribute="fields")


class MatterSchema(Schema):
    """A catalog entry (the committed limit is the one in force in the asked district, or per project category)."""

    code = fields.String(metadata={"description": "实施编码"})
    basic_code = fields.String(metadata={"description": "基本编码"})
    name = fields.String()
    type = fields.String(metadata={"description": "事项类型代码（GB/T 39046 A.1）"})
    basis = fields.String(metadata={"description": "设定依据"})
    level = fields.Integer(metadata={"description": "行使层级代码（GB/T 39046 A.2）"})
    handling = fields.String(metadata={"description": "instant 即办件 / commitment 承诺件"})
    legal_limit = fields.Nested(LimitSchema)
    committed_limit = fields.Nested(CommittedLimitSchema)
    process = fields.String()
    modes = fields.List(fields.String())
    districts = fields.Raw(metadata={"description": "提供该事项的区县代码列表，或 all"})
    materials = fields.List(fields.Nested(MaterialSchema))
    application_form = fields.Nested(ApplicationFormSchema, allow_none=True, metadata={
        "description": "申请表单：申请的 form 须按此填写（无则 null：一件事按其一表申报表单，其他事项自由填写）"})
    agency = fields.String(allow_none=True)
    window = fields.String(allow_none=True)
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()


class MatterVersionSchema(Schema):
    """One deployed version of an entry."""

    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()


class MatterDetailSchema(MatterSchema):
    """An entry with its version history."""

    overrides = fields.Dict()
    versions = fields.List(fields.Nested(MatterVersionSchema))


class MatterQuerySchema(Schema):
    """Catalog search."""

    q = fields.String(load_default=None, validate=validate.Length(max=100),
                      metadata={"description": "事项名称或实施编码中的文字"})
    district = fields.String(load_default=None, validate=validate.Length(max=16),
                             metadata={"description": "只列出该区县提供的事项；mine 表示我的区县"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class MatterDetailQuerySchema(Schema):
    """Which version, and for which district."""

    version = DbInt(load_default=None)
    district = fields.String(load_default=None, validate=validate.Length(max=16))


@blp.route("", methods=["GET"])
@require_user
@blp.arguments(MatterQuerySchema, location="query")
@blp.response(200, MatterSchema(many=True))
def list_matters(query: dict[str, Any]) -> Any:
    """Search the catalog by name or code; ``district=mine`` lists the matters offered at your windows."""
    if query["district"] == "mine":
        query["district"] = current_actor().district
    return get_engine().queries.matters(**query)


@blp.route("/<string:code>", methods=["GET"])
@require_user
@blp.arguments(MatterDetailQuerySchema, location="query")
@blp.response(200, MatterDetailSchema)
def get_matter(query: dict[str, Any], code: str) -> Any:
    """Return one entry (newest version unless ``version``) with every version deployed."""
    return get_engine().queries.matter(code, **query)
