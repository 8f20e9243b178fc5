"""Holding a task is not enough to decide it: its holder must still be one of its candidates, on both databases.

The candidate groups say who may work a task (README: visibility by role@district/department; 转办 only to an
active member of the task's groups). A reviewer who claimed a task and then left all of its groups (moved to
another district by the org file, or lost the role: 组织调整; every request builds the actor from the user row)
may give the task back and sees it in their 待办 marked as no longer theirs to handle, but may not complete,
return (退回) or hand it on (转办) themselves: 403 ``NOT_CANDIDATE_ANYMORE``, nothing written. A ``user:``
candidate key counts like a group. The department head can still hand the task to a colleague.
"""
from __future__ import annotations

import pytest
from sqlalchemy import update

from engine import (
    Actor, ClaimTask, CompleteTask, Conflict, DelegateTask, DeployDefinitions, Forbidden, NotFound, ReturnTask,
    StartCase, UnclaimTask, ensure_calendar_seeded,
)
from engine.persistence.models import User
from tests.bpmn_factory import diagram
from tests.helpers import (
    ACCEPT, APPROVE, CLERK, GUIHUA, ZHUJIAN, ZHUJIAN_2, count_statements, deploy_shipped, open_task,
)

HEAD = Actor("head_zj", ("department_head",), "500103", "zhujian")
NOT_CANDIDATE = "您已不在该任务的办理人员范围内（组织调整），请释放或由负责人转办"


@pytest.fixture
def in_review(engine) -> int:
    """A parallel approval after 受理: its three reviews are open; 住建 has two reviewers and a head."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    for actor in (ZHUJIAN, ZHUJIAN_2, HEAD):
        engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                    district=actor.district, department=actor.department)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return case_id


def change_user(engine, username: str, **values) -> Actor:
    """Change the user row as an org file import does, and build the actor from it as the next request does."""
    with engine.database.engine.begin() as conn:
        conn.execute(update(User).where(User.username == username).values(**values))
    actor = engine.identity.actor_for_username(username)
    assert actor is not None
    return actor


@pytest.fixture
def moved(engine, in_review) -> tuple[dict, Actor]:
    """The 住建 review, claimed by ZHUJIAN, who was then moved to 万州 (500101)."""
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    actor = change_user(engine, ZHUJIAN.username, district="500101")
    assert actor.groups.isdisjoint(review["candidate_groups"])
    return review, actor


def version(engine, case_id: int) -> int:
    return engine.queries.case(CLERK, case_id)["version"]


def test_a_reviewer_moved_to_another_district_can_no_longer_complete_the_task_claimed_there(engine, in_review,
                                                                                          moved):
    """The approval of another district's permit by someone outside it is refused with a reason and a code."""
    review, actor = moved
    before = version(engine, in_review)
    with pytest.raises(Forbidden) as caught:
        engine.handle(CompleteTask(review["id"], actor, APPROVE))
    assert (caught.value.code, caught.value.message, caught.value.http_status) == (
        "NOT_CANDIDATE_ANYMORE", NOT_CANDIDATE, 403)
    assert caught.value.details["task_id"] == review["id"]
    assert version(engine, in_review) == before


def test_nor_return_it_or_hand_it_on_but_the_head_may(engine, in_review, moved):
    review, actor = moved
    before = version(engine, in_review)
    for command in (ReturnTask(review["id"], actor, "退回"), DelegateTask(review["id"], actor, ZHUJIAN_2.username, "转办"),
                    ClaimTask(review["id"], actor)):
        with pytest.raises(Forbidden) as caught:
            engine.handle(command)
        assert caught.value.code == "NOT_CANDIDATE_ANYMORE", command
    assert version(engine, in_review) == before
    engine.handle(DelegateTask(review["id"], HEAD, ZHUJIAN_2.username, "原审查人调往万州，转同事办理"))
    engine.handle(CompleteTask(review["id"], ZHUJIAN_2, APPROVE))


def test_the_moved_reviewer_may_give_the_task_back_to_the_group(engine, in_review, moved):
    review, actor = moved
    engine.handle(UnclaimTask(review["id"], actor))
    with pytest.raises(NotFound):           # no longer theirs, and not of their groups: as for any outsider
        engine.handle(ClaimTask(review["id"], actor))
    assert review["id"] in {t["id"] for t in engine.queries.tasks(ZHUJIAN_2, scope="available").items}
    engine.handle(ClaimTask(review["id"], ZHUJIAN_2))
    engine.handle(CompleteTask(review["id"], ZHUJIAN_2, APPROVE))


def test_the_mine_tab_still_lists_the_task_marked_as_no_longer_theirs(engine, in_review, moved):
    """So the holder sees the task and releases it; the detail says the same. A candidate's rows are unmarked."""
    review, actor = moved
    for scope in ("mine", "all"):
        (item,) = engine.queries.tasks(actor, scope=scope).items
        assert (item["id"], item["not_candidate"]) == (review["id"], NOT_CANDIDATE), scope
    assert engine.queries.task(actor, review["id"])["not_candidate"] == NOT_CANDIDATE
    assert engine.queries.tasks(actor, scope="available").items == []
    assert engine.queries.task_counts(actor)["mine"] == 1
    guihua = open_task(engine, GUIHUA, "review_guihua")
    engine.handle(ClaimTask(guihua["id"], GUIHUA))
    (held,) = engine.queries.tasks(GUIHUA, scope="mine").items
    assert held["not_candidate"] is None


def test_a_reviewer_who_lost_the_role_is_refused_alike(engine, in_review):
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    actor = change_user(engine, ZHUJIAN.username, roles=["window_clerk"])
    with pytest.raises(Forbidden) as caught:
        engine.handle(CompleteTask(review["id"], actor, APPROVE))
    assert caught.value.code == "NOT_CANDIDATE_ANYMORE"


def test_a_personal_candidate_key_keeps_its_holder_a_candidate_wherever_they_move(engine):
    """``candidateUsers``: the task names the person (``user:reviewer_zj``), not a group they could leave."""
    engine.handle(DeployDefinitions((("personal.bpmn", diagram(
        process_id="personal", task_extensions='<tb:assignment candidateUsers="reviewer_zj"/>')),)))
    engine.identity.create_user(ZHUJIAN.username, display_name="住建审查", roles=ZHUJIAN.roles,
                                district=ZHUJIAN.district, department=ZHUJIAN.department)
    engine.handle(StartCase("personal", Actor.system()))
    (task,) = engine.queries.tasks(ZHUJIAN).items
    assert task["candidate_groups"] == ["user:reviewer_zj"]
    engine.handle(ClaimTask(task["id"], ZHUJIAN))
    actor = change_user(engine, ZHUJIAN.username, district="500101")
    assert engine.queries.tasks(actor, scope="mine").items[0]["not_candidate"] is None
    engine.handle(CompleteTask(task["id"], actor, {"approved": True}))


def test_the_check_adds_no_statement_to_the_completion(engine, in_review, moved):
    """The candidate test reads the locked task row and the actor: the refusal runs only the lock's statements,
    as the 409 for a task another holds (decided by the same check, one step earlier) does."""
    review, actor = moved
    with count_statements(engine) as refused:
        with pytest.raises(Forbidden):
            engine.handle(CompleteTask(review["id"], actor, APPROVE))
    with count_statements(engine) as conflict:          # refused one step earlier, by the same check
        with pytest.raises(Conflict):
            engine.handle(CompleteTask(review["id"], ZHUJIAN_2, APPROVE))
    assert len(refused) == len(conflict)


def test_a_group_member_may_not_hand_on_a_task_409_when_another_holds_it_403_when_nobody_does(engine, in_review):
    """README's 转办: the holder or the head hands a task on. A colleague of the group who does not hold it is
    told the precise reason: someone else holds it (409, as claim and complete say), or it is nobody's yet
    (403: claim it first)."""
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    with pytest.raises(Forbidden) as refused:
        engine.handle(DelegateTask(review["id"], ZHUJIAN_2, ZHUJIAN.username, "未认领"))
    assert refused.value.code == "FORBIDDEN"
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    with pytest.raises(Conflict) as held:
        engine.handle(DelegateTask(review["id"], ZHUJIAN_2, HEAD.username, "他人已认领"))
    assert (held.value.code, held.value.message) == ("CONFLICT", f"该任务已被 {ZHUJIAN.username} 认领")
