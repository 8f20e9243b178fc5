"""Who is calling: bearer tokens for the API. Every API endpoint requires a user."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import abort, g, request

from engine import Actor, Forbidden

from .runtime import get_engine


def current_actor() -> Actor:
    """Return the authenticated actor of this request (401 when there is none)."""
    actor = getattr(g, "actor", None)
    if actor is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            abort(401)
        actor = get_engine().identity.actor_for_token(token.strip())
        if actor is None:
            abort(401)
        g.actor = actor
    return actor


def require_user(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request with 401 unless it carries a valid bearer token."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_actor()
        return view(*args, **kwargs)
    return wrapper


def require_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse the request unless the user holds one of ``roles``."""
    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if not set(roles).intersection(actor.roles):
                raise Forbidden(f"此操作需要以下角色之一：{'、'.join(roles)}")
            return view(*args, **kwargs)
        return wrapper
    return decorator
