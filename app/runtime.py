"""The only Flask <-> engine glue: build the engine once per app and hand it to views and commands."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from engine import Engine, EngineConfig, bootstrap


def init_app(app: Flask) -> None:
    """Create the engine lazily on first use, from the app's ``TONGBAN_*`` config."""
    app.extensions["tongban"] = None


def engine_config(app: Flask) -> EngineConfig:
    """Build the EngineConfig from the app config (which already layered env and test overrides)."""
    return EngineConfig.from_mapping(app.config)


def get_engine(app: Flask | None = None) -> Engine:
    """Return the app's engine, building it on first use (so importing or creating the app does no I/O)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    engine: Engine | None = app.extensions.get("tongban")
    if engine is None:
        engine = app.config.get("TONGBAN_ENGINE") or bootstrap(
            engine_config(app), clock=app.config.get("TONGBAN_CLOCK"))
        app.extensions["tongban"] = engine
    return engine


def set_engine(app: Flask, engine: Any) -> None:
    """Install a prebuilt engine (tests and the benchmark share one across apps)."""
    app.extensions["tongban"] = engine
