"""The JSON API (flask-smorest): OpenAPI at /api/openapi.json, Swagger UI at /api/docs."""
from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask
from flask_smorest import Api as _SmorestApi
from werkzeug.exceptions import HTTPException

from ..errors import http_error_response
from ..json_body import JsonBodyParser
from ..schemas import ErrorSchema

# Every ``@blp.arguments`` binds the parser when its module is imported, and each API module imports this
# package first: so every JSON body of the API is read by JsonBodyParser (400 for JSON it cannot take, 415 for
# a body of another content type) before any view module is loaded.
flask_smorest.Blueprint.ARGUMENTS_PARSER = JsonBodyParser()


class Api(_SmorestApi):
    """flask-smorest Api whose errors use tongban's ``{code, message, details}`` shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Render HTTP errors, including marshmallow validation failures, as tongban errors (pages as pages)."""
        return http_error_response(error)


def register_api(app: Flask) -> Api:
    """Create the Api and register every API blueprint."""
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    from . import (
        applications, audit, audit_checks, cases, definitions, drafts, dryrun, grants, health, history, lint, materials,
        matters, messages, metrics, online, public, ratings, supervision, tasks, versions,
    )
    from . import applicants, extensions
    for module in (definitions, versions, drafts, lint, dryrun, matters, grants, applications, cases, materials,
                   history, tasks, supervision, messages, audit, audit_checks, ratings, public, metrics, health, online,
                   applicants, extensions):
        api.register_blueprint(module.blp)
    return api
