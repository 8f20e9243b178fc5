"""``tongban deploy`` and ``tongban lint``: the definition files (BPMN, forms, matters.yaml, bundle.yaml).

Both read the same files, from the paths given or, with none, the shipped ``processes/`` and ``forms/``;
deploy stores them (all or nothing), lint only reports what a deploy would refuse or warn about.
Moved out of :mod:`app.cli`, which keeps the ``tongban`` group and the server's own commands.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext

from engine import Actor, DeployDefinitions, EngineError, LintDefinitions, is_bundle_file, is_catalog_file

from .cli_common import CliCommand, fail, refuse
from .cli_types import PathParam
from .cli_versions import actor_named
from .runtime import get_engine


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
