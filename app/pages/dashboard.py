"""效能监察 dashboard: filter bar (period, district, department, matter), charts, tables with CSV, overdue drill-down.

City supervisors and administrators see every district; a district's supervisors see theirs. Every table
shown downloads as CSV with the same filters plus ``format=csv&table=NAME``. The period and the filters are
checked by the engine as for ``/api/v1/metrics``: what the API refuses (a bad period, an unknown code,
another district for a district's supervisor) is shown on the page with its message above an empty body,
with the API's status (422, 403; 200 inside an htmx swap, which htmx would otherwise not display).
"""
from __future__ import annotations

from typing import Any, Callable

from flask import render_template, request

from engine import Forbidden, InvalidInput

from ..auth import current_actor
from ..metric_labels import COMPARE, FIGURES, LABELS, PERIODS, TREND, csv_response, figure_rows, show
from ..runtime import get_engine
from . import bp, login_required
from .labels import CLOCKS_SHORT, when

TOP = 15
LISTED = 50
FIELDS = ("period", "date", "from", "to", "district", "department", "matter")
REFUSED = (InvalidInput, Forbidden)
"""What the engine's checks of the period and filters raise (the metrics API's 422 and 403)."""


def read_form(args: Any) -> dict[str, str]:
    """The filter bar's values from the query string; without a period, ``from``/``to`` ask for a custom range.

    A district supervisor's district is not filled in here: the engine applies it, and refuses another.
    """
    form = {name: (args.get(name) or "").strip()[:40] for name in FIELDS}
    form["period"] = form["period"] or ("range" if form["from"] or form["to"] else "month")
    return form


def resolve(metrics: Any, actor: Any, form: dict[str, str]) -> tuple[Any, Any]:
    """Check the filters and the period with the engine; custom ranges use from/to, the others the date.

    Raises:
        InvalidInput, Forbidden: what ``/api/v1/metrics`` refuses for the same query.
    """
    filters = metrics.filters(actor, district=form["district"] or None, department=form["department"] or None,
                              matter=form["matter"] or None)
    if form["period"] == "range":
        return metrics.period(first=form["from"] or None, last=form["to"] or None), filters
    return metrics.period(period=form["period"], anchor=form["date"] or None), filters


def interval_for(period: Any) -> str:
    """Days for up to two months, weeks up to a year, months beyond."""
    return "day" if period.days <= 62 else "week" if period.days <= 371 else "month"


def tables(metrics: Any, period: Any, filters: Any) -> dict[str, Callable[[], Any]]:
    """Each table the page shows, computed on demand (a CSV computes only its own)."""
    return {
        "summary": lambda: metrics.summary(period, filters),
        "trend": lambda: metrics.trend(period, filters, interval_for(period)),
        "by_district": lambda: metrics.breakdown(period, filters, "district"),
        "by_department": lambda: metrics.breakdown(period, filters, "department"),
        "by_matter": lambda: metrics.breakdown(period, filters, "matter"),
        "overdue": lambda: metrics.lights(period, filters, light="red", limit=LISTED),
        "near_due": lambda: metrics.lights(period, filters, light="yellow", limit=LISTED),
    }


@bp.get("/dashboard")
@login_required
def dashboard() -> Any:
    """Show the dashboard for the filter bar's period and filters (htmx: only the body; CSV: one table)."""
    actor, engine = current_actor(), get_engine()
    metrics = engine.metrics
    scope = metrics.scope(actor)
    form = read_form(request.args)
    context: dict[str, Any] = {"form": form, "scope": scope, "periods": PERIODS, "error": None,
                               "districts": sorted(metrics.names("district").items()),
                               "departments": sorted(metrics.names("department").items()),
                               "matters": sorted(metrics.names("matter").items(), key=lambda kv: kv[1])}
    status = 200
    try:
        period, filters = resolve(metrics, actor, form)
    except REFUSED as exc:
        context["error"], status = exc.message, exc.http_status
    else:
        computed = tables(metrics, period, filters)
        if request.args.get("format") == "csv":
            return table_csv(request.args.get("table") or "summary", computed)
        values = {name: make() for name, make in computed.items()}
        context.update(values, period=period, filters=filters, interval=interval_for(period),
                       charts=chart_data(values))
    link_args = {k: v for k, v in form.items() if v}
    context.update(labels=LABELS, figures=FIGURES, compare=COMPARE, trend_columns=TREND, show=show,
                   link_args=link_args, csv_args={**link_args, "format": "csv"},
                   matter_names=dict(context["matters"]), department_names=dict(context["departments"]))
    if request.headers.get("HX-Request"):
        return render_template("pages/dashboard_body.html", **context), 200
    return render_template("pages/dashboard.html", **context), status


@bp.get("/dashboard/overdue")
@login_required
def overdue() -> Any:
    """List every running case received in the period that is overdue (or near due), with CSV."""
    actor, metrics = current_actor(), get_engine().metrics
    metrics.scope(actor)  # who may see no figures at all gets the 403 error page
    form = read_form(request.args)
    asked = (request.args.get("light") or "red").strip()[:20]
    light = "yellow" if asked == "yellow" else "red"
    rows, error, status, filters = [], None, 200, None
    try:
        if asked not in ("red", "yellow"):
            raise InvalidInput(f"灯色“{asked}”无效，应为 red（超期）或 yellow（临期）")
        period, filters = resolve(metrics, actor, form)
        rows = metrics.lights(period, filters, light=light, limit=1000)
    except REFUSED as exc:
        error, status, period = exc.message, exc.http_status, None
    if request.args.get("format") == "csv" and error is None:
        return light_csv(light, rows)
    back = {k: v for k, v in form.items() if v}
    return render_template("pages/dashboard_overdue.html", rows=rows, error=error, light=light, period=period,
                           form=form, filters=filters, back_args=back,
                           csv_args={**back, "light": light, "format": "csv"}), status


def chart_data(values: dict[str, Any]) -> dict[str, Any]:
    """What the three charts draw (the page embeds it as JSON for static/dashboard.js)."""
    trend, districts, matters = values["trend"], values["by_district"], values["by_matter"]
    series = ("received", "accepted", "completed")
    return {
        "trend": {"labels": [r["label"] for r in trend],
                  "series": [{"name": LABELS[k], "data": [r[k] for r in trend]} for k in series]},
        "districts": {"labels": [r["name"] for r in districts],
                      "series": [{"name": LABELS[k], "data": [r[k] for r in districts]}
                                 for k in ("received", "completed", "overdue")]},
        "matters": {"labels": [r["name"] for r in matters[:TOP]][::-1],
                    "series": [{"name": LABELS[k], "data": [r[k] for r in matters[:TOP]][::-1]}
                               for k in ("received", "completed")]},
    }


def table_csv(name: str, computed: dict[str, Callable[[], Any]]) -> Any:
    """One table as CSV; an unknown table name is refused."""
    if name not in computed:
        raise InvalidInput(f"没有名为 {name[:30]} 的表格", code="TABLE_UNKNOWN")
    data = computed[name]()
    if name == "summary":
        return csv_response("metrics-summary", ["指标", "数值", "原始值"], figure_rows(data))
    if name in ("overdue", "near_due"):
        return light_csv("red" if name == "overdue" else "yellow", data)
    if name == "trend":
        header = ["起", "止", "时段"] + [LABELS[k] for k in TREND]
        return csv_response("metrics-trend", header, ([r["from"], r["to"], r["label"]]
                                                      + [show(k, r[k]) for k in TREND] for r in data))
    header = ["代码", "名称"] + [LABELS[k] for k in COMPARE]
    return csv_response(f"metrics-{name.replace('_', '-')}", header,
                        ([r["key"], r["name"]] + [show(k, r[k]) for k in COMPARE] for r in data))


def light_csv(light: str, rows: list[dict[str, Any]]) -> Any:
    """The overdue (or near-due) cases as CSV."""
    header = ["办件编号", "标题", "事项", "业务属地", "收件时间", "法定到期", "承诺到期", "超期时限", "超期工作日"]
    return csv_response("overdue" if light == "red" else "near-due", header, (
        [r["case_no"], r["title"], r["matter_name"], r["district_name"], when(r["started_at"]),
         when(r["legal_due_at"]), when(r["committed_due_at"]),
         "、".join(CLOCKS_SHORT[c] for c in r["red_clocks"]), r["overdue_workdays"]]
        for r in rows))

