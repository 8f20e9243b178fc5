"""Every refusal has one shape, ``{code, message, details}``: ``details`` is ``{}`` when there is nothing to add."""
from __future__ import annotations

from app.cli_common import Refused
from app.errors import error_body
from engine.errors import Conflict


def test_an_engine_error_without_details_still_carries_an_empty_details():
    assert Conflict("草稿的流程标识与提交的图不一致", code="DRAFT_KEY_MISMATCH").to_dict() == {
        "code": "DRAFT_KEY_MISMATCH", "message": "草稿的流程标识与提交的图不一致", "details": {}}


def test_the_http_and_cli_bodies_have_the_same_keys_with_or_without_details():
    assert error_body(404)["details"] == {} and set(error_body(404)) == {"code", "message", "details"}
    assert error_body(409, "冲突", "CONFLICT", task_id=3)["details"] == {"task_id": 3}
    assert Refused("NOT_FOUND", "办件不存在").to_dict() == {"code": "NOT_FOUND", "message": "办件不存在", "details": {}}
