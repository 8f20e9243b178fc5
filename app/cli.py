"""The ``tongban`` command: every operation runs through it (a Flask CLI group, tested with the CLI runner)."""
from __future__ import annotations

import copy
import json
import logging
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine import (
    Actor, DeployDefinitions, EngineError, LintDefinitions, MessageWorker, ROLES, TimerWorker, calendar_coverage,
    Versions, ensure_calendar_seeded, is_bundle_file, is_catalog_file, mask_id_number, run_forever,
    start_background, upgrade_database,
)

from .cli_applicants import applicants_group
from .cli_archive import archive_group, export_group
from .cli_audit import audit_group, verify_command
from .cli_calendar import calendar_group
from .cli_common import (
    VERSION, BoundedFloat, BoundedInt, ChineseHelp, CliCommand, CliGroup, PathParam, database_not_ready, fail, refuse,
    usage_refusal,
)
from .cli_drafts import drafts_group
from .cli_grants import grants_group
from .cli_history import history_command
from .cli_messages import messages_group
from .cli_metrics import metrics_group, report_group
from .cli_org import org_group
from .cli_ratings import ratings_group
from .cli_timers import timers_group
from .cli_replay import replay_command
from .cli_versions import actor_named, diff_command, dryrun_command, migrate_cases, versions_command
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


@click.command("deploy", cls=CliCommand, short_help="部署流程图、表单、事项目录和一件事映射文件", help=(
    "部署流程图（BPMN）、表单、事项目录（matters.yaml）和一件事映射（bundle.yaml）文件；"
    "不给 PATHS 时部署随附的全部文件。"))
@with_appcontext
@click.argument("paths", nargs=-1, type=PathParam(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON 报告")
@click.option("--as", "as_user", help="以该用户（须为流程设计人员）的名义部署，记入部署日志")
def deploy_command(paths: tuple[Path, ...], as_json: bool, as_user: str | None) -> None:
    """Deploy BPMN, form, matter catalog (matters.yaml) and bundle (bundle.yaml) files; no PATH: all shipped."""
    engine = get_engine()
    actor = actor_named(as_user, Actor.system())
    if paths:
        bpmn, forms = _collect(paths)
    else:
        bpmn, forms = engine.shipped_files()
    if not bpmn and not forms:
        _nothing_found(paths)
    try:
        report = engine.handle(DeployDefinitions(tuple(bpmn), tuple(forms), actor=actor))
    except EngineError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps([line.to_dict() for line in report], ensure_ascii=False, indent=2))
        return
    for line in report:
        click.echo(f"{line.kind:8} {line.key:32} v{line.version:<4} {line.content_hash[:12]}  {line.message}")


@click.command("lint", cls=CliCommand, short_help="检查流程图、表单、事项目录和一件事映射文件，不部署", help=(
    "检查流程图（BPMN）、表单、matters.yaml 和 bundle.yaml 文件，不部署；不给 PATHS 时检查随附的全部文件。\n\n"
    "退出状态：没有错误时为 0（可以有警告），有错误时为 1，用法有误时为 2。"))
@with_appcontext
@click.argument("paths", nargs=-1, type=PathParam(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每条问题一个对象）")
def lint_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check BPMN, form, matters.yaml and bundle.yaml files without deploying; no PATH: all shipped.

    Exit status 0 when there is no error (warnings allowed), 1 when there is one, 2 on bad usage.
    """
    engine = get_engine()
    bpmn, forms = _collect(paths) if paths else engine.shipped_files()
    if not bpmn and not forms:
        _nothing_found(paths)
    findings = engine.handle(LintDefinitions(tuple(bpmn), tuple(forms)))
    errors = sum(1 for f in findings if f.severity == "error")
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for f in findings:
            where = f"{f.file or '-'}" + (f":{f.line}" if f.line else "")
            click.echo(f"{'错误' if f.severity == 'error' else '警告'}  {f.code:26} {where:36} "
                       f"{f.element_id or '-':24} {f.message}")
        click.echo(f"共检查 {len(bpmn) + len(forms)} 个文件：{errors} 个错误，{len(findings) - errors} 个警告")
    sys.exit(1 if errors else 0)


def _nothing_found(paths: tuple[Path, ...]) -> NoReturn:
    where = "、".join(str(p) for p in paths) or "随附的 processes/ 和 forms/"
    refuse("INVALID_INPUT", f"{where} 中没有找到 .bpmn、.form、matters.yaml 或 bundle.yaml 文件",
           paths=[str(p) for p in paths])


def _collect(paths: tuple[Path, ...]) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    bpmn, forms = [], []
    for path in paths:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.suffix == ".bpmn" or is_catalog_file(file.name) or is_bundle_file(file.name):
                # Relative names: every process folder has its own main.bpmn, matters.yaml and bundle.yaml.
                name = str(file.relative_to(path)) if path.is_dir() else file.name
                bpmn.append((name, file.read_bytes()))
            elif file.suffix == ".form":
                forms.append((file.name, file.read_bytes()))
    return bpmn, forms


@click.group("users", cls=CliGroup, help="管理用户。")
def users_group() -> None:
    """Manage users."""


@users_group.command("create", help=(
    "在已有的区县和部门中创建用户。窗口人员、审查人员、科室负责人和电子监察人员须填写区县和部门"
    "（市级人员填写区县 500000）；区县政府负责人（government_head）须填写区县；姓名不能为空。"))
@with_appcontext
@click.argument("username")
@click.option("--name", "display_name", required=True, help="显示姓名")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="角色，可重复")
@click.option("--district", help="区县代码（GB/T 2260 代码或 CQ- 开头的功能区代码；见 tongban org show）")
@click.option("--department", help="部门代码（须是该区县已有的部门）")
@click.option("--password", help="登录密码（至少 8 位）")
@click.option("--id-number", help="居民身份证号（18 位，可选）")
def users_create(username: str, display_name: str, roles: tuple[str, ...], district: str | None,
                 department: str | None, password: str | None, id_number: str | None) -> None:
    """Create a user in an existing district and department."""
    try:
        get_engine().identity.create_user(username, display_name=display_name, roles=roles, district=district,
                                          department=department, password=password, id_number=id_number,
                                          require_placement=True)
    except EngineError as exc:
        fail(exc)
    click.echo(f"已创建用户 {username}")


@users_group.command("list", help="列出用户（身份证号已脱敏）。")
@with_appcontext
@click.option("--district", help="只列出该区县的用户")
@click.option("--role", type=click.Choice(ROLES), help="只列出持有该角色的用户")
def users_list(district: str | None, role: str | None) -> None:
    """List users (ID numbers masked)."""
    try:
        users = get_engine().identity.list_users(district=district, role=role)
    except EngineError as exc:
        fail(exc)
    for user in users:
        click.echo(f"{user.username:20} {user.display_name:10} {user.district or '-':8} "
                   f"{user.department or '-':10} {','.join(user.roles):24} "
                   f"{mask_id_number(user.id_number) if user.id_number else '-'}")


@click.group("tokens", cls=CliGroup, help="管理 API 令牌。")
def tokens_group() -> None:
    """Manage API bearer tokens."""


@tokens_group.command("create", short_help="为用户签发 API 令牌",
                      help="为 USERNAME 签发 API 令牌（只打印这一次；数据库只保存它的哈希值）。")
@with_appcontext
@click.argument("username")
@click.option("--label", help="用途说明")
def tokens_create(username: str, label: str | None) -> None:
    """Issue an API token for USERNAME (printed once; only its hash is stored)."""
    try:
        token = get_engine().identity.create_token(username, label=label)
    except EngineError as exc:
        fail(exc)
    click.echo(token)


@click.group("demo", cls=CliGroup, help="演示数据。")
def demo_group() -> None:
    """Demo data."""


@demo_group.command("seed", help="创建演示用户（已有的不重复创建）并打印其登录信息。")
@with_appcontext
def demo_seed() -> None:
    """Create the demo users (idempotent) and print their logins."""
    from .demo import seed_demo
    for line in seed_demo(get_engine(), Path(current_app.instance_path)):
        click.echo(line)


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
        aside = f"（{result.set_aside} 个定时器已搁置，见 tongban timers list --failed）" if result.set_aside else ""
        click.echo(f"已处理 {result.cases} 个办件的到期定时器，失败 {result.failed} 个{aside}；"
                   f"新开督办 {result.supervised} 个办件；生成归档包 {built} 个，失败 {failed} 个；"
                   f"封存链头 {sealed} 个；日汇总 {periodic.rolled_up_days} 天，新生成通报 {periodic.reports} 份")
        sent = MessageWorker(engine).sweep()
        click.echo(f"已投递消息 {sent.delivered} 条，缓存待重试 {sent.buffered} 条，失败 {sent.failed} 条")
        return
    click.echo(f"工作进程（定时器与消息）启动，间隔 {interval} 秒；Ctrl+C 退出")
    run_forever(engine, interval=interval)


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


