"""``tongban versions``, ``diff``, ``dryrun`` and the case half of ``migrate``: designers' and admins' tools."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from engine import CST, Actor, EngineError, is_bundle_file

from .cli_common import CliCommand, fail, refuse
from .cli_types import VERSION, PathParam, case_ref_problem
from .runtime import get_engine

ASPECTS_ZH = {"type": "类型", "name": "名称", "incoming": "流入", "outgoing": "流出", "extensions": "扩展属性",
              "expressions": "表达式"}


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def actor_named(username: str | None, fallback: Actor) -> Actor:
    """The user ``--as`` names (who the definition log records), or ``fallback``; exit 2 when unknown."""
    if username is None:
        return fallback
    actor = get_engine().identity.actor_for_username(username)
    if actor is None:
        refuse("NOT_FOUND", f"用户 {username} 不存在或已停用")
    return actor


@click.command("versions", cls=CliCommand, short_help="列出流程的各个版本及其办件数", help=(
    "列出流程 PROCESS_KEY 的各个版本：部署人和部署时间，办理中和已办结的办件数。"))
@with_appcontext
@click.argument("process_key")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def versions_command(process_key: str, as_json: bool) -> None:
    """List the versions of PROCESS_KEY: who deployed each and when, its running and completed cases."""
    try:
        listing = get_engine().versions.list(process_key)
    except EngineError as exc:
        fail(exc)
    if as_json:
        _print_json(listing)
        return
    click.echo(f"{listing['process_key']}（{listing['name']}）当前版本 v{listing['current_version']}")
    for v in listing["versions"]:
        mark = "*" if v["current"] else " "
        click.echo(f"{mark} v{v['version']:<4} {v['content_hash'][:12]}  {v['deployed_by'] or '-':12} "
                   f"{v['deployed_at'].astimezone(CST):%Y-%m-%d %H:%M}  办理中 {v['running_cases']:>5}  "
                   f"已办结 {v['cases'].get('completed', 0):>5}")
    for entry in listing["log"]:
        what = (f"部署 v{entry['version']}" if entry["action"] == "deploy" else
                f"迁移 v{entry['from_version']} → v{entry['version']}：迁移 {entry['detail'].get('migrated', 0)} 件，"
                f"拒绝 {entry['detail'].get('refused', 0)} 件")
        click.echo(f"  {entry['at'].astimezone(CST):%Y-%m-%d %H:%M}  {entry['actor']:12} {what}")


@click.command("diff", cls=CliCommand, short_help="逐个元素比较流程的两个版本",
               help="逐个元素列出流程 PROCESS_KEY 在两个版本（FROM_VERSION、TO_VERSION）之间的变化。")
@with_appcontext
@click.argument("process_key")
@click.argument("from_version", type=VERSION)
@click.argument("to_version", type=VERSION)
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（新增、删除、修改的元素 id 及详情）")
def diff_command(process_key: str, from_version: int, to_version: int, as_json: bool) -> None:
    """Show what changed in PROCESS_KEY between two versions, element by element."""
    try:
        diff = get_engine().versions.diff(process_key, from_version, to_version)
    except EngineError as exc:
        fail(exc)
    if as_json:
        _print_json(diff)
        return
    details = diff["details"]
    for label, key in (("新增", "added"), ("删除", "removed"), ("修改", "changed")):
        for element in diff[key]:
            info = details[element]
            aspects = "、".join(ASPECTS_ZH[c["aspect"]] for c in info.get("changes", []))
            click.echo(f"{label}  {element:28} {info['type']:18} {info['name'] or ''}"
                       + (f"  （{aspects}）" if aspects else ""))
    forms = diff["forms"]
    for key in forms["added"]:
        click.echo(f"表单新增  {key}")
    for key in forms["removed"]:
        click.echo(f"表单移除  {key}")
    for change in forms["changed"]:
        click.echo(f"表单改版  {change['key']:28} {change['from_hash'][:12]} → {change['to_hash'][:12]}")
    bundle, resources = diff["bundle"], diff["resources"]
    for label, key in (("一件事新增", "added"), ("一件事删除", "removed")):
        for entry in bundle[key]:
            click.echo(f"{label}  {entry['entry']:28} {_shown(entry['value'])}")
    for entry in bundle["changed"]:
        click.echo(f"一件事修改  {entry['entry']:28} {_shown(entry['from'])} → {_shown(entry['to'])}")
    for label, key in (("调用流程新增", "added"), ("调用流程删除", "removed"), ("调用流程修改", "changed")):
        for name in resources[key]:
            click.echo(f"{label}  {name}")
    summary = (f"v{from_version} → v{to_version}：新增 {len(diff['added'])}，删除 {len(diff['removed'])}，"
               f"修改 {len(diff['changed'])}，未变 {diff['unchanged']}；锁定表单新增 {len(forms['added'])}，"
               f"移除 {len(forms['removed'])}，改版 {len(forms['changed'])}")
    # Only versions that differ there say so: most processes have no bundle and call nothing.
    if any(bundle.values()):
        summary += (f"；一件事映射新增 {len(bundle['added'])}，删除 {len(bundle['removed'])}，"
                    f"修改 {len(bundle['changed'])}")
    if any(resources.values()):
        summary += (f"；调用流程新增 {len(resources['added'])}，删除 {len(resources['removed'])}，"
                    f"修改 {len(resources['changed'])}")
    click.echo(summary)


def _shown(value: Any) -> str:
    """A bundle entry's value as the diff prints it: text as is, lists and nothing as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@click.command("dryrun", cls=CliCommand, short_help="用场景文件试运行草稿，不触及真实数据", help=(
    "用场景文件试运行草稿（流程目录、.bpmn 文件或随附流程的标识）。\n\n"
    "不触及真实数据：每个场景在一次性的数据库中、用手动时钟运行。"
    "全部场景通过时退出状态为 0，有场景未通过时为 1，用法有误时为 2。"))
@with_appcontext
@click.argument("target")
@click.option("--scenario", "scenarios", multiple=True,
              type=PathParam(exists=True, dir_okay=False, path_type=Path),
              help="场景文件；可重复；默认为流程目录下 scenarios/*.yaml")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（每个场景一个结果）")
def dryrun_command(target: str, scenarios: tuple[Path, ...], as_json: bool) -> None:
    """Run a draft (a process folder, a .bpmn file or a shipped process key) against its scenarios.

    Nothing real is touched: each scenario runs in a throw-away database on a manual clock. Exit status 0
    when every scenario passes, 1 when one fails, 2 on bad usage.
    """
    engine = get_engine()
    folder, bpmn = _draft(Path(target), engine.config.processes_dir)
    if not folder.exists():
        refuse("NOT_FOUND", f"没有找到 {target}：既不是流程目录或 .bpmn 文件，"
                            f"也不是 {engine.config.processes_dir} 下的流程", target=target)
    if not bpmn:
        refuse("INVALID_INPUT", f"{folder} 中没有找到流程图（.bpmn）", target=target)
    chosen = list(scenarios) or sorted((folder / "scenarios").glob("*.y*ml"))
    if not chosen:
        where = folder / "scenarios"
        name = Path(target).name if Path(target).is_file() else folder.name
        refuse("INVALID_INPUT", f"{name} 没有场景文件：{where} 下没有找到 *.yaml 或 *.yml"
                                "（场景文件放在流程图所在目录的 scenarios/ 下，也可用 --scenario FILE 指定）",
               target=target, scenarios_dir=str(where))
    forms = [(p.name, p.read_bytes()) for p in sorted(engine.config.forms_dir.glob("*.form"))]
    forms += [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.form"))]
    results = [engine.dryruns.run(bpmn, forms, path.name, path.read_bytes()) for path in chosen]
    if as_json:
        _print_json([r.to_dict() for r in results])
    else:
        for path, result in zip(chosen, results):
            _describe(path, result)
    sys.exit(0 if all(r.ok for r in results) else 1)


def _folder_declaring(processes_dir: Path, key: str) -> Path | None:
    """The shipped folder whose diagram declares process ``key`` (``<bpmn:process id="key">``), if one does."""
    declares = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?process\b[^>]*\sid="' + re.escape(key.encode()) + rb'"')
    for path in sorted(processes_dir.glob("*/*.bpmn")):
        if declares.search(path.read_bytes()):
            return path.parent
    return None


def _draft(target: Path, processes_dir: Path) -> tuple[Path, list[tuple[str, bytes]]]:
    """The draft's folder and its files: the diagram(s) and a bundle mapping next to them.

    ``target`` is a folder or a ``.bpmn`` file, else a folder under ``processes_dir``, else the key of a process
    shipped there (``yidi_shoujian`` lives in ``yidi_daiban/``): the folder of the diagram declaring it.
    """
    if not target.exists() and (processes_dir / str(target)).is_dir():
        target = processes_dir / str(target)
    elif not target.exists():
        target = _folder_declaring(processes_dir, str(target)) or target
    if target.is_file():
        return target.parent, [(target.name, target.read_bytes())]
    if not target.is_dir():
        return target, []
    files = sorted(p for p in target.iterdir() if p.suffix == ".bpmn" or is_bundle_file(p.name))
    return target, [(f"{target.name}/{p.name}", p.read_bytes()) for p in files]


def _describe(path: Path, result: Any) -> None:
    click.echo(f"场景 {result.scenario}（{path.name}）：{'通过' if result.ok else '未通过'}")
    for error in result.errors:
        click.echo(f"  错误 {error['code']} {error.get('element') or '-'}：{error['message']}")
    for step in result.steps:
        where = f"第 {step['line']} 行 " if step["line"] else ""
        click.echo(f"  {'✓' if step['ok'] else '✗'} {step['index']:>2} {step['kind']:8} {where}{step['message']}")
    if result.path:
        click.echo("  路径：" + "，".join(f"{e}×{n}" if n > 1 else e for e, n in result.path.items()))
    for deadline in result.deadlines:
        click.echo(f"  期限：{deadline['clock']:9} {deadline['element'] or '-':24} {deadline['due']}")


def migrate_cases(process_key: str, from_version: int | None, to_version: int | None, cases: tuple[str, ...],
                  every: bool, dry_run: bool, batch: int, as_user: str | None) -> None:
    """``tongban migrate KEY --from V1 --to V2 (--cases ...|--all) [--dry-run] [--batch N]``."""
    refs = [c.strip() for value in cases for c in value.split(",") if c.strip()]
    if from_version is None or to_version is None or bool(refs) == every:
        refuse("INVALID_INPUT", "请给出 --from、--to，以及 --cases 办件列表或 --all（二选一）")
    unknown = [ref for ref in refs if case_ref_problem(ref)]     # digits no case id can have
    if unknown:
        refuse("NOT_FOUND", f"流程 {process_key} 没有这些办件：{'、'.join(unknown[:10])}", cases=unknown)
    actor = actor_named(as_user, Actor.system())
    versions = get_engine().versions
    try:
        plans = versions.plan(process_key, from_version, to_version, actor=actor, cases=None if every else refs)
        allowed = sum(1 for p in plans if p.allowed)
        click.echo(f"迁移计划 {process_key} v{from_version} → v{to_version}：{len(plans)} 个办件，"
                   f"可迁移 {allowed} 个，不可迁移 {len(plans) - allowed} 个")
        if dry_run:
            report = versions.migrate(process_key, from_version, to_version, actor=actor, dry_run=True,
                                      planned=plans, batch=batch)
        else:
            with click.progressbar(length=len(plans), label="迁移办件", file=sys.stderr) as bar:
                report = versions.migrate(process_key, from_version, to_version, actor=actor, batch=batch,
                                          planned=plans, progress=lambda plan, outcome: bar.update(1))
    except EngineError as exc:
        fail(exc)
    shown = report.planned if dry_run else report.refused
    for plan in shown:
        verdict = "可迁移" if plan.allowed else "不可迁移"
        click.echo(f"  {plan.case_no}  {verdict}  位于 {'、'.join(plan.waiting_at) or '-'}")
        for refusal in plan.refusals:
            click.echo(f"      {refusal.code} {refusal.element_id or '-'}：{refusal.message}")
    if not dry_run:
        click.echo(f"已迁移 {len(report.migrated)} 个办件，拒绝 {len(report.refused)} 个（重试 {report.retried} 次）")
    sys.exit(1 if any(not p.allowed for p in shown) else 0)
