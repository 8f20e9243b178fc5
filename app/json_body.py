"""JSON request bodies: one strict loader, and the webargs parser every ``location="json"`` argument uses.

Python's :func:`json.loads` accepts text the API cannot live with, and fails on some text in ways webargs does
not expect: a body nested thousands deep raises ``RecursionError``, an integer of more than 4,300 digits
raises a plain ``ValueError``, and a lone ``\\ud800`` escape decodes into a string no database or JSON
answer can encode. :func:`loads` turns each of these into :class:`JsonNotValid` (a reason and a Chinese
sentence), and also refuses documents nested deeper than :data:`MAX_DEPTH`, so that nothing further down (the
engine copying, hashing or checking the data) ever recurses out of the interpreter's stack.

:class:`JsonBodyParser` answers a JSON-body endpoint with 400 ``BAD_REQUEST`` for a body that is not
acceptable JSON and with 415 ``UNSUPPORTED_MEDIA_TYPE`` for a non-empty body sent with another content type
(instead of reading it as "no body"). Multipart endpoints read ``request.form``/``request.files`` themselves
and are not affected.
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any, NoReturn

import marshmallow as ma
from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from engine import BIDI_CONTROLS, BIDI_WHAT, nested_deeper_than, unstorable, unstorable_in, visible_text

from .errors import ApiRefusal

MAX_DEPTH = 64   # objects and arrays inside each other; form-js forms and process data stay far below
JSON_REQUIRED = "请求体应为 JSON（Content-Type: application/json）"
# What no database stores (U+0000, lone surrogates) is engine.storable's one rule; raw NUL is not JSON text,
# so only these escapes can bring either into a decoded body.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_BIDI = BIDI_CONTROLS   # "Trojan Source" controls (engine.text_input); U+200E/U+200F stay allowed
_BIDI_ESCAPE = re.compile(r"\\u20(?:2[a-eA-E]|6[6-9])")
BIDI_MESSAGE = f"{BIDI_WHAT}，无法保存"


class JsonNotValid(ValueError):
    """Text that is not JSON the API accepts: ``reason`` is a stable word, ``message`` a Chinese sentence."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def loads(raw: bytes | str, *, what: str = "请求体") -> Any:
    """Decode ``raw`` (UTF-8 bytes or text) as JSON, or raise :class:`JsonNotValid` naming ``what`` is wrong."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonNotValid("encoding", f"{what}不是 UTF-8 编码的文本（第 {exc.start + 1} 个字节）") from None
    else:
        text = raw
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonNotValid("syntax", f"{what}不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    except RecursionError:
        raise JsonNotValid("depth", f"{what}的 JSON 嵌套过深（上限 {MAX_DEPTH} 层）") from None
    except ValueError:   # an integer longer than sys.get_int_max_str_digits()
        raise JsonNotValid("number", f"{what}中的整数位数过多（上限 {sys.get_int_max_str_digits()} 位）") from None
    if nested_deeper_than(value, MAX_DEPTH):
        raise JsonNotValid("depth", f"{what}的 JSON 嵌套过深（上限 {MAX_DEPTH} 层）")
    found = unstorable_in(value) if _UNSTORABLE_ESCAPE.search(text) else None
    if found is not None:
        raise JsonNotValid(found.reason, f"{what}{found.message}")
    if (_BIDI.search(text) or _BIDI_ESCAPE.search(text)) and _any_string(value, _BIDI):
        raise JsonNotValid("bidi", f"{what}{BIDI_MESSAGE}")
    return value


def _any_string(value: Any, pattern: re.Pattern[str]) -> bool:
    """Whether a key or string anywhere in ``value`` matches ``pattern`` (iteratively)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if pattern.search(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def refuse_body(exc: JsonNotValid) -> NoReturn:
    """Answer 400 ``BAD_REQUEST`` for a JSON body that :func:`loads` refused."""
    raise ApiRefusal(400, exc.message, "BAD_REQUEST", reason=exc.reason, fields={"json": [exc.message]})


def has_body(req: Request) -> bool:
    """Whether the request carries a non-empty body (even one Werkzeug already parsed as a form)."""
    return bool(req.content_length) or bool(req.get_data(cache=True)) or bool(req.form) or bool(req.files)


_DECODED = "tongban.json_body"
"""Where :func:`json_of` keeps a request's decoded body (in its WSGI environ), so it is decoded once."""


def json_of(req: Request) -> Any:
    """The request's JSON body decoded by :func:`loads` (``missing`` when empty), or 400 ``BAD_REQUEST``.

    Decoded once per request: the API checks every JSON body before the view runs, also where the endpoint
    reads no body (claim, unclaim …), and :class:`JsonBodyParser` then reads the same value.
    """
    if _DECODED not in req.environ:
        raw = req.get_data(cache=True)
        if not raw:
            req.environ[_DECODED] = core.missing
        else:
            try:
                req.environ[_DECODED] = loads(raw)
            except JsonNotValid as exc:
                refuse_body(exc)
    return req.environ[_DECODED]


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser with :func:`loads` for JSON bodies and 415 for a body of another content type."""

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        """Return the decoded JSON body, ``missing`` when there is no body, or refuse with 400 or 415."""
        if not is_json_request(req):
            if has_body(req):
                raise ApiRefusal(415, JSON_REQUIRED, "UNSUPPORTED_MEDIA_TYPE", content_type=req.mimetype or "")
            return core.missing
        return json_of(req)


def install_text_guard(app: Any) -> None:
    """Refuse a URL path segment, query string or form field holding text no database stores (U+0000; see
    :mod:`engine.storable`) or a bidirectional control (400), as :func:`loads` refuses them in a JSON body.

    PostgreSQL stores no NUL in text: a NUL in a path segment (``/matters/%00``), a filter or a page form
    would otherwise be a 500 there, and on SQLite a NUL stored and shown again on a page. A direction override
    would be stored and shown reordered. Path segments are checked as the route parsed them (``view_args``).
    """
    from flask import request

    @app.before_request
    def refuse_unsafe_text() -> None:
        fields = [(name, value) for name, value in (request.view_args or {}).items() if isinstance(value, str)]
        fields += list(request.args.items(multi=True))
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            fields += list(request.form.items(multi=True))
        unsafe = [(name, found) for name, value in fields
                  for found in (unstorable(name) or unstorable(value),) if found is not None]
        if unsafe:
            reason, message = unsafe[0][1].reason, f"请求{unsafe[0][1].message}"
            raise ApiRefusal(400, message, "BAD_REQUEST", reason=reason,
                             fields={visible_text(name): [message] for name, _found in unsafe})
        bad = sorted({name for name, value in fields if _BIDI.search(name) or _BIDI.search(value)})
        if bad:
            message = f"请求{BIDI_MESSAGE}"
            raise ApiRefusal(400, message, "BAD_REQUEST", reason="bidi",
                             fields={visible_text(name): [message] for name in bad})
