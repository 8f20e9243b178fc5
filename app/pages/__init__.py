"""Server-rendered pages (zh-CN, Jinja + htmx): login, inbox, task and case; 办件查询 for applicants.

Every staff page needs a logged-in session; forbidden tasks and cases are 404 pages, as in the API. The
applicants' ``/query`` needs none: the query code is the credential.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Flask, g, redirect, request, url_for

from ..auth import optional_actor
from ..runtime import get_engine
from ..security import csrf_token
from ..vendor import vendor_url
from .labels import register_filters

bp = Blueprint("pages", __name__, template_folder="../templates")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send anonymous visitors to the login page, remembering where they were going."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if optional_actor() is None:
            target = url_for("pages.login", next=request.full_path.rstrip("?"))
            if request.headers.get("HX-Request"):
                # An expired session inside an htmx swap: send the whole page to the login form.
                return "", 401, {"HX-Redirect": url_for("pages.login")}
            return redirect(target)
        return view(*args, **kwargs)
    return wrapper


def register_pages(app: Flask) -> None:
    """Register the page views, their template filters and globals."""
    from . import (  # noqa: F401 - the modules add their views to ``bp``
        admin_messages, cases, dashboard, designer, history, inbox, intake, login, online, query, reports, tasks,
    )
    app.register_blueprint(bp)
    register_filters(app)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_user=optional_actor, matter_name=matter_name,
                                 vendor_url=vendor_url)


def matter_name(process_key: str) -> str:
    """Return the matter's name from its newest deployed definition (read once per request)."""
    names = getattr(g, "matter_names", None)
    if names is None:
        names = g.matter_names = {}
        for d in get_engine().queries.definitions():
            names.setdefault(d["process_key"], d["name"])
    return names.get(process_key, process_key)
