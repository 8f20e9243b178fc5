"""Who is calling: a bearer token (the API) or the page session's user (pages, and the API from pages).

A session may only drive state-changing API calls together with its CSRF token; :mod:`app.security`
checks that before any view runs.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import abort, g, request, session

from engine import ROLE_NAMES, Actor, Forbidden

from .runtime import get_engine
from .security import session_generation


def current_actor() -> Actor:
    """Return the authenticated actor of this request (401 when there is none)."""
    actor = getattr(g, "actor", None)
    if actor is None:
        actor = _actor_from_request()
        if actor is None:
            abort(401)
        g.actor = actor
    return actor


def optional_actor() -> Actor | None:
    """Return the session's or token's actor, or None for an anonymous request."""
    if getattr(g, "actor", None) is None:
        g.actor = _actor_from_request()
    return g.actor


def _actor_from_request() -> Actor | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return get_engine().identity.actor_for_token(token.strip())
    username = session.get("user")
    if not username:
        return None
    generation = session_generation()
    actor = None if generation is None else get_engine().identity.actor_for_session(username, generation)
    if actor is None:
        session.clear()  # logged out (this cookie is a copy), deactivated or removed since logging in
    return actor


def require_user(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request with 401 unless it carries a valid bearer token or a logged-in session."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_actor()
        return view(*args, **kwargs)
    return wrapper


def require_role(*roles: str, code: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse the request unless the user holds one of ``roles``.

    ``code`` is the stable error code of the refusal where the engine has its own for the operation
    (``DEPLOY_FORBIDDEN``), so a client sees one code whichever way it asked; ``FORBIDDEN`` otherwise.
    """
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if not set(roles).intersection(actor.roles):
                named = "、".join(ROLE_NAMES.get(role, role) for role in roles)
                raise Forbidden(f"此操作需要以下角色之一：{named}", details={"roles": list(roles)}, code=code)
            return view(*args, **kwargs)
        return wrapper
    return decorator
