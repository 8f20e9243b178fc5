"""``tongban users``, ``tongban tokens`` and ``tongban demo``: staff accounts, their API tokens, demo logins.

Moved out of :mod:`app.cli`, which keeps the ``tongban`` group and the server's own commands; applicant
accounts are :mod:`app.cli_applicants`.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import ROLES, EngineError, mask_id_number

from .cli_common import CliGroup, fail
from .runtime import get_engine


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
