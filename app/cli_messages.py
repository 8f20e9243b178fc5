"""``tongban messages``: the durable messages between cases: list them, retry or discard those set aside."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine import CST, MESSAGE_STATES, Actor, EngineError

from .cli_common import CliGroup, fail, refuse
from .cli_types import ID, BoundedInt, PathParam
from .runtime import get_engine

REJECTIONS = {"forged": "伪造", "replayed": "重放"}
"""Why an envelope was refused, as the list prints it."""


def _admin(username: str) -> Actor:
    actor = get_engine().identity.actor_for_username(username)
    if actor is None:
        refuse("UNKNOWN_USER", f"用户 {username} 不存在或已停用")
    return actor


@click.group("messages", cls=CliGroup, short_help="办件之间的消息：列出、重试、丢弃、提交", help=(
    "列出办件之间的消息；重试投递失败和已过期的消息，丢弃这些及无法投递、已拒收的消息（管理员）。"))
def messages_group() -> None:
    """List messages between cases; retry poison and expired ones, discard those and undeliverable or rejected ones."""


@messages_group.command("list", short_help="列出消息（最新的在前）",
                        help="列出消息（最新的在前）：状态、尝试次数和最近一次错误。")
@with_appcontext
@click.option("--state", "states", multiple=True, type=click.Choice(sorted(MESSAGE_STATES)),
              help="只列出这些状态（可重复）；默认全部")
@click.option("--limit", default=100, show_default=True, type=BoundedInt(1, 10000), help="最多列出多少条")
@click.option("--rejections", is_flag=True, help="列出被拒收的消息信封（伪造、重放），时间为北京时间")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def messages_list(states: tuple[str, ...], limit: int, rejections: bool, as_json: bool) -> None:
    """List messages newest first, with their state, attempts and last error."""
    engine = get_engine()
    rows = engine.messages.rejections(limit=limit) if rejections else \
        engine.messages.list(states=states or None, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if rejections:
        for r in rows:
            click.echo(f"#{r['id']} {r['rejected_at'].astimezone(CST):%Y-%m-%d %H:%M} "
                       f"[{REJECTIONS.get(r['reason'], r['reason'])}] "
                       f"{r['idempotency_key']} {r['name'] or ''}：{r['detail']}")
        click.echo(f"合计：列出拒收记录 {len(rows)} 条" if rows else "合计：没有拒收记录")
        return
    for r in rows:
        route = f"{r['sender_case_no'] or '外部'} → {r['receiver_case_no'] or r['correlation_key'] or '（消息启动）'}"
        error = f"  {r['last_error']}" if r["last_error"] and r["state"] != "delivered" else ""
        click.echo(f"#{r['id']} [{r['state_label']}] {r['name']} {route} 尝试 {r['attempts']} 次"
                   f"  {r['idempotency_key']}{error}")
    counts = engine.messages.counts()
    click.echo("合计：" + ("，".join(f"{MESSAGE_STATES[s]} {n}" for s, n in sorted(counts.items())) or "没有消息"))


@messages_group.command("retry", help="把投递失败或已过期的消息重新排队投递。")
@with_appcontext
@click.argument("message_id", type=ID)
@click.option("--reason", required=True, help="处理理由（写入发送方办件的审计记录）")
@click.option("--actor", default="admin", show_default=True, help="操作的管理员用户名")
def messages_retry(message_id: int, reason: str, actor: str) -> None:
    """Put a poison or expired message back in the queue."""
    try:
        get_engine().messages.retry(message_id, _admin(actor), reason)
    except EngineError as exc:
        fail(exc)
    click.echo(f"消息 #{message_id} 已重新排队投递")


@messages_group.command("discard", help="丢弃投递失败、已过期、无法投递或已拒收的消息（不再投递）。")
@with_appcontext
@click.argument("message_id", type=ID)
@click.option("--reason", required=True, help="处理理由（写入发送方办件的审计记录）")
@click.option("--actor", default="admin", show_default=True, help="操作的管理员用户名")
def messages_discard(message_id: int, reason: str, actor: str) -> None:
    """Close a poison, expired, undeliverable or rejected message for good."""
    try:
        get_engine().messages.discard(message_id, _admin(actor), reason)
    except EngineError as exc:
        fail(exc)
    click.echo(f"消息 #{message_id} 已丢弃")


@messages_group.command("submit", short_help="接收外部的已签名消息信封并排队投递", help=(
    "接收外部发来的已签名消息信封（JSON）并排队投递；伪造或重放的信封被拒收并记录。"))
@with_appcontext
@click.argument("envelope_file", type=PathParam(exists=True, dir_okay=False, path_type=Path))
def messages_submit(envelope_file: Path) -> None:
    """Queue a signed message envelope (JSON) from outside; forged or replayed ones are refused and recorded."""
    try:
        envelope = json.loads(envelope_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        where = f"（第 {exc.lineno} 行第 {exc.colno} 列）" if isinstance(exc, json.JSONDecodeError) else ""
        refuse("INVALID_INPUT", f"{envelope_file} 不是 UTF-8 编码的 JSON 文件{where}")
    if not isinstance(envelope, dict):
        refuse("INVALID_INPUT", "消息信封应为 JSON 对象")
    try:
        message_id = get_engine().messages.submit(envelope, source=f"cli:{envelope_file.name}")
    except EngineError as exc:
        fail(exc)
    click.echo(f"消息 #{message_id} 已接收，等待投递")
