"""``tongban applicants add/list`` through Flask's CLI runner on both databases; the account logs in and applies."""
from __future__ import annotations

import json

from app.runtime import get_engine

from .test_cli import app, create_user, failed, ok, runner  # noqa: F401 (fixtures)

NUMBER = "500103199001011232"


def add(runner, *extra: str):  # noqa: F811 - the runner fixture
    return runner.invoke(args=["applicants", "add", "zhangsan", "--name", "张三", "--id-number", NUMBER, *extra])


def test_a_clerk_opens_an_applicant_account_that_logs_in_and_lists_masked(app, runner):  # noqa: F811
    ok(create_user(runner, "window_yz", "--role", "window_clerk", "--district", "500103", "--department", "zwzx"))
    out = ok(add(runner, "--verified-by", "window_yz", "--password", "zhangsan-2026"))
    assert "已开通申请人账号 zhangsan：张三，居民身份证 5001**********1232，由 window_yz 核验" in out
    listed = ok(runner.invoke(args=["applicants", "list"]))
    assert "zhangsan" in listed and NUMBER not in listed and "5001**********1232" in listed
    (row,) = json.loads(ok(runner.invoke(args=["applicants", "list", "--json"])))
    assert (row["username"], row["verified_by"], row["id_type"]) == ("zhangsan", "window_yz", "111")
    actor = get_engine(app).identity.actor_for_password("zhangsan", "zhangsan-2026")
    assert actor is not None and actor.roles == ("applicant",) and actor.district is None
    assert "zhangsan" not in ok(runner.invoke(args=["users", "list", "--role", "window_clerk"]))


def test_bad_identities_unknown_verifiers_and_duplicates_are_refused_with_codes(app, runner):  # noqa: F811
    ok(create_user(runner, "reviewer_yz"))
    ok(create_user(runner, "window_yz", "--role", "window_clerk", "--district", "500103", "--department", "zwzx"))
    bad = failed(runner.invoke(args=["applicants", "add", "zhangsan", "--name", "张三", "--id-number",
                                     "500103199001011233", "--verified-by", "window_yz"]))
    assert "错误 [APPLICANT_INVALID]" in bad and "id_number: 居民身份证号校验位不正确" in bad
    assert "错误 [VERIFIER_INVALID]" in failed(add(runner, "--verified-by", "reviewer_yz"))
    assert "错误 [VERIFIER_INVALID]" in failed(add(runner, "--verified-by", "nobody"))
    ok(add(runner, "--verified-by", "window_yz"))
    assert "错误 [USER_EXISTS]" in failed(add(runner, "--verified-by", "window_yz"))
    again = runner.invoke(args=["applicants", "add", "zhang2", "--name", "张三", "--id-number", NUMBER,
                                "--verified-by", "window_yz"])
    assert "错误 [APPLICANT_EXISTS]" in failed(again)
    assert [a.username for a in get_engine(app).applicant_accounts.list()] == ["zhangsan"]
    refused = runner.invoke(args=["users", "create", "x1", "--name", "x", "--role", "applicant"])
    assert refused.exit_code == 2                                # staff roles only: applicants have their command
