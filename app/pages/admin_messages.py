"""/admin/messages: messages between cases that need an administrator (poison, expired, undeliverable, rejected)."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from engine import MESSAGE_STATES, Conflict, Forbidden, InvalidInput, NotFound

from ..auth import current_actor
from ..runtime import get_engine
from . import bp, login_required

TABS = (("attention", "待处理", ("poison", "expired", "undeliverable", "rejected")),
        ("pending", "待投递", ("pending",)), ("delivered", "已投递", ("delivered",)),
        ("discarded", "已丢弃", ("discarded",)), ("all", "全部", None))


def _admin_only() -> None:
    if "admin" not in current_actor().roles:
        abort(404)


@bp.get("/admin/messages")
@login_required
def admin_messages() -> Any:
    """List messages by tab, with retry and discard forms for those set aside, and refused envelopes."""
    _admin_only()
    tab = request.args.get("tab", "attention")
    chosen = next((t for t in TABS if t[0] == tab), TABS[0])
    engine = get_engine()
    return render_template("pages/admin_messages.html", tabs=TABS, tab=chosen[0], states=MESSAGE_STATES,
                           rows=engine.messages.list(states=chosen[2], limit=200), counts=engine.messages.counts(),
                           rejections=engine.messages.rejections(limit=50) if chosen[0] == "attention" else [])


@bp.post("/admin/messages/<int:message_id>/<any(retry, discard):action>")
@login_required
def admin_message_action(message_id: int, action: str) -> Any:
    """Retry or discard one message with a reason (recorded on the sender's case)."""
    _admin_only()
    engine, reason = get_engine(), request.form.get("reason", "")
    try:
        getattr(engine.messages, action)(message_id, current_actor(), reason)
        flash(f"消息 #{message_id} " + ("已重新排队投递" if action == "retry" else "已丢弃"))
    except (Conflict, Forbidden, InvalidInput, NotFound) as exc:
        flash(f"消息 #{message_id}：{exc.message}", "error")
    return redirect(url_for("pages.admin_messages", tab=request.form.get("tab", "attention")))
