"""``tongban ratings``: 好差评 from the command line: enter, list, statistics, appeals (申诉复核)."""
from __future__ import annotations

import json
from datetime import date
from typing import Any, Callable

import click
from flask.cli import with_appcontext

from engine import (
    CHANNELS, LEVELS, Actor, CompleteTask, EngineError, RateCase, appeal_data, appeal_decision_data,
)

from .cli_common import CliGroup, fail, refuse
from .cli_types import ID, BoundedInt
from .runtime import get_engine
from .schemas import RequestDate

OPERATOR = Actor("cli", ("admin",))
"""Reads from the command line see every district (the operator runs the server)."""


def _user(username: str) -> Actor:
    actor = get_engine().identity.actor_for_username(username)
    if actor is None:
        refuse("UNKNOWN_USER", f"--as 用户 {username} 不存在或已停用")
    return actor


def _date(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        refuse("INVALID_INPUT", f"日期 “{value}” 应为 YYYY-MM-DD")
    if day is not None and not RequestDate.EARLIEST <= day <= RequestDate.LATEST:
        refuse("INVALID_INPUT", f"日期 “{value}”：{RequestDate.default_error_messages['range']}")
    return day


def _line(r: dict[str, Any]) -> str:
    removed = f"（已撤销：{r['removed']['reason']}）" if r["removed"] else ""
    return (f"#{r['id']} {r['case_no']} {r['level']}（{r['channel_name']}）{r['district']}/{r['department']} "
            f"{r['status_label']}{removed}{'：' + r['comment'] if r['comment'] else ''}")


def _dump(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.group("ratings", cls=CliGroup, help="好差评：已办结办件的评价、差评整改和申诉。")
def ratings_group() -> None:
    """好差评: ratings of closed cases, 差评整改 and appeals."""


@ratings_group.command("add", help="在窗口录入申请人对已办结办件的评价（窗口代录）。")
@with_appcontext
@click.argument("case_no")
@click.option("--score", type=BoundedInt(1, 5, "分值"), required=True,
              help="满意度：" + "、".join(f"{k} {v}" for k, v in LEVELS.items()))
@click.option("--channel", type=click.Choice(sorted(CHANNELS)), required=True,
              help="评价渠道：" + "、".join(f"{k} {v}" for k, v in CHANNELS.items()))
@click.option("--comment", default="", help="文字评价（差评必填）")
@click.option("--as", "username", required=True, help="代录的窗口人员用户名")
def ratings_add(case_no: str, score: int, channel: str, comment: str, username: str) -> None:
    """Enter the applicant's rating of a closed case at the window (窗口代录)."""
    engine = get_engine()
    try:
        case_id = engine.ratings.case_id_for(case_no)
        engine.handle(RateCase(case_id, _user(username), score, channel, comment))
    except EngineError as exc:
        fail(exc)
    click.echo(_line(engine.ratings.of_case(case_id) or {}))


@ratings_group.command("list", help="列出评价（最新的在前）。")
@with_appcontext
@click.option("--district", help="业务属地区县代码")
@click.option("--department", help="责任部门代码")
@click.option("--status", type=click.Choice(["recorded", "rectifying", "rectified", "removed"]),
              help="只列出该状态的评价：recorded 已评价、rectifying 差评整改中、rectified 已整改并回访、"
                   "removed 申诉成立已撤销")
@click.option("--bad", "bad_only", is_flag=True, help="只列差评")
@click.option("--limit", type=BoundedInt(1, 500), default=100, show_default=True, help="最多列出多少条")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def ratings_list(district: str | None, department: str | None, status: str | None, bad_only: bool, limit: int,
                 as_json: bool) -> None:
    """List ratings, newest first."""
    rows = get_engine().ratings.list(OPERATOR, district=district, department=department, status=status,
                                     bad_only=bad_only, limit=limit)
    if as_json:
        _dump(rows)
        return
    for row in rows:
        click.echo(_line(row))
    if not rows:
        click.echo("没有评价")


@ratings_group.command("show", help="以 JSON 显示一条评价及其差评整改进度。")
@with_appcontext
@click.argument("rating_id", type=ID)
def ratings_show(rating_id: int) -> None:
    """Show one rating with its 差评整改 progress, as JSON."""
    try:
        _dump(get_engine().ratings.get(OPERATOR, rating_id))
    except EngineError as exc:
        fail(exc)


@ratings_group.command("stats", short_help="按满意度统计评价数", help=(
    "按满意度统计评价数；申诉成立而撤销的评价不计入（另行计数）。"))
@with_appcontext
@click.option("--district", help="业务属地区县代码")
@click.option("--department", help="责任部门代码")
@click.option("--from", "since", help="起始日 YYYY-MM-DD（含）")
@click.option("--to", "until", help="截止日 YYYY-MM-DD（含）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def ratings_stats(district: str | None, department: str | None, since: str | None, until: str | None,
                  as_json: bool) -> None:
    """Count ratings per level; ratings removed on appeal are left out (and counted apart)."""
    try:
        stats = get_engine().ratings.stats(OPERATOR, district=district, department=department,
                                           since=_date(since), until=_date(until))
    except EngineError as exc:
        fail(exc)
    if as_json:
        _dump(stats)
        return
    for row in stats["by_level"]:
        click.echo(f"{row['score']} {row['level']}\t{row['count']}")
    rate = "—" if stats["good_rate"] is None else f"{stats['good_rate']:.1%}"
    click.echo(f"合计 {stats['total']}，好评 {stats['good']}，差评 {stats['bad']}，好评率 {rate}；"
               f"申诉撤销 {stats['removed']}（不计入）")


@ratings_group.command("appeal", short_help="责任部门对差评提出申诉（而不整改）",
                       help="责任部门对差评提出申诉（而不整改），由电子监察人员复核。")
@with_appcontext
@click.argument("rating_id", type=ID)
@click.option("--as", "username", required=True, help="责任部门的用户名")
@click.option("--reason", required=True, help="申诉理由")
def ratings_appeal(rating_id: int, username: str, reason: str) -> None:
    """Appeal a 差评 as the responsible department (instead of 整改); a supervisor decides."""
    _complete(rating_id, username, ("rectify",), lambda: appeal_data(reason))


@ratings_group.command("decide", help="对申诉作出复核决定（申诉复核）。")
@with_appcontext
@click.argument("rating_id", type=ID)
@click.option("--as", "username", required=True, help="电子监察（supervisor）的用户名")
@click.option("--upheld/--rejected", required=True, help="申诉成立（撤销评价）或不成立（继续整改）")
@click.option("--opinion", required=True, help="复核意见")
def ratings_decide(rating_id: int, username: str, upheld: bool, opinion: str) -> None:
    """Decide an appeal (申诉复核)."""
    _complete(rating_id, username, ("appeal_review",),
              lambda: appeal_decision_data("upheld" if upheld else "rejected", opinion))


def _complete(rating_id: int, username: str, elements: tuple[str, ...],
              data: Callable[[], dict[str, Any]]) -> None:
    """Complete the rating's open task at ``elements`` as ``username`` with ``data()`` (which may refuse)."""
    engine, actor = get_engine(), _user(username)
    try:
        inputs = data()
        engine.handle(CompleteTask(engine.ratings.open_task(actor, rating_id, elements), actor, inputs))
        click.echo(_line(engine.ratings.get(actor, rating_id)))
    except EngineError as exc:
        fail(exc)
