"""Deploy, start, claim and complete on SQLite and PostgreSQL: state, inbox, audit chain, statement count."""
from __future__ import annotations

from sqlalchemy import select

from engine import ClaimTask, CompleteTask, DeployDefinitions, StartCase
from engine.audit import ChainedEvent, verify_chain
from engine.persistence.models import Case, CaseEvent, TaskItem
from tests.helpers import (
    ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN, count_statements, deploy_shipped, open_task,
)


def test_deploy_is_versioned_by_content_and_idempotent(engine):
    first = deploy_shipped(engine)
    assert {(d.key, d.version, d.status) for d in first if d.kind == "process"} >= {
        (key, 1, "created") for key in ("parallel_approval", "standard_permit", "gongcheng", "qiye_kaiban",
                                        "budongchan_jiaoyi", "budongchan_dengji")}
    again = deploy_shipped(engine)
    assert all(d.status == "unchanged" for d in again)
    bpmn, forms = engine.shipped_files()
    changed = [(n, x.replace("并联审批（示例）".encode(), "并联审批（第二版）".encode())) for n, x in bpmn]
    (line,) = [d for d in engine.handle(DeployDefinitions(tuple(changed))) if d.key == "parallel_approval"]
    assert (line.version, line.status) == (2, "created")


def test_a_parallel_approval_runs_from_start_to_end(engine):
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"},
                                  title="某项目施工许可"))
    assert ref.case_no.startswith("TB20261123") and ref.status == "running"
    accept = open_task(engine, CLERK, "accept")
    assert accept["candidate_groups"] == ["window_clerk@500103"]
    engine.handle(ClaimTask(accept["id"], CLERK))
    assert engine.queries.tasks(CLERK, scope="mine").items[0]["assignee"] == CLERK.username
    engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang")):
        task = open_task(engine, actor, element)
        assert task["candidate_groups"] == [f"reviewer@500103/{actor.department}"]
        last = engine.handle(CompleteTask(task["id"], actor, APPROVE))
    assert last.status == "completed"
    case = engine.queries.case(CLERK, ref.case_id)
    assert case["status"] == "completed" and case["ended_at"] is not None
    assert {t["state"] for t in case["tasks"]} == {"completed"}


def test_every_event_is_hash_chained_and_the_chain_verifies(engine):
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK))
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    events = engine.queries.events(ref.case_id)
    types = [e.event_type for e in events]
    assert types[:4] == ["CaseStarted", "ClocksStarted", "FlowAdvanced", "TaskCreated"]
    assert events[2].payload == {"elements": ["start"]}
    assert types[4:7] == ["TaskCompleted", "FlowAdvanced", "TaskCreated"]
    chained = [ChainedEvent(ref.case_no, e.seq, e.event_type, e.occurred_at, e.actor, e.element_id, e.task_id,
                            e.payload, e.prev_hash, e.hash) for e in events]
    head = engine.queries.case(CLERK, ref.case_id)["chain_head"]
    assert verify_chain(chained, expected_head=head).ok
    tampered = chained[:4] + [ChainedEvent(**{**chained[4].__dict__, "payload": {"data": {"decision": "reject"}}})]
    check = verify_chain(tampered + chained[5:])
    assert not check.ok and check.broken_seq == 5
    assert not verify_chain(chained[:2] + chained[3:]).ok


def test_a_task_completion_takes_at_most_ten_sql_statements(engine):
    deploy_shipped(engine)
    engine.handle(StartCase("parallel_approval", CLERK))
    accept = open_task(engine, CLERK, "accept")
    # Warm the definition cache the way a running server has it.
    with count_statements(engine) as statements:
        engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    assert len(statements) <= 10, statements
    task = open_task(engine, ZHUJIAN, "review_zhujian")
    with count_statements(engine) as statements:
        engine.handle(CompleteTask(task["id"], ZHUJIAN, APPROVE))
    assert len(statements) <= 10, statements


def test_case_version_moves_on_every_write(engine):
    deploy_shipped(engine)
    ref = engine.handle(StartCase("parallel_approval", CLERK))
    accept = open_task(engine, CLERK, "accept")
    claimed = engine.handle(ClaimTask(accept["id"], CLERK))
    done = engine.handle(CompleteTask(accept["id"], CLERK, ACCEPT))
    assert ref.version < claimed.version < done.version
    with engine.database.read_sessions() as session:
        assert session.scalar(select(Case.event_seq).where(Case.id == ref.case_id)) == \
            session.scalar(select(CaseEvent.seq).where(CaseEvent.case_id == ref.case_id).order_by(
                CaseEvent.seq.desc()).limit(1))
        assert session.scalar(select(TaskItem.state).where(TaskItem.id == accept["id"])) == "completed"


def test_a_wide_parallel_split_still_writes_each_table_once(engine):
    branches = "".join(
        f'<bpmn:sequenceFlow id="s{i}" sourceRef="split" targetRef="t{i}"/>'
        f'<bpmn:userTask id="t{i}" name="审查{i}"><bpmn:extensionElements>'
        f'<tb:assignment candidateGroups="reviewer@${{owning}}"/></bpmn:extensionElements></bpmn:userTask>'
        f'<bpmn:sequenceFlow id="j{i}" sourceRef="t{i}" targetRef="join"/>' for i in range(8))
    xml = ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
           'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:tb="http://tongban.cq.gov.cn/schema/bpmn/1.0" id="d" targetNamespace="t">'
           '<bpmn:process id="wide" isExecutable="true"><bpmn:startEvent id="start"/>'
           '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="first"/>'
           '<bpmn:userTask id="first"><bpmn:extensionElements><tb:assignment candidateGroups="reviewer@${owning}"/>'
           '</bpmn:extensionElements></bpmn:userTask><bpmn:sequenceFlow id="f1" sourceRef="first" targetRef="split"/>'
           f'<bpmn:parallelGateway id="split"/>{branches}<bpmn:parallelGateway id="join"/>'
           '<bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/>'
           '</bpmn:process></bpmn:definitions>').encode()
    engine.handle(DeployDefinitions((("wide.bpmn", xml),)))
    ref = engine.handle(StartCase("wide", ZHUJIAN))
    with count_statements(engine) as statements:
        done = engine.handle(CompleteTask(ref.created_task_ids[0], ZHUJIAN, {}))
    assert len(done.created_task_ids) == 8
    assert len(statements) <= 10, statements
    names = {t["id"]: t["name"] for t in engine.queries.case(ZHUJIAN, ref.case_id)["tasks"]}
    assert sorted(names[i] for i in done.created_task_ids) == sorted(f"审查{i}" for i in range(8))


def test_a_failed_step_never_leaves_a_half_advanced_workflow_in_the_cache(engine):
    from engine import ExpressionFailed
    from tests.bpmn_factory import diagram
    engine.handle(DeployDefinitions((("gate.bpmn", diagram(process_id="gate", condition="approved == True")),)))
    reviewer = ZHUJIAN.__class__("r", ("reviewer",), "500103", None)
    ref = engine.handle(StartCase("gate", reviewer))
    task_id = ref.created_task_ids[0]
    try:
        engine.handle(CompleteTask(task_id, reviewer, {"other": 1}))
    except ExpressionFailed:
        pass
    else:
        raise AssertionError("the condition on a missing variable should have failed")
    done = engine.handle(CompleteTask(task_id, reviewer, {"approved": True}))
    assert done.status == "completed"
    assert [e.event_type for e in engine.queries.events(ref.case_id)].count("TaskCompleted") == 1
