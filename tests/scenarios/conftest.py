"""Scenario fixtures: the Flask app on each database, with the cast of users and their bearer tokens."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.runtime import get_engine
from engine import ManualClock

# username, display name, roles, district, department
CAST = {
    "clerk": ("window_yz", "渝中窗口", ("window_clerk",), "500103", "zwzx"),
    "zhujian": ("reviewer_zj", "渝中住建审查", ("reviewer",), "500103", "zhujian"),
    "guihua": ("reviewer_gh", "渝中规划审查", ("reviewer",), "500103", "guihua"),
    "xiaofang": ("reviewer_xf", "渝中消防审查", ("reviewer",), "500103", "xiaofang"),
    "zhujian_2": ("reviewer_zj2", "渝中住建审查二", ("reviewer",), "500103", "zhujian"),
    "outsider": ("window_wz", "万州窗口", ("window_clerk",), "500101", "zwzx"),
    "designer": ("designer", "流程设计", ("designer",), "500000", "dsj"),
}


@dataclass(frozen=True)
class Caller:
    """A cast member over HTTP: their username and the Authorization header carrying their token."""

    username: str
    headers: dict[str, str]


@pytest.fixture
def app(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh database of each kind, on the manual clock; its engine is closed afterwards."""
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                              "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives")})
    yield application
    engine = application.extensions.get("tongban")
    if engine is not None:
        engine.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def cast(app: Flask) -> dict[str, Caller]:
    """Create every cast member with one token; return them by role in the story."""
    identity = get_engine(app).identity
    callers = {}
    for who, (username, name, roles, district, department) in CAST.items():
        identity.create_user(username, display_name=name, roles=roles, district=district, department=department)
        token = identity.create_token(username, label="scenario")
        callers[who] = Caller(username, {"Authorization": f"Bearer {token}"})
    return callers
