"""``/api/v1/drafts``: designers save, reopen and delete drafts; only designers deploy one, on both databases."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.runtime import get_engine
from tests.draft_diagrams import PARALLEL, renamed, with_fourth_review
from tests.scenarios.test_http_api import assert_error, get_case, shipped_files, start_case, upload

from .conftest import Caller


@pytest.fixture
def deployed(app, client, cast):
    """The shipped parallel approval deployed by the designer, plus an administrator without the designer role."""
    assert upload(client, cast["designer"], shipped_files()).status_code == 201
    identity = get_engine(app).identity
    identity.create_user("admin_only", display_name="系统管理员", roles=("admin",), district="500000",
                         department="dsj")
    return {**cast, "admin": Caller("admin_only", {"Authorization": f"Bearer {identity.create_token('admin_only')}"})}


def save(client, caller, bpmn: str = PARALLEL, **extra):
    return client.post("/api/v1/drafts", headers=caller.headers,
                       json={"process_key": "parallel_approval", "bpmn": bpmn, "base_version": 1, **extra})


def test_a_draft_is_saved_reopened_updated_and_deleted_and_nothing_is_deployed(client, deployed):
    designer = deployed["designer"]
    created = save(client, designer, renamed())
    assert created.status_code == 201, created.get_data(as_text=True)
    draft = created.get_json()
    assert (draft["process_key"], draft["revision"], draft["base_version"], draft["author"]) == (
        "parallel_approval", 1, 1, "designer")

    listed = client.get("/api/v1/drafts?process_key=parallel_approval", headers=designer.headers).get_json()
    assert [d["id"] for d in listed] == [draft["id"]]
    opened = client.get(f"/api/v1/drafts/{draft['id']}", headers=designer.headers).get_json()
    assert opened["bpmn"] == renamed() and opened["forms"] == {}

    updated = client.put(f"/api/v1/drafts/{draft['id']}", headers=deployed["admin"].headers,
                         json={"revision": 1, "bpmn": renamed("甲")})
    assert updated.status_code == 200 and updated.get_json()["revision"] == 2
    stale = client.put(f"/api/v1/drafts/{draft['id']}", headers=designer.headers,
                       json={"revision": 1, "bpmn": renamed("乙")})
    assert assert_error(stale, 409, "DRAFT_CHANGED")["details"]["revision"] == 2

    versions = [d["version"] for d in client.get("/api/v1/definitions", headers=designer.headers).get_json()
                if d["process_key"] == "parallel_approval"]
    assert versions == [1]
    assert client.delete(f"/api/v1/drafts/{draft['id']}", headers=designer.headers).status_code == 204
    assert_error(client.get(f"/api/v1/drafts/{draft['id']}", headers=designer.headers), 404, "NOT_FOUND")


def test_a_draft_gives_the_same_iso_8601_times_in_utc_whichever_call_answers(client, deployed, clock):
    designer = deployed["designer"]
    created = save(client, designer, renamed()).get_json()
    opened = client.get(f"/api/v1/drafts/{created['id']}", headers=designer.headers).get_json()
    assert opened["created_at"] == created["created_at"] and opened["updated_at"] == created["updated_at"]
    clock.advance(timedelta(minutes=5))
    updated = client.put(f"/api/v1/drafts/{created['id']}", headers=designer.headers,
                         json={"revision": 1, "bpmn": renamed("甲")}).get_json()
    reopened = client.get(f"/api/v1/drafts/{created['id']}", headers=designer.headers).get_json()
    (listed,) = client.get("/api/v1/drafts", headers=designer.headers).get_json()
    assert updated["created_at"] == reopened["created_at"] == listed["created_at"] == created["created_at"]
    assert updated["updated_at"] == reopened["updated_at"] == listed["updated_at"] != created["updated_at"]
    for when in (created["created_at"], updated["updated_at"]):
        assert datetime.fromisoformat(when).utcoffset() == timedelta(0), when


def test_only_a_designer_deploys_a_draft_and_a_new_case_uses_the_new_version(client, deployed):
    old_case = start_case(client, deployed["clerk"], "部署前收件")
    draft = save(client, deployed["admin"], with_fourth_review()).get_json()
    for who in ("admin", "clerk", "zhujian"):
        assert_error(client.post(f"/api/v1/drafts/{draft['id']}/deploy", headers=deployed[who].headers, json={}),
                     403, "DEPLOY_FORBIDDEN")

    response = client.post(f"/api/v1/drafts/{draft['id']}/deploy", headers=deployed["designer"].headers,
                           json={"revision": 1})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["version"], body["status"], body["previous_version"], body["message"]) == (
        2, "created", 1, "已部署为第 2 版")
    assert client.get("/api/v1/drafts", headers=deployed["designer"].headers).get_json() == []

    new_case = start_case(client, deployed["clerk"], "部署后收件")
    assert get_case(client, deployed["clerk"], old_case["case_id"])["definition_version"] == 1
    assert get_case(client, deployed["clerk"], new_case["case_id"])["definition_version"] == 2


def test_deploying_an_identical_draft_says_no_version_was_made(client, deployed):
    draft = save(client, deployed["designer"]).get_json()
    response = client.post(f"/api/v1/drafts/{draft['id']}/deploy", headers=deployed["designer"].headers)
    assert response.status_code == 200, response.get_data(as_text=True)   # 201 only for a new version
    assert (response.get_json()["status"], response.get_json()["message"]) == ("unchanged", "与当前版本相同，未产生新版本")


def test_a_draft_with_a_lint_error_is_refused_with_its_findings(client, deployed):
    draft = save(client, deployed["designer"], with_fourth_review(candidates=None)).get_json()
    body = assert_error(client.post(f"/api/v1/drafts/{draft['id']}/deploy", headers=deployed["designer"].headers,
                                    json={}), 422, "DEFINITION_REJECTED")
    assert ("TB_NO_CANDIDATES", "review_renfang") in [(f["code"], f["element_id"])
                                                      for f in body["details"]["findings"]]


def test_others_may_not_read_or_save_drafts_and_bad_bodies_are_refused(client, deployed):
    assert_error(save(client, deployed["clerk"]), 403, "FORBIDDEN")
    assert_error(client.get("/api/v1/drafts", headers=deployed["zhujian"].headers), 403, "FORBIDDEN")
    body = assert_error(client.post("/api/v1/drafts", headers=deployed["designer"].headers, json={"bpmn": PARALLEL}),
                        422, "INVALID_INPUT")
    assert "process_key" in body["details"]["fields"]["json"]
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>'
    assert_error(save(client, deployed["designer"], xxe), 422, "DEFINITION_REJECTED")
    draft = save(client, deployed["designer"]).get_json()
    missing = client.put(f"/api/v1/drafts/{draft['id']}", headers=deployed["designer"].headers, json={})
    assert_error(missing, 422, "INVALID_INPUT")
    assert_error(client.delete("/api/v1/drafts/999", headers=deployed["designer"].headers), 404, "NOT_FOUND")


def test_a_draft_holding_markup_a_browser_would_run_is_refused_naming_the_element_to_select(client, deployed):
    """QA: the save's finding named the file and the tag (「文件 草稿 中第 40 行的 script 元素」), no element."""
    from tests.scenarios.test_lint_http import post_lint
    designer = deployed["designer"]
    planted = PARALLEL.replace('<tb:form key="review_opinion"/>', '<tb:form key="review_opinion"/>'
                               '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>', 1)
    findings = assert_error(save(client, designer, planted), 422, "DEFINITION_REJECTED")["details"]["findings"]
    assert [(f["code"], f["element_id"]) for f in findings] == [("BPMN_ACTIVE_CONTENT", "review_zhujian")]
    assert "第 40 行的 script 元素" in findings[0]["message"]
    draft = save(client, designer).get_json()
    linked = renamed("javascript:alert(1)")          # a name typed into the modeler
    findings = assert_error(client.put(f"/api/v1/drafts/{draft['id']}", headers=designer.headers,
                                       json={"revision": 1, "bpmn": linked}), 422, "DEFINITION_REJECTED")["details"]["findings"]
    assert [(f["code"], f["element_id"]) for f in findings] == [("BPMN_ACTIVE_CONTENT", "review_zhujian")]
    # The designer's live check (the list whose findings select their element) names it the same way.
    linted = post_lint(client, designer, [("parallel_approval.bpmn", linked.encode())]).get_json()["findings"]
    assert ("BPMN_ACTIVE_CONTENT", "review_zhujian") in [(f["code"], f["element_id"]) for f in linted]
