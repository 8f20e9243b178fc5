"""办件查询 for applicants (no login): the 办件编号 and query code show where the case stands; rate it once closed.

The page posts to itself (htmx swaps the result in place; without JavaScript the whole page comes back).
Refusals keep their HTTP status (404 wrong pair, 409 already rated, 422 bad rating, 429 throttled with
``Retry-After``), and the result never shows the applicant's name or any other personal data.
"""
from __future__ import annotations

from typing import Any

from flask import render_template, request

from engine import EngineError, NotFound, TooManyAttempts

from ..errors import retry_after
from ..runtime import get_engine
from . import bp

LEVEL_CHOICES = ((1, "非常满意"), (2, "满意"), (3, "基本满意"), (4, "不满意"), (5, "非常不满意"))
MISSING = "请填写办件编号和查询码"


@bp.get("/query")
def query() -> Any:
    """Show the lookup form."""
    return render_template("pages/query.html", view=None, case_no=request.args.get("case_no", "")[:40])


@bp.post("/query")
def query_post() -> Any:
    """Look the case up with its 办件编号 and query code."""
    case_no, code = _credentials()
    if not case_no or not code:
        return _answer(None, case_no, error=MISSING, status=422)
    try:
        view = get_engine().applicants.lookup(case_no, code, _address())
    except (NotFound, TooManyAttempts) as exc:
        return _answer(None, case_no, error=exc.message, status=exc.http_status, headers=retry_after(exc))
    return _answer(view, case_no, code=code)


@bp.post("/query/rate")
def query_rate() -> Any:
    """Rate the closed case (好差评) as its applicant; the query code authenticates again."""
    case_no, code = _credentials()
    score = request.form.get("score", "")
    comment = request.form.get("comment", "")[:2000]
    if not case_no or not code:
        return _answer(None, case_no, error=MISSING, status=422)
    engine = get_engine()
    try:
        view = engine.applicants.rate(case_no, code, _address(), score=int(score) if score.isdigit() else None,
                                      channel=page_channel(), comment=comment)
    except (NotFound, TooManyAttempts) as exc:
        return _answer(None, case_no, error=exc.message, status=exc.http_status, headers=retry_after(exc))
    except EngineError as exc:           # a bad rating, one already made, 差评整改 not deployed
        fields = exc.details.get("fields", {})
        view = engine.applicants.lookup(case_no, code, _address())
        return _answer(view, case_no, code=code, error=None if fields else exc.message, fields=fields,
                       values={"score": score, "comment": comment}, status=exc.http_status)
    return _answer(view, case_no, code=code, thanks=True, status=201)


def _credentials() -> tuple[str, str]:
    return (request.form.get("case_no") or "").strip()[:40], (request.form.get("query_code") or "").strip()[:16]


def _address() -> str:
    return request.remote_addr or "unknown"


def page_channel() -> str:
    """表9 评价渠道 of this page: 移动服务端 (2) on a phone's browser, else PC端 (1)."""
    agent = request.headers.get("User-Agent", "")
    return "2" if any(word in agent for word in ("Mobile", "Android", "iPhone")) else "1"


def _answer(view: dict[str, Any] | None, case_no: str, *, code: str = "", error: str | None = None,
            fields: dict[str, list[str]] | None = None, values: dict[str, str] | None = None, thanks: bool = False,
            status: int = 200, headers: dict[str, str] | None = None) -> Any:
    template = "pages/_query_result.html" if request.headers.get("HX-Request") else "pages/query.html"
    return render_template(template, view=view, case_no=case_no, query_code=code, error=error, fields=fields or {},
                           values=values or {}, thanks=thanks, levels=LEVEL_CHOICES), status, headers or {}
