"""Fixtures shared by the integration tests (the databases, clock and engine come from tests/conftest.py)."""
from __future__ import annotations

import pytest
from flask.testing import FlaskCliRunner

from app import create_app
from app.runtime import set_engine


@pytest.fixture
def runner(engine, database_url: str) -> FlaskCliRunner:
    """Flask's CLI runner for an app that works on the test's engine (a module may define its own)."""
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    set_engine(app, engine)
    return app.test_cli_runner()
