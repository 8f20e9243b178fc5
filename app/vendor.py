"""Serve front-end packages installed from npm (lockfile committed); government intranets have no CDN."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, send_from_directory

ROOT = Path(__file__).resolve().parent.parent / "node_modules"
PACKAGES = {"swagger-ui-dist": "", "htmx.org": "dist", "bpmn-js": "dist", "echarts": "dist"}
"""npm package -> the sub-folder of it that may be served; nothing else under node_modules is reachable."""

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@bp.route("/<package>/<path:filename>")
def asset(package: str, filename: str) -> Any:
    """Send one file of an allow-listed npm package."""
    if package not in PACKAGES:
        abort(404)
    return send_from_directory(ROOT / package / PACKAGES[package], filename, max_age=86400)
