"""``tongban timers``: BPMN timers whose firing failed, retried with back-off or set aside, and put back."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from engine import CST, EngineError, TimerWorker

from .cli_common import CliGroup, fail, refuse
from .cli_types import ID, BoundedInt
from .runtime import get_engine

CASE_STATES = {"running": "在办", "completed": "已办结"}


@click.group("timers", cls=CliGroup, short_help="列出触发失败的定时器，重试被搁置的", help=(
    "列出触发失败的 BPMN 定时器（退避重试中的和已被工作进程搁置的）；修复原因后把被搁置的重新排队触发（管理员，"
    "记入办件的办理记录）。"))
def timers_group() -> None:
    """List BPMN timers whose firing failed (backing off, or set aside by the worker); put set-aside ones back."""


@timers_group.command("list", short_help="列出触发失败的定时器", help=(
    "列出触发失败的定时器（到期最早的在前）：编号、状态（重试中或已搁置）、办件、元素、到期时间（北京时间）、"
    "尝试次数和最近一次错误；重试中的还列出下次尝试的时间。"))
@with_appcontext
@click.option("--failed", "set_aside_only", is_flag=True, help="只列出已被搁置、不再自动重试的定时器")
@click.option("--limit", default=100, show_default=True, type=BoundedInt(1, 10000), help="最多列出多少个")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def timers_list(set_aside_only: bool, limit: int, as_json: bool) -> None:
    """List timers whose firing failed (due first): state, case, element, due instant (CST), attempts, error."""
    rows = TimerWorker.failing_timers(get_engine(), set_aside_only=set_aside_only, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        status = CASE_STATES.get(r["case_status"], r["case_status"])
        state = "已搁置" if r["state"] == "failed" else \
            f"重试中，下次 {r['retry_at'].astimezone(CST):%m-%d %H:%M:%S}" if r["retry_at"] else "重试中"
        click.echo(f"#{r['id']} [{state}] {r['case_no']}（{status}） {r['element_id']} 到期 "
                   f"{r['due_at'].astimezone(CST):%Y-%m-%d %H:%M} 尝试 {r['attempts']} 次  {r['last_error'] or ''}")
    what = "被搁置的定时器" if set_aside_only else "触发失败的定时器"
    click.echo(f"合计：{what} {len(rows)} 个" if rows else f"合计：没有{what}")


@timers_group.command("retry", short_help="把被搁置的定时器重新排队触发（管理员）", help=(
    "把被搁置的定时器 TIMER_ID 重新排队：尝试次数清零，工作进程下一次检查时触发；所属办件已结束的，直接关闭。"
    "操作人（--by，须是在职的管理员）和这次重试记入所属办件的办理记录。"))
@with_appcontext
@click.argument("timer_id", type=ID)
@click.option("--by", "--actor", "by", required=True, metavar="USER",
              help="操作的管理员用户名（记入办件的办理记录）")
def timers_retry(timer_id: int, by: str) -> None:
    """Put a timer set aside back to waiting (attempts reset), recorded on its case as done by ``--by``."""
    engine = get_engine()
    actor = engine.identity.actor_for_username(by)
    if actor is None:
        refuse("UNKNOWN_USER", f"用户 {by} 不存在或已停用")
    try:
        requeued = TimerWorker.retry_timer(engine, timer_id, actor)
    except EngineError as exc:
        fail(exc)
    click.echo(f"定时器 #{timer_id} 已重新排队，工作进程下一次检查时触发（操作人 {actor.username}，已记入办件记录）"
               if requeued else
               f"定时器 #{timer_id} 所属办件已结束，无需触发，已关闭（操作人 {actor.username}，已记入办件记录）")
