"""How large a request body may be: 10 MB in general, more for a multipart upload of application materials.

``MAX_CONTENT_LENGTH`` (10 MB) keeps JSON and form bodies small. An application carries several materials of
up to ``TONGBAN_MAX_MATERIAL_BYTES`` each (20 MB by default), so a multipart request may be as large as
``TONGBAN_MAX_UPLOAD_BYTES`` (default: ten materials at the largest size plus 1 MB of fields). Werkzeug spools
uploaded files to temporary files, so the larger limit costs disk, not memory; each file is still checked
against the material limit at intake (``MATERIAL_TOO_LARGE`` names the material). The limit is set on the
request before anything reads its body (Flask's per-request ``max_content_length``).
"""
from __future__ import annotations


from flask import Flask, current_app, has_request_context, request

from .runtime import get_engine

MULTIPART = "multipart/form-data"
MATERIALS_PER_REQUEST = 10
FIELDS_ALLOWANCE = 1024 * 1024


def upload_limit(app: Flask) -> int:
    """The largest multipart request ``app`` accepts, in bytes."""
    configured = app.config.get("TONGBAN_MAX_UPLOAD_BYTES")
    if configured not in (None, ""):
        return int(configured)
    return get_engine(app).config.max_material_bytes * MATERIALS_PER_REQUEST + FIELDS_ALLOWANCE


def current_limit() -> int | None:
    """The body limit of the current request (the general one outside a request)."""
    if has_request_context():
        return request.max_content_length
    return current_app.config.get("MAX_CONTENT_LENGTH")


def install_upload_limit(app: Flask) -> None:
    """Raise the body limit of multipart requests to :func:`upload_limit`; register before any hook that reads
    the body."""

    @app.before_request
    def allow_uploads() -> None:
        if request.mimetype == MULTIPART:
            request.max_content_length = upload_limit(app)
