"""``tongban replay``: re-run one case or every case from its recorded inputs and compare every effect."""
from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine import EngineError, Replayer, ReplayResult, clipped, read_history, shown_json

from .cli_common import CliCommand, fail, refuse
from .cli_types import CASE, PathParam
from .runtime import get_engine

log = logging.getLogger(__name__)

VALUE_CHARS = 64
"""How much of each text or number of an event a divergence shows (a SHA-256 in hex whole, then ``…``)."""
MESSAGE_CHARS = 300
"""How much of a divergence's explanation is shown (it may quote an event type from the file)."""


@click.command("replay", cls=CliCommand, short_help="重放办件并与记录比对：一个、全部或历史文件", help=(
    "重放办件 CASE（id 或办件编号）、全部办件（--all）或历史文件（--file）；"
    "有办件不一致时以状态 1 退出，输入有误时为 2。"))
@with_appcontext
@click.argument("case", required=False, type=CASE)
@click.option("--all", "every", is_flag=True, help="重放全部办件")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="与 --all 一起使用：只重放该日（含）以后开始的办件，格式 YYYY-MM-DD")
@click.option("--file", "files", multiple=True, type=PathParam(dir_okay=False, path_type=Path),
              help="从历史文件重放（tongban history export 导出），可重复；不读取数据库中的办件")
def replay_command(case: str | None, every: bool, since: datetime | None, files: tuple[Path, ...]) -> None:
    """Replay CASE (id or 办件编号), --all cases or history --file FILEs; exit 1 when any diverges, 2 on bad input."""
    if (bool(case) + every + bool(files)) != 1 or (since is not None and not every):
        refuse("INVALID_INPUT", "请指定一个办件（编号或 id），或使用 --all [--since 日期]，或使用 --file 历史文件")
    engine = get_engine()
    if files:
        _replay_files(engine, files)
    with Replayer(engine) as replayer:
        try:
            if case:
                result = replayer.replay_case(case)
                click.echo(_describe(result))
                sys.exit(0 if result.identical else 1)
            cases = replayer.cases(since.date() if since else None)
        except EngineError as exc:
            fail(exc)
        diverged, refused, failed = [], [], []
        with click.progressbar(cases, label="重放办件", file=sys.stderr) as bar:
            for case_id, case_no in bar:
                try:
                    result = replayer.replay_case(case_id)
                except EngineError as exc:   # refused (a changed definition, a lost calendar): go on with the rest
                    refused.append((case_no, exc))
                    continue
                except Exception as exc:    # a fault of replay itself: one case must not stop an audit of all
                    log.exception("replay of case %s failed", case_no)
                    failed.append((case_no, exc))
                    continue
                if not result.identical:
                    diverged.append(result)
    for result in diverged:
        click.echo(f"办件 {result.case_no}：{_describe(result)}")
    for case_no, exc in refused:
        click.echo(f"办件 {case_no}：错误 [{exc.code}]：{exc.message}", err=True)
    for case_no, exc in failed:
        click.echo(f"办件 {case_no}：错误 [REPLAY_FAILED]：重放时出现内部错误（{type(exc).__name__}: {exc}），"
                   "请将此信息报告给系统维护人员", err=True)
    verdict = "、".join(filter(None, (f"{len(diverged)} 个办件不一致" if diverged else "",
                                      f"{len(refused)} 个办件拒绝重放" if refused else "",
                                      f"{len(failed)} 个办件重放出错" if failed else ""))) or "全部一致"
    click.echo(f"已重放 {len(cases)} 个办件：{verdict}")
    sys.exit(2 if refused or failed else 1 if diverged else 0)


def _replay_files(engine: object, files: tuple[Path, ...]) -> None:
    """Replay each history file (all read and checked first); one verdict per file, prefixed when several.

    A file replay refuses (exit 2, its code) or fails on (exit 2, ``REPLAY_FAILED``, logged) is reported and the
    others still replayed.
    """
    try:
        histories = [(path, read_history(path)) for path in files]
    except EngineError as exc:
        fail(exc)
    diverged = refused = 0
    with Replayer(engine) as replayer:
        for path, history in histories:
            prefix = f"{path}（办件 {clipped(history.case_no)}）：" if len(files) > 1 else ""
            try:
                result = replayer.replay_history(history)
            except EngineError as exc:   # refused before or while replaying: a broken link, a year not carried
                refused += 1
                click.echo(f"{prefix}错误 [{exc.code}]：{exc.message}", err=True)
                continue
            except Exception as exc:    # a fault of replay itself: one file must not stop the others (as --all)
                log.exception("replay of history file %s failed", path)
                refused += 1
                click.echo(f"{prefix}错误 [REPLAY_FAILED]：重放时出现内部错误（{type(exc).__name__}: {exc}），"
                           "请将此信息报告给系统维护人员", err=True)
                continue
            diverged += not result.identical
            click.echo(prefix + _describe(result))
            click.echo(prefix + replayer.calendar_line(history))
    sys.exit(2 if refused else 1 if diverged else 0)


def _describe(result: ReplayResult) -> str:
    """The one-line verdict, followed by the recorded and replayed event where they differ.

    Both events come from the history (a file anyone may have written): each is :func:`~engine.file_echo.shown_json`,
    bounded and with every control character escaped, and so is the explanation.
    """
    found = result.divergence
    if found is None:
        return f"重放一致（{result.events} 个事件）"
    message = clipped(found.message, MESSAGE_CHARS)
    if found.reason == "unsupported":
        return f"重放无法进行：{message}"
    lines = [f"重放在第 {found.seq} 个事件处出现差异（{message}）",
             f"  记录：{_json(found.expected)}", f"  重放：{_json(found.got)}"]
    return "\n".join(lines)


def _json(event: dict | None) -> str:
    return "（无）" if event is None else shown_json(event, VALUE_CHARS)
