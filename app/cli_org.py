"""``tongban org``: load districts, departments and users from a file, and show them."""
from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext

from engine import EngineError, parse_org_file

from .cli_common import CliGroup, fail, refuse
from .cli_types import PathParam
from .runtime import get_engine

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}


def _fail(exc: EngineError) -> NoReturn:
    fail(exc)      # every problem of a refused file on its own line


@click.group("org", cls=CliGroup, help="组织机构：区县、部门及其用户。")
def org_group() -> None:
    """Organisation: districts, departments and their users."""


@org_group.command("load", short_help="从 YAML 或 CSV 文件载入区县、部门和用户", help=(
    "在一个事务中从 FILE（YAML 或 CSV）载入区县、部门和用户。\n\n"
    "先检查每一行，有一行不合格就拒绝整个文件。再次载入同一文件不会有任何改动（按代码和用户名匹配已有记录）。"))
@with_appcontext
@click.argument("file", type=PathParam(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["yaml", "csv"]), help="文件格式（默认按扩展名判断）")
@click.option("--dry-run", is_flag=True, help="只检查并列出将要做的修改，不写入")
def org_load(file: Path, fmt: str | None, dry_run: bool) -> None:
    """Load districts, departments and users from FILE (YAML or CSV) in one transaction.

    Every row is checked first; one bad row refuses the whole file. Loading the same file again changes
    nothing (rows are matched by code and username).
    """
    fmt = fmt or FORMATS.get(file.suffix.lower())
    if fmt is None:
        refuse("INVALID_INPUT", f"无法从扩展名 “{file.suffix}” 判断格式，请用 --format yaml 或 --format csv")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        refuse("INVALID_INPUT", f"{file} 不是 UTF-8 编码的文本文件")
    try:
        changes = get_engine().org.load(parse_org_file(text, fmt), dry_run=dry_run)
    except EngineError as exc:
        _fail(exc)
    for change in changes:
        if change.action != "unchanged":
            click.echo(change.describe())
    counts = {action: sum(c.action == action for c in changes)
              for action in ("create", "update", "unchanged")}
    summary = f"新增 {counts['create']} 条，更新 {counts['update']} 条，未变化 {counts['unchanged']} 条"
    click.echo(f"试运行（未写入）：{summary}" if dry_run else f"已载入 {file.name}：{summary}")


@org_group.command("show", short_help="列出区县；给出区县时列出其部门和用户数",
                   help="列出区县；给出 DISTRICT 时列出该区县的部门，以及各部门有多少用户。")
@with_appcontext
@click.argument("district", required=False)
def org_show(district: str | None) -> None:
    """List districts; with DISTRICT, that district's departments and how many users each has."""
    try:
        found = get_engine().org.districts(district)
    except EngineError as exc:
        _fail(exc)
    for info in found:
        parent = f"  上级 {info.parent_code}" if info.parent_code else ""
        region = f"  {info.region}" if info.region else ""
        click.echo(f"{info.code:8} {info.name}  {info.kind}{region}{parent}  部门 {len(info.departments)} 个")
        if district is not None:
            for code, name, users in info.departments:
                click.echo(f"    {code:12} {name}  用户 {users} 人")
    if district is None:
        click.echo(f"共 {len(found)} 个区县（含功能区和市级）")
