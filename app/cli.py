"""The ``tongban`` command: every operation runs through it (a Flask CLI group, tested with the CLI runner).

This module builds the group (Chinese help for Flask's own options and commands, ``--version``) and holds the
server's own commands: migrate, run, worker, bench. Every other command lives in an ``app/cli_<topic>.py``
module and is attached by :func:`register_cli`; deploy and lint moved to :mod:`app.cli_deploy`, users, tokens
and demo to :mod:`app.cli_users`.
"""
from __future__ import annotations

import copy
import logging
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine import (
    DeployDefinitions, EngineError, MessageWorker, TimerWorker, Versions, calendar_coverage, ensure_calendar_seeded,
    run_forever, start_background, upgrade_database,
)

from .cli_applicants import applicants_group
from .cli_archive import archive_group, export_group
from .cli_audit import audit_group, verify_command
from .cli_calendar import calendar_group
from .cli_common import CliCommand, CliGroup, database_not_ready, fail, refuse, usage_refusal
from .cli_deploy import deploy_command, lint_command
from .cli_drafts import drafts_group
from .cli_grants import grants_group
from .cli_help import ChineseHelp
from .cli_history import history_command
from .cli_messages import messages_group
from .cli_metrics import metrics_group, report_group
from .cli_org import org_group
from .cli_ratings import ratings_group
from .cli_timers import timers_group
from .cli_replay import replay_command
from .cli_types import VERSION, BoundedFloat, BoundedInt, PathParam
from .cli_users import demo_group, tokens_group, users_group
from .cli_versions import diff_command, dryrun_command, migrate_cases, versions_command
from .runtime import engine_config, get_engine

log = logging.getLogger("tongban.cli")


FLASK_OPTIONS_ZH = {
    "env_file": "从该文件加载环境变量（环境中已设置的变量优先）；需要安装 python-dotenv",
    "app": "（Flask 的选项）要加载的应用或工厂函数，形如 module:name；tongban 总是加载自己的应用，此选项不起作用",
    "debug": "开启或关闭 Flask 的调试模式（不给时按环境变量 FLASK_DEBUG）",
}
"""Chinese help of the options FlaskGroup adds (-e/--env-file, -A/--app, --debug/--no-debug), by parameter name."""


def with_help(param: click.Parameter, text: str) -> click.Parameter:
    """A copy of ``param`` (Flask's or an extension's, shared with every other user of it) with ``text`` as help."""
    twin = copy.copy(param)
    twin.help = text  # type: ignore[attr-defined]
    return twin


def in_chinese(command: click.Command, text: str, short_help: str | None = None, *,
               params: dict[str, str] | None = None, commands: list[click.Command] | None = None) -> click.Command:
    """Flask's or an extension's ``command`` as a tongban command, with Chinese help; it runs the same callback.

    ``params`` gives the Chinese help of its parameters by name; a group's ``commands`` are its subcommands, each
    already given in Chinese.
    """
    params = dict(params or {})
    unknown = set(params) - {param.name for param in command.params}
    if unknown:
        raise ValueError(f"{command.name} has no parameter {', '.join(sorted(unknown))}")
    twins = [with_help(param, params[param.name]) if param.name in params else param for param in command.params]
    if isinstance(command, click.Group):
        return CliGroup(command.name, commands=commands or [], callback=command.callback, params=twins, help=text,
                        short_help=short_help)
    return CliCommand(command.name, callback=command.callback, params=twins, help=text, short_help=short_help)


class TongbanGroup(ChineseHelp, FlaskGroup):
    """The ``tongban`` group: a database that is missing or not migrated gets a clear message, not a traceback.

    Its help page is in Chinese (:class:`ChineseHelp`), Flask's own options included (:data:`FLASK_OPTIONS_ZH`).
    """

    def __init__(self, **extra: Any) -> None:
        super().__init__(**extra)
        self.params = [with_help(param, FLASK_OPTIONS_ZH[param.name]) if param.name in FLASK_OPTIONS_ZH else param
                       for param in self.params]

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; translate "no such table" and "cannot connect" into what to do next.

        A :class:`CliCommand` does this itself (so that ``--json`` is honoured); this catches the rest.
        """
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            refusal = database_not_ready(exc)
            if refusal is None:
                raise
            raise refusal from None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                           list[str]]:
        """An unknown command is refused in Chinese (``INVALID_INPUT``), as in every subgroup."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            raise usage_refusal(exc, as_json=False, ctx=ctx) from None


def tongban_version() -> str:
    """The installed package's version (setup.cfg ``[metadata] version``), or a note when it is not installed."""
    try:
        return version("tongban")
    except PackageNotFoundError:
        return "（未安装：请在项目目录运行 pip install -e .）"


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"tongban {tongban_version()}\nPython {platform.python_version()}\nFlask {version('flask')}\n"
               f"Werkzeug {version('werkzeug')}", color=ctx.color)
    ctx.exit()


VERSION_OPTION = click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                              callback=_print_version,
                              help="显示 tongban 的版本（以及 Python、Flask、Werkzeug 的版本）后退出")


def build_group() -> TongbanGroup:
    """The ``tongban`` command group, as the console script runs it."""
    from . import create_app
    group = TongbanGroup(create_app=lambda: create_app(), add_default_commands=False, load_dotenv=False,
                         add_version_option=False, params=[VERSION_OPTION],
                         help="tongban 通办：政务服务事项审批引擎。每个操作都是一个子命令。")
    group.add_command(in_chinese(
        shell_command, "在应用上下文中启动交互式 Python 解释器，命名空间由应用按其配置预先填好。\n\n"
        "用于执行少量管理代码，无需手动配置应用。", "在应用上下文中启动交互式 Python 解释器"))
    group.add_command(in_chinese(
        routes_command, "列出应用注册的全部路由：端点、HTTP 方法和规则。", params={
            "sort": "路由的排序方式；match 为 Flask 分派请求时匹配路由的顺序",
            "all_methods": "也列出 HEAD 和 OPTIONS 方法"}))
    return group


def _openapi_in_chinese(group: click.Group) -> click.Command:
    """flask-smorest's ``openapi`` group (print, write, list-config-prefixes) with Chinese help."""
    options = {"format": "输出格式（默认 json）", "config_prefix": "API 的配置前缀（默认为空：本应用只有一个 API）"}
    texts = {"print": ("打印 OpenAPI 文档（JSON，或 --format yaml 时为 YAML）。", "打印 OpenAPI 文档", options),
             "write": ("把 OpenAPI 文档写入文件 OUTPUT_FILE（JSON，或 --format yaml 时为 YAML）。",
                       "把 OpenAPI 文档写入文件", options),
             "list-config-prefixes": ("列出可用的 API 配置前缀。", None, {})}
    subcommands = [in_chinese(command, texts[name][0], texts[name][1], params=texts[name][2])
                   for name, command in group.commands.items()]
    return in_chinese(group, "OpenAPI 文档：打印、写入文件、列出 API 配置前缀。", commands=subcommands)


def main() -> None:
    """Entry point of the ``tongban`` console script."""
    build_group()(prog_name="tongban")


def register_cli(app: Flask) -> None:
    """Attach every tongban command to ``app.cli``."""
    for command in (migrate_command, deploy_command, lint_command, users_group, tokens_group, demo_group,
                    run_command, worker_command, bench_command, calendar_group, verify_command, replay_command,
                    org_group, grants_group, history_command, messages_group, versions_command, diff_command,
                    dryrun_command, drafts_group, archive_group, audit_group, export_group, ratings_group,
                    metrics_group, report_group, applicants_group, timers_group):
        app.cli.add_command(command)
    openapi = app.cli.commands.get("openapi")       # flask-smorest's, added by register_api before this
    if isinstance(openapi, click.Group):
        app.cli.add_command(_openapi_in_chinese(openapi))


@click.command("migrate", cls=CliCommand, short_help="升级数据库结构，或把办件迁移到流程的另一个版本", help=(
    "不给 PROCESS_KEY 时：把数据库结构升级到最新版本（alembic）。\n\n"
    "给出 PROCESS_KEY 时：把该流程办理中的办件从 --from 版本迁移到 --to 版本"
    "（版本见 tongban versions 和 tongban diff）。"))
@with_appcontext
@click.argument("process_key", required=False)
@click.option("--from", "from_version", type=VERSION, help="迁移办件：源版本")
@click.option("--to", "to_version", type=VERSION, help="迁移办件：目标版本")
@click.option("--cases", multiple=True, help="迁移办件：办件编号或 id，逗号分隔，可重复")
@click.option("--all", "every", is_flag=True, help="迁移办件：源版本上所有办理中的办件")
@click.option("--dry-run", is_flag=True, help="迁移办件：只检查，列出可迁移与不可迁移的办件及原因")
@click.option("--batch", default=50, show_default=True, type=BoundedInt(1, Versions.max_batch, "批量大小"),
              help="迁移办件：每批办件数")
@click.option("--as", "as_user", help="迁移办件：以该用户（须为系统管理员）的名义，记入日志")
def migrate_command(process_key: str | None, from_version: int | None, to_version: int | None,
                    cases: tuple[str, ...], every: bool, dry_run: bool, batch: int, as_user: str | None) -> None:
    """Without KEY: bring the database schema to the newest revision (alembic upgrade head).

    With PROCESS_KEY: migrate its running cases from --from to --to (see ``tongban versions`` and ``diff``).
    """
    if process_key is not None:
        migrate_cases(process_key, from_version, to_version, cases, every, dry_run, batch, as_user)
        return
    if from_version or to_version or cases or every or dry_run or as_user:
        refuse("INVALID_INPUT", "迁移办件请给出流程标识：tongban migrate KEY --from V1 --to V2 ...")
    url = engine_config(current_app).database_url
    upgrade_database(url)
    click.echo(f"数据库已迁移到最新版本：{_safe_url(url)}")
    added = get_engine().org.ensure_seeded()
    if added:
        click.echo(f"已补充 {added} 条区县和部门（engine/data/districts.yaml）")
    seeded = ensure_calendar_seeded(get_engine())
    if seeded:
        click.echo(f"已载入 {len(seeded)} 个年度的法定节假日安排（chinesecalendar）")
    filled = get_engine().backfill_metric_facts()
    if filled:
        click.echo(f"已为 {filled} 个早先的办件补算效能统计字段，并重建日汇总")


@click.command("run", cls=CliCommand, short_help="迁移、部署、创建演示用户，然后启动 Web 应用",
               help="迁移数据库，部署随附的流程和表单，创建演示用户，然后启动 Web 应用。")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True, help="监听的地址")
@click.option("--port", default=5000, show_default=True, type=BoundedInt(1, 65535, "端口号"), help="监听的端口")
@click.option("--threads", default=8, show_default=True, type=BoundedInt(1, 1000, "线程数"),
              help="处理请求的线程数")
def run_command(host: str, port: int, threads: int) -> None:
    """Migrate, deploy the shipped processes and forms, seed demo users, then serve the web app."""
    from .demo import seed_demo
    from waitress import serve
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not os.environ.get("TONGBAN_SESSION_COOKIE_SECURE"):
        # This server speaks plain HTTP; a Secure cookie would never come back and no one could log in.
        app.config["SESSION_COOKIE_SECURE"] = False
        click.echo("提示：本机 HTTP 运行，会话 Cookie 未设 Secure；经 HTTPS 反向代理部署时请设 "
                   "TONGBAN_SESSION_COOKIE_SECURE=true")
    url = engine_config(app).database_url
    upgrade_database(url)
    engine = get_engine()
    engine.org.ensure_seeded()
    ensure_calendar_seeded(engine)
    engine.backfill_metric_facts()
    bpmn, forms = engine.shipped_files()
    try:
        engine.handle(DeployDefinitions(tuple(bpmn), tuple(forms)))
    except EngineError as exc:
        fail(exc)
    for line in seed_demo(engine, Path(app.instance_path)):
        click.echo(line)
    _warn_calendar_coverage(engine)
    scheduler = start_background(engine)
    click.echo("定时器工作进程已在本进程内启动（每秒检查一次到期定时器和督办）")
    click.echo(f"tongban 已启动：http://{host}:{port}/ 登录办理，API 文档 http://{host}:{port}/api/docs"
               f"  （数据库 {_safe_url(url)}；Ctrl+C 退出）")
    try:
        serve(app, host=host, port=port, threads=threads, ident="tongban")
    finally:
        scheduler.shutdown(wait=False)


def _warn_calendar_coverage(engine: Any) -> None:
    coverage = calendar_coverage(engine)
    if not coverage.ok:
        log.warning("法定工作日日历未覆盖 %s 至 %s：缺少 %s 年的节假日安排", coverage.today, coverage.horizon,
                    "、".join(str(year) for year in coverage.missing_years))
        click.echo(f"警告：{coverage.warning()}", err=True)


@click.command("worker", cls=CliCommand, short_help="工作进程：触发到期的定时器，投递到期的消息", help=(
    "触发到期的 BPMN 定时器，投递到期的消息；可在 Web 进程之外同时运行任意多个。"))
@with_appcontext
@click.option("--once", is_flag=True, help="处理一次到期的定时器、待生成的归档包和待封存的链头后退出")
@click.option("--interval", default=1.0, show_default=True, type=BoundedFloat(0.1, 3600, "秒数"),
              help="检查间隔（秒，0.1 至 3600）")
def worker_command(once: bool, interval: float) -> None:
    """Fire due BPMN timers and deliver due messages; run any number of these next to the web processes."""
    engine = get_engine()
    _warn_calendar_coverage(engine)
    if once:
        worker = TimerWorker(engine)
        result = worker.sweep()
        built, failed = worker.build_archives(limit=1000)
        sealed = worker.seal()
        periodic = worker.periodic()
        click.echo(_timer_line(result, built, failed, sealed, periodic))
        click.echo(_message_line(MessageWorker(engine).sweep()))
        return
    click.echo(f"工作进程（定时器与消息）启动，间隔 {interval} 秒；Ctrl+C 退出")
    run_forever(engine, interval=interval)


def _timer_line(result: Any, built: int, failed: int, sealed: int, periodic: Any) -> str:
    """What ``worker --once`` did besides messages: every count of the sweep (failures only when there were some)."""
    aside = f"（{result.set_aside} 个定时器已搁置，见 tongban timers list --failed）" if result.set_aside else ""
    unsupervised = f"（{result.supervision_failed} 个办件督办失败，稍后重试）" if result.supervision_failed else ""
    unrecounted = f"（{result.recount_failed} 个办件补算失败，稍后重试）" if result.recount_failed else ""
    return (f"已处理 {result.cases} 个办件的到期定时器，失败 {result.failed} 个{aside}；"
            f"新开督办 {result.supervised} 个办件{unsupervised}；"
            f"按现行节假日安排补算期限 {result.recounted} 个办件{unrecounted}；"
            f"逾期未告知补正、视为受理并开始计时 {result.deemed} 个办件；生成归档包 {built} 个，失败 {failed} 个；"
            f"封存链头 {sealed} 个；日汇总 {periodic.rolled_up_days} 天，新生成通报 {periodic.reports} 份")


def _message_line(sent: Any) -> str:
    """What ``worker --once`` did with messages, by outcome (refusals and poison only when there were some)."""
    rejected = sent.other.get("rejected", 0)
    poison = f"（其中 {sent.poison} 条多次失败已搁置，见 tongban messages list --state poison）" if sent.poison else ""
    return (f"已投递消息 {sent.delivered} 条，缓存待重试 {sent.buffered} 条，已过期 {sent.other.get('expired', 0)} 条，"
            f"无法投递 {sent.other.get('undeliverable', 0)} 条，{f'签名无效拒收 {rejected} 条，' if rejected else ''}"
            f"失败 {sent.failed} 条{poison}")


@click.command("bench", cls=CliCommand, short_help="运行基准测试，打印对比表并写入结果文件",
               help="并列运行各项基准测试，打印对比表格，并把结果写入 bench/results.json（或 --output）。")
@with_appcontext
@click.option("--quick", is_flag=True, help="少量样本，用于冒烟测试")
@click.option("--postgresql-url", envvar="TONGBAN_BENCH_POSTGRESQL_URL",
              default="postgresql+psycopg://postgres@127.0.0.1:5432/test", show_default=True,
              help="PostgreSQL 部分所用的数据库（也可用环境变量 TONGBAN_BENCH_POSTGRESQL_URL 指定）")
@click.option("--output", type=PathParam(path_type=Path), default=Path("bench/results.json"),
              show_default=True, help="写入结果的 JSON 文件")
@click.option("--only", type=click.Choice(["approval", "inbox", "history", "handoffs", "dashboard", "audit",
                                          "postgres-floor"]),
              default=None, help="只运行一项基准（approval：审批办件四项对比；inbox：百万待办收件箱；"
                   "history：千条事件的办理历史；handoffs：一万次异地移交；dashboard：百万办件效能汇总；"
                   "audit：千条事件的重放与十万办件的链条校验；postgres-floor：重放引擎的 SQL，"
                   "量出 PostgreSQL 部分的下限），结果并入 --output")
def bench_command(quick: bool, postgresql_url: str, output: Path, only: str | None) -> None:
    """Run the benchmarks side by side, print a table and write bench/results.json."""
    from bench.run import main as run_bench
    run_bench(quick=quick, postgresql_url=postgresql_url, output=output, echo=click.echo, only=only)


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


