"""The JSON API (flask-smorest): OpenAPI at /api/openapi.json, Swagger UI at /api/docs."""
from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask, request
from flask_smorest import Api as _SmorestApi
from webargs.flaskparser import is_json_request
from werkzeug.exceptions import HTTPException

from ..errors import ApiRefusal, http_error_response
from ..json_body import JSON_REQUIRED, JsonBodyParser, has_body, json_of
from ..schemas import ErrorSchema

class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: every JSON body is read by :class:`JsonBodyParser`.

    That is 400 ``BAD_REQUEST`` for JSON it cannot take (malformed, too deep, a huge number, a lone surrogate)
    and 415 for a body of another content type. A subclass, not a change to flask-smorest's class, so another
    flask-smorest app in the same process keeps its own parser; :func:`register_api` refuses any other kind.
    """

    ARGUMENTS_PARSER = JsonBodyParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(refuse_other_bodies)


def refuse_other_bodies() -> None:
    """415 for a body that is neither JSON nor a multipart upload, 400 for JSON the API cannot take.

    Both also where the endpoint reads no body: an endpoint with JSON arguments already refuses them
    (:class:`JsonBodyParser`); one without (claim, unclaim, approve …) would otherwise read a form-encoded,
    plain-text or malformed JSON body as nothing and act on the request. A JSON body is decoded here, before
    the view runs, by the same rules (:func:`json_of`: syntax, encoding, depth, NUL, direction controls …).
    """
    if request.mimetype == "multipart/form-data" or not has_body(request):
        return
    if is_json_request(request):
        json_of(request)
        return
    raise ApiRefusal(415, JSON_REQUIRED, "UNSUPPORTED_MEDIA_TYPE", content_type=request.mimetype or "")


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
        if not isinstance(module.blp, Blueprint):
            raise TypeError(f"{module.__name__}.blp must be app.api.Blueprint (its JSON bodies need JsonBodyParser)")
        api.register_blueprint(module.blp)
    return api
