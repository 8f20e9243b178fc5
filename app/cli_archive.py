"""``tongban archive ...`` (归档信息包) and ``tongban export events`` (exports for analysis)."""
from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine import (
    ARCHIVE_STATES, ArchiveBuildFailed, EngineError, ExportQuery, build_archive, export_events, list_archives,
    queue_missing_archives, verify_archive,
)

from .cli_common import CliGroup, fail, refuse
from .cli_types import CASE, BoundedInt, PathParam
from .runtime import get_engine


@click.group("archive", cls=CliGroup, help="已办结办件的归档包（办结即归档）：生成、列出、离线校验。")
def archive_group() -> None:
    """Archive packages of closed cases (办结即归档): build, list, verify offline."""


@archive_group.command("build", short_help="生成已办结办件的归档包，或为缺少的排队", help=(
    "立即生成（或重新生成）已办结办件 CASE（id 或办件编号）的归档包；"
    "或用 --missing 为所有缺少归档包的已办结办件排队。"))
@with_appcontext
@click.argument("case", required=False, type=CASE)
@click.option("--missing", is_flag=True, help="为没有归档包的已办结办件排队（由工作进程生成）")
def build_command(case: str | None, missing: bool) -> None:
    """Build (or rebuild) the package of closed CASE (id or 办件编号) now, or queue every --missing one."""
    engine = get_engine()
    if bool(case) == missing:
        refuse("INVALID_INPUT", "请指定一个办件（编号或 id），或使用 --missing")
    if missing:
        click.echo(f"已为 {queue_missing_archives(engine)} 个没有归档包的已办结办件排队，由工作进程生成")
        return
    try:
        info = build_archive(engine, case, worker=f"cli:{socket.gethostname()}:{os.getpid()}"[:64])
    except ArchiveBuildFailed as exc:
        fail(exc, exit_code=1)
    except EngineError as exc:
        fail(exc)
    click.echo(f"办件 {info.case_no} 的归档包已生成：{Path(engine.config.archives_dir) / str(info.path)}")
    click.echo(f"  SHA-256 {info.sha256}，{info.size} 字节，包含 {info.event_seq} 个审计事件")


@archive_group.command("list", short_help="列出归档包（最新的在前）", help=(
    "列出归档包（最新的在前）：状态、包含的事件数、sha256、文件或最近一次错误。"))
@with_appcontext
@click.option("--state", type=click.Choice(ARCHIVE_STATES), default=None, help="只列出该状态的归档包")
@click.option("--limit", type=BoundedInt(1, 100_000), default=50, show_default=True, help="最多列出多少个")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每行一个）")
def list_command(state: str | None, limit: int, as_json: bool) -> None:
    """List archive packages, newest first: state, events covered, sha256, file or last error."""
    found = list_archives(get_engine(), state=state, limit=limit)
    if as_json:
        for info in found:
            click.echo(json.dumps(info.to_dict(), ensure_ascii=False))
        return
    labels = {"pending": "待生成", "building": "生成中", "built": "已生成", "failed": "失败"}
    for info in found:
        detail = f"{info.sha256[:16]}…  {info.path}" if info.sha256 else (info.last_error or "")
        events = "-" if info.event_seq is None else info.event_seq
        click.echo(f"{info.case_no}  {labels[info.state]}  事件 {events}  尝试 {info.attempts}  {detail}")
    click.echo(f"共 {len(found)} 个归档包")


@archive_group.command("verify", short_help="离线校验归档包（不需要数据库和配置）", help=(
    "离线校验归档包 FILE（不需要数据库和配置）；校验未通过时以状态 1 退出，并指出第一个问题。"))
@click.argument("file", type=PathParam(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def verify_command(file: Path, as_json: bool) -> None:
    """Check FILE offline (no database, no configuration); exit 1 and name the first problem when it fails."""
    check = verify_archive(file)
    if as_json:
        click.echo(json.dumps(check.to_dict(), ensure_ascii=False))
    elif check.ok:
        click.echo(f"归档信息包 {check.case_no}：完整（{check.entries} 个文件，{check.events} 个审计事件）")
        click.echo(f"  链头 {check.chain_head}")
        click.echo(f"  包 SHA-256 {check.sha256}")
    else:
        problem = check.problem
        click.echo(f"归档信息包 {check.case_no or file.name}：校验未通过")
        click.echo(f"  第一个问题：{problem.entry}：{problem.message}")
        if problem.expected is not None or problem.got is not None:
            click.echo(f"  应为：{problem.expected}")
            click.echo(f"  实际：{problem.got}")
    sys.exit(0 if check.ok else 1)


@click.group("export", cls=CliGroup, help="供分析用的导出，以流的方式写到标准输出。")
def export_group() -> None:
    """Exports for analysis, streamed to standard output."""


@export_group.command("events", short_help="导出一段时间的审计事件（个人信息已脱敏）", help=(
    "把 --from 至 --to（北京时间日期）的审计事件按 CSV 或 jsonl（每行一个 JSON）写到标准输出，个人信息已脱敏。"))
@with_appcontext
@click.option("--from", "start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="起始日期（含）")
@click.option("--to", "end", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="结束日期（含）")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
              help="输出格式：csv，或 jsonl（每行一个 JSON 对象）")
@click.option("--district", default=None, help="只导出该区县（业务属地）的办件")
def events_command(start: datetime, end: datetime, fmt: str, district: str | None) -> None:
    """Write the audit events from --from to --to (CST dates) as CSV or JSON lines, personal data masked."""
    query = ExportQuery(start.date(), end.date(), fmt, district)
    try:
        lines = export_events(get_engine(), query)
    except EngineError as exc:
        fail(exc)
    count = -1 if fmt == "csv" else 0
    for line in lines:
        click.echo(line, nl=False)
        count += 1
    click.echo(f"已导出 {count} 条事件（{query.start} 至 {query.end}）", err=True)
