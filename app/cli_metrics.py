"""``tongban metrics`` (figures, rollup) and ``tongban report`` (run, list): the dashboards' data from a shell.

The CLI acts as the city-level 电子监察 (it runs on the server, like ``tongban worker``).
"""
from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from engine import CST, Actor, EngineError, REPORT_KINDS, report_period

from .cli_common import CliGroup, fail
from .cli_types import BoundedInt
from .metric_labels import FIGURES, show
from .runtime import get_engine

CLI_ACTOR = Actor("cli", ("admin", "supervisor"), "500000", None)


@click.group("metrics", cls=CliGroup, help="效能统计：某一周期的各项指标，以及指标所依据的日汇总。")
def metrics_group() -> None:
    """效能统计: the figures of a period, and the daily rollup behind them."""


@metrics_group.command("summary", short_help="打印某一周期的全部效能指标",
                       help="打印某一周期的全部指标（周期或筛选条件有误时以状态 2 退出）。")
@with_appcontext
@click.option("--period", default=None, help="统计周期（默认为月）：day | week | month | year")
@click.option("--date", "anchor", default=None, help="周期所在的某一天 YYYY-MM-DD（默认今天）")
@click.option("--from", "first", default=None, help="自定义区间开始 YYYY-MM-DD")
@click.option("--to", "last", default=None, help="自定义区间结束 YYYY-MM-DD")
@click.option("--district", default=None, help="业务属地区县代码")
@click.option("--department", default=None, help="承办部门代码")
@click.option("--matter", default=None, help="事项实施编码")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def summary_command(period: str | None, anchor: str | None, first: str | None, last: str | None,
                    district: str | None, department: str | None, matter: str | None, as_json: bool) -> None:
    """Print every figure of a period (exit 2 on a bad period or filter)."""
    metrics = get_engine().metrics
    try:
        filters = metrics.filters(CLI_ACTOR, district=district, department=department, matter=matter)
        chosen = metrics.period(period=period, anchor=anchor, first=first, last=last)
        figures = metrics.summary(chosen, filters)
    except EngineError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps({"period": chosen.to_dict(), "summary": figures}, ensure_ascii=False, indent=2))
        return
    click.echo(f"统计区间：{chosen.label}（{chosen.first} 至 {chosen.last}）")
    for key, label, _kind in FIGURES:
        click.echo(f"  {label:<28}{show(key, figures[key]):>10}")


@metrics_group.command("rollup", short_help="补齐日汇总（工作进程每分钟自动执行）",
                       help="把日汇总中缺少的已结束日期补上（工作进程每分钟自动执行）。")
@with_appcontext
@click.option("--rebuild", is_flag=True, help="清空后重新汇总全部已结束的日期")
def rollup_command(rebuild: bool) -> None:
    """Add the finished days missing from the daily rollup (the worker does this every minute)."""
    days = get_engine().roll_up_metrics(rebuild=rebuild)
    click.echo(f"已汇总 {days} 天" if days else "日汇总已是最新")


@click.group("report", cls=CliGroup, short_help="通报：日扫描、周调度和月通报", help=(
    "通报：日扫描（daily）、周调度（weekly）和月通报（monthly），每个区县每个周期一份。"))
def report_group() -> None:
    """通报: 日扫描 (daily), 周调度 (weekly) and 月通报 (monthly), one per district and period."""


@report_group.command("run", short_help="为已结束的周期生成各区县的通报",
                      help="为已结束的周期生成各区县的通报（已生成的保持不变）。")
@with_appcontext
@click.option("--kind", required=True, type=click.Choice(list(REPORT_KINDS)),
              help="通报类型：daily 日扫描、weekly 周调度、monthly 月通报")
@click.option("--period", default=None, help="2026-11-23 / 2026-W48 / 2026-11（默认：最近一个已结束的周期）")
def report_run(kind: str, period: str | None) -> None:
    """Write the reports of every district for a finished period (those already written stay as they are)."""
    engine = get_engine()
    try:
        chosen = report_period(kind, period, engine.metrics.today())
        created, existing = engine.reports.produce(kind, chosen, by="cli")
    except EngineError as exc:
        fail(exc)
    click.echo(f"{REPORT_KINDS[kind]} {chosen.key}：新生成 {created} 份，已存在 {existing} 份")


@report_group.command("list", help="列出通报（最近的周期在前）。")
@with_appcontext
@click.option("--kind", type=click.Choice(list(REPORT_KINDS)), default=None, help="只列出该类型的通报")
@click.option("--district", default=None, help="区县代码")
@click.option("--limit", default=50, show_default=True, type=BoundedInt(1, 1000), help="最多列出多少份")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def report_list(kind: str | None, district: str | None, limit: int, as_json: bool) -> None:
    """List reports, newest period first; an unknown --district is refused (UNKNOWN_DISTRICT), as on the page."""
    engine = get_engine()
    try:
        chosen = engine.metrics.filters(CLI_ACTOR, district=district.strip() or None).district if district else None
    except EngineError as exc:
        fail(exc)
    rows = engine.reports.list(CLI_ACTOR, kind=kind, district=chosen, limit=limit)
    if as_json:
        click.echo(json.dumps([_plain(r) for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("没有通报")
    for r in rows:
        click.echo(f"{r['id']:>8}  {r['kind_name']}  {r['period_key']:<12} {r['district']:<8} "
                   f"{r['created_at'].astimezone(CST):%Y-%m-%d %H:%M}  {r['created_by']}")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
