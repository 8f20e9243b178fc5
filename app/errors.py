"""Errors as JSON ``{code, message, details}`` with a Chinese message, for the API and everything else."""
from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, has_app_context, has_request_context, jsonify, render_template, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from engine import EngineError

from .request_limits import MULTIPART, current_limit

log = logging.getLogger("tongban.app")

_HTTP_ZH = {400: "请求格式有误", 401: "需要登录", 403: "无权执行此操作", 404: "资源不存在", 405: "不支持该请求方法",
            409: "请求与当前状态冲突", 413: "请求内容过大", 415: "不支持的内容类型", 422: "请求参数有误",
            429: "请求过于频繁，请稍后再试", 500: "服务器内部错误"}
_HTTP_CODE = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND",
              405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
              422: "INVALID_INPUT", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR"}


_OP_ZH = {"greater than or equal to": "大于或等于", "greater than": "大于", "less than or equal to": "小于或等于",
          "less than": "小于"}
_LOW = r"(?P<low_op>greater than or equal to|greater than) (?P<low>\S+)"
_HIGH = r"(?P<high_op>less than or equal to|less than) (?P<high>\S+)"


def _bounds(match: re.Match[str]) -> str:
    """``Must be greater than 1 and less than 9.`` and its one-sided forms, in Chinese."""
    found = match.groupdict()
    low_op, low, high_op, high = found.get("low_op"), found.get("low"), found.get("high_op"), found.get("high")
    if low_op and high_op:
        if low_op.endswith("equal to") and high_op.endswith("equal to"):
            return f"应在 {low} 到 {high} 之间"
        return f"应{_OP_ZH[low_op]} {low} 且{_OP_ZH[high_op]} {high}"
    if low_op:
        return f"不能小于 {low}" if low_op.endswith("equal to") else f"应大于 {low}"
    return f"不能大于 {high}" if high_op.endswith("equal to") else f"应小于 {high}"


# marshmallow's (and webargs') default messages, every one the app's schemas can produce, in Chinese.
_MESSAGES_ZH: tuple[tuple[str, Any], ...] = (
    (r"^Missing data for required field\.$", "必填项"),
    (r"^Unknown field\.$", "未知字段"),
    (r"^Field may not be null\.$", "不能为空"),
    (r"^Invalid value\.$", "取值无效"),
    (r"^Invalid input\.$", "取值无效"),
    (r"^Invalid (input )?type\.$", "类型不正确"),
    (r"^Invalid JSON body\.$", "请求体不是有效的 JSON"),
    (r"^Not a valid string\.$", "应为文本"),
    (r"^Not a valid utf-8 string\.$", "应为 UTF-8 编码的文本"),
    (r"^Not a valid integer\.$", "应为整数"),
    (r"^Not a valid number\.$", "应为数字"),
    (r"^Number too large\.$", "数值过大"),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "不允许 NaN 或无穷大"),
    (r"^Not a valid boolean\.$", "应为布尔值"),
    (r"^Not a valid mapping type\.$", "应为对象"),
    (r"^Not a valid list\.$", "应为列表"),
    (r"^Not a valid tuple\.$", "应为固定长度的列表"),
    (r"^Not a valid delimited (list|tuple)\.$", "应为以逗号分隔的列表"),
    (r"^Not a valid datetime\.$", "日期时间格式不正确"),
    (r"^Not a valid aware datetime\.$", "日期时间应带时区，如 2026-12-01T09:00:00+08:00"),
    (r"^Not a valid naive datetime\.$", "日期时间不应带时区，如 2026-12-01T09:00:00"),
    (r"^Not a valid date\.$", "日期格式不正确，应为 YYYY-MM-DD"),
    (r"^Not a valid time\.$", "时间格式不正确，应为 HH:MM:SS"),
    (r"^Not a valid aware time\.$", "时间应带时区，如 09:00:00+08:00"),
    (r"^Not a valid naive time\.$", "时间不应带时区，如 09:00:00"),
    (r"^Not a valid period of time\.$", "时长格式不正确"),
    (r"^.* cannot be formatted as a (datetime|date|time|timedelta)\.$", "无法格式化为日期或时间"),
    (r"^Not a valid UUID\.$", "应为 UUID"),
    (r"^Not a valid URL\.$", "应为有效的网址"),
    (r"^Not a valid email address\.$", "应为有效的电子邮件地址"),
    (r"^Not a valid IP(v4|v6)? address\.$", "应为有效的 IP 地址"),
    (r"^Not a valid IP(v4|v6)? interface\.$", "应为有效的 IP 网段"),
    (r"^Must be one of: (.*)\.$", "应为以下之一：\\1"),
    (r"^One or more of the choices you made was not in: (.*)\.$", "所选项只能是：\\1"),
    (r"^One or more of the choices you made was in: (.*)\.$", "所选项不能是：\\1"),
    (r"^Must be equal to (.*)\.$", "应等于 \\1"),
    (rf"^Must be {_LOW} and {_HIGH}\.$", _bounds),
    (rf"^Must be {_LOW}\.$", _bounds),
    (rf"^Must be {_HIGH}\.$", _bounds),
    (r"^Length must be between (\d+) and (\d+)\.$", "长度应在 \\1 到 \\2 之间"),
    (r"^Length must be (\d+)\.$", "长度应为 \\1"),
    (r"^Shorter than minimum length (\d+)\.$", "长度不能少于 \\1"),
    (r"^Longer than maximum length (\d+)\.$", "长度不能超过 \\1"),
    (r"^String does not match expected pattern\.$", "格式不正确"),
)
_MARSHMALLOW_ZH = tuple((re.compile(pattern), chinese) for pattern, chinese in _MESSAGES_ZH)
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
UNTRANSLATED = "取值不符合要求"


def translate(messages: Any) -> Any:
    """Translate marshmallow's English validation messages into Chinese, keeping the structure.

    A message in English that the table does not know (a library default added by an upgrade) becomes
    :data:`UNTRANSLATED` rather than reach a client in English; it is logged so the table can learn it.
    """
    if isinstance(messages, dict):
        return {key: translate(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [translate(value) for value in messages]
    if isinstance(messages, str):
        for pattern, chinese in _MARSHMALLOW_ZH:
            if pattern.match(messages):
                return pattern.sub(chinese, messages)
        if _LATIN.search(messages) and not _CHINESE.search(messages):
            log.warning("untranslated validation message: %r", messages)
            return UNTRANSLATED
    return messages


class ApiRefusal(HTTPException):
    """An HTTP refusal of the API with its own Chinese ``message``, stable ``error_code`` and ``details``."""

    def __init__(self, status: int, message: str, error_code: str | None = None, **details: Any) -> None:
        super().__init__(description=message)
        self.code = status
        self.message, self.error_code, self.details = message, error_code, details


def error_body(status: int, message: str | None = None, code: str | None = None, **details: Any) -> dict[str, Any]:
    """Return the JSON error shape for an HTTP status."""
    body: dict[str, Any] = {"code": code or _HTTP_CODE.get(status, f"HTTP_{status}"),
                            "message": message or _HTTP_ZH.get(status, "请求失败")}
    if status == 413 and has_app_context():
        body["message"] = _too_large(details)
    body["details"] = details     # always present, ``{}`` when there is nothing to add: one shape for clients
    return body


def _too_large(details: dict[str, Any]) -> str:
    """Name the limit a 413 came from: the body's size, or (for a body within it) the form parser's limits.

    Werkzeug's form parser refuses more than ``max_form_parts`` fields or a non-file field larger than
    ``max_form_memory_size`` with the same bare 413 as an oversized body; the body's length tells them apart.
    """
    limit = current_limit()
    length = request.content_length if has_request_context() else None
    if has_request_context() and limit and length is not None and length <= limit \
            and request.mimetype in (MULTIPART, "application/x-www-form-urlencoded"):
        parts, memory = request.max_form_parts, request.max_form_memory_size
        details.setdefault("max_form_parts", parts)
        details.setdefault("max_field_bytes", memory)
        return f"表单字段过多或过大：最多 {parts} 个字段（含文件），文件以外的每个字段不超过 {memory:,} 字节"
    if limit:
        details.setdefault("max_bytes", limit)
        return f"请求内容过大，上限为 {limit / 1024 / 1024:g} MB"
    return _HTTP_ZH[413]


_PAGE_MESSAGES = {400: "请求无效：页面可能已过期，请刷新后重试", 404: "您要找的页面不存在，或您无权查看",
                  405: "不支持该操作"}


def wants_page() -> bool:
    """Tell whether this request came from a page (HTML answer) rather than an API client (JSON)."""
    if request.blueprint == "pages":
        return True
    if request.path.startswith(("/api/", "/vendor/", "/static/")):
        return False
    # A browser asks for text/html first (and */* after it); an API client asks for JSON or anything (*/*).
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def render_page_error(status: int, message: str | None = None) -> Any:
    """Render the zh-CN error page for ``status``."""
    text = message or _PAGE_MESSAGES.get(status) or _HTTP_ZH.get(status, "请求失败")
    try:
        return render_template("pages/error.html", status=status, message=text), status
    except Exception:  # noqa: BLE001 - the page chrome needs the database; the error must still be told
        log.exception("error page failed")
        return f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><p>{escape(text)}</p></html>', status


def http_error_response(exc: HTTPException) -> Any:
    """Return the answer to an HTTP error: the error page for pages, else ``{code, message, details}``."""
    status = exc.code or 500
    if wants_page():
        return render_page_error(status)
    if isinstance(exc, ApiRefusal):
        return jsonify(error_body(status, exc.message, code=exc.error_code, **exc.details)), status
    if status == 400 and exc.description == "csrf":
        return jsonify(error_body(400, "缺少或错误的 CSRF 令牌（X-CSRFToken）", code="CSRF_FAILED")), 400
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if messages:
        return jsonify(error_body(status, "请求参数有误", fields=translate(messages))), status
    return jsonify(error_body(status)), status


def retry_after(exc: EngineError) -> dict[str, str]:
    """The ``Retry-After`` header of a throttled refusal (429 with ``details.retry_after`` seconds), else none."""
    seconds = exc.details.get("retry_after") if exc.http_status == 429 else None
    return {"Retry-After": str(int(seconds))} if isinstance(seconds, (int, float)) else {}


def register_error_handlers(app: Flask) -> None:
    """Map engine errors and HTTP errors to JSON for the API and to the error page for pages."""

    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> Any:
        """Render an engine refusal (a throttled one with ``Retry-After``)."""
        if wants_page():
            body, status = render_page_error(exc.http_status, None if exc.http_status == 404 else exc.message)
            return body, status, retry_after(exc)
        return jsonify(exc.to_dict()), exc.http_status, retry_after(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        """Render an HTTP error (including request validation) as JSON, or as a page for pages."""
        return http_error_response(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        """Log and hide anything unexpected."""
        log.exception("unhandled error")
        if wants_page():
            return render_page_error(500)
        return jsonify(error_body(500)), 500
