"""Applicants without an account (no login): 办件查询 and 好差评 with the 办件编号 and query code.

A wrong code and an unknown case number get the same answer (404 ``QUERY_CODE_MISMATCH``); repeated failures
are throttled per case number and per address (429 ``TOO_MANY_ATTEMPTS`` with ``Retry-After``).
"""
from __future__ import annotations

from typing import Any

from flask import request

from ..runtime import get_engine
from . import Blueprint
from .rating_schemas import ApplicantViewSchema, PublicRatingSchema, QuerySchema

blp = Blueprint("public", __name__, url_prefix="/api/v1/public", description="申请人：办件查询、好差评（无需登录）")


def client_address() -> str:
    """The address failures are counted against (the proxy's, unless it is configured to pass the client's)."""
    return request.remote_addr or "unknown"


@blp.route("/lookup", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(QuerySchema)
@blp.response(200, ApplicantViewSchema)
def lookup(body: dict[str, Any]) -> Any:
    """See where your case stands: stage, next step, deadlines and any one-time notice of missing materials."""
    return get_engine().applicants.lookup(body["case_no"], body["query_code"], client_address())


@blp.route("/ratings", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(PublicRatingSchema)
@blp.response(201, ApplicantViewSchema)
def rate(body: dict[str, Any]) -> Any:
    """Rate your closed case once (好差评); 不满意 and 非常不满意 go to the responsible department for 整改."""
    return get_engine().applicants.rate(body["case_no"], body["query_code"], client_address(),
                                        score=body["score"], channel=body["channel"], comment=body["comment"])
