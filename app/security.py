"""Page sessions: cookie settings and CSRF protection for every state-changing request made with a session.

A request that authenticates with a bearer token carries no ambient credential a browser could replay, so it
needs no CSRF token; a request that relies on the session cookie must echo the session's token, in the
``csrf_token`` form field or the ``X-CSRFToken`` header (htmx).
"""
from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, abort, request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_BLUEPRINTS = frozenset({"pages"})
FIELD = "csrf_token"
HEADER = "X-CSRFToken"
_TRUE = ("1", "true", "yes", "on")


def configure_sessions(app: Flask) -> None:
    """Set the session cookie's flags; ``Secure`` follows ``TONGBAN_SESSION_COOKIE_SECURE`` (default on).

    Tests (``TESTING``) default to off, since the test client speaks plain HTTP.
    """
    secure = app.config.get("TONGBAN_SESSION_COOKIE_SECURE")
    if secure is None or secure == "":
        secure = not app.config.get("TESTING", False)
    app.config.update(
        SESSION_COOKIE_NAME="tongban_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=as_bool(secure), PERMANENT_SESSION_LIFETIME=timedelta(hours=8))
    app.before_request(check_csrf)


def as_bool(value: Any) -> bool:
    """Read a config flag that may come from the environment as text."""
    return value.strip().lower() in _TRUE if isinstance(value, str) else bool(value)


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return token


def check_csrf() -> None:
    """Refuse (400) an unsafe request that relies on the session without echoing its CSRF token."""
    if request.method in SAFE_METHODS or request.headers.get("Authorization"):
        return
    if request.blueprint not in PAGE_BLUEPRINTS and "user" not in session:
        return
    expected = session.get(FIELD)
    sent = request.headers.get(HEADER) or request.form.get(FIELD) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="csrf")


def start_session(username: str) -> None:
    """Log ``username`` in: a fresh session (no fixation) with a new CSRF token."""
    session.clear()
    session.permanent = True
    session["user"] = username
    csrf_token()


def end_session() -> None:
    """Log out: forget everything in the session."""
    session.clear()
