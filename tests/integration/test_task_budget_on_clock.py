"""A task budget counted on a case clock (``<tb:deadline clock="legal">``) on both databases.

The 法定 clock starts at 受理. ``prepare`` (3 working days on it) is made with the case, before 受理: it has no
due instant until the clock starts. ``review`` (5 working days on it) is made by 受理. A 补正 pause stops both
(已暂停 in the inbox), the resume pushes them by the paused days, and an extension granted while they are open
extends them; each move reaches the inbox row and its candidate rows. A budget of its own (``check``) does not
move with the clock. The case replays identical. March 2026 has no holidays; 2026-03-02 is a Monday.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine import (
    CST, Actor, CompleteTask, DeployDefinitions, ExtendDeadline, ManualClock, Replayer, ResumeClock, StartCase,
    SuspendClock, ensure_calendar_seeded,
)
from engine.persistence.models import NO_DEADLINE, TaskCandidate, TaskItem

REVIEWER = Actor("reviewer_yz", ("reviewer",), "500103", "zhujian")
HEAD = Actor("head_yz", ("department_head", "reviewer"), "500103", "zhujian")
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_bc" targetNamespace="http://tongban.test">
  <bpmn:process id="budget_on_clock" name="任务时限计在法定时限上" isExecutable="true">
    <bpmn:extensionElements><tb:clock kind="legal" workdays="20" startsAt="accept"/></bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="accept"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="check"/>
    <bpmn:userTask id="accept" name="受理">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="prepare" name="现场勘查准备">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/>
        <tb:deadline workdays="3" clock="legal"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="check" name="形式核对">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/>
        <tb:deadline workdays="10"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="accept" targetRef="review"/>
    <bpmn:userTask id="review" name="审查">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/>
        <tb:deadline workdays="5" clock="legal"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f5" sourceRef="review" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="prepare" targetRef="join"/>
    <bpmn:sequenceFlow id="f7" sourceRef="check" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f8" sourceRef="join" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=CST)


def ends(day: int) -> datetime:
    """The instant 2026-03-<day> ends (a due date D is due until D is over)."""
    return datetime(2026, 3, day, tzinfo=CST) + timedelta(days=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(2))


@pytest.fixture
def case_id(engine, clock) -> int:
    """The case started on Monday 03-02 and accepted on Wednesday 03-04; the 法定 clock counts from the 4th."""
    ensure_calendar_seeded(engine)
    engine.identity.create_user(HEAD.username, display_name="科长", roles=HEAD.roles, district="500103",
                                department="zhujian")
    engine.handle(DeployDefinitions((("budget_on_clock.bpmn", BPMN),)))
    case_id = engine.handle(StartCase("budget_on_clock", REVIEWER)).case_id
    prepare = row(engine, case_id, "prepare")
    assert (prepare["due"], prepare["inbox_due"], prepare["clock"]) == (None, NO_DEADLINE, "legal")
    assert task(engine, "prepare")["light"] == "not_started" and task(engine, "prepare")["deadline_clock"] == "legal"
    clock.set(at(4))
    engine.handle(CompleteTask(task(engine, "accept")["id"], REVIEWER, {}))
    return case_id


def row(engine, case_id: int, element: str) -> dict:
    """The open task's own and inbox instants, and its candidate rows' inbox instants."""
    with engine.database.read_sessions() as session:
        item = session.scalars(select(TaskItem).where(TaskItem.case_id == case_id, TaskItem.element_id == element,
                                                      TaskItem.state == "open")).one()
        candidates = {(c.inbox_due_at, c.inbox_yellow_at) for c in session.scalars(
            select(TaskCandidate).where(TaskCandidate.task_id == item.id))}
    assert candidates == {(item.inbox_due_at, item.inbox_yellow_at)}
    return {"due": item.due_at, "yellow": item.yellow_at, "inbox_due": item.inbox_due_at,
            "clock": item.deadline_clock}


def due(engine, case_id: int, element: str) -> datetime | None:
    return row(engine, case_id, element)["due"]


def task(engine, element: str) -> dict:
    (found,) = [t for t in engine.queries.tasks(REVIEWER, limit=50).items if t["element_id"] == element]
    return found


def test_the_clock_starting_dates_a_task_made_before_it_and_one_made_by_it(engine, case_id):
    assert due(engine, case_id, "prepare") == ends(9)        # 3 working days from the 受理 on the 4th
    assert due(engine, case_id, "review") == ends(11)
    assert due(engine, case_id, "check") == ends(16)         # its own 10 days from the 2nd
    assert row(engine, case_id, "review")["inbox_due"] == ends(11)


def test_a_pause_undates_the_tasks_on_the_clock_and_the_inbox_shows_them_paused(engine, clock, case_id):
    clock.set(at(5))
    engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正营业执照", clocks=("legal",)))
    for element in ("prepare", "review"):
        assert row(engine, case_id, element)["due"] is None and row(engine, case_id, element)["inbox_due"] == NO_DEADLINE
        assert task(engine, element)["light"] == "paused"
        assert engine.queries.task(REVIEWER, task(engine, element)["id"])["light"] == "paused"
    assert due(engine, case_id, "check") == ends(16) and task(engine, "check")["light"] == "green"
    paused = [t["element_id"] for t in engine.queries.tasks(REVIEWER, sort="due", limit=50).items]
    assert paused[-2:] == ["prepare", "review"] or paused[-2:] == ["review", "prepare"]   # undated: last


def test_the_resume_pushes_them_by_the_paused_working_days(engine, clock, case_id):
    clock.set(at(5))
    engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正营业执照", clocks=("legal",)))
    clock.set(at(9))
    engine.handle(ResumeClock(case_id, REVIEWER, clocks=("legal",)))
    # The 5th and 6th stood still: two working days later each.
    assert (due(engine, case_id, "prepare"), due(engine, case_id, "review")) == (ends(11), ends(13))
    assert due(engine, case_id, "check") == ends(16)
    clock.set(at(12))
    assert task(engine, "prepare")["light"] == "red" and task(engine, "review")["light"] == "yellow"


def test_an_extension_while_they_are_open_extends_them_and_the_case_replays_identical(engine, clock, case_id):
    clock.set(at(5))
    engine.handle(ExtendDeadline(case_id, HEAD, 10, "需组织专家评审", approved_by=HEAD.username, clock="legal"))
    assert (due(engine, case_id, "prepare"), due(engine, case_id, "review")) == (ends(23), ends(25))
    assert due(engine, case_id, "check") == ends(16)
    clock.set(at(6))
    engine.handle(CompleteTask(task(engine, "review")["id"], REVIEWER, {}))
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence



def test_the_pages_say_which_clock_an_undated_task_waits_for(database_url, clock):
    from app import create_app
    from app.runtime import get_engine
    from tests.pages_helpers import PASSWORD, client_for

    application = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock})
    engine = get_engine(application)
    try:
        ensure_calendar_seeded(engine)
        engine.identity.create_user(REVIEWER.username, display_name="渝中住建审查", roles=REVIEWER.roles,
                                    district="500103", department="zhujian", password=PASSWORD)
        engine.handle(DeployDefinitions((("budget_on_clock.bpmn", BPMN),)))
        case_id = engine.handle(StartCase("budget_on_clock", REVIEWER)).case_id
        client = client_for(application, REVIEWER.username)
        prepare = task(engine, "prepare")["id"]
        inbox = client.get("/?tab=available").get_data(as_text=True)
        assert "待法定时限起算" in inbox and "未起算" in inbox
        assert inbox.count("无时限") == 1                          # 受理 alone: it has no budget at all
        task_page = client.get(f"/tasks/{prepare}").get_data(as_text=True)
        assert "待法定时限起算" in task_page and "未起算" in task_page and "无时限" not in task_page
        case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert case_page.count("未起算") >= 2                     # the 法定 clock, and 现场勘查准备 waiting for it
        clock.set(at(4))
        engine.handle(CompleteTask(task(engine, "accept")["id"], REVIEWER, {}))
        assert "（计在法定时限上）" in client.get(f"/tasks/{prepare}").get_data(as_text=True)
        clock.set(at(5))
        engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正营业执照", clocks=("legal",)))
        inbox = client.get("/?tab=available").get_data(as_text=True)
        assert inbox.count("随法定时限暂停") == 2 and "已暂停" in inbox
    finally:
        engine.close()


def test_a_row_written_before_budgets_counted_on_clocks_keeps_counting_on_its_own(engine, clock, case_id):
    """QA: a recompute re-counted such a row on the diagram's clock and, the clock being paused, undated it for good."""
    own_due, own_yellow = ends(11), ends(9)       # as the engine wrote it then: 5 working days from the 4th
    review = task(engine, "review")["id"]
    with engine.database.writer.begin() as conn:
        conn.execute(update(TaskItem.__table__).where(TaskItem.id == review).values(
            deadline_clock=None, due_at=own_due, yellow_at=own_yellow, inbox_due_at=own_due, inbox_yellow_at=own_yellow))
        conn.execute(update(TaskCandidate.__table__).where(TaskCandidate.task_id == review).values(
            inbox_due_at=own_due, inbox_yellow_at=own_yellow))
    clock.set(at(5))
    engine.handle(SuspendClock(case_id, REVIEWER, "correction", "申请人补正营业执照", clocks=("legal",)))
    assert due(engine, case_id, "review") == own_due                  # a clock change leaves it alone
    engine.recompute_deadlines("节假日安排载入")
    assert (due(engine, case_id, "review"), row(engine, case_id, "review")["clock"]) == (own_due, None)
    assert due(engine, case_id, "prepare") is None                    # the task made on the clock still follows it


LINEAR = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_lc" targetNamespace="http://tongban.test">  <bpmn:process id="linear_on_clock" name="退回后暂停" isExecutable="true">
    <bpmn:extensionElements><tb:clock kind="legal" workdays="20" startsAt="accept"/></bpmn:extensionElements>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="accept"/>
    <bpmn:userTask id="accept" name="受理">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="accept" targetRef="review"/>
    <bpmn:userTask id="review" name="审查">
      <bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/>
        <tb:deadline workdays="5" clock="legal"/></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()
SCENARIO = """
name: 退回后暂停
process: linear_on_clock
start: {at: 2026-03-02T10:00:00+08:00, by: reviewer@500103/zhujian}
steps:
  - complete: accept
    by: reviewer@500103/zhujian
  - expect: {due: {review: 2026-03-09}}
  - return: review
    by: reviewer@500103/zhujian
    reason: 材料不全
  - advance: 1 workdays
  - complete: accept
    by: reviewer@500103/zhujian
  - expect: {tasks: [review], due: {review: 2026-03-10}}
  - suspend: correction
    by: reviewer@500103/zhujian
    reason: 补正
    clocks: [legal]
  - expect: {tasks: [review], due: {review: null}}
"""


def test_a_dry_run_reads_the_due_date_of_the_steps_open_instance(engine):
    """QA: after a 退回 the paused review has no due date; the dry run read the closed first review's."""
    ensure_calendar_seeded(engine)
    result = engine.dryruns.run([("linear_on_clock.bpmn", LINEAR)], [], "s.yaml", SCENARIO.encode())
    assert result.ok, [step for step in result.steps if not step["ok"]]
