"""Errors as JSON ``{code, message, details}`` with a Chinese message, for the API and everything else."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from engine import EngineError

log = logging.getLogger("tongban.app")

_HTTP_ZH = {400: "请求格式有误", 401: "需要登录", 403: "无权执行此操作", 404: "资源不存在", 405: "不支持该请求方法",
            409: "请求与当前状态冲突", 413: "上传内容过大", 415: "不支持的内容类型", 422: "请求参数有误",
            429: "请求过于频繁，请稍后再试", 500: "服务器内部错误"}
_HTTP_CODE = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
              422: "INVALID_INPUT", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR"}


def error_body(status: int, message: str | None = None, code: str | None = None, **details: Any) -> dict[str, Any]:
    """Return the JSON error shape for an HTTP status."""
    body: dict[str, Any] = {"code": code or _HTTP_CODE.get(status, f"HTTP_{status}"),
                            "message": message or _HTTP_ZH.get(status, "请求失败")}
    if details:
        body["details"] = details
    return body


def register_error_handlers(app: Flask) -> None:
    """Map engine errors and HTTP errors to JSON."""

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> Any:
        """Render an engine refusal."""
        return jsonify(exc.to_dict()), exc.http_status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        """Render an HTTP error (including request validation) as JSON."""
        status = exc.code or 500
        messages = (getattr(exc, "data", None) or {}).get("messages")
        if messages:
            fields = {loc: errs for loc, errs in messages.items()}
            return jsonify(error_body(status, "请求参数有误", fields=fields)), status
        return jsonify(error_body(status)), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        """Log and hide anything unexpected."""
        log.exception("unhandled error")
        return jsonify(error_body(500)), 500
