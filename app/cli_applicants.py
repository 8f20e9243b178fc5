"""``tongban applicants``: open applicant accounts (全程网办) after the identity document was checked."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from engine import ID_TYPES, EngineError

from .cli_common import CliGroup, fail
from .runtime import get_engine


@click.group("applicants", cls=CliGroup, help="开通和列出申请人账号（实名核验后开通，用于全程网办）。")
def applicants_group() -> None:
    """Open and list applicant accounts (实名核验后开通，用于全程网办)."""


@applicants_group.command("add", short_help="开通申请人账号（证件已由窗口人员或管理员核验）",
                          help="开通申请人账号：其身份已由 --verified-by 所指的人员按证件核验。")
@with_appcontext
@click.argument("username")
@click.option("--name", required=True, help="证件上的姓名")
@click.option("--id-type", default="111", show_default=True, type=click.Choice(sorted(ID_TYPES)),
              help="证件类型代码（GA/T 2000.156）：111 居民身份证、414 普通护照、516 港澳通行证、511 台湾通行证")
@click.option("--id-number", required=True, help="证件号码（居民身份证号按校验位核对）")
@click.option("--verified-by", required=True, help="核验证件的窗口人员或管理员的用户名（记入账号）")
@click.option("--password", help="登录密码（至少 8 位；也可只发 API 令牌：tongban tokens create）")
def applicants_add(username: str, name: str, id_type: str, id_number: str, verified_by: str,
                   password: str | None) -> None:
    """Open an applicant account whose identity VERIFIED_BY checked on the document."""
    try:
        made = get_engine().applicant_accounts.add(username, name=name, id_type=id_type, id_number=id_number,
                                                   verified_by=verified_by, password=password)
    except EngineError as exc:
        fail(exc)
    shown = made.to_dict()
    click.echo(f"已开通申请人账号 {made.username}：{made.name}，{shown['id_type_name']} {shown['id_number']}，"
               f"由 {made.verified_by} 核验")


@applicants_group.command("list", help="列出申请人账号（证件号码已脱敏）。")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def applicants_list(as_json: bool) -> None:
    """List applicant accounts (ID numbers masked)."""
    accounts = [a.to_dict() for a in get_engine().applicant_accounts.list()]
    if as_json:
        click.echo(json.dumps(accounts, ensure_ascii=False, default=str, indent=2))
        return
    for a in accounts:
        click.echo(f"{a['username']:20} {a['name']:10} {a['id_type_name']:12} {a['id_number']:20} "
                   f"核验：{a['verified_by'] or '-'}")
