"""Helpers for page tests: an app with password users, a started case, and logging in through the form."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.runtime import get_engine
from engine import StartCase

from .helpers import CLERK, deploy_shipped

PASSWORD = "correct-horse-9"
USERS = {
    "window_yz": ("渝中窗口", ("window_clerk",), "500103", "zwzx"),
    "reviewer_zj": ("渝中住建审查", ("reviewer",), "500103", "zhujian"),
    "window_wz": ("万州窗口", ("window_clerk",), "500101", "zwzx"),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed(app: Flask) -> int:
    """Create the users, deploy the shipped processes and start one 渝中 case; return its id."""
    engine = get_engine(app)
    for username, (name, roles, district, department) in USERS.items():
        engine.identity.create_user(username, display_name=name, roles=roles, district=district,
                                    department=department, password=PASSWORD)
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK, {"applicant": "重庆某建设有限公司",
                                                              "materials": ["营业执照", "施工图审查合格书"]},
                                  title="某小区住宅楼施工许可"))
    return ref.case_id


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    """Return the CSRF token embedded in the page at ``path``."""
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def client_for(app: Any, username: str) -> FlaskClient:
    """A test client logged in as ``username`` (with the seeded password)."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Submit the login form as a browser would (CSRF token from the form); return the response."""
    token = csrf_of(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})
