"""Return (退回), delegate (转办), bulk claim and concurrent claims, on SQLite and PostgreSQL.

The engine here keeps no workflow cache, so every command restores the workflow from its stored snapshot:
returning relies on what compaction left in that snapshot.
"""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Iterator

import pytest
from sqlalchemy import select

from engine import (
    Actor, ClaimTask, ClaimTasks, CompleteTask, Conflict, DelegateTask, DeployDefinitions, EngineConfig, Forbidden,
    InvalidInput, NotFound, ResumeClock, ReturnTask, StartCase, SuspendClock, UnclaimTask, bootstrap,
    ensure_calendar_seeded,
)
from engine.persistence.models import Case
from tests.conftest import DATA, ROOT
from tests.helpers import ACCEPT, CLERK, GUIHUA, OUTSIDER, ZHUJIAN, ZHUJIAN_2, deploy_shipped, open_task, recorded

HEAD = Actor("head_zj", ("department_head",), "500103", "zhujian")
OTHER_HEAD = Actor("head_gh", ("department_head",), "500103", "guihua")


@pytest.fixture
def engine(database_url, clock) -> Iterator:
    """An engine without a workflow cache, so each command reads the compacted snapshot back."""
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", workflow_cache_size=0), clock=clock)
    yield eng
    eng.close()


def deploy(engine, name: str) -> None:
    path = DATA / "processes" / name
    engine.handle(DeployDefinitions(((path.name, path.read_bytes()),)))


def states(engine, case_id: int) -> list[tuple[str, str]]:
    return [(t["element_id"], t["state"]) for t in engine.queries.case(CLERK, case_id)["tasks"]]


def events(engine, case_id: int, kind: str) -> list:
    return [e for e in engine.queries.events(case_id) if e.event_type == kind]


@pytest.fixture
def paths(engine):
    deploy(engine, "return_paths.bpmn")
    return engine.handle(StartCase("return_paths", CLERK, data={"applicant": "张三"})).case_id


# --- 退回 ----------------------------------------------------------------------------------------------------

def test_returning_a_task_reopens_the_previous_step_with_the_data_it_saw(engine, paths):
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {"note": "第一次"}))
    review = open_task(engine, ZHUJIAN, "review")
    ref = engine.handle(ReturnTask(review["id"], ZHUJIAN, "材料不全，请补正"))
    again = open_task(engine, CLERK, "apply")
    assert ref.created_task_ids == (again["id"],)
    assert (again["stage"], again["applicant_name"], review["stage"]) == ("收件阶段", "张三", "审查阶段")
    assert states(engine, paths) == [("apply", "completed"), ("review", "cancelled"), ("apply", "open")]
    (returned,) = events(engine, paths, "TaskReturned")
    assert (returned.task_id, returned.actor, recorded(returned.payload)) == (
        review["id"], ZHUJIAN.username, {"to_element_id": "apply", "reason": "材料不全，请补正"})
    assert [e.element_id for e in events(engine, paths, "TaskCancelled")] == ["review"]
    engine.handle(CompleteTask(again["id"], CLERK, {"note": "第二次"}))
    assert open_task(engine, ZHUJIAN, "review")["id"] != review["id"]


def test_the_first_step_has_nothing_to_return_to(engine, paths):
    apply = open_task(engine, CLERK, "apply")
    with pytest.raises(Conflict) as exc:
        engine.handle(ReturnTask(apply["id"], CLERK, "退回"))
    assert exc.value.code == "NO_PREVIOUS_TASK" and "上一步" in exc.value.message
    assert states(engine, paths) == [("apply", "open")]


def test_returning_from_a_parallel_branch_withdraws_the_other_branches(engine, paths):
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {}))
    engine.handle(CompleteTask(open_task(engine, ZHUJIAN, "review")["id"], ZHUJIAN, {}))
    engine.handle(ReturnTask(open_task(engine, ZHUJIAN, "check_a")["id"], ZHUJIAN, "需重新初审"))
    assert states(engine, paths)[-3:] == [("check_a", "cancelled"), ("check_b", "cancelled"), ("review", "open")]
    assert engine.queries.tasks(GUIHUA).items == []


def test_a_return_across_a_parallel_join_is_refused_and_changes_nothing(engine, paths):
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {}))
    engine.handle(CompleteTask(open_task(engine, ZHUJIAN, "review")["id"], ZHUJIAN, {}))
    engine.handle(CompleteTask(open_task(engine, ZHUJIAN, "check_a")["id"], ZHUJIAN, {}))
    engine.handle(CompleteTask(open_task(engine, GUIHUA, "check_b")["id"], GUIHUA, {}))
    decide = open_task(engine, ZHUJIAN, "decide")
    before = engine.queries.case(CLERK, paths)
    with pytest.raises(Conflict) as exc:
        engine.handle(ReturnTask(decide["id"], ZHUJIAN, "退回"))
    assert exc.value.code == "RETURN_ACROSS_JOIN" and "并行" in exc.value.message
    after = engine.queries.case(CLERK, paths)
    assert (after["version"], after["event_count"]) == (before["version"], before["event_count"])
    assert engine.handle(CompleteTask(decide["id"], ZHUJIAN, {})).status == "completed"


def test_only_someone_who_may_work_the_task_may_return_it(engine, paths):
    apply = open_task(engine, CLERK, "apply")
    engine.handle(CompleteTask(apply["id"], CLERK, {}))
    review = open_task(engine, ZHUJIAN, "review")
    with pytest.raises(NotFound):
        engine.handle(ReturnTask(review["id"], GUIHUA, "越权"))
    engine.handle(ClaimTask(review["id"], ZHUJIAN))
    with pytest.raises(Conflict):
        engine.handle(ReturnTask(review["id"], ZHUJIAN_2, "已被他人认领"))


def test_a_loop_can_return_one_step_after_many_rounds_and_its_snapshot_stays_small(engine, database_url):
    deploy(engine, "loop.bpmn")
    case_id = engine.handle(StartCase("loop", CLERK)).case_id
    reviewer = Actor("rv", ("reviewer",), "500103")
    sizes = []
    for round_no in range(60):
        engine.handle(CompleteTask(open_task(engine, reviewer, "work")["id"], reviewer,
                                  {"round": round_no, "done": False}))
        with engine.database.read_sessions() as session:
            sizes.append(len(session.scalar(select(Case.workflow_state).where(Case.id == case_id))))
    assert sizes[-1] <= sizes[9] * 1.1, sizes
    current = open_task(engine, reviewer, "work")
    engine.handle(ReturnTask(current["id"], reviewer, "上一轮有误"))
    reopened = open_task(engine, reviewer, "work")
    assert reopened["id"] != current["id"]
    # The reopened step runs again with the data it saw before its 60th completion.
    engine.handle(CompleteTask(reopened["id"], reviewer, {"done": True, "round": 59}))
    assert engine.queries.case(CLERK, case_id)["status"] == "completed"


# --- the inbox follows the case's committed clock ---------------------------------------------------------------

def test_tasks_without_a_budget_follow_the_committed_clock_through_a_pause(engine, clock):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    accept = open_task(engine, CLERK, "accept")
    assert accept["inbox_due_at"] == accept["due_at"] != engine.queries.case(CLERK, case_id)["committed_due_at"]
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    committed = engine.queries.case(CLERK, case_id)["committed_due_at"]
    review = open_task(engine, ZHUJIAN, "review_zhujian")
    assert (review["due_at"], review["inbox_due_at"], review["light"]) == (None, committed, "green")
    engine.handle(SuspendClock(case_id, CLERK, "correction", "补正材料"))
    paused = open_task(engine, ZHUJIAN, "review_zhujian")
    assert (paused["inbox_due_at"], paused["light"]) == (None, "paused")      # 已暂停, not 无时限
    assert engine.queries.tasks(ZHUJIAN, light="green").items == []
    clock.advance(days=7)
    engine.handle(ResumeClock(case_id, CLERK))
    moved = engine.queries.case(CLERK, case_id)["committed_due_at"]
    assert moved > committed
    assert open_task(engine, ZHUJIAN, "review_zhujian")["inbox_due_at"] == moved
    assert [t["id"] for t in engine.queries.tasks(ZHUJIAN, sort="due", due_before=moved + timedelta(seconds=1)).items] \
        == [review["id"]]


def available_both_ways(engine, actor: Actor, **filters) -> list[int]:
    """The actor's unclaimed tasks by due time from the candidates' index, checked against the tasks table."""
    by_candidates = [t["id"] for t in engine.queries.tasks(actor, scope="available", sort="due", **filters).items]
    by_tasks = [t["id"] for t in engine.queries.tasks(actor, scope="available", sort="light", **filters).items]
    assert sorted(by_candidates) == sorted(by_tasks)
    for sort in ("due", "created"):
        merged = [t["id"] for t in engine.queries.tasks(actor, scope="all", sort=sort, **filters).items]
        direct = [t["id"] for t in engine.queries.tasks(actor, scope="all", sort="light", **filters).items]
        assert sorted(merged) == sorted(direct), sort
    return by_candidates


def test_the_candidates_index_follows_every_change_of_a_task(engine, clock):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    deploy(engine, "return_paths.bpmn")
    for actor in (ZHUJIAN, ZHUJIAN_2):
        engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                    district=actor.district, department=actor.department)
    first = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    clock.advance(hours=1)
    second = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    accepts = available_both_ways(engine, CLERK)
    assert len(accepts) == 2
    engine.handle(ClaimTask(accepts[0], CLERK))
    assert available_both_ways(engine, CLERK) == accepts[1:]
    engine.handle(UnclaimTask(accepts[0], CLERK))
    assert available_both_ways(engine, CLERK) == accepts
    for task_id in accepts:
        engine.handle(CompleteTask(task_id, CLERK, ACCEPT))
    assert available_both_ways(engine, CLERK) == []
    reviews = available_both_ways(engine, ZHUJIAN)
    assert len(reviews) == 2 and available_both_ways(engine, ZHUJIAN, district="500103") == reviews
    assert available_both_ways(engine, ZHUJIAN, q="no such applicant") == []
    engine.handle(SuspendClock(first, CLERK, "correction", "补正"))
    paused = [t for t in engine.queries.tasks(ZHUJIAN, scope="available", sort="due").items]
    assert [t["case_id"] for t in paused] == [second, first] and paused[-1]["inbox_due_at"] is None
    engine.handle(DelegateTask(reviews[0], HEAD, ZHUJIAN_2.username, "指定办理"))
    assert len(available_both_ways(engine, ZHUJIAN)) == 1
    case_id = engine.handle(StartCase("return_paths", CLERK)).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "apply")["id"], CLERK, {}))
    review = open_task(engine, ZHUJIAN, "review")
    assert review["id"] in available_both_ways(engine, ZHUJIAN)
    engine.handle(ReturnTask(review["id"], ZHUJIAN, "退回"))
    assert review["id"] not in available_both_ways(engine, ZHUJIAN)
    assert [t["case_id"] for t in engine.queries.tasks(CLERK, scope="available").items] == [case_id]


# --- 转办 ----------------------------------------------------------------------------------------------------

@pytest.fixture
def in_review(engine):
    deploy_shipped(engine)
    for actor in (ZHUJIAN, ZHUJIAN_2, GUIHUA, HEAD, OTHER_HEAD):
        engine.identity.create_user(actor.username, display_name=actor.username, roles=actor.roles,
                                    district=actor.district, department=actor.department)
    case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    return case_id


def test_the_assignee_delegates_to_a_colleague_of_the_same_group(engine, in_review):
    task = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(task["id"], ZHUJIAN))
    engine.handle(DelegateTask(task["id"], ZHUJIAN, ZHUJIAN_2.username, "休假，转同事办理"))
    assert engine.queries.task(ZHUJIAN_2, task["id"])["assignee"] == ZHUJIAN_2.username
    assert engine.queries.tasks(ZHUJIAN_2, scope="mine").items[0]["id"] == task["id"]
    (delegated,) = events(engine, in_review, "TaskDelegated")
    assert delegated.actor == ZHUJIAN.username and recorded(delegated.payload) == {
        "from_user": ZHUJIAN.username, "to_user": ZHUJIAN_2.username, "reason": "休假，转同事办理"}
    with pytest.raises(Conflict):
        engine.handle(CompleteTask(task["id"], ZHUJIAN, {"approved": "approve", "opinion": "同意"}))


def test_a_department_head_of_the_group_may_delegate_an_unclaimed_task(engine, in_review):
    task = open_task(engine, ZHUJIAN, "review_zhujian")
    with pytest.raises(NotFound):
        engine.handle(DelegateTask(task["id"], OTHER_HEAD, ZHUJIAN.username, "不是本科室"))
    engine.handle(DelegateTask(task["id"], HEAD, ZHUJIAN.username, "指定办理"))
    assert engine.queries.task(ZHUJIAN, task["id"])["assignee"] == ZHUJIAN.username


def test_delegation_is_refused_to_outsiders_strangers_and_non_assignees(engine, in_review):
    task = open_task(engine, ZHUJIAN, "review_zhujian")
    with pytest.raises(Forbidden):
        engine.handle(DelegateTask(task["id"], ZHUJIAN, ZHUJIAN_2.username, "未认领不能转办"))
    engine.handle(ClaimTask(task["id"], ZHUJIAN))
    for target, code in ((GUIHUA.username, "DELEGATE_TARGET_NOT_CANDIDATE"), ("nobody", "DELEGATE_TARGET_INVALID")):
        with pytest.raises(InvalidInput) as exc:
            engine.handle(DelegateTask(task["id"], ZHUJIAN, target, "转办"))
        assert exc.value.code == code
    with pytest.raises(Conflict) as exc:
        engine.handle(DelegateTask(task["id"], ZHUJIAN, ZHUJIAN.username, "转给自己"))
    assert exc.value.code == "ALREADY_ASSIGNED"
    with pytest.raises(NotFound):
        engine.handle(DelegateTask(task["id"], OUTSIDER, ZHUJIAN_2.username, "外区"))
    assert events(engine, in_review, "TaskDelegated") == []


def test_an_inactive_user_cannot_receive_a_task(engine, in_review):
    from engine.persistence.models import User
    with engine.database.engine.begin() as conn:
        conn.execute(User.__table__.update().where(User.username == ZHUJIAN_2.username).values(active=False))
    task = open_task(engine, ZHUJIAN, "review_zhujian")
    engine.handle(ClaimTask(task["id"], ZHUJIAN))
    with pytest.raises(InvalidInput) as exc:
        engine.handle(DelegateTask(task["id"], ZHUJIAN, ZHUJIAN_2.username, "转办"))
    assert exc.value.code == "DELEGATE_TARGET_INVALID" and exc.value.details == {"to": ZHUJIAN_2.username}


# --- claims --------------------------------------------------------------------------------------------------

def test_a_bulk_claim_reports_each_id_and_keeps_the_claims_that_succeeded(engine, in_review):
    first = engine.handle(StartCase("parallel_approval", CLERK)).case_id
    accepts = [t["id"] for t in engine.queries.tasks(CLERK, scope="available").items]
    assert len(accepts) == 1
    engine.handle(StartCase("parallel_approval", CLERK))
    taken = [t["id"] for t in engine.queries.tasks(CLERK, scope="available").items if t["id"] not in accepts]
    other_clerk = Actor("window_yz2", ("window_clerk",), "500103", "zwzx")
    engine.handle(ClaimTask(taken[0], other_clerk))
    zhujian_task = open_task(engine, ZHUJIAN, "review_zhujian")["id"]
    outcomes = engine.handle(ClaimTasks((accepts[0], taken[0], 999_999, zhujian_task, accepts[0]), CLERK))
    assert [(o.task_id, o.result) for o in outcomes] == [
        (accepts[0], "claimed"), (taken[0], "conflict"), (999_999, "not_found"), (zhujian_task, "not_found")]
    assert outcomes[0].case_id == first
    assert other_clerk.username in outcomes[1].message
    assert [t["id"] for t in engine.queries.tasks(CLERK, scope="mine").items] == [accepts[0]]


def test_a_bulk_claim_of_more_than_a_hundred_ids_is_refused(engine):
    with pytest.raises(InvalidInput):
        engine.handle(ClaimTasks(tuple(range(1, 102)), CLERK))


def test_two_connections_claiming_the_same_task_at_once_exactly_one_wins(engine):
    deploy_shipped(engine)
    rivals = (ZHUJIAN, ZHUJIAN_2)
    for _ in range(3):
        case_id = engine.handle(StartCase("parallel_approval", CLERK)).case_id
        accept = [t for t in engine.queries.tasks(CLERK, scope="available").items if t["case_id"] == case_id][0]
        engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
        task = [t for t in engine.queries.tasks(ZHUJIAN, scope="available").items if t["case_id"] == case_id][0]
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def attempt(actor: Actor, barrier: threading.Barrier, outcomes: dict, task_id: int) -> None:
            barrier.wait()
            try:
                outcomes[actor.username] = engine.handle(ClaimTask(task_id, actor))
            except Conflict as exc:
                outcomes[actor.username] = exc

        threads = [threading.Thread(target=attempt, args=(actor, barrier, outcomes, task["id"])) for actor in rivals]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [name for name, result in outcomes.items() if not isinstance(result, Conflict)]
        losers = [result for result in outcomes.values() if isinstance(result, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert engine.queries.task(ZHUJIAN, task["id"])["assignee"] == winners[0]
        assert winners[0] in losers[0].message
        assert len(events(engine, case_id, "TaskClaimed")) == 1

