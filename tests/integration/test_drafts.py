"""Drafts: saved without deploying, guarded by revisions, deployed only by designers after lint, on both databases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine import Actor, Conflict, DefinitionRejected, DeployDraft, Forbidden, InvalidInput, NotFound, StartCase
from engine.persistence.models import ProcessDefinition
from tests.conftest import ROOT
from tests.draft_diagrams import PARALLEL, renamed, with_fourth_review
from tests.helpers import CLERK, deploy_shipped

DESIGNER = Actor("designer", ("designer",), "500000", "dsj")
ADMIN = Actor("admin", ("admin",), "500000", "dsj")
REVIEW_FORM = json.loads((ROOT / "forms" / "review_opinion.form").read_text(encoding="utf-8"))


def versions(engine, key: str) -> list[int]:
    with engine.database.read_sessions() as session:
        return list(session.scalars(select(ProcessDefinition.version).where(ProcessDefinition.process_key == key)
                                    .order_by(ProcessDefinition.version)))


@pytest.fixture
def deployed(engine):
    deploy_shipped(engine)
    return engine


def test_a_draft_is_saved_listed_read_updated_and_deleted_without_deploying(deployed, clock):
    drafts = deployed.drafts
    info = drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="designer", base_version=1)
    assert (info.revision, info.base_version, info.author, info.form_keys) == (1, 1, "designer", ())
    assert info.base_hash == deployed.drafts.deployed_source("parallel_approval")["content_hash"]
    assert [d.id for d in drafts.list("parallel_approval")] == [info.id] and drafts.list("gongcheng") == []

    later = drafts.update(info.id, revision=1, actor="admin", forms={"review_opinion": REVIEW_FORM})
    assert (later.revision, later.updated_by, later.author, later.form_keys) == (2, "admin", "designer",
                                                                                 ("review_opinion",))
    draft = drafts.get(info.id)
    assert draft.bpmn == renamed() and draft.forms == {"review_opinion": REVIEW_FORM}
    assert drafts.update(info.id, revision=2, actor="designer", forms={"review_opinion": None}).form_keys == ()
    assert versions(deployed, "parallel_approval") == [1]

    drafts.delete(info.id)
    with pytest.raises(NotFound):
        drafts.get(info.id)


def test_a_save_naming_an_older_revision_is_refused_and_changes_nothing(deployed):
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=PARALLEL, actor="designer", base_version=1)
    deployed.drafts.update(info.id, revision=1, actor="admin", bpmn=renamed("甲"))
    with pytest.raises(Conflict) as refused:
        deployed.drafts.update(info.id, revision=1, actor="designer", bpmn=renamed("乙"))
    assert refused.value.code == "DRAFT_CHANGED" and "admin" in refused.value.message
    assert 'name="甲"' in deployed.drafts.get(info.id).bpmn


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"bpmn": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'},
     "DEFINITION_REJECTED"),
    ({"bpmn": "<bpmn:definitions"}, "DEFINITION_REJECTED"),
    ({"bpmn": ""}, "INVALID_INPUT"),
    ({"process_key": "坏 key"}, "INVALID_INPUT"),
    ({"forms": {"review_opinion": {**REVIEW_FORM, "id": "other"}}}, "INVALID_INPUT"),
    ({"forms": {"bad key": {"id": "bad key"}}}, "INVALID_INPUT"),
    ({"forms": {"review_opinion\n": {**REVIEW_FORM, "id": "review_opinion\n"}}}, "INVALID_INPUT"),
    ({"base_version": 9}, "INVALID_INPUT"),
], ids=["xxe", "malformed", "empty", "bad-key", "form-id-mismatch", "bad-form-key", "form-key-line-break",
        "unknown-base"])
def test_a_bad_draft_is_refused_with_a_chinese_message_and_nothing_is_stored(deployed, kwargs, code):
    args = {"process_key": "parallel_approval", "bpmn": PARALLEL, "actor": "designer", **kwargs}
    with pytest.raises(InvalidInput) as refused:
        deployed.drafts.create(**args)
    assert refused.value.code == code and any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.message)
    assert deployed.drafts.list() == []


def test_deploying_an_unchanged_draft_makes_no_version_and_removes_the_draft(deployed):
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=PARALLEL, actor="designer", base_version=1)
    result = deployed.handle(DeployDraft(info.id, DESIGNER))
    assert (result.status, result.version, result.message) == ("unchanged", 1, "与当前版本相同，未产生新版本")
    assert versions(deployed, "parallel_approval") == [1] and deployed.drafts.list() == []


def test_a_deployed_draft_is_the_next_version_and_running_cases_stay_on_theirs(deployed):
    old_case = deployed.handle(StartCase("parallel_approval", CLERK, {"applicant": "张三"}))
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=with_fourth_review(), actor="designer",
                                  base_version=1)
    result = deployed.handle(DeployDraft(info.id, DESIGNER, revision=1))
    assert (result.status, result.version, result.previous_version, result.message) == (
        "created", 2, 1, "已部署为第 2 版")
    assert [w.code for w in result.warnings] == []
    new_case = deployed.handle(StartCase("parallel_approval", CLERK, {"applicant": "张三"}))
    assert deployed.queries.case(CLERK, old_case.case_id)["definition_version"] == 1
    assert deployed.queries.case(CLERK, new_case.case_id)["definition_version"] == 2
    with deployed.database.read_sessions() as session:
        row = session.scalars(select(ProcessDefinition).where(ProcessDefinition.version == 2)).one()
        assert (row.deployed_by, row.source_name) == ("designer", "parallel_approval/main.bpmn")
        assert "review_renfang" in row.meta["user_tasks"]


def test_a_draft_with_lint_errors_is_not_deployed_and_is_kept(deployed):
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=with_fourth_review(candidates=None),
                                  actor="designer", base_version=1)
    with pytest.raises(DefinitionRejected) as refused:
        deployed.handle(DeployDraft(info.id, DESIGNER))
    findings = refused.value.details["findings"]
    assert ("TB_NO_CANDIDATES", "review_renfang") in [(f["code"], f["element_id"]) for f in findings]
    assert refused.value.message.startswith("检查发现 1 个错误，草稿未部署")
    assert versions(deployed, "parallel_approval") == [1] and [d.id for d in deployed.drafts.list()] == [info.id]


def test_a_draft_whose_base_is_no_longer_the_latest_needs_force(deployed):
    first = deployed.drafts.create(process_key="parallel_approval", bpmn=renamed("甲"), actor="designer",
                                   base_version=1)
    second = deployed.drafts.create(process_key="parallel_approval", bpmn=renamed("乙"), actor="admin",
                                    base_version=1)
    assert deployed.handle(DeployDraft(first.id, DESIGNER)).version == 2
    with pytest.raises(Conflict) as stale:
        deployed.handle(DeployDraft(second.id, DESIGNER))
    assert stale.value.code == "DRAFT_STALE"
    assert stale.value.details == {"base_version": 1, "latest_version": 2}
    assert stale.value.message.startswith("草稿基于第 1 版，此后 designer 已部署第 2 版；")
    assert deployed.handle(DeployDraft(second.id, DESIGNER, force=True)).version == 3


def test_a_blank_draft_of_a_deployed_process_is_not_said_to_be_older_than_it(deployed):
    """QA: a blank draft created after version 1 was deployed was told 「此后 … 已部署第 1 版」."""
    blank = deployed.drafts.create(process_key="parallel_approval", bpmn=renamed("丙"), actor="designer")
    with pytest.raises(Conflict) as stale:
        deployed.handle(DeployDraft(blank.id, DESIGNER))
    assert stale.value.code == "DRAFT_STALE" and "此后" not in stale.value.message
    assert stale.value.message.startswith("草稿基于空白流程，而该流程已有")


def test_only_designers_deploy_drafts(deployed):
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="designer", base_version=1)
    for actor in (ADMIN, CLERK):
        with pytest.raises(Forbidden):
            deployed.handle(DeployDraft(info.id, actor))
    assert versions(deployed, "parallel_approval") == [1]


def test_a_stale_revision_or_a_foreign_process_id_is_refused_at_deploy(deployed):
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="designer", base_version=1)
    deployed.drafts.update(info.id, revision=1, actor="admin", bpmn=renamed("乙"))
    with pytest.raises(Conflict) as changed:
        deployed.handle(DeployDraft(info.id, DESIGNER, revision=1))
    assert changed.value.code == "DRAFT_CHANGED"
    moved = deployed.drafts.create(process_key="parallel_approval", actor="designer", base_version=1,
                                   bpmn=PARALLEL.replace('id="parallel_approval"', 'id="parallel_copy"')
                                   .replace('bpmnElement="parallel_approval"', 'bpmnElement="parallel_copy"'))
    with pytest.raises(InvalidInput) as mismatch:
        deployed.handle(DeployDraft(moved.id, DESIGNER))
    assert mismatch.value.code == "DRAFT_KEY_MISMATCH" and "parallel_copy" in mismatch.value.message
    assert versions(deployed, "parallel_copy") == []


def test_a_draft_of_a_bundle_keeps_its_mapping_and_a_draft_form_is_deployed_with_it(deployed):
    source = deployed.drafts.deployed_source("qiye_kaiban")
    info = deployed.drafts.create(process_key="qiye_kaiban", bpmn=source["bpmn"], actor="designer", base_version=1)
    assert deployed.handle(DeployDraft(info.id, DESIGNER)).message == "与当前版本相同，未产生新版本"

    form = {**REVIEW_FORM, "components": [*REVIEW_FORM["components"],
                                          {"type": "textfield", "id": "Field_basis", "key": "basis", "label": "依据"}]}
    info = deployed.drafts.create(process_key="parallel_approval", bpmn=PARALLEL, actor="designer", base_version=1,
                                  forms={"review_opinion": form})
    result = deployed.handle(DeployDraft(info.id, DESIGNER))
    assert result.version == 2
    assert {(line.kind, line.key, line.status) for line in result.lines} >= {
        ("form", "review_opinion", "created"), ("process", "parallel_approval", "created")}
    assert deployed.drafts.deployed_forms()["review_opinion"] == 2
    assert deployed.drafts.deployed_form("review_opinion")["components"][-1]["key"] == "basis"


def test_a_new_process_is_drafted_from_nothing_and_deployed_as_version_one(engine):
    deploy_shipped(engine)
    xml = PARALLEL.replace('"parallel_approval"', '"parallel_new"')
    info = engine.drafts.create(process_key="parallel_new", bpmn=xml, actor="designer")
    assert info.base_version is None
    result = engine.handle(DeployDraft(info.id, DESIGNER))
    assert (result.version, result.previous_version, result.status) == (1, None, "created")
    with engine.database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessDefinition)
                              .where(ProcessDefinition.process_key == "parallel_new")) == 1


def test_a_deleted_drafts_id_is_never_given_to_another_draft(deployed):
    """A tab still open on a deleted draft must not reach the next one (SQLite used to reuse max(id) + 1)."""
    drafts = deployed.drafts
    first = drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="designer", base_version=1)
    drafts.delete(first.id)
    second = drafts.create(process_key="parallel_approval", bpmn=renamed(), actor="admin", base_version=1)
    assert second.id > first.id
    with pytest.raises(NotFound):
        drafts.update(first.id, revision=1, actor="designer", forms={})
