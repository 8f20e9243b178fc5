"""``tongban grants``: the 全渝通办 rights owning districts delegate to receiving districts."""
from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import with_appcontext

from engine import RIGHTS, EngineError

from .cli_common import CliGroup, fail, refuse
from .cli_types import ID
from .runtime import get_engine


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        refuse("INVALID_INPUT", f"日期 “{value}” 应为 YYYY-MM-DD")


def _admin(username: str) -> str:
    """The username of an active administrator, or refuse (UNKNOWN_USER, FORBIDDEN) like ``messages retry``."""
    actor = get_engine().identity.actor_for_username(username)
    if actor is None:
        refuse("UNKNOWN_USER", f"用户 {username} 不存在或已停用")
    if "admin" not in actor.roles:
        refuse("FORBIDDEN", f"用户 {username} 不是管理员，只有管理员可以添加或撤销授权")
    return actor.username


@click.group("grants", cls=CliGroup, short_help="添加、列出和撤销全渝通办授权", help=(
    "添加、列出和撤销全渝通办授权（异地收件、形式审查、原件核验、一次性告知、送达、就地批办）。"))
def grants_group() -> None:
    """Add, list and revoke 全渝通办 grants (异地收件, 形式审查, 原件核验, 一次性告知, 送达, 就地批办)."""


@grants_group.command("add", short_help="把一个事项的权限从业务属地授予收件地",
                      help="把一个事项的权限从业务属地区县授予收件地区县（或全部区县）。")
@with_appcontext
@click.option("--matter", "matter_code", required=True, help="事项实施编码")
@click.option("--owning", required=True, help="业务属地区县代码")
@click.option("--receiving", required=True, help="收件地区县代码，或 all")
@click.option("--right", "rights", multiple=True, required=True, type=click.Choice(sorted(RIGHTS)),
              help="授予的权限，可重复")
@click.option("--from", "valid_from", help="生效日 YYYY-MM-DD（默认今天）")
@click.option("--to", "valid_to", help="截止日 YYYY-MM-DD（含当日；默认长期）")
@click.option("--basis", help="授权依据（文件名称文号）")
@click.option("--actor", default="admin", show_default=True, help="操作的管理员用户名（写入授权记录）")
def grants_add(matter_code: str, owning: str, receiving: str, rights: tuple[str, ...], valid_from: str | None,
               valid_to: str | None, basis: str | None, actor: str) -> None:
    """Delegate rights on one matter from its owning district to a receiving district (or all)."""
    actor = _admin(actor)
    try:
        info = get_engine().grants.add(matter_code=matter_code, owning=owning, receiving=receiving, rights=rights,
                                       valid_from=_date(valid_from), valid_to=_date(valid_to), basis=basis,
                                       actor=actor)
    except EngineError as exc:
        fail(exc)
    click.echo(f"已添加授权 #{info.id}：{info.owning_district} → {info.receiving_district} "
               f"事项 {info.matter_code}：{'、'.join(RIGHTS[r] for r in info.rights)}")


@grants_group.command("list", short_help="列出今天有效的授权（或全部授权）", help=(
    "列出今天（北京时间）有效的授权（--all 时包括已撤销、已过期和尚未生效的，并逐条标明）；"
    "--district 不是已有区县时拒绝（UNKNOWN_DISTRICT）。"))
@with_appcontext
@click.option("--matter", "matter_code", help="只列出该事项")
@click.option("--district", help="只列出涉及该区县（业务属地或收件地）的授权")
@click.option("--all", "include_revoked", is_flag=True, help="包括已撤销、已过期和尚未生效的授权")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def grants_list(matter_code: str | None, district: str | None, include_revoked: bool, as_json: bool) -> None:
    """List grants in force (or all of them); an unknown --district is refused (UNKNOWN_DISTRICT)."""
    try:
        rows = get_engine().grants.list(matter_code=matter_code, district=district, include_revoked=include_revoked)
    except EngineError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        until = r.valid_to.isoformat() if r.valid_to else "长期"
        state = ("（已撤销）" if r.revoked else "（已过期）" if r.expired
                 else "（尚未生效）" if r.in_force is False else "")
        click.echo(f"#{r.id} {r.matter_code} {r.owning_district} → {r.receiving_district} "
                   f"{'、'.join(RIGHTS[x] for x in r.rights)} {r.valid_from}～{until}{state}")
    if not rows:
        click.echo("没有授权")


@grants_group.command("revoke", short_help="撤销授权（仍保留记录，以备审计）",
                      help="撤销授权；撤销的授权仍可用 tongban grants list --all 列出，以备审计。")
@with_appcontext
@click.argument("grant_id", type=ID)
@click.option("--reason", required=True, help="撤销理由")
@click.option("--actor", default="admin", show_default=True, help="操作的管理员用户名")
def grants_revoke(grant_id: int, reason: str, actor: str) -> None:
    """Revoke a grant; it stays listed (with --all) for the audit."""
    actor = _admin(actor)
    try:
        info = get_engine().grants.revoke(grant_id, actor=actor, reason=reason)
    except EngineError as exc:
        fail(exc)
    click.echo(f"已撤销授权 #{info.id}")
