"""``tongban drafts``: the designers' drafts from the command line (save, list, export, delete, deploy)."""
from __future__ import annotations

import errno
import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine import DeployDraft, EngineError

from .cli_common import CliGroup, fail, refuse
from .cli_types import ID, VERSION, PathParam
from .runtime import get_engine

EDITORS = ("designer", "admin")
"""Who may save drafts (as ``/api/v1/drafts`` allows); deploying one takes a designer."""


@click.group("drafts", cls=CliGroup, short_help="流程设计人员的流程和表单草稿", help=(
    "流程设计人员的流程和表单草稿：保存时不部署，检查通过后部署。"))
def drafts_group() -> None:
    """Designers' drafts of processes and forms: saved without deploying, deployed after lint."""


@drafts_group.command("save", short_help="把流程图（及表单）保存为新草稿，不部署",
                      help="把流程图 BPMN（及表单）保存为流程 PROCESS_KEY 的新草稿；不部署。")
@with_appcontext
@click.argument("process_key")
@click.argument("bpmn", type=PathParam(exists=True, dir_okay=False, path_type=Path))
@click.option("--form", "forms", multiple=True,
              type=PathParam(exists=True, dir_okay=False, path_type=Path),
              help="草稿包含的表单文件（.form），可重复")
@click.option("--base-version", type=VERSION, help="据以修改的已部署版本（新流程不填）")
@click.option("--actor", default="designer", show_default=True,
              help="保存人：须是具有 designer 或 admin 角色的在职用户")
def drafts_save(process_key: str, bpmn: Path, forms: tuple[Path, ...], base_version: int | None,
                actor: str) -> None:
    """Save a diagram (and forms) as a new draft of PROCESS_KEY; nothing is deployed.

    The saver must be an active designer or admin, as over the API: a draft is recorded under their name.
    """
    engine = get_engine()
    who = engine.identity.actor_for_username(actor)
    if who is None:
        refuse("UNKNOWN_USER", f"用户 {actor} 不存在或已停用")
    if not set(EDITORS).intersection(who.roles):
        refuse("FORBIDDEN", f"用户 {actor} 不是流程设计人员或管理员，不能保存草稿")
    loaded = {}
    for path in forms:
        try:
            loaded[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            refuse("INVALID_INPUT", f"表单文件 {path.name} 不是 UTF-8 编码")
        except json.JSONDecodeError as exc:
            refuse("INVALID_INPUT", f"表单文件 {path.name} 不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）")
    try:
        info = engine.drafts.create(process_key=process_key, bpmn=bpmn.read_text(encoding="utf-8"),
                                    forms=loaded, actor=who.username, base_version=base_version)
    except UnicodeDecodeError:
        refuse("INVALID_INPUT", f"流程图文件 {bpmn.name} 不是 UTF-8 编码")
    except EngineError as exc:
        fail(exc)
    click.echo(f"已保存草稿 #{info.id}：{info.process_key}（基于{_base(info.base_version)}，"
               f"{len(info.form_keys)} 个表单）")


@drafts_group.command("list", help="列出草稿（最近保存的在前）。")
@with_appcontext
@click.option("--key", "process_key", help="只列出该流程的草稿")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def drafts_list(process_key: str | None, as_json: bool) -> None:
    """List drafts, the latest saved first."""
    try:
        drafts = get_engine().drafts.list(process_key)
    except EngineError as exc:   # a --key no database stores (INVALID_INPUT)
        fail(exc)
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in drafts], ensure_ascii=False, indent=2, default=str))
        return
    if not drafts:
        click.echo("没有草稿")
    for d in drafts:
        click.echo(f"#{d.id:<5} {d.process_key:28} 基于{_base(d.base_version):8} 第 {d.revision} 次保存  "
                   f"{d.updated_by} {d.updated_at:%Y-%m-%d %H:%M}  表单：{'、'.join(d.form_keys) or '无'}")


@drafts_group.command("export", short_help="把草稿的流程图和表单写入文件夹",
                      help="把草稿的流程图（<key>.bpmn）和表单（<form>.form）写入文件夹 FOLDER。")
@with_appcontext
@click.argument("draft_id", type=ID)
@click.argument("folder", type=PathParam(file_okay=False, path_type=Path))
def drafts_export(draft_id: int, folder: Path) -> None:
    """Write a draft's diagram (<key>.bpmn) and forms (<form>.form) into FOLDER."""
    try:
        draft = get_engine().drafts.get(draft_id)
    except EngineError as exc:
        fail(exc)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{draft.info.process_key}.bpmn").write_text(draft.bpmn, encoding="utf-8")
        for key, form in draft.forms.items():
            (folder / f"{key}.form").write_text(json.dumps(form, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as exc:
        refuse("EXPORT_FAILED", f"无法写入文件夹 {folder}：{_os_reason(exc)}", folder=str(folder))
    click.echo(f"已导出草稿 #{draft_id} 到 {folder}：1 个流程图，{len(draft.forms)} 个表单")


@drafts_group.command("delete", help="删除草稿（已部署的版本保留）。")
@with_appcontext
@click.argument("draft_id", type=ID)
def drafts_delete(draft_id: int) -> None:
    """Delete a draft (deployed versions stay)."""
    try:
        get_engine().drafts.delete(draft_id)
    except EngineError as exc:
        fail(exc)
    click.echo(f"已删除草稿 #{draft_id}")


@drafts_group.command("deploy", short_help="检查草稿并部署为流程的下一个版本",
                      help="检查草稿，并把它部署为其流程的下一个版本；部署后删除该草稿。")
@with_appcontext
@click.argument("draft_id", type=ID)
@click.option("--actor", required=True, help="部署人：须是具有 designer 角色的在职用户")
@click.option("--force", is_flag=True, help="草稿的基础版本已不是最新版时仍部署")
def drafts_deploy(draft_id: int, actor: str, force: bool) -> None:
    """Lint a draft and deploy it as the next version of its process; the draft is then removed."""
    engine = get_engine()
    who = engine.identity.actor_for_username(actor)
    if who is None:
        refuse("UNKNOWN_USER", f"用户 {actor} 不存在或已停用")
    try:
        result = engine.handle(DeployDraft(draft_id, who, force=force))
    except EngineError as exc:
        fail(exc)
    click.echo(f"{result.process_key}：{result.message}")
    for warning in result.warnings:
        click.echo(f"  警告 {warning.code} ({warning.element_id or '-'}): {warning.message}")


def _os_reason(exc: OSError) -> str:
    """Why a file could not be written, in Chinese (the OS's own words are English)."""
    reasons = {errno.ENOENT: "上级文件夹不存在或无法创建", errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限",
               errno.EROFS: "文件系统只读", errno.ENOSPC: "磁盘空间不足", errno.ENOTDIR: "路径中有一段不是文件夹",
               errno.EEXIST: "同名文件已存在"}
    return reasons.get(exc.errno, f"系统错误（errno {exc.errno}）")


def _base(version: int | None) -> str:
    return f"第 {version} 版" if version else "空白流程"
