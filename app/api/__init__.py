"""The JSON API (flask-smorest): OpenAPI at /api/openapi.json, Swagger UI at /api/docs."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask_smorest import Api as _SmorestApi
from werkzeug.exceptions import HTTPException

from ..errors import error_body, translate
from ..schemas import ErrorSchema


class Api(_SmorestApi):
    """flask-smorest Api whose errors use tongban's ``{code, message, details}`` shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Render HTTP errors, including marshmallow validation failures, as tongban errors."""
        status = error.code or 500
        messages = (getattr(error, "data", None) or {}).get("messages")
        if messages:
            return jsonify(error_body(status, "请求参数有误", fields=translate(messages))), status
        return jsonify(error_body(status)), status


def register_api(app: Flask) -> Api:
    """Create the Api and register every API blueprint."""
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    from . import cases, definitions, health, tasks
    for module in (definitions, cases, tasks, health):
        api.register_blueprint(module.blp)
    return api
