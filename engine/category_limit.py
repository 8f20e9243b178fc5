"""A committed limit set per project category (承诺时限按项目类别): ``committed_limit: {by: project_category}``.

Some matters have no single 承诺时限: 工改 commits to the 审批目标时限 of the project's category (一般社会投资项目
50 working days, 政府投资项目 80 ...), which :mod:`engine.project_targets` reads from ``targets.yaml`` and the
process stores in each case's data when the case is received. Their catalog entry says so instead of giving
an amount, and a deploy (and lint) checks that the process takes its committed clock's length from the case
data (``<tb:clock kind="committed" amountFrom="target_workdays"/>``) and that the engine loaded the targets
(:func:`category_findings`). The catalog then shows the figures in force today per category
(:func:`limit_view`), and a case its own: the committed clock's budget, filled in from the case data when
the case is received (:func:`resolve_pending`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Sequence

from .definitions import Finding
from .legal_clock import Budget
from .project_targets import TargetTable

BASES = {"project_category": "项目类别"}
"""What a committed limit may be set by (``by``), with its Chinese name; also the start-data variable holding it."""
CLOCK_CODE = "TB_CATALOG_CATEGORY_CLOCK"
"""Finding: the matter's process has no committed clock that takes its length from the case data."""
TARGETS_CODE = "TB_CATALOG_CATEGORY_TARGETS"
"""Finding: the engine loaded no project category targets (no ``targets.yaml`` in ``processes/``)."""
KNOWN = "amount_known"
"""Set on a waiting committed clock whose budget :func:`resolve_pending` read from the case data."""


@dataclass(frozen=True)
class CategoryLimit:
    """A committed limit set per project category: the figures are in the targets table, not in the catalog."""

    by: str = "project_category"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape the catalog stores: ``{"by": ...}``."""
        return {"by": self.by}

    def __str__(self) -> str:
        return f"按{BASES[self.by]}确定"


def is_category_node(node: Any) -> bool:
    """Whether a catalog ``committed_limit`` node says ``by`` (rather than ``amount``/``unit``)."""
    return node is not None and isinstance(node.value, dict) and "by" in node.value


def parse_category_limit(check: Any, node: Any, what: str) -> CategoryLimit | None:
    """Read ``{by: project_category}``; anything else is a ``TB_CATALOG_LIMIT`` finding at its line."""
    value = node.value
    if set(value) != {"by"}:
        check.fail("TB_CATALOG_LIMIT", f"{what}按项目类别确定时应写成 {{by: project_category}}，不能另写 "
                   f"{'、'.join(sorted(str(k) for k in set(value) - {'by'}))}（各类别的天数在 targets.yaml 中）",
                   node.line)
        return None
    if value["by"].value not in BASES:
        check.fail("TB_CATALOG_LIMIT", f"{what}的 by 取值 {value['by'].value!r} 无效：目前只支持 project_category"
                   "（按项目类别）", value["by"].line)
        return None
    return CategoryLimit(value["by"].value)


def category_findings(matters: Iterable[Any], clocks_of: Callable[[str], Sequence[Mapping[str, Any]] | None],
                      categories: Mapping[str, str]) -> list[Finding]:
    """Return the findings for matters whose committed limit is set per category, against process and targets.

    ``clocks_of(process_key)`` gives the clocks the process declares (``ClockSpec.to_dict()`` shapes: this
    deploy's diagram, else the newest deployed version), None when the process is unknown (that is reported
    as ``TB_CATALOG_PROCESS``). ``categories`` are the project categories the engine loaded (code -> name).
    """
    found = []
    for matter in matters:
        if not isinstance(matter.committed_limit, CategoryLimit):
            continue
        where = {"element_id": matter.code, "file": matter.source_name, "line": matter.committed_line or matter.line}
        clocks = clocks_of(matter.process_key)
        committed = [c for c in clocks or () if c.get("kind") == "committed"]
        if clocks is not None and (not committed or any(not c.get("amount_from") for c in committed)):
            found.append(Finding(CLOCK_CODE, f"事项 {matter.name} 的承诺时限按项目类别确定，但办理流程 "
                                 f"{matter.process_key} 的承诺时限不是从办件数据取天数：流程应声明 <tb:clock "
                                 'kind="committed" amountFrom="变量名"/>（如 gongcheng 的 target_workdays）', **where))
        if not categories:
            found.append(Finding(TARGETS_CODE, f"事项 {matter.name} 的承诺时限按项目类别确定，但没有载入项目类别的"
                                 "审批目标时限：请在办理流程的文件夹中放置 targets.yaml（格式见 "
                                 "processes/gongcheng/targets.yaml），并重启服务后再部署", **where))
    return found


def resolve_pending(doc: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Give the waiting committed clock the budget its ``amountFrom`` variable holds in ``data``, if it holds one.

    Called when a case of such a matter is received, after the first step (工改's script stores
    ``target_workdays`` then): the case's own limit is then on its clock from 收件 on, for the receipt and the
    case page, instead of the diagram's default. 受理 still reads the variable when the clock starts.
    """
    out = dict(doc)
    entry = doc.get("committed") or {}
    pending = entry.get("pending")
    name = (pending or {}).get("amount_from")
    value = data.get(name) if name else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 3650:
        budget = Budget(value, Budget.from_dict(pending["budget"]).unit)
        out["committed"] = {**entry, "pending": {**pending, "budget": budget.to_dict(), KNOWN: True}}
    return out


def case_budget(doc: Mapping[str, Any] | None) -> Budget | None:
    """The committed limit a case has on its clock (running, ended, or waiting with a known budget), else None."""
    entry = (doc or {}).get("committed") or {}
    if "clock" in entry:
        return Budget.from_dict(entry["clock"]["budget"])
    if entry.get("periods"):
        return Budget.from_dict(entry["periods"][-1]["budget"])
    pending = entry.get("pending") or {}
    if pending and (not pending.get("amount_from") or pending.get(KNOWN)):
        return Budget.from_dict(pending["budget"])
    return None


def limit_view(limit: Any, targets: TargetTable | None, on: date) -> dict[str, Any]:
    """Return a committed limit as the API shows it: ``{amount, unit}``, or per category the figures in force.

    A limit set per project category becomes ``{by, unit, as_of, categories: [{category, name, workdays,
    from}]}``, read from the targets table on ``on`` (a category with no row in force yet is left out).
    """
    if not isinstance(limit, CategoryLimit):
        return limit.to_dict()
    rows = targets.in_force(on) if targets is not None else []
    return {"by": limit.by, "unit": "workday", "as_of": on.isoformat(),
            "categories": [{"category": r.category, "name": r.name, "workdays": r.workdays,
                            "from": r.effective_from.isoformat()} for r in rows]}


def category_text(view: Mapping[str, Any]) -> str:
    """Return a per-category view as people read it: 按项目类别：一般社会投资项目 50 个工作日、…."""
    what = BASES.get(view.get("by", ""), "项目类别")
    figures = "、".join(f"{c['name']} {c['workdays']} 个工作日" for c in view.get("categories", ()))
    return f"按{what}：{figures}" if figures else f"按{what}确定（未载入审批目标时限）"
