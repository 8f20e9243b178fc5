"""Migrating a running case never silently loses a statutory clock (both databases).

A clock that waits for a task (受理) stores that task's id on the case. A target version without that task
would leave the clock never starting, so such a case is refused with ``MIGRATION_CLOCK_CHANGED``; a case whose
clock already runs, or whose task is still there, moves and keeps its clock as it was declared.
"""
from __future__ import annotations

from engine import Actor, CompleteTask, DeployDefinitions, StartCase
from tests.helpers import CLERK, open_task

DESIGNER = Actor("designer", ("designer",), "500000", "dsj")
ADMIN = Actor("admin_sj", ("admin",), "500000", "dsj")


def diagram(accept_id: str, starts_at: str | None = None) -> bytes:
    """收件 → 受理 → 审查, the 法定 clock (20 working days) starting when 受理 (``accept_id``) completes.

    ``starts_at`` overrides the clock's ``startsAt`` (default: ``accept_id``).
    """
    task = ('<bpmn:userTask id="{id}" name="{name}"><bpmn:extensionElements>'
            '<tb:assignment candidateGroups="window_clerk@${{receiving}}"/></bpmn:extensionElements></bpmn:userTask>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="Defs_qa_clock" targetNamespace="http://tongban.test">
  <bpmn:process id="qa_clock" name="受理后起算法定时限" isExecutable="true">
    <bpmn:extensionElements><tb:clock kind="legal" workdays="20" startsAt="{starts_at or accept_id}"/></bpmn:extensionElements>
    <bpmn:startEvent id="start" name="申请"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="receive"/>
    {task.format(id="receive", name="收件")}
    <bpmn:sequenceFlow id="f1" sourceRef="receive" targetRef="{accept_id}"/>
    {task.format(id=accept_id, name="受理")}
    <bpmn:sequenceFlow id="f2" sourceRef="{accept_id}" targetRef="review"/>
    {task.format(id="review", name="审查")}
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end" name="办结"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def deploy(engine, xml: bytes) -> int:
    (line,) = engine.handle(DeployDefinitions((("qa_clock/main.bpmn", xml),), actor=DESIGNER))
    return line.version


def test_a_case_whose_legal_clock_waits_for_a_task_the_target_renamed_is_refused_by_the_clock(engine):
    """The case waits at 收件; its 法定 clock waits for 受理 (``accept``), which version 2 calls ``accept_v2``.

    It was migrated (收件 exists unchanged) and then ran with no 法定 deadline at all: legal_due_at None and
    「受理（accept）后起算」 forever. Now it is refused naming the clock; on version 1 the clock starts at 受理.
    """
    assert deploy(engine, diagram("accept")) == 1
    case_id = engine.handle(StartCase("qa_clock", CLERK, {"applicant": "张三"})).case_id
    assert deploy(engine, diagram("accept_v2")) == 2

    report = engine.versions.migrate("qa_clock", 1, 2, actor=ADMIN)

    assert report.migrated == [] and [p.case_id for p in report.refused] == [case_id]
    (refusal,) = report.refused[0].refusals
    assert (refusal.code, refusal.element_id) == ("MIGRATION_CLOCK_CHANGED", "accept")
    assert "法定时限" in refusal.message and "accept" in refusal.message and "起算" in refusal.message
    engine.handle(CompleteTask(open_task(engine, CLERK, "receive")["id"], CLERK, {}))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, {}))
    assert engine.queries.case(CLERK, case_id)["legal_due_at"] is not None


def test_a_case_whose_legal_clock_already_runs_moves_and_keeps_it(engine):
    """Past 受理 the clock runs and waits for no task: a target that starts its clock elsewhere does not concern it."""
    assert deploy(engine, diagram("accept")) == 1
    case_id = engine.handle(StartCase("qa_clock", CLERK, {"applicant": "张三"})).case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "receive")["id"], CLERK, {}))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, {}))
    due = engine.queries.case(CLERK, case_id)["legal_due_at"]
    assert due is not None
    assert deploy(engine, diagram("accept", starts_at="accept review")) == 2

    report = engine.versions.migrate("qa_clock", 1, 2, actor=ADMIN)

    assert [p.case_id for p in report.migrated] == [case_id] and report.refused == []
    case = engine.queries.case(CLERK, case_id)
    assert case["legal_due_at"] == due
    engine.handle(CompleteTask(open_task(engine, CLERK, "review")["id"], CLERK, {}))
    assert engine.queries.case(CLERK, case_id)["status"] == "completed"


def test_a_case_whose_clock_waits_for_a_task_the_target_keeps_moves_and_still_starts_there(engine):
    """The target starts its clock at 受理 or 审查; the case's pending clock keeps waiting for 受理, which exists."""
    assert deploy(engine, diagram("accept")) == 1
    case_id = engine.handle(StartCase("qa_clock", CLERK, {"applicant": "张三"})).case_id
    assert deploy(engine, diagram("accept", starts_at="accept review")) == 2

    report = engine.versions.migrate("qa_clock", 1, 2, actor=ADMIN)

    assert [p.case_id for p in report.migrated] == [case_id] and report.refused == []
    engine.handle(CompleteTask(open_task(engine, CLERK, "receive")["id"], CLERK, {}))
    assert engine.queries.case(CLERK, case_id)["legal_due_at"] is None
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, {}))
    assert engine.queries.case(CLERK, case_id)["legal_due_at"] is not None
