"""A deadline extension approved in the system (行政许可法第四十二条): staff ask, a department head decides.

Before, a clerk recorded an extension naming the head who approved it, and nothing proved the head ever did.
Now the head approves or rejects a request in the system (the extension applies in the same transaction), or
extends directly as the approver; older recorded extensions still replay (the permit_clocks golden).
"""
from __future__ import annotations

import threading
from datetime import datetime

import pytest

from engine import (
    CST, Actor, ClockClosed, CompleteTask, Conflict, DecideExtension, ExtendDeadline, ExtensionApproverRequired,
    ExtensionLimitExceeded, Forbidden, InvalidInput, ManualClock, NotFound, RequestExtension, StartCase,
    WithdrawExtension, ensure_calendar_seeded, read_history,
)
from tests.goldens import HISTORIES
from tests.helpers import (
    ACCEPT, APPROVE, CLERK, GUIHUA, OUTSIDER, XIAOFANG, ZHUJIAN, deploy_shipped, open_task, recorded,
)

HEAD = Actor("head_yz", ("department_head", "reviewer"), "500103", "zhujian")
HEAD_2 = Actor("head_yz2", ("department_head",), "500103", "guihua")
HEAD_WZ = Actor("head_wz", ("department_head",), "500101", "zhujian")


@pytest.fixture
def clock() -> ManualClock:
    """Thursday 2026-02-12 10:00 CST, a loaded calendar year: the legal clock is due 2026-03-18."""
    return ManualClock(datetime(2026, 2, 12, 10, 0, tzinfo=CST))


@pytest.fixture
def case_id(engine):
    return start_with_heads(engine)


def start_with_heads(engine, data: dict | None = None) -> int:
    """Calendar and shipped files, the three heads as users, and a parallel approval case started with ``data``."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    for head in (HEAD, HEAD_2, HEAD_WZ):
        engine.identity.create_user(head.username, display_name="科长", roles=head.roles, district=head.district,
                                    department=head.department)
    return engine.handle(StartCase("parallel_approval", CLERK, data or {})).case_id


def legal_due(engine, case_id) -> str:
    return {c["kind"]: c for c in engine.queries.case(CLERK, case_id)["clocks"]}["legal"]["due_date"]


def written(engine, case_id) -> tuple[int, int]:
    case = engine.queries.case(CLERK, case_id)
    return case["version"], case["event_count"]


def test_a_request_waits_for_the_head_and_the_approval_applies_the_extension(engine, clock, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "需组织专家论证", told_to_applicant=True))
    assert (request["state"], request["state_label"], request["requested_by"]) == ("open", "待审批", CLERK.username)
    assert legal_due(engine, case_id) == "2026-03-18"                     # asking moves nothing
    (queued,) = engine.queries.extension_requests(HEAD)
    assert (queued["id"], queued["case_no"], queued["days"]) == (request["id"], request["case_no"], 10)
    assert engine.queries.extension_requests(HEAD_WZ) == []               # another district's head sees none

    clock.advance(hours=3)
    approved = engine.handle(DecideExtension(request["id"], HEAD, True, "同意延长"))
    assert (approved["state"], approved["decided_by"], approved["comment"]) == ("approved", HEAD.username, "同意延长")
    assert legal_due(engine, case_id) == "2026-04-01"                     # 03-18 + 10 working days
    assert engine.queries.extension_requests(HEAD) == []
    assert [r["state"] for r in engine.queries.extension_requests(CLERK, state="all")] == ["approved"]

    # 第四十二条: the applicant is told the extension and its reason (办件查询, 我的办件).
    (told,) = [d for d in engine.applicants.view(case_id)["deadlines"] if d["kind"] == "legal"]
    assert (told["extended_days"], told["extension_reason"], told["due_date"]) == (10, "需组织专家论证", "2026-04-01")

    events = engine.queries.events(case_id)
    kinds = [e.event_type for e in events]
    at = kinds.index("ExtensionApproved")
    assert kinds[at + 1] == "DeadlineExtended" and "ExtensionRequested" in kinds[:at]
    extended = events[at + 1]
    assert (extended.actor, extended.payload["approved_by"], extended.payload["told_to_applicant"]) == \
        (HEAD.username, HEAD.username, True)
    assert recorded(events[at].payload) == {"request_id": request["id"], "comment": "同意延长"}


def test_the_heads_asked_may_read_the_case_and_overseers_see_every_request(engine, case_id):
    with pytest.raises(NotFound):                     # a head with no task on the case does not see it ...
        engine.queries.case(HEAD_2, case_id)
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    assert engine.queries.case(HEAD_2, case_id)["id"] == case_id   # ... until asked to decide its extension
    with pytest.raises(NotFound):
        engine.queries.case(HEAD_WZ, case_id)         # not a head of another district
    auditor = Actor("auditor_city", ("auditor",), "500000", None)
    assert [r["id"] for r in engine.queries.extension_requests(auditor, state="all")] == [request["id"]]
    assert engine.queries.extension_requests(Actor("nobody", ("window_clerk",), None, None)) == []


def test_a_request_the_head_could_not_approve_is_refused_at_once_and_writes_nothing(engine, case_id):
    before = written(engine, case_id)
    with pytest.raises(ExtensionLimitExceeded):                           # 第四十二条: at most 10 working days
        engine.handle(RequestExtension(case_id, CLERK, 11, "案情复杂"))
    with pytest.raises(InvalidInput) as blank:
        engine.handle(RequestExtension(case_id, CLERK, 5, " \u3000 "))
    assert blank.value.details == {"fields": {"reason": ["必填项"]}}
    with pytest.raises(InvalidInput):
        engine.handle(RequestExtension(case_id, CLERK, 5, "案情复杂", clock="nosuch"))
    with pytest.raises(NotFound):                                         # not the owning district
        engine.handle(RequestExtension(case_id, OUTSIDER, 5, "案情复杂"))
    assert written(engine, case_id) == before
    assert engine.queries.extension_requests(HEAD, state="all") == []


def test_one_open_request_per_clock_and_none_after_the_one_extension(engine, case_id):
    first = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    with pytest.raises(Conflict) as twice:
        engine.handle(RequestExtension(case_id, CLERK, 5, "再申请"))
    assert (twice.value.code, twice.value.details) == ("EXTENSION_REQUEST_OPEN", {"request_id": first["id"]})
    committed = engine.handle(RequestExtension(case_id, CLERK, 3, "承诺时限另行申请", clock="committed"))
    assert committed["clock"] == "committed"
    engine.handle(DecideExtension(first["id"], HEAD, True))
    with pytest.raises(ExtensionLimitExceeded):                           # the law allows one extension
        engine.handle(RequestExtension(case_id, CLERK, 5, "再次延长"))


def test_a_head_decides_an_open_request_instead_of_extending_past_it(engine, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    before = written(engine, case_id)
    with pytest.raises(Conflict) as refused:
        engine.handle(ExtendDeadline(case_id, HEAD, 5, "直接延长"))
    assert (refused.value.code, refused.value.details) == ("EXTENSION_REQUEST_OPEN", {"request_id": request["id"]})
    assert written(engine, case_id) == before
    engine.handle(ExtendDeadline(case_id, HEAD, 5, "承诺时限直接延长", clock="committed"))   # another clock is free


def test_only_a_head_of_the_owning_district_decides_and_a_rejection_needs_its_reason(engine, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    before = written(engine, case_id)
    with pytest.raises(ExtensionApproverRequired):
        engine.handle(DecideExtension(request["id"], ZHUJIAN, True))      # a reviewer of the district
    with pytest.raises(NotFound):
        engine.handle(DecideExtension(request["id"], HEAD_WZ, True))      # a head of another district
    with pytest.raises(InvalidInput) as blank:
        engine.handle(DecideExtension(request["id"], HEAD, False, "  "))
    assert blank.value.details == {"fields": {"comment": ["必填项"]}}
    assert written(engine, case_id) == before

    rejected = engine.handle(DecideExtension(request["id"], HEAD, False, "理由不充分"))
    assert (rejected["state"], rejected["comment"]) == ("rejected", "理由不充分")
    assert legal_due(engine, case_id) == "2026-03-18"
    with pytest.raises(Conflict) as again:
        engine.handle(DecideExtension(request["id"], HEAD_2, True))
    assert (again.value.code, again.value.message) == ("EXTENSION_REQUEST_CLOSED", "该延期申请已由科长驳回")
    assert legal_due(engine, case_id) == "2026-03-18"


def test_the_requester_alone_withdraws_and_may_ask_again(engine, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    with pytest.raises(Forbidden) as other:
        engine.handle(WithdrawExtension(request["id"], ZHUJIAN))
    assert other.value.code == "EXTENSION_NOT_REQUESTER"
    assert engine.handle(WithdrawExtension(request["id"], CLERK))["state"] == "withdrawn"
    with pytest.raises(Conflict):
        engine.handle(DecideExtension(request["id"], HEAD, True))
    assert engine.handle(RequestExtension(case_id, CLERK, 5, "补充理由后重新申请"))["state"] == "open"
    states = [r["state"] for r in engine.queries.extension_requests(HEAD, state="all")]
    assert states == ["open", "withdrawn"]                                # newest first


def test_a_request_lapses_when_the_case_ends_undecided(engine, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor, APPROVE))
    assert engine.queries.extension_requests(HEAD) == []
    (lapsed,) = engine.queries.extension_requests(HEAD, state="lapsed")
    assert (lapsed["id"], lapsed["state_label"]) == (request["id"], "已失效")
    before = written(engine, case_id)
    with pytest.raises(ClockClosed):
        engine.handle(DecideExtension(request["id"], HEAD, True))
    with pytest.raises(ClockClosed):
        engine.handle(WithdrawExtension(request["id"], CLERK))
    assert written(engine, case_id) == before


def test_two_heads_approving_at_once_extend_the_deadline_once(engine, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def approve(head: Actor) -> None:
        start.wait()
        try:
            outcomes.append(engine.handle(DecideExtension(request["id"], head, True))["state"])
        except Conflict as exc:
            outcomes.append(exc.code)
    threads = [threading.Thread(target=approve, args=(head,)) for head in (HEAD, HEAD_2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["EXTENSION_REQUEST_CLOSED", "approved"], outcomes
    assert legal_due(engine, case_id) == "2026-04-01"
    kinds = [e.event_type for e in engine.queries.events(case_id)]
    assert kinds.count("DeadlineExtended") == 1 and kinds.count("ExtensionApproved") == 1


def test_the_golden_history_still_holds_an_extension_recorded_by_a_clerk():
    """Replay must accept what was lawful to record then; test_golden_histories replays this file."""
    history = read_history(HISTORIES / "permit_clocks_paused_and_extended.json")
    (extended,) = [e for e in history.events if e.event_type == "DeadlineExtended"]
    assert extended.actor != extended.payload["approved_by"]


def test_only_staff_who_may_read_the_case_ask_and_nothing_about_it_leaks_to_others(engine, case_id):
    before = written(engine, case_id)
    with pytest.raises(NotFound):                     # a reviewer of the district with no task on it yet
        engine.handle(RequestExtension(case_id, ZHUJIAN, 5, "探测"))
    for outsider in (Actor("admin", ("admin",), "500000", None), Actor("audit", ("auditor",), "500000", None)):
        with pytest.raises(Forbidden) as refused:     # roles that never act on clocks: 403 before the case is read
            engine.handle(RequestExtension(case_id, outsider, 5, "代申请"))
        assert refused.value.code == "EXTENSION_REQUEST_FORBIDDEN"
        with pytest.raises(Forbidden):
            engine.handle(RequestExtension(10 ** 9, outsider, 5, "代申请"))   # a case that does not exist: the same
    with pytest.raises(Forbidden):
        engine.handle(ExtendDeadline(case_id, Actor("audit", ("auditor",), "500000", None), 5, "直接"))
    assert written(engine, case_id) == before


@pytest.mark.parametrize("blank", ["\u200b", "\ufeff", " \u200b\u3000", "\u202e"])
def test_an_invisible_reason_is_no_reason(engine, case_id, blank):
    with pytest.raises(InvalidInput) as refused:
        engine.handle(RequestExtension(case_id, CLERK, 5, blank))
    assert refused.value.details == {"fields": {"reason": ["必填项"]}}
    with pytest.raises(InvalidInput) as direct:       # the same answer for a head's direct extension
        engine.handle(ExtendDeadline(case_id, HEAD, 5, blank))
    assert direct.value.details == {"fields": {"reason": ["必填项"]}}


def test_a_clock_not_started_cannot_be_extended_and_a_second_extension_names_the_first_plainly(engine, clock):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user(HEAD.username, display_name="科长", roles=HEAD.roles, district="500103",
                                department="zhujian")
    waiting = engine.handle(StartCase("standard_permit", CLERK)).case_id    # its legal clock starts at 受理
    with pytest.raises(InvalidInput) as refused:
        engine.handle(RequestExtension(waiting, CLERK, 5, "案情复杂"))
    assert refused.value.code == "CLOCK_NOT_STARTED"
    running = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(DecideExtension(engine.handle(RequestExtension(running, CLERK, 5, "案情复杂"))["id"], HEAD, True))
    with pytest.raises(ExtensionLimitExceeded) as twice:
        engine.handle(ExtendDeadline(running, HEAD, 5, "再次"))
    assert twice.value.message == "法定时限已于 2026-02-12 10:00 延长一次，依法不得再次延长"


def test_the_heads_queue_pages_and_counts_every_waiting_request(engine, case_id):
    ids = [engine.handle(RequestExtension(case, CLERK, 5, f"第 {n} 件"))["id"]
           for n, case in enumerate([case_id, *(engine.handle(StartCase("parallel_approval", CLERK)).case_id
                                                for _ in range(2))])]
    first = engine.queries.extension_requests(HEAD, limit=2)
    rest = engine.queries.extension_requests(HEAD, limit=2, offset=2)
    assert [r["id"] for r in first + rest] == ids                          # oldest first, nothing twice
    assert engine.queries.count_extension_requests(HEAD) == 3
    assert engine.queries.count_extension_requests(HEAD, case_id=case_id) == 1
    assert engine.queries.count_extension_requests(HEAD_WZ) == 0
