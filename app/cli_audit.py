"""``tongban verify``, ``tongban audit seal`` and ``audit access``: hash chains, sealed daily heads, downloads."""
from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine import (
    ACCESS_OUTCOMES, CST, Actor, EngineError, check_chain_heads, read_history, seal_days, verify_all, verify_case,
    verify_history,
)

from .cli_common import CliCommand, CliGroup, fail, refuse
from .cli_types import CASE, INTEGER, PathParam
from .runtime import get_engine


@click.command("verify", cls=CliCommand, short_help="校验审计哈希链：一个办件、全部办件或历史文件", help=(
    "校验办件 CASE（id 或办件编号）、全部办件（--all）或历史文件（--file）的审计哈希链；链条断裂时以状态 1 退出。"))
@with_appcontext
@click.argument("case", required=False, type=CASE)
@click.option("--all", "every", is_flag=True, help="检查全部办件，以及各区县每日封存的链头")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每行一个办件或一个链头问题）")
@click.option("--file", "file", type=PathParam(dir_okay=False, path_type=Path), default=None,
              help="检查历史文件（tongban history export 导出）中的哈希链；数据库中有该办件时与其比对")
def verify_command(case: str | None, every: bool, as_json: bool, file: Path | None) -> None:
    """Verify the audit chain of CASE (id or 办件编号), of --all cases or of a history --file; exit 1 when broken."""
    if bool(case) + every + (file is not None) != 1:
        refuse("INVALID_INPUT", "请指定一个办件（编号或 id），或使用 --all，或使用 --file 历史文件")
    if file is not None:
        _verify_file(file, as_json)
    engine = get_engine()
    broken: set[str] = set()
    checked = events = problems = 0
    try:
        results = [verify_case(engine, case)] if case else verify_all(engine)
        for result in results:
            checked += 1
            events += result.checked
            if not result.ok:
                broken.add(result.case_no)
            if as_json:
                click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
            elif result.state_differs:
                click.echo(f"办件 {result.case_no}：链条完整，但流程状态快照被改动：{result.reason}")
            elif not result.ok:
                click.echo(f"办件 {result.case_no}：链条断裂于第 {result.broken_seq} 个事件：{result.reason}")
            elif case:
                snapshot = "，流程状态快照相符" if result.state_checked else ""
                click.echo(f"办件 {result.case_no}：完整（{result.checked} 个事件{snapshot}）")
        for problem in check_chain_heads(engine) if every else ():
            problems += 1
            if problem.case_no:
                broken.add(problem.case_no)
            click.echo(json.dumps(problem.to_dict(), ensure_ascii=False) if as_json else problem.describe())
    except EngineError as exc:
        fail(exc)
    if not as_json and every:
        verdict = "全部完整" if not broken and not problems else f"{len(broken)} 个办件被篡改"
        heads = f"，{problems} 处与封存的链头不符" if problems else ""
        click.echo(f"已检查 {checked} 个办件、{events} 个事件：{verdict}{heads}")
    sys.exit(1 if broken or problems else 0)


def _verify_file(file: Path, as_json: bool) -> None:
    """Check one history file's chain, and against the database when it holds the case; exit 1 when it differs."""
    try:
        result = verify_history(read_history(file), engine=get_engine())
    except EngineError as exc:
        fail(exc)
    said = f"历史文件 {file}（办件 {result.case_no}）："
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif result.database == "differs":
        click.echo(f"{said}{result.reason}（文件中的链条本身可以重新计算哈希，不能作为依据）")
    elif not result.ok:
        click.echo(f"{said}链条断裂于第 {result.broken_seq} 个事件：{result.reason}")
    elif result.database == "same":
        click.echo(f"{said}完整（{result.checked} 个事件），与数据库中的办件记录一致")
    elif result.database == "earlier":
        click.echo(f"{said}完整（{result.checked} 个事件），与数据库中该办件的前 {result.checked} 个事件一致"
                   f"（数据库中现有 {result.database_events} 个事件：文件导出后办件又有新的事件）")
    else:
        where = "数据库中没有这个办件" if result.database == "absent" else "无法读取数据库"
        click.echo(f"{said}完整（{result.checked} 个事件）")
        click.echo(f"注意：{where}，文件只按自身校验；哈希链不带密钥，改动后重新计算哈希的文件同样显示完整，"
                   "文件的来源须另行核实")
    sys.exit(0 if result.ok else 1)


@click.group("audit", cls=CliGroup, short_help="封存各区县每日的链头；列出材料查阅记录", help=(
    "封存各区县每日的链头（截去末尾的事件也能被发现）；列出材料下载的查阅记录。"))
def audit_group() -> None:
    """Seal the districts' daily chain heads (tamper evidence for cut tails); list material downloads."""


@audit_group.command("seal", short_help="封存各区县的日链头（工作进程每天自动执行）", help=(
    "封存各区县在 --day 这一天的链头；不指定时封存所有已结束、尚未封存的日期（工作进程每天自动执行）。"))
@with_appcontext
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="封存这一天（YYYY-MM-DD）；不指定时封存所有已结束、尚未封存的日期")
def seal_command(day: datetime | None) -> None:
    """Seal each district's chain head for DAY, or for every ended day not sealed yet (the worker does this daily)."""
    try:
        sealed = seal_days(get_engine(), day=day.date() if day else None, actor="cli:audit-seal")
    except EngineError as exc:
        fail(exc)
    for head in sealed:
        state = "已封存" if head.created else "此前已封存"
        click.echo(f"{state} 区县 {head.district} {head.day.isoformat()}：{head.event_count} 个事件、"
                   f"{head.case_count} 个办件，链头 {head.head_hash}")
    created = sum(head.created for head in sealed)
    click.echo(f"新封存 {created} 个区县日链头" if sealed else "没有需要封存的日期（已结束、未封存且有事件的日期）")


@audit_group.command("access", short_help="列出材料查阅记录（最新的在前）", help=(
    "列出材料下载的查阅记录（最新的在前）：谁、何时、哪个办件的哪份材料、结果。\n\n"
    "每次列出一页：还有更早的记录时，最后一行是列出下一页的命令（带 --before 游标）；"
    "使用 --json 时游标在 next_cursor 字段中。"))
@with_appcontext
@click.option("--case", "case", default=None, type=CASE, help="只列这个办件（id 或办件编号）")
@click.option("--actor", default=None, help="只列这个用户")
@click.option("--limit", type=INTEGER, default=100, show_default=True, help="每页最多列出多少条（1–1000）")
@click.option("--before", "cursor", default=None, metavar="CURSOR",
              help="从这个游标接着列出更早的记录（上一页最后打印的游标；--case、--actor 须与上一页相同）")
@click.option("--json", "as_json", is_flag=True, help='输出 JSON：{"items": [...], "next_cursor": 游标或 null}')
def access_command(case: str | None, actor: str | None, limit: int, cursor: str | None, as_json: bool) -> None:
    """List recorded material downloads (查阅记录), newest first: who, when, which case and material, outcome.

    One page at a time: when older rows exist, the last line is the command for the next page (its
    ``--before`` cursor); with ``--json`` the cursor is ``next_cursor``.
    """
    try:
        page = get_engine().access_log.page(Actor.system("cli:audit-access"), case=case, actor=actor, limit=limit,
                                            cursor=cursor)
    except EngineError as exc:
        fail(exc)
    entries = page.items
    if as_json:
        click.echo(json.dumps({"items": [dict(e.to_dict(), at=e.at.isoformat()) for e in entries],
                               "next_cursor": page.next_cursor}, ensure_ascii=False, indent=2))
        return
    for e in entries:
        click.echo(f"{e.at.astimezone(CST):%Y-%m-%d %H:%M:%S}  {e.actor}  办件 {e.case_no}  材料 {e.resource}  "
                   f"{ACCESS_OUTCOMES.get(e.outcome, e.outcome)}  sha256 {e.sha256 or '—'}")
    if page.next_cursor is None and not cursor:      # the whole log (of these filters) fitted in one page
        click.echo(f"共 {len(entries)} 条查阅记录" if entries else "没有查阅记录")
        return
    if page.next_cursor is None:
        click.echo(f"本页 {len(entries)} 条查阅记录，没有更早的记录了" if entries else "没有更早的查阅记录")
        return
    options = [*(["--case", case] if case else []), *(["--actor", actor] if actor else []),
               *(["--limit", str(limit)] if limit != 100 else []), "--before", page.next_cursor]
    click.echo(f"本页 {len(entries)} 条查阅记录，还有更早的记录")
    click.echo(f"下一页：tongban audit access {shlex.join(options)}")
