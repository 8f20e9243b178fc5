"""全程网办's daily limit over HTTP: the application past ``TONGBAN_ONLINE_DAILY_LIMIT`` is 429, nothing stored."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.runtime import get_engine
from engine.clock import ManualClock
from engine.persistence.models import Application

from .test_http_api import assert_error
from .test_online_http import APPLICATION, apply_online, open_account
from .test_standard_permit import clock, people  # noqa: F401 (fixtures)


@pytest.fixture
def app(database_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[Flask]:  # noqa: F811
    """The scenario app with one online application per account and day."""
    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                              "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                              "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives"),
                              "TONGBAN_ONLINE_DAILY_LIMIT": "1"})
    yield application
    application.extensions["tongban"].close()


def test_the_second_application_of_the_day_is_429_and_the_next_day_is_accepted(app, client, people, clock):
    zhang = open_account(client, people["clerk"], app)
    assert apply_online(client, zhang).status_code == 201
    body = assert_error(apply_online(client, zhang, {**APPLICATION, "form": {"subject": "第二件"}}), 429,
                        "ONLINE_DAILY_LIMIT")
    assert body["details"] == {"limit": 1, "today": 1}
    with get_engine(app).database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 1
    clock.advance(days=1)
    assert apply_online(client, zhang).status_code == 201
