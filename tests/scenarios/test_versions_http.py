"""Versions, diff, migration and dry run over HTTP: designers deploy and dry-run, admins migrate, all audited."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.runtime import get_engine
from tests.conftest import ROOT
from tests.versioning import parallel_v1, renamed, with_review

from .conftest import Caller
from .test_http_api import ACCEPT, APPROVE, assert_error, complete, get_case, inbox, upload

FORMS = [(p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form"))]
SCENARIO = (ROOT / "processes" / "parallel_approval" / "scenarios" / "all_approve.yaml").read_text()
STAFF = {"admin": ("admin_sj", ("admin",), "dsj"), "shengtai": ("reviewer_st", ("reviewer",), "shengtai")}


@pytest.fixture
def people(app: Any, cast: dict[str, Caller]) -> dict[str, Caller]:
    """The cast plus an administrator (who is not a designer) and a 生态环境 reviewer."""
    identity = get_engine(app).identity
    callers = dict(cast)
    for who, (username, roles, department) in STAFF.items():
        identity.create_user(username, display_name=username, roles=roles, district="500103" if who != "admin"
                             else "500000", department=department)
        callers[who] = Caller(username, {"Authorization": f"Bearer {identity.create_token(username)}"})
    return callers


def deploy(client: FlaskClient, caller: Caller, xml: bytes) -> Any:
    return upload(client, caller, [("main.bpmn", xml), *FORMS])


def start(client: FlaskClient, clerk: Caller) -> int:
    response = client.post("/api/v1/cases", headers=clerk.headers,
                           json={"process_key": "parallel_approval", "data": {"applicant": "某公司"}})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["case_id"]


def do(client: FlaskClient, caller: Caller, case_id: int, element: str, data: dict[str, Any]) -> dict[str, Any]:
    task = [t for t in inbox(client, caller)["items"] if t["case_id"] == case_id and t["element_id"] == element][0]
    response = complete(client, caller, task["id"], data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def migrate(client: FlaskClient, caller: Caller, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/definitions/parallel_approval/migrations", headers=caller.headers, json=body)


def test_only_designers_deploy_and_each_new_version_is_listed_with_who_and_when(client, people, clock):
    assert_error(deploy(client, people["admin"], parallel_v1()), 403, "DEPLOY_FORBIDDEN")
    assert_error(deploy(client, people["clerk"], parallel_v1()), 403, "DEPLOY_FORBIDDEN")
    assert deploy(client, people["designer"], parallel_v1()).status_code == 201
    assert deploy(client, people["designer"], parallel_v1()).get_json()[0]["status"] == "unchanged"
    clock.advance(hours=1)
    assert deploy(client, people["designer"], with_review(parallel_v1())).status_code == 201
    start(client, people["clerk"])
    response = client.get("/api/v1/definitions/parallel_approval/versions", headers=people["admin"].headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["current_version"] == 2
    assert [(v["version"], v["deployed_by"], v["running_cases"], v["current"]) for v in body["versions"]] == [
        (2, "designer", 1, True), (1, "designer", 0, False)]
    assert [(e["action"], e["version"], e["actor"]) for e in body["log"]] == [
        ("deploy", 1, "designer"), ("deploy", 2, "designer")]
    assert_error(client.get("/api/v1/definitions/parallel_approval/versions", headers=people["clerk"].headers),
                 403, "FORBIDDEN")
    assert_error(client.get("/api/v1/definitions/nothing/versions", headers=people["designer"].headers),
                 404, "NOT_FOUND")


def test_redeploying_an_older_versions_content_says_the_current_version_stays(client, people):
    assert deploy(client, people["designer"], parallel_v1()).status_code == 201
    assert deploy(client, people["designer"], with_review(parallel_v1())).status_code == 201
    again = deploy(client, people["designer"], parallel_v1())
    assert again.status_code == 200, again.get_data(as_text=True)      # nothing was created
    (line,) = [d for d in again.get_json() if d["key"] == "parallel_approval"]
    assert (line["status"], line["version"], line["latest_version"]) == ("unchanged", 1, 2)
    assert "当前版本仍为第 2 版" in line["message"] and "新办件仍按该版启动" in line["message"]
    current = [d for d in deploy(client, people["designer"], with_review(parallel_v1())).get_json()
               if d["key"] == "parallel_approval"]
    assert [(d["version"], d["latest_version"], d["message"]) for d in current] == [
        (2, 2, "与当前的第 2 版相同，未产生新版本")]
    case = get_case(client, people["clerk"], start(client, people["clerk"]))
    assert case["definition_version"] == 2


def test_the_diff_names_element_ids_per_category(client, people):
    deploy(client, people["designer"], parallel_v1())
    deploy(client, people["designer"], with_review(renamed(parallel_v1(), "end_done", "end_granted")))
    response = client.get("/api/v1/definitions/parallel_approval/diff?from=1&to=2",
                          headers=people["designer"].headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["from"]["version"], body["to"]["version"]) == (1, 2)
    assert body["added"] == ["end_granted", "f_review_shengtai_join", "f_split_review_shengtai", "review_shengtai"]
    assert body["removed"] == ["end_done"] and body["changed"] == ["f_agreed_done", "join", "split"]
    assert body["details"]["split"]["changes"][0]["aspect"] == "outgoing"
    assert body["forms"] == {"added": [], "removed": [], "changed": []}    # the same forms pinned
    assert body["bundle"] == body["resources"] == {"added": [], "removed": [], "changed": []}
    assert_error(client.get("/api/v1/definitions/parallel_approval/diff?from=1",
                            headers=people["designer"].headers), 422, "INVALID_INPUT")
    assert_error(client.get("/api/v1/definitions/parallel_approval/diff?from=1&to=9",
                            headers=people["designer"].headers), 404, "NOT_FOUND")


def test_an_admin_plans_then_migrates_and_the_case_finishes_on_the_new_version(client, people):
    designer, admin, clerk = people["designer"], people["admin"], people["clerk"]
    deploy(client, designer, parallel_v1())
    waiting, reviewing = start(client, clerk), start(client, clerk)
    do(client, clerk, reviewing, "accept", ACCEPT)
    deploy(client, designer, with_review(parallel_v1()))
    assert_error(migrate(client, designer, {"from": 1, "to": 2, "all": True}), 403, "MIGRATION_FORBIDDEN")
    assert_error(migrate(client, admin, {"from": 1, "to": 2}), 422, "INVALID_INPUT")
    assert_error(migrate(client, admin, {"from": 1, "to": 2, "cases": [True]}), 422, "INVALID_INPUT")
    assert_error(migrate(client, admin, {"from": 1, "to": 2, "cases": ["TB2026NOPE"]}), 404, "NOT_FOUND")

    plan = migrate(client, admin, {"from": 1, "to": 2, "all": True, "dry_run": True}).get_json()
    assert (plan["planned"], plan["allowed"], plan["migrated"]) == (2, 1, [])
    refused = next(c for c in plan["cases"] if c["case_id"] == reviewing)
    assert refused["refusals"][0]["code"] == "MIGRATION_JOIN_UNREACHABLE"
    assert refused["refusals"][0]["element_id"] == "join" and "无法到达" in refused["refusals"][0]["message"]

    done = migrate(client, admin, {"from": 1, "to": 2, "cases": [waiting, str(reviewing)], "batch": 1})
    assert done.status_code == 200, done.get_data(as_text=True)
    report = done.get_json()
    assert [c["case_id"] for c in report["migrated"]] == [waiting]
    assert [c["case_id"] for c in report["refused"]] == [reviewing]

    do(client, clerk, waiting, "accept", ACCEPT)
    for who, element in (("zhujian", "review_zhujian"), ("guihua", "review_guihua"), ("xiaofang", "review_xiaofang"),
                         ("shengtai", "review_shengtai")):
        last = do(client, people[who], waiting, element, APPROVE)
    assert last["status"] == "completed"
    assert get_case(client, clerk, reviewing)["status"] == "running"
    versions = client.get("/api/v1/definitions/parallel_approval/versions", headers=admin.headers).get_json()
    entry = versions["log"][-1]
    assert (entry["action"], entry["from_version"], entry["version"], entry["actor"]) == ("migrate", 1, 2, "admin_sj")
    assert (entry["detail"]["migrated"], entry["detail"]["refused"]) == (1, 1)
    events = [e.event_type for e in get_engine(client.application).queries.events(waiting)]
    assert "CaseMigrated" in events


def test_a_designer_dry_runs_a_draft_and_others_may_not(client, people):
    body = {"bpmn": parallel_v1().decode(), "forms": {}, "scenario": SCENARIO}
    assert_error(client.post("/api/v1/dryrun", headers=people["admin"].headers, json=body), 403, "FORBIDDEN")
    assert_error(client.post("/api/v1/dryrun", headers=people["designer"].headers, json={"bpmn": ""}), 422,
                 "INVALID_INPUT")
    deploy(client, people["designer"], parallel_v1())               # forms come from what is deployed
    response = client.post("/api/v1/dryrun", headers=people["designer"].headers, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert result["ok"] is True and result["errors"] == []
    assert result["path"]["end_done"] == 1 and result["path"]["review_zhujian"] == 1
    assert {(d["clock"], d["element"]) for d in result["deadlines"]} == {
        ("legal", "parallel_approval"), ("committed", "parallel_approval"), ("task", "accept")}
    assert all(step["ok"] for step in result["steps"])
    assert inbox(client, people["clerk"])["items"] == []            # nothing real was started


def test_a_draft_that_fails_lint_or_its_scenario_says_why(client, people):
    deploy(client, people["designer"], parallel_v1())
    broken = parallel_v1().replace(b'sourceRef="join" targetRef="all_agreed_gw"',
                                   b'sourceRef="join" targetRef="nowhere"')
    response = client.post("/api/v1/dryrun", headers=people["designer"].headers,
                           json={"bpmn": broken.decode(), "scenario": SCENARIO})
    result = response.get_json()
    assert result["ok"] is False and result["steps"] == []
    assert "BPMN_DANGLING_FLOW" in [e["code"] for e in result["errors"]]
    wrong = SCENARIO.replace("legal: 2026-12-21", "legal: 2026-12-24")
    result = client.post("/api/v1/dryrun", headers=people["designer"].headers,
                         json={"bpmn": parallel_v1().decode(), "scenario": wrong}).get_json()
    assert result["ok"] is False
    failed = [s for s in result["steps"] if not s["ok"]]
    assert [(s["index"], s["message"]) for s in failed] == [(1, "期望法定期限 2026-12-24，实际 2026-12-21")]
