"""``tongban verify``: check the tamper-evident hash chain of one case or of every case."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from engine import EngineError, verify_all, verify_case

from .runtime import get_engine


@click.command("verify")
@with_appcontext
@click.argument("case", required=False)
@click.option("--all", "every", is_flag=True, help="检查全部办件")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每行一个办件）")
def verify_command(case: str | None, every: bool, as_json: bool) -> None:
    """Verify the audit chain of CASE (id or 办件编号) or of --all cases; exit 1 when any link is broken."""
    if bool(case) == every:
        click.echo("错误 [INVALID_INPUT]：请指定一个办件（编号或 id），或使用 --all", err=True)
        sys.exit(2)
    engine = get_engine()
    try:
        results = [verify_case(engine, case)] if case else verify_all(engine)
        checked = broken = events = 0
        for result in results:
            checked += 1
            events += result.checked
            broken += not result.ok
            if as_json:
                click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
            elif not result.ok:
                click.echo(f"办件 {result.case_no}：链条断裂于第 {result.broken_seq} 个事件：{result.reason}")
            elif case:
                click.echo(f"办件 {result.case_no}：完整（{result.checked} 个事件）")
    except EngineError as exc:
        click.echo(f"错误 [{exc.code}]：{exc.message}", err=True)
        sys.exit(2)
    if not as_json and every:
        verdict = "全部完整" if not broken else f"{broken} 个办件被篡改"
        click.echo(f"已检查 {checked} 个办件、{events} 个事件：{verdict}")
    sys.exit(1 if broken else 0)
