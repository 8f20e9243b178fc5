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

from flask import Flask, Response, abort, request, session

from .runtime import get_engine

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_BLUEPRINTS = frozenset({"pages"})
FIELD = "csrf_token"
HEADER = "X-CSRFToken"
INERT_POLICY = "default-src 'none'; sandbox"
"""CSP of a response that must never act as a page: no scripts, no subresources, a unique opaque origin."""
GENERATION = "generation"
"""Session key of the user's session generation at login (see :func:`start_session`)."""
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
    app.after_request(harden_response)


def harden_response(response: Response) -> Response:
    """Never let a browser guess a type (``nosniff``); anything but an HTML page gets the sandbox CSP too.

    A JSON answer, an XML diagram or a downloaded file opened directly in a tab then cannot run as a page in
    tongban's origin, whatever it holds; a view may set its own headers first.
    """
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype != "text/html":
        response.headers.setdefault("Content-Security-Policy", INERT_POLICY)
    return response


def inert(response: Response) -> Response:
    """Mark a response carrying stored content (a diagram, a file) as never to be run as a document."""
    response.headers["Content-Security-Policy"] = INERT_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
    """Log ``username`` in: a fresh session (no fixation) with a new CSRF token and the user's generation.

    The generation (``users.session_generation``) is checked on every request that authenticates from the
    session (:func:`app.auth.current_actor`), so logging out, which moves it on, ends every copy of the cookie.
    """
    session.clear()
    session.permanent = True
    session["user"] = username
    session[GENERATION] = get_engine().identity.session_generation(username)
    csrf_token()


def session_generation() -> int | None:
    """Return the generation this session was given at login, or None (no login, or a malformed cookie)."""
    generation = session.get(GENERATION)
    return generation if isinstance(generation, int) and not isinstance(generation, bool) else None


def end_session() -> None:
    """Log out: end every page session of the user (this cookie and any copy of it), then forget this one.

    A copy of a cookie that has already been logged out no longer holds the current generation, so it cannot
    end the sessions its user opened since.
    """
    username, generation = session.get("user"), session_generation()
    if isinstance(username, str) and generation is not None:
        get_engine().identity.end_sessions(username, generation)
    session.clear()
