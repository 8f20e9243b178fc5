"""Who lists a deadline extension request: the district's department heads, and others only for cases they read.

A request names its case, the case title (often the applicant's name) and the reason: listing it to staff of
the district for whom the case itself is 404 leaked the case. Overseers still list every district's.
"""
from __future__ import annotations

import pytest

from engine import Actor, CompleteTask, NotFound, RequestExtension, StartCase
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, ZHUJIAN, open_task
from tests.integration.test_extension_requests import HEAD, HEAD_WZ, case_id, clock  # noqa: F401 - fixtures
from tests.integration.test_extension_requests import HEAD_2 as HEAD_GH   # 规划's head of the district
from tests.rating_helpers import task_of

WINDOW_2 = Actor("window_yz2", ("window_clerk",), "500103", "zwzx")
SUPERVISOR_YZ = Actor("supervisor_yz", ("supervisor",), "500103", "jiancha")
SUPERVISOR_WZ = Actor("supervisor_wz", ("supervisor",), "500101", "jiancha")
CITY = Actor("supervisor_city", ("supervisor",), "500000", "jiancha")
AUDITOR = Actor("auditor_city", ("auditor",), "500000", "shenji")
ADMIN = Actor("admin", ("admin",), "500000", None)
EVERYONE = (CLERK, WINDOW_2, ZHUJIAN, GUIHUA, HEAD, HEAD_GH, HEAD_WZ, SUPERVISOR_YZ, SUPERVISOR_WZ, CITY, AUDITOR,
            ADMIN)


def listed(engine, actor: Actor, case_id: int) -> tuple[list[int], list[int], int, int]:
    """Request ids listed to ``actor`` (all states, and for the case) and the two counts."""
    queries = engine.queries
    return ([r["id"] for r in queries.extension_requests(actor, state="all")],
            [r["id"] for r in queries.extension_requests(actor, state="all", case_id=case_id)],
            queries.count_extension_requests(actor, state="all"),
            queries.count_extension_requests(actor, state="all", case_id=case_id))


def reads(engine, actor: Actor, case_id: int) -> bool:
    try:
        engine.queries.case(actor, case_id)
    except NotFound:
        return False
    return True


def test_staff_for_whom_the_case_is_404_do_not_list_its_extension_requests(engine, case_id):
    request = engine.handle(RequestExtension(case_id, CLERK, 10, "需组织专家论证"))["id"]
    with pytest.raises(NotFound):
        engine.queries.case(GUIHUA, case_id)           # 规划 has no task on the case (yet)
    assert listed(engine, GUIHUA, case_id) == ([], [], 0, 0)
    assert listed(engine, ZHUJIAN, case_id) == ([], [], 0, 0)
    assert listed(engine, SUPERVISOR_WZ, case_id) == ([], [], 0, 0)
    assert listed(engine, HEAD_WZ, case_id) == ([], [], 0, 0)
    for keeps in (CLERK, WINDOW_2, HEAD, HEAD_GH, SUPERVISOR_YZ, CITY, AUDITOR, ADMIN):
        assert listed(engine, keeps, case_id) == ([request], [request], 1, 1), keeps.username
    assert [r["id"] for r in engine.queries.extension_requests(HEAD_GH)] == [request]   # the heads' open queue

    # 受理 puts the reviews in 规划's and 住建's inboxes: now they read the case, and list its request.
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    for reviewer in (GUIHUA, ZHUJIAN):
        assert reads(engine, reviewer, case_id)
        assert listed(engine, reviewer, case_id) == ([request], [request], 1, 1), reviewer.username


def test_the_listing_follows_the_case_page_rule_for_every_reader(engine, case_id):
    requests = [engine.handle(RequestExtension(case_id, CLERK, 10, "案情复杂"))["id"]]
    other = engine.handle(StartCase("parallel_approval", WINDOW_2)).case_id
    engine.handle(CompleteTask(task_of(engine, WINDOW_2, "accept", other)["id"], WINDOW_2, ACCEPT))
    engine.handle(CompleteTask(task_of(engine, GUIHUA, "review_guihua", other)["id"], GUIHUA, APPROVE))
    requests.append(engine.handle(RequestExtension(other, WINDOW_2, 5, "需现场核查"))["id"])
    for actor in EVERYONE:
        for case, request in zip((case_id, other), requests):
            assert (request in listed(engine, actor, case)[0]) == reads(engine, actor, case), (actor.username, case)
