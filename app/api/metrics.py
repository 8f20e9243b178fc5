"""效能 metrics for supervisors and administrators: summary, per district/department/matter, trend, overdue.

Every endpoint takes the same period and filters; the engine checks them (a reversed or absurd range is a
422 with a ``METRICS_*`` code) and limits a district's supervisors to their own district.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..auth import current_actor
from ..metric_labels import FIGURES
from ..runtime import get_engine
from . import Blueprint

blp = Blueprint("metrics", __name__, url_prefix="/api/v1/metrics", description="效能统计（电子监察）")


@blp.before_request
def supervisors_only() -> None:
    """Refuse callers who may see no figures before the query is read (401, then 403, before any 422)."""
    get_engine().metrics.scope(current_actor())


class MetricsQuerySchema(Schema):
    """The period (``period`` around ``date``, or ``from``..``to``) and the filters."""

    period = fields.String(load_default=None, metadata={"description": "day | week | month（默认）| year"})
    date = fields.String(load_default=None, metadata={"description": "周期所在的某一天，YYYY-MM-DD，默认今天"})
    from_ = fields.String(data_key="from", load_default=None, metadata={"description": "自定义区间开始（含）"})
    to = fields.String(load_default=None, metadata={"description": "自定义区间结束（含）"})
    district = fields.String(load_default=None, metadata={"description": "业务属地区县代码"})
    department = fields.String(load_default=None, metadata={"description": "承办部门代码"})
    matter = fields.String(load_default=None, metadata={"description": "事项实施编码"})


class TrendQuerySchema(MetricsQuerySchema):
    """The period, the filters and the trend's bucket size."""

    interval = fields.String(load_default="day", metadata={"description": "day | week | month | year"})


class OverdueQuerySchema(MetricsQuerySchema):
    """The period (cases received in it), the filters, which light and how many."""

    light = fields.String(load_default="red", validate=validate.OneOf(["red", "yellow"]),
                          metadata={"description": "red 超期 | yellow 临期"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


def _figure_field(kind: str) -> fields.Field:
    return fields.Integer(allow_none=True) if kind == "count" else fields.Float(allow_none=True)


FiguresSchema = Schema.from_dict({key: _figure_field(kind) for key, _label, kind in FIGURES},
                                 name="MetricFigures")
RowSchema = Schema.from_dict({"key": fields.String(), "name": fields.String(),
                              **{key: _figure_field(kind) for key, _label, kind in FIGURES}}, name="MetricRow")
TrendRowSchema = Schema.from_dict({"from": fields.String(), "to": fields.String(), "label": fields.String(),
                                   **{key: _figure_field(kind) for key, _label, kind in FIGURES}},
                                  name="MetricTrendRow")


class PeriodSchema(Schema):
    """The period answered."""

    from_ = fields.String(attribute="from", data_key="from")
    to = fields.String()
    kind = fields.String()
    label = fields.String()


class FiltersSchema(Schema):
    """The filters applied (a district supervisor's district is always applied)."""

    district = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    matter = fields.String(allow_none=True)


class SummarySchema(Schema):
    """Every figure for the period."""

    period = fields.Nested(PeriodSchema)
    filters = fields.Nested(FiltersSchema)
    summary = fields.Nested(FiguresSchema)


class RowsSchema(Schema):
    """One row per district, department or matter."""

    period = fields.Nested(PeriodSchema)
    filters = fields.Nested(FiltersSchema)
    rows = fields.List(fields.Nested(RowSchema))


class TrendSchema(Schema):
    """One row per day, week, month or year."""

    period = fields.Nested(PeriodSchema)
    filters = fields.Nested(FiltersSchema)
    interval = fields.String()
    rows = fields.List(fields.Nested(TrendRowSchema))


class OverdueRowSchema(Schema):
    """A running case past (or near) a deadline."""

    case_id = fields.Integer()
    case_no = fields.String()
    title = fields.String(allow_none=True)
    matter_code = fields.String(allow_none=True)
    matter_name = fields.String(allow_none=True)
    owning_district = fields.String(allow_none=True)
    district_name = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    started_at = fields.DateTime()
    legal_due_at = fields.DateTime(allow_none=True)
    committed_due_at = fields.DateTime(allow_none=True)
    red_clocks = fields.List(fields.String())
    overdue_workdays = fields.Integer(allow_none=True)


class OverdueSchema(Schema):
    """The cases, most urgent first."""

    period = fields.Nested(PeriodSchema)
    filters = fields.Nested(FiltersSchema)
    light = fields.String()
    rows = fields.List(fields.Nested(OverdueRowSchema))


def scoped(query: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """Check the period and filters for the caller; return (period, filters, the echo for the answer)."""
    metrics = get_engine().metrics
    filters = metrics.filters(current_actor(), district=query.get("district"),
                              department=query.get("department"), matter=query.get("matter"))
    period = metrics.period(period=query.get("period"), anchor=query.get("date"), first=query.get("from_"),
                            last=query.get("to"))
    echo = {"period": period.to_dict(), "filters": {"district": filters.district, "department": filters.department,
                                                    "matter": filters.matter}}
    return period, filters, echo


@blp.route("/summary", methods=["GET"])
@blp.arguments(MetricsQuerySchema, location="query")
@blp.response(200, SummarySchema)
def summary(query: dict[str, Any]) -> Any:
    """Every figure for the period: flows, working days against the limits, shares, overdue now."""
    period, filters, echo = scoped(query)
    return {**echo, "summary": get_engine().metrics.summary(period, filters)}


def _breakdown(query: dict[str, Any], by: str) -> dict[str, Any]:
    period, filters, echo = scoped(query)
    return {**echo, "rows": get_engine().metrics.breakdown(period, filters, by)}


@blp.route("/by-district", methods=["GET"])
@blp.arguments(MetricsQuerySchema, location="query")
@blp.response(200, RowsSchema)
def by_district(query: dict[str, Any]) -> Any:
    """The figures per owning district (业务属地), busiest first."""
    return _breakdown(query, "district")


@blp.route("/by-department", methods=["GET"])
@blp.arguments(MetricsQuerySchema, location="query")
@blp.response(200, RowsSchema)
def by_department(query: dict[str, Any]) -> Any:
    """The figures per department (承办部门), busiest first."""
    return _breakdown(query, "department")


@blp.route("/by-matter", methods=["GET"])
@blp.arguments(MetricsQuerySchema, location="query")
@blp.response(200, RowsSchema)
def by_matter(query: dict[str, Any]) -> Any:
    """The figures per matter (事项), busiest first."""
    return _breakdown(query, "matter")


@blp.route("/trend", methods=["GET"])
@blp.arguments(TrendQuerySchema, location="query")
@blp.response(200, TrendSchema)
def trend(query: dict[str, Any]) -> Any:
    """The flows and completed-case figures per day, week, month or year of the period."""
    period, filters, echo = scoped(query)
    rows = get_engine().metrics.trend(period, filters, query["interval"])
    return {**echo, "interval": query["interval"], "rows": rows}


@blp.route("/overdue", methods=["GET"])
@blp.arguments(OverdueQuerySchema, location="query")
@blp.response(200, OverdueSchema)
def overdue(query: dict[str, Any]) -> Any:
    """Running cases received in the period that are overdue (red) or near due (yellow) now."""
    period, filters, echo = scoped(query)
    rows = get_engine().metrics.lights(period, filters, light=query["light"], limit=query["limit"])
    return {**echo, "light": query["light"], "rows": rows}
