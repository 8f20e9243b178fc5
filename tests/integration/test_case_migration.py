"""Versions and case migration on SQLite and PostgreSQL: allowed and refused plans, races, audit and replay."""
from __future__ import annotations

import json
import re
import zipfile

import pytest
from sqlalchemy import create_engine, text

from engine import (
    Actor, CompleteTask, DeployDefinitions, Forbidden, NotFound, Replayer, StartCase, build_archive, verify_archive,
)
from tests.helpers import ACCEPT, APPROVE, CLERK, GUIHUA, XIAOFANG, ZHUJIAN, deploy_shipped, open_task
from tests.versioning import parallel_v1, renamed, retitled, with_review

ADMIN = Actor("admin_sj", ("admin",), "500000", "dsj")
SHENGTAI = Actor("reviewer_st", ("reviewer",), "500103", "shengtai")


def deploy(engine, xml: bytes) -> int:
    (line,) = [d for d in engine.handle(DeployDefinitions((("parallel_approval/main.bpmn", xml),)))
               if d.kind == "process"]
    return line.version


def zip_entry(path, suffix: str) -> bytes:
    with zipfile.ZipFile(path) as package:
        (name,) = [n for n in package.namelist() if n.endswith(suffix)]
        return package.read(name)


def start(engine) -> int:
    return engine.handle(StartCase("parallel_approval", CLERK, data={"applicant": "重庆某建设有限公司"})).case_id


def test_a_case_waiting_at_an_unchanged_task_migrates_and_completes_on_the_new_version(engine):
    deploy_shipped(engine)
    case_id = start(engine)
    assert deploy(engine, with_review(parallel_v1())) == 2
    report = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    assert [p.case_id for p in report.migrated] == [case_id] and report.refused == []
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    for actor, element in ((ZHUJIAN, "review_zhujian"), (GUIHUA, "review_guihua"), (XIAOFANG, "review_xiaofang"),
                           (SHENGTAI, "review_shengtai")):
        last = engine.handle(CompleteTask(open_task(engine, actor, element)["id"], actor, APPROVE))
    assert last.status == "completed"
    events = engine.queries.events(case_id)
    migrated = [e for e in events if e.event_type == "CaseMigrated"]
    assert len(migrated) == 1 and migrated[0].actor == "admin_sj"
    assert migrated[0].payload["from_version"] == 1 and migrated[0].payload["to_version"] == 2
    assert migrated[0].payload["mapping"] == {"accept": "accept"}
    # The closed case's package holds version 2, the one it ran on last, and verifies (it never could before:
    # the check compared the definition with CaseStarted's version 1).
    info = build_archive(engine, case_id, worker="test")
    check = verify_archive(engine.config.archives_dir / info.path)
    assert check.ok, check.problem
    assert json.loads(zip_entry(engine.config.archives_dir / info.path, "definition.json"))["version"] == 2


def test_a_case_waiting_at_a_removed_element_is_refused_and_left_alone(engine):
    deploy_shipped(engine)
    case_id = start(engine)
    deploy(engine, renamed(parallel_v1(), "accept", "accept_window"))
    before = engine.queries.events(case_id)
    report = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    (refused,) = report.refused
    assert [(r.code, r.element_id) for r in refused.refusals] == [("MIGRATION_ELEMENT_REMOVED", "accept")]
    assert "已删除" in refused.refusals[0].message
    assert len(engine.queries.events(case_id)) == len(before)
    assert engine.versions.list("parallel_approval")["versions"][1]["running_cases"] == 1


def test_a_case_waiting_at_a_joining_parallel_gateway_is_refused(engine):
    deploy_shipped(engine)
    case_id = start(engine)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    engine.handle(CompleteTask(open_task(engine, ZHUJIAN, "review_zhujian")["id"], ZHUJIAN, APPROVE))
    deploy(engine, parallel_v1().replace("汇总".encode(), "汇总审查".encode()))
    (plan,) = engine.versions.plan("parallel_approval", 1, 2, actor=ADMIN)
    assert plan.case_id == case_id and not plan.allowed
    assert ("MIGRATION_JOIN_WAITING", "join") in [(r.code, r.element_id) for r in plan.refusals]


def test_only_an_administrator_migrates(engine):
    deploy_shipped(engine)
    deploy(engine, with_review(parallel_v1()))
    with pytest.raises(Forbidden):
        engine.versions.migrate("parallel_approval", 1, 2, actor=CLERK)


def test_a_case_changed_after_its_plan_is_planned_again_and_migrated_on_the_retry(engine):
    deploy_shipped(engine)
    first, second = start(engine), start(engine)
    deploy(engine, retitled(parallel_v1()))
    versions_before = {p.case_id: p.row_version for p in engine.versions.plan("parallel_approval", 1, 2,
                                                                               actor=ADMIN)}

    def meanwhile(plan, outcome):
        if plan.case_id == first:  # the second case is worked on after the plan was made
            task = [t for t in engine.queries.tasks(CLERK, limit=10).items if t["case_id"] == second][0]
            engine.handle(CompleteTask(task["id"], CLERK, ACCEPT))
    report = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN, batch=1, progress=meanwhile)
    assert [p.case_id for p in report.migrated] == [first, second] and report.retried == 1
    assert report.migrated[1].row_version > versions_before[second]
    assert sorted(t["element_id"] for t in engine.queries.case(CLERK, second)["tasks"] if t["state"] == "open") == [
        "review_guihua", "review_xiaofang", "review_zhujian"]


def test_a_case_locked_by_another_transaction_is_refused_cleanly_after_one_retry(engine, database_url):
    deploy_shipped(engine)
    case_id = start(engine)
    deploy(engine, retitled(parallel_v1()))
    before = len(engine.queries.events(case_id))
    other = create_engine(database_url)
    conn = other.connect()
    hold = conn.begin()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("UPDATE cases SET title = title WHERE id = ?", (case_id,))  # takes the write lock
    else:
        conn.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})

    def release(plan, outcome):
        hold.rollback()
    try:
        report = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN, progress=release,
                                         lock_timeout=0.2)
    finally:
        conn.close()
        other.dispose()
    (refused,) = report.refused
    assert [r.code for r in refused.refusals] == ["MIGRATION_CASE_BUSY"] and report.retried == 1
    assert len(engine.queries.events(case_id)) == before
    again = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    assert [p.case_id for p in again.migrated] == [case_id]


def test_a_migrated_case_replays_identically_switching_specs_at_the_migration(engine):
    deploy_shipped(engine)
    case_id = start(engine)
    deploy(engine, with_review(parallel_v1()))
    engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    engine.handle(CompleteTask(open_task(engine, SHENGTAI, "review_shengtai")["id"], SHENGTAI, APPROVE))
    with Replayer(engine) as replayer:
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence
    assert result.events == len(engine.queries.events(case_id))


def test_running_cases_stay_on_their_version_and_new_cases_start_on_the_latest(engine):
    deploy_shipped(engine)
    old = start(engine)
    deploy(engine, with_review(parallel_v1()))
    new = start(engine)
    for case_id in (old, new):
        engine.handle(CompleteTask([t for t in engine.queries.tasks(CLERK, limit=10).items
                                    if t["case_id"] == case_id][0]["id"], CLERK, ACCEPT))
    open_at = {case_id: sorted(t["element_id"] for t in engine.queries.case(CLERK, case_id)["tasks"]
                               if t["state"] == "open") for case_id in (old, new)}
    assert "review_shengtai" not in open_at[old] and "review_shengtai" in open_at[new]
    listing = engine.versions.list("parallel_approval")
    assert [(v["version"], v["running_cases"], v["current"]) for v in listing["versions"]] == [
        (2, 1, True), (1, 1, False)]


def test_deploying_identical_content_creates_no_version_and_logs_only_new_versions(engine):
    deploy_shipped(engine)
    assert deploy(engine, parallel_v1()) == 1
    assert deploy(engine, retitled(parallel_v1())) == 2
    assert deploy(engine, retitled(parallel_v1())) == 2
    listing = engine.versions.list("parallel_approval")
    assert [v["version"] for v in listing["versions"]] == [2, 1]
    assert [(e["action"], e["version"], e["actor"]) for e in listing["log"]] == [
        ("deploy", 1, "system"), ("deploy", 2, "system")]


def test_only_a_designer_deploys(engine):
    with pytest.raises(Forbidden):
        engine.handle(DeployDefinitions((("parallel_approval/main.bpmn", parallel_v1()),), actor=ADMIN))
    assert engine.queries.definitions() == []


def test_cases_are_named_by_id_or_number_and_only_within_the_process(engine):
    deploy_shipped(engine)
    case_id = start(engine)
    other = engine.handle(StartCase("budongchan_dengji", CLERK, data={"sub_type": "mortgage"}))
    deploy(engine, with_review(parallel_v1()))
    (plan,) = engine.versions.plan("parallel_approval", 1, 2, actor=ADMIN, cases=[str(case_id)])
    assert plan.case_id == case_id and plan.allowed and plan.waiting_at == ("accept",)
    with pytest.raises(NotFound) as missing:
        engine.versions.plan("parallel_approval", 1, 2, actor=ADMIN, cases=[other.case_no])
    assert missing.value.details == {"cases": [other.case_no]}


def test_a_task_whose_pinned_form_changed_version_is_refused_though_its_key_is_the_same(engine):
    """The inbox row was opened under the old form: moving it would validate against fields it never showed."""
    from tests.conftest import ROOT
    deploy_shipped(engine)
    case_id = start(engine)                                    # waits at 受理 (form accept_application)
    form = json.loads((ROOT / "forms" / "accept_application.form").read_text(encoding="utf-8"))
    form["components"].append({"type": "select", "key": "risk_level", "label": "风险等级",
                               "values": [{"label": "低", "value": "low"}], "validate": {"required": True}})
    bpmn = (ROOT / "processes" / "parallel_approval" / "main.bpmn").read_bytes()
    deployed = engine.handle(DeployDefinitions((("parallel_approval/main.bpmn", bpmn),),
                                               (("accept_application.form", json.dumps(form).encode()),)))
    assert [d.version for d in deployed if d.kind == "process"] == [2]    # same diagram, another pinned form
    diff = engine.versions.diff("parallel_approval", 1, 2)                 # the designer sees why
    assert (diff["added"], diff["removed"], diff["changed"]) == ([], [], [])
    (pin,) = diff["forms"]["changed"]
    assert pin["key"] == "accept_application" and pin["from_hash"] != pin["to_hash"]
    assert (diff["forms"]["added"], diff["forms"]["removed"]) == ([], [])
    report = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    (refused,) = report.refused
    assert [(r.code, r.element_id) for r in refused.refusals] == [("MIGRATION_TASK_FORM_CHANGED", "accept")]
    assert "accept_application" in refused.refusals[0].message and "已改版" in refused.refusals[0].message
    assert report.migrated == [] and refused.case_id == case_id
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))   # still on version 1


def test_a_case_is_not_moved_onto_a_version_where_a_task_it_keeps_for_return_changed_type(engine):
    """A completed 受理 kept for 退回 that is a manual task in the target: the case stays, MIGRATION_TYPE_CHANGED.

    Moved, a 退回 would reopen 受理 as a manual task without candidates or form that nobody can do.
    """
    deploy_shipped(engine)
    case_id = start(engine)
    engine.handle(CompleteTask(open_task(engine, CLERK, "accept")["id"], CLERK, ACCEPT))
    manual = re.sub(r'<bpmn:userTask id="accept" name="受理">.*?</bpmn:userTask>',
                    '<bpmn:manualTask id="accept" name="受理"><bpmn:incoming>f_start_accept</bpmn:incoming>'
                    '<bpmn:outgoing>f_accept_gw</bpmn:outgoing></bpmn:manualTask>', parallel_v1().decode(), flags=re.S)
    assert deploy(engine, manual.encode()) == 2
    report = engine.versions.migrate("parallel_approval", 1, 2, actor=ADMIN)
    assert report.migrated == []
    (refused,) = report.refused
    assert refused.case_id == case_id
    (blocker,) = [r for r in refused.refusals if r.code == "MIGRATION_TYPE_CHANGED"]
    assert blocker.element_id == "accept" and "保留（退回需要）" in blocker.message and "类型已改变" in blocker.message
