"""Chinese names and formats of the metrics figures, shared by the API schema, the pages and every CSV."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

from flask import Response

from engine import spreadsheet_safe

# key, label, kind (count | rate | days)
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("received", "收件量", "count"),
    ("accepted", "受理量", "count"),
    ("completed", "办结量", "count"),
    ("in_progress", "在办量", "count"),
    ("overdue", "超期在办", "count"),
    ("overdue_legal", "超法定时限在办", "count"),
    ("overdue_committed", "超承诺时限在办", "count"),
    ("near_due", "临期在办（黄灯）", "count"),
    ("late_legal", "超法定时限办结", "count"),
    ("late_committed", "超承诺时限办结", "count"),
    ("legal_cases", "计入法定时限的办结件", "count"),
    ("legal_avg_days", "平均办理用时（法定计时，工作日）", "days"),
    ("legal_p90_days", "90% 办结用时（法定计时，工作日）", "days"),
    ("legal_avg_limit", "平均法定时限（工作日）", "days"),
    ("legal_speedup", "较法定时限提速率", "rate"),
    ("committed_cases", "计入承诺时限的办结件", "count"),
    ("committed_avg_days", "平均办理用时（承诺计时，工作日）", "days"),
    ("committed_p90_days", "90% 办结用时（承诺计时，工作日）", "days"),
    ("committed_avg_limit", "平均承诺时限（工作日）", "days"),
    ("committed_speedup", "较承诺时限提速率", "rate"),
    ("one_visit", "最多跑一次办结件", "count"),
    ("one_visit_rate", "最多跑一次办结占比", "rate"),
    ("cross_district", "跨区县收件", "count"),
    ("cross_district_rate", "跨区县收件占比", "rate"),
    ("corrected", "经补正的办结件", "count"),
    ("correction_rate", "补正率", "rate"),
    ("tolerated", "容缺受理的办结件", "count"),
    ("tolerance_rate", "容缺率", "rate"),
)
LABELS = {key: label for key, label, _kind in FIGURES}
KINDS = {key: kind for key, _label, kind in FIGURES}
# The columns of the comparison tables (district, department, matter, trend): the figures people compare.
COMPARE = ("received", "accepted", "completed", "in_progress", "overdue", "near_due", "late_committed",
           "legal_avg_days", "legal_p90_days", "legal_speedup", "one_visit_rate", "correction_rate",
           "tolerance_rate", "cross_district_rate")
TREND = ("received", "accepted", "completed", "late_legal", "late_committed", "legal_avg_days", "legal_speedup",
         "one_visit_rate", "correction_rate")
PERIODS = (("day", "日"), ("week", "周"), ("month", "月"), ("year", "年"), ("range", "自定义"))


def show(key: str, value: Any) -> str:
    """Format one figure for people: rates as percentages, days with one decimal, none as a dash."""
    if value is None:
        return "—"
    kind = KINDS.get(key)
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "days":
        return f"{value:g}"
    return str(value)


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """A UTF-8 CSV download (with a BOM, so spreadsheet programs read the Chinese correctly).

    Every cell goes through the engine's ``spreadsheet_safe``: text a spreadsheet would run as a formula is
    written as text.
    """
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}.csv"})


def figure_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """A summary as (label, value, raw value) rows for a CSV."""
    return [[label, show(key, figures.get(key)), figures.get(key)] for key, label, _kind in FIGURES]
