"""Only the head of the department handling a case decides its extension (第四十二条: 本行政机关负责人).

Before, any department head of the district could approve: 规划's head extended a 住建 case's legal deadline,
and listed and read every department's requests. A case started without a department (from a process rather
than a matter) is still decided by any head of its district (``test_extension_requests``).
"""
from __future__ import annotations

import pytest

from engine import (
    Actor, CompleteTask, DecideExtension, ExtendDeadline, ExtensionApproverRequired, ExtensionNotApproved, NotFound,
    RequestExtension, WithdrawExtension,
)
from tests.helpers import ACCEPT, CLERK, open_task
from tests.integration.test_extension_requests import HEAD, HEAD_2, clock, legal_due, written  # noqa: F401
from tests.integration.test_extension_requests import HEAD_WZ, start_with_heads

REVIEWING_HEAD = Actor("head_gh", ("department_head", "reviewer"), "500103", "guihua")


@pytest.fixture
def zhujian_case(engine):
    """A 住建 case of the district (500103), and the heads of 住建 and 规划 there and 住建's in 万州."""
    return start_with_heads(engine, {"department": "zhujian"})


def reads(engine, actor, case_id) -> bool:
    try:
        engine.queries.case(actor, case_id)
    except NotFound:
        return False
    return True


def test_a_head_of_another_department_cannot_decide_and_changes_nothing(engine, clock, zhujian_case):
    request = engine.handle(RequestExtension(zhujian_case, CLERK, 10, "需组织专家论证"))
    before = written(engine, zhujian_case)
    for approve in (True, False):
        with pytest.raises(ExtensionApproverRequired) as refused:
            engine.handle(DecideExtension(request["id"], HEAD_2, approve, "同意" if approve else "不同意"))
        assert refused.value.details == {"department": "zhujian"}
        assert "承办" in refused.value.message and "第四十二条" in refused.value.message
    assert written(engine, zhujian_case) == before
    assert legal_due(engine, zhujian_case) == "2026-03-18"

    approved = engine.handle(DecideExtension(request["id"], HEAD, True, "同意延长"))
    assert (approved["state"], approved["decided_by"]) == ("approved", HEAD.username)
    assert legal_due(engine, zhujian_case) == "2026-04-01"


def test_a_head_of_another_department_cannot_extend_directly(engine, clock, zhujian_case):
    before = written(engine, zhujian_case)
    with pytest.raises(NotFound):                      # 规划's head has no work on the case: it stays 404
        engine.handle(ExtendDeadline(zhujian_case, HEAD_2, 10, "案情复杂", "", "legal"))
    # 受理 puts 规划's review before its reviewing head: now they read the case, and still may not extend it.
    engine.identity.create_user(REVIEWING_HEAD.username, display_name="科长", roles=REVIEWING_HEAD.roles,
                                district=REVIEWING_HEAD.district, department=REVIEWING_HEAD.department)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    assert reads(engine, REVIEWING_HEAD, zhujian_case)
    before = written(engine, zhujian_case)
    with pytest.raises(ExtensionNotApproved):
        engine.handle(ExtendDeadline(zhujian_case, REVIEWING_HEAD, 10, "案情复杂", "", "legal"))
    request = engine.handle(RequestExtension(zhujian_case, CLERK, 10, "案情复杂"))["id"]
    with pytest.raises(ExtensionApproverRequired):
        engine.handle(DecideExtension(request, REVIEWING_HEAD, True))
    assert written(engine, zhujian_case)[0] == before[0] + 1          # the request alone was written
    engine.handle(WithdrawExtension(request, CLERK))
    engine.handle(ExtendDeadline(zhujian_case, HEAD, 10, "案情复杂", "", "legal"))
    assert legal_due(engine, zhujian_case) == "2026-04-01"


def test_only_the_handling_departments_heads_are_asked_and_read_the_case(engine, zhujian_case):
    request = engine.handle(RequestExtension(zhujian_case, CLERK, 10, "案情复杂"))["id"]
    assert [r["id"] for r in engine.queries.extension_requests(HEAD)] == [request]
    assert engine.queries.count_extension_requests(HEAD) == 1 and reads(engine, HEAD, zhujian_case)
    for other in (HEAD_2, HEAD_WZ):                    # 规划's head; 住建's head of another district
        assert engine.queries.extension_requests(other, state="all") == []
        assert engine.queries.count_extension_requests(other, state="all") == 0
        assert not reads(engine, other, zhujian_case)


def test_a_decision_recorded_before_the_rule_still_replays(engine, clock, zhujian_case):
    """Replay re-issues recorded decisions with ``on_record``: the department was not checked then."""
    request = engine.handle(RequestExtension(zhujian_case, CLERK, 10, "需组织专家论证"))
    engine.handle(DecideExtension(request["id"], HEAD_2, True, "同意延长", on_record=True))
    assert legal_due(engine, zhujian_case) == "2026-04-01"
