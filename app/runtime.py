"""The only Flask <-> engine glue: build the engine once per app and hand it to views and commands."""
from __future__ import annotations

import os
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from engine import Engine, EngineConfig, bootstrap


def init_app(app: Flask) -> None:
    """Create the engine lazily on first use, from the app's ``TONGBAN_*`` config."""
    app.extensions["tongban"] = None


def engine_config(app: Flask) -> EngineConfig:
    """Build the EngineConfig from the app config (which already layered env and test overrides).

    Without ``TONGBAN_MESSAGE_SECRET`` every process on this machine shares ``instance/message-secret``
    (random, created on first use, readable by its owner only), so web and worker processes sign and check
    messages with the same key.
    """
    config = EngineConfig.from_mapping(app.config)
    if not config.message_secret:
        config = replace(config, message_secret=_instance_secret(Path(app.instance_path)))
    return config


def _instance_secret(folder: Path) -> str:
    path = folder / "message-secret"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".message-secret.{os.getpid()}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(partial, path)  # atomic: the first process to get here decides the key
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    return path.read_text().strip()


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
