"""The wall between applicant accounts and the staff's work: an applicant reaches only its own pages and API.

Checked once per request, before any view: a request authenticated as an applicant account (token or page
session) may use the 全程网办 API (``/api/v1/online/...``, ``/api/v1/my/...``), the public 办件查询 API and
its older address on the receipt (``POST /api/v1/applications/lookup``: whatever needs no login answers a
logged-in applicant as it answers anyone), the health check and the API documents, and the pages 我的办件,
网上申报, 办件查询, login and logout. Anything else is 403 ``STAFF_ONLY`` (the error page for pages; the inbox
``/`` sends an applicant to 我的办件), so a staff endpoint added later is closed to applicants without anyone
remembering to close it.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, session, url_for

from engine import Forbidden, is_applicant

from .auth import optional_actor

API_BLUEPRINTS = frozenset({"online", "public", "health", "api-docs"})
API_ENDPOINTS = frozenset({"applications.lookup"})   # open to anyone, in a staff blueprint
PAGE_ENDPOINTS = frozenset({"pages.login", "pages.login_post", "pages.logout", "pages.query", "pages.query_post",
                            "pages.query_rate"})
PAGE_PREFIXES = ("pages.my_", "pages.online_")
OPEN_BLUEPRINTS = frozenset({"vendor"})


def install(app: Flask) -> None:
    """Check every request against the wall (after the CSRF check)."""
    app.before_request(guard)


def guard() -> Any:
    """Refuse an applicant account anything outside its own pages and API."""
    endpoint = request.endpoint or ""
    if not endpoint or endpoint == "static" or request.blueprint in OPEN_BLUEPRINTS:
        return None
    if not request.headers.get("Authorization") and "user" not in session:
        return None  # anonymous: every view applies its own login rule
    actor = optional_actor()
    if actor is None or not is_applicant(actor) or allowed(endpoint, request.blueprint):
        return None
    if endpoint == "pages.inbox":
        return redirect(url_for("pages.my_cases"))
    raise Forbidden("申请人账号不能使用工作人员的功能", code="STAFF_ONLY")


def allowed(endpoint: str, blueprint: str | None) -> bool:
    """Whether an applicant account may reach ``endpoint``."""
    if blueprint == "pages":
        return endpoint in PAGE_ENDPOINTS or endpoint.startswith(PAGE_PREFIXES)
    return blueprint in API_BLUEPRINTS or endpoint in API_ENDPOINTS
