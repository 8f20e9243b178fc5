"""通报 pages: the list (filters by kind and district), one report, and its CSV download."""
from __future__ import annotations

from typing import Any

from flask import render_template, request

from engine import REPORT_KINDS, Forbidden, InvalidInput

from ..auth import current_actor
from ..metric_labels import COMPARE, FIGURES, LABELS, csv_response, figure_rows, show
from ..runtime import get_engine
from . import bp, login_required
from .labels import CLOCKS_SHORT, when

PAGE = 100


@bp.get("/reports")
@login_required
def reports() -> Any:
    """List the 通报 you may read, newest period first."""
    actor, engine = current_actor(), get_engine()
    scope = engine.metrics.scope(actor)
    kind = (request.args.get("kind") or "").strip()[:20]
    district = (request.args.get("district") or "").strip()[:12]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, error, status = [], None, 200
    try:
        # The filters are checked as the dashboard checks them: another district is refused, not replaced.
        if kind and kind not in REPORT_KINDS:
            allowed = "、".join(f"{k}（{v}）" for k, v in REPORT_KINDS.items())
            raise InvalidInput(f"通报类型“{kind}”无效，应为 {allowed} 之一", details={"fields": {"kind": ["类型无效"]}})
        chosen = engine.metrics.filters(actor, district=district or None).district
        rows = engine.reports.list(actor, kind=kind or None, district=chosen, limit=PAGE + 1,
                                   offset=(page - 1) * PAGE)
    except (InvalidInput, Forbidden) as exc:
        error, status = exc.message, exc.http_status
    status = 200 if request.headers.get("HX-Request") else status   # htmx swaps only a 2xx answer
    return render_template("pages/reports.html", rows=rows[:PAGE], more=len(rows) > PAGE, page=page, kind=kind,
                           district=district or scope or "", scope=scope, kinds=REPORT_KINDS, error=error,
                           districts=sorted(engine.metrics.names("district").items())), status


@bp.get("/reports/<int:report_id>")
@login_required
def report(report_id: int) -> Any:
    """Show one 通报 (404 for another district's)."""
    found = get_engine().reports.get(current_actor(), report_id)
    return render_template("pages/report.html", report=found, body=found["body"], labels=LABELS, figures=FIGURES,
                           compare=COMPARE, show=show, clocks=CLOCKS_SHORT)


@bp.get("/reports/<int:report_id>.csv")
@login_required
def report_csv(report_id: int) -> Any:
    """Download one 通报 as CSV: its lists (日扫描) or its figures and tables (周调度, 月通报)."""
    found = get_engine().reports.get(current_actor(), report_id)
    body, name = found["body"], f"report-{found['kind']}-{found['district']}-{found['period_key']}"
    if found["kind"] == "daily":
        if "by_district" in body:
            lines = ([r["district"], r["name"], r["new_red"], r["new_yellow"]] for r in body["by_district"])
            return csv_response(name, ["区县代码", "区县", "新增红灯", "新增黄灯"], lines)
        rows = [["红灯" if light == "new_red" else "黄灯", item["case_no"], item["title"], item["matter_name"],
                 CLOCKS_SHORT[item["clock"]], when(item["at"]), when(item["due_at"])]
                for light in ("new_red", "new_yellow") for item in body[light]]
        return csv_response(name, ["灯色", "办件编号", "标题", "事项", "时限", "亮灯时间", "到期时间"], rows)
    rows: list[list[Any]] = [["汇总"], *figure_rows(body["summary"]), []]
    for title, key in (("按区县", "by_district"), ("按事项", "by_matter")):
        if key in body:
            rows += [[title], ["代码", "名称"] + [LABELS[k] for k in COMPARE]]
            rows += [[r["key"], r["name"]] + [show(k, r[k]) for k in COMPARE] for r in body[key]] + [[]]
    rows += [["超期在办"], ["办件编号", "标题", "事项", "业务属地", "法定到期", "承诺到期", "超期工作日"]]
    rows += [[r["case_no"], r["title"], r["matter_name"], r["district_name"], when(r["legal_due_at"]),
              when(r["committed_due_at"]), r["overdue_workdays"]] for r in body["overdue"]]
    return csv_response(name, [f"{body['district_name']}{body['kind_name']}", body["period"]["label"]], rows)
