"""``tongban history``: a case's history in the terminal: chain check, path taken, events with both clocks."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from engine import Actor, EngineError, load_case_history, write_history

from .cli_common import CliGroup, fail
from .cli_types import EVENT_SEQ, CaseRef, PathParam
from .pages.labels import CASE_STATUSES, CLOCK_STATUSES, CLOCKS_SHORT, EVENTS, TASK_STATES, when
from .runtime import get_engine

# The terminal is a list like any other: ID numbers are masked (engine.masking), so no auditor role here.
CLI_ACTOR = Actor("cli", ("admin",), None, None)
HISTORY_CASE = CaseRef()
"""A case as ``engine.history.find`` names it; an unknown one is ``NOT_FOUND``, as in every other command."""


class _ShowByDefault(CliGroup):
    """``tongban history CASE`` shows a case; ``tongban history export CASE -o FILE`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("history", cls=_ShowByDefault, short_help="办件的办理历史：显示，或导出为历史文件", help=(
    "办件的办理历史：显示（tongban history CASE），或导出为文件（tongban history export CASE -o FILE）。"))
def history_command() -> None:
    """A case's history: show it (history CASE), or export it to a file (history export CASE -o FILE)."""


@history_command.command("export", short_help="导出办件的历史文件（离线重放和校验用）", help=(
    "写出办件 CASE 的历史文件：办件本身、带哈希的各个事件，以及重放时要预置的全部数据行。"))
@with_appcontext
@click.argument("case", type=HISTORY_CASE)
@click.option("-o", "--output", "output", required=True,
              type=PathParam(dir_okay=False, path_type=Path),
              help="写入的历史文件（JSON）")
def export_command(case: str, output: Path) -> None:
    """Write CASE's history file: the case, its events with hashes, and every row its replay seeds."""
    engine = get_engine()
    try:
        history = load_case_history(engine.database, engine.history.find(case))
    except EngineError as exc:
        fail(exc)
    try:
        write_history(history, output)
    except EngineError as exc:   # HISTORY_FILE_UNWRITABLE, the reason in Chinese
        fail(exc)
    click.echo(f"已导出办件 {history.case_no} 的历史（{len(history.events)} 个事件）到 {output}")


@history_command.command("show", short_help="打印办件的办理历史，或某条事件时的状态", help=(
    "打印办件 CASE（id 或办件编号）的办理历史；使用 --state N 时打印第 N 条事件时办件的状态。"))
@with_appcontext
@click.argument("case", type=HISTORY_CASE)
@click.option("--state", "seq", type=EVENT_SEQ, default=None, help="显示第 N 条事件时办件的状态（由重放重建）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def show_command(case: str, seq: int | None, as_json: bool) -> None:
    """Print the history of CASE (id or 办件编号), or with --state N the case as of event N."""
    history = get_engine().history
    try:
        case_id = history.find(case)
        if seq is not None:
            _print_state(history.state_at(CLI_ACTOR, case_id, seq), as_json)
            return
        overview = history.overview(CLI_ACTOR, case_id)
        events, after = [], 0
        while after is not None:
            page = history.timeline(CLI_ACTOR, case_id, after=after, limit=500)
            events += page.events
            after = page.next_after
    except EngineError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps({"case": overview.case, "integrity": overview.integrity.to_dict(),
                               "path": overview.path, "events": events}, ensure_ascii=False, default=str))
        return
    c, check = overview.case, overview.integrity
    verdict = f"记录完整（{check.checked} 个事件）" if check.ok else f"第 {check.broken_seq} 条断链：{check.reason}"
    click.echo(f"办件 {c['case_no']}（{c['process_key']} 第 {c['definition_version']} 版）：{verdict}")
    click.echo("路径：" + " → ".join(f"{p['name'] or p['element_id']}×{p['count']}" for p in overview.path))
    for event in events:
        click.echo(_line(event))
    sys.exit(0 if check.ok else 1)


def _line(event: dict[str, Any]) -> str:
    actor = event["actor"] or {}
    who = f"{actor.get('display_name') or actor.get('username') or '系统'}（{actor.get('district') or '—'}）"
    where = event["element_name"] or event["element_id"] or "、".join(p["name"] or p["element_id"]
                                                                       for p in event["passed"]) or "—"
    clocks = " ".join(_clock(c) for c in event["clocks"])
    if event.get("calendar_note"):
        clocks += f"（{event['calendar_note']}）"
    data = f" {json.dumps(event['data'], ensure_ascii=False)}" if event["data"] else ""
    return f"#{event['seq']:<4} {when(event['occurred_at'])}  {EVENTS.get(event['event_type'], event['event_type'])}" \
           f"  {where}  {who}  {clocks}{data}"


def _clock(c: dict[str, Any]) -> str:
    kind = CLOCKS_SHORT.get(c["kind"], c["kind"])
    if c["state"] == "not_started":
        return f"{kind}:未起算"
    return f"{kind}:{CLOCK_STATUSES.get(c['state'], c['state'])} 剩{c['left']}/用{c['used']}"


def _print_state(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(state, ensure_ascii=False, default=str))
        return
    click.echo(f"第 {state['seq']} 条（{EVENTS.get(state['event_type'], state['event_type'])}，"
               f"{when(state['occurred_at'])}）所在操作完成后（至第 {state['through_seq']} 条）："
               f"办件{CASE_STATUSES.get(state['status'], state['status'])}")
    click.echo("时限：" + (" ".join(_clock(c) for c in state["clocks"]) or "无")
               + (f"（{state['calendar_note']}）" if state.get("calendar_note") else ""))
    for task in state["tasks"]:
        who = task["completed_by_name"] or task["assignee_name"] or "待认领"
        label = TASK_STATES.get(task["state"], task["state"])
        click.echo(f"  任务 {task['element_name'] or task['name']}：{label}，{who}")
    click.echo("数据：" + json.dumps(state["data"], ensure_ascii=False, sort_keys=True))
