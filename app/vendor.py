"""Serve front-end packages installed from npm (lockfile committed); government intranets have no CDN."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, send_from_directory, url_for

ROOT = Path(__file__).resolve().parent.parent / "node_modules"
PACKAGES = {"swagger-ui-dist": "", "htmx.org": "dist", "bpmn-js": "dist", "echarts": "dist",
            "@bpmn-io/form-js": "dist"}
"""npm package -> the sub-folder of it that may be served; nothing else under node_modules is reachable."""

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@bp.route("/<package>/<path:filename>")
def asset(package: str, filename: str) -> Any:
    """Send one file of an allow-listed npm package (a scoped one as ``/vendor/@scope/name/<file>``)."""
    if package.startswith("@"):
        name, _, filename = filename.partition("/")
        package = f"{package}/{name}"
    if package not in PACKAGES or not filename:
        abort(404)
    return send_from_directory(ROOT / package / PACKAGES[package], filename, max_age=86400)


def vendor_url(package: str, filename: str) -> str:
    """Return the URL of ``filename`` (relative to the served sub-folder) of an allow-listed package."""
    if package.startswith("@"):
        scope, _, name = package.partition("/")
        return url_for("vendor.asset", package=scope, filename=f"{name}/{filename}")
    return url_for("vendor.asset", package=package, filename=filename)
