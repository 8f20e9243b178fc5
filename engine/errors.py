"""Engine errors: a stable ``code`` for programs and a Chinese ``message`` for people.

Every refusal the engine makes is an :class:`EngineError` subclass. The HTTP layer maps the class to a
status (``http_status``) and renders ``{"code", "message", "details"}``; the CLI prints the message and
exits non-zero. Nothing else in the engine raises bare exceptions at callers.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping


class EngineError(Exception):
    """Base class of every refusal the engine makes.

    Attributes:
        code: stable, upper-case identifier that programs match on (never translated).
        message: human-readable explanation in Chinese.
        details: optional structured context (field errors, element ids, ...), JSON-serializable.
    """

    code: ClassVar[str] = "ENGINE_ERROR"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})
        if code is not None:
            self.code = code  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON shape the API sends: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": dict(self.details)}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(EngineError):
    """The thing asked for does not exist, or the caller may not know that it exists."""

    code = "NOT_FOUND"
    http_status = 404


class Conflict(EngineError):
    """The request raced another change or no longer fits the current state (HTTP 409)."""

    code = "CONFLICT"
    http_status = 409


class Forbidden(EngineError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"
    http_status = 403


class BadRequest(EngineError):
    """The request cannot be understood in its context, e.g. a cursor made for another sort (HTTP 400)."""

    code = "BAD_REQUEST"
    http_status = 400


class InvalidInput(EngineError):
    """The request itself is malformed or fails validation (HTTP 422)."""

    code = "INVALID_INPUT"
    http_status = 422


class DefinitionRejected(InvalidInput):
    """A BPMN diagram or form was refused at load or deploy time; ``details["findings"]`` lists why."""

    code = "DEFINITION_REJECTED"


class ExpressionRejected(EngineError):
    """An expression or script in a diagram uses something the restricted evaluator forbids."""

    code = "EXPRESSION_REJECTED"
    http_status = 422


class ExpressionFailed(EngineError):
    """An allowed expression failed while evaluating (unknown name, wrong type, budget exceeded)."""

    code = "EXPRESSION_FAILED"
    http_status = 422


class FormInvalid(InvalidInput):
    """Submitted form data does not match the task's form; ``details["fields"]`` maps field -> messages."""

    code = "FORM_INVALID"


class WorkflowFailed(EngineError):
    """The workflow could not advance (a step raised); nothing was written."""

    code = "WORKFLOW_FAILED"
    http_status = 422


class TooManyAttempts(EngineError):
    """Too many tries within a window (failed logins, online applications per day); try again later (HTTP 429)."""

    code = "TOO_MANY_ATTEMPTS"
    http_status = 429


class UnknownDistrict(InvalidInput):
    """A district code that is not in the districts table (nor in the file being loaded)."""

    code = "UNKNOWN_DISTRICT"


class UnknownDepartment(InvalidInput):
    """A department code that the given district does not have."""

    code = "UNKNOWN_DEPARTMENT"


class OrgFileInvalid(InvalidInput):
    """An organisation file was refused; ``details["problems"]`` lists every bad row, nothing was written."""

    code = "ORG_FILE_INVALID"


class MatterUnavailable(InvalidInput):
    """The matter asked for is not in the catalog (``MATTER_NOT_FOUND``) or not offered at this district."""

    code = "MATTER_NOT_OFFERED"


class ApplicationInvalid(InvalidInput):
    """An application fails intake checks; ``details["fields"]`` maps each field to its Chinese messages.

    ``MATERIALS_MISSING`` is the code when required materials that may not be 容缺 are missing; their keys
    and names are in ``details["missing"]``.
    """

    code = "APPLICATION_INVALID"
