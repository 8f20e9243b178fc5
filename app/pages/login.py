"""Log in with a user name and password (argon2, throttled) and log out."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for

from engine import TooManyAttempts

from ..runtime import get_engine
from ..security import end_session, start_session
from . import bp

WRONG = "用户名或密码错误"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters no return path may hold: C0, DEL, C1, line/paragraph separators and direction controls.

``urlsplit`` silently drops tab, CR and LF before parsing, so a target holding them would pass the checks and
then break (or split) the ``Location`` header.
"""


@bp.get("/login")
def login() -> Any:
    """Show the login form."""
    return render_template("pages/login.html", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_post() -> Any:
    """Check the credentials; one message for any mismatch, 429 after repeated failures."""
    username = request.form.get("username", "").strip()
    target = _safe_next(request.form.get("next"))
    try:
        actor = get_engine().logins.login(username, request.form.get("password", ""),
                                          request.remote_addr or "unknown")
    except TooManyAttempts as exc:
        return render_template("pages/login.html", error=exc.message, username=username, next=target), 429
    if actor is None:
        return render_template("pages/login.html", error=WRONG, username=username, next=target), 401
    start_session(actor.username)
    return redirect(target or url_for("pages.inbox"))


@bp.post("/logout")
def logout() -> Any:
    """End the session and go back to the login page."""
    end_session()
    flash("您已安全退出")
    return redirect(url_for("pages.login"))


def _safe_next(target: str | None) -> str | None:
    """Allow only a local path as the place to return to (no open redirect, no control characters)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target \
            or _CONTROLS.search(target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
