"""A single matter's application form (申请表单, ``application_form`` in the catalog), on SQLite and PostgreSQL.

工改 reads ``project_name`` and ``project_category`` from its start data (its first script computes
``project_target(project_category, ...)``); only the API could give them, so a case applied for through the
pages failed with EXPRESSION_FAILED. Its catalog entry now names ``gc_application``: the deploy checks and pins
the form, intake (window and online) validates the application's ``form`` against it, refuses unknown keys and
starts the case with the cleaned values.
"""
from __future__ import annotations

import io
import json

import pytest
import yaml
from sqlalchemy import func, select

from engine import (
    Actor, ApplicationInvalid, ApplyOnline, DefinitionRejected, DeployDefinitions, LintDefinitions, MaterialInput,
    Party, ReceiveApplication, ensure_calendar_seeded,
)
from engine.forms import REQUIRED
from engine.intake_checks import PROCESS_FIELD, UNKNOWN_FIELD
from engine.persistence.models import MatterVersion
from tests.conftest import ROOT
from tests.helpers import CLERK, deploy_shipped, open_task

GC = "GC500000-LHBL-0001"
KAIBAN = "11500000MB1D25937B4000101001"
GC_CATALOG = ROOT / "processes" / "gongcheng" / "matters.yaml"
ZHANG = Actor("zhangsan", ("applicant",))
FAGAI = Actor("reviewer_fg", ("reviewer",), "500103", "fagai")
PDF = b"%PDF-1.7\n%application form\n"
MOBILE = "13800138000"
LEGAL = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")
PROJECT = {"project_name": "渝中区某综合楼", "project_category": "small_social"}


@pytest.fixture
def eng(engine):
    """The shipped catalog and calendar, 渝中's window clerk and one verified applicant account."""
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    engine.identity.create_user("window_yz", display_name="渝中窗口", roles=("window_clerk",), district="500103",
                                department="zwzx")
    engine.applicant_accounts.add("zhangsan", name="张三", id_type="111", id_number="500103199001011232",
                                  verified_by="window_yz")
    return engine


def materials() -> tuple[MaterialInput, ...]:
    return (MaterialInput("project_application", io.BytesIO(PDF), "申请表.pdf"),
            MaterialInput("project_approval", missing=True))


def line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def started_data(engine, case_id: int) -> dict:
    return [e for e in engine.queries.events(case_id) if e.event_type == "CaseStarted"][0].payload["data"]


def shipped_without(engine, *forms: str) -> tuple[tuple, tuple]:
    bpmn, shipped_forms = engine.shipped_files()
    return tuple(bpmn), tuple((name, data) for name, data in shipped_forms
                              if not any(name.endswith(f"{key}.form") for key in forms))


# --- the catalog: deploy and lint ------------------------------------------------------------------------------

def test_the_shipped_gongcheng_entry_pins_its_application_form_and_the_catalog_lists_its_fields(eng):
    with eng.database.read_sessions() as session:
        doc = session.scalars(select(MatterVersion.doc).where(MatterVersion.code == GC)).one()
    form = json.loads((ROOT / "forms" / "gc_application.form").read_text())
    assert doc["application_form"] == "gc_application" and len(doc["application_form_hash"]) == 64
    view = eng.queries.matter(GC)["application_form"]
    assert (view["key"], view["version"], view["content_hash"]) == ("gc_application", 1, doc["application_form_hash"])
    fields = {f["key"]: f for f in view["fields"]}
    assert set(fields) == {"project_name", "project_category", "subject"}
    assert fields["project_name"]["required"] and fields["project_name"]["validate"]["maxLength"] == 200
    assert fields["project_category"]["required"] and fields["project_category"]["type"] == "select"
    # The categories are those of targets.yaml, with their Chinese names.
    targets = yaml.safe_load((ROOT / "processes" / "gongcheng" / "targets.yaml").read_text())["categories"]
    (select_,) = [c for c in form["components"] if c.get("key") == "project_category"]
    assert {v["value"]: v["label"] for v in select_["values"]} == {k: v["name"] for k, v in targets.items()}
    assert fields["project_category"]["options"] == list(targets)
    assert not fields["subject"]["required"]
    assert eng.queries.matter(KAIBAN)["application_form"] is None     # a 一件事's form is its 一表申报 form


def test_a_catalog_naming_a_form_that_is_not_deployed_is_refused_at_its_line_and_nothing_is_written(engine):
    bpmn, forms = shipped_without(engine, "gc_application")
    with pytest.raises(DefinitionRejected) as refused:
        engine.handle(DeployDefinitions(bpmn, forms))
    (finding,) = [f for f in refused.value.details["findings"] if f["code"] == "TB_CATALOG_APPLICATION_FORM"]
    assert (finding["file"], finding["line"], finding["element_id"]) == (
        "gongcheng/matters.yaml", line_of(GC_CATALOG, "application_form:"), GC)
    assert "申请表单 gc_application 不存在" in finding["message"]
    with engine.database.read_sessions() as session:
        assert session.scalar(select(func.count()).select_from(MatterVersion)) == 0
    # Lint says the same, deploying nothing.
    linted = engine.handle(LintDefinitions(bpmn, forms))
    assert [(f.code, f.file, f.line) for f in linted if f.code == "TB_CATALOG_APPLICATION_FORM"] == [
        ("TB_CATALOG_APPLICATION_FORM", "gongcheng/matters.yaml", line_of(GC_CATALOG, "application_form:"))]
    assert not [f for f in engine.handle(LintDefinitions(*shipped_without(engine))) if f.severity == "error"]


def test_the_form_may_be_deployed_before_the_catalog_and_a_changed_form_is_a_new_matter_version(eng):
    catalog = (("gongcheng/matters.yaml", GC_CATALOG.read_bytes()),)
    (line,) = eng.handle(DeployDefinitions(catalog))
    assert (line.kind, line.version, line.status) == ("matter", 1, "unchanged")
    form = json.loads((ROOT / "forms" / "gc_application.form").read_text())
    form["components"][1]["validate"]["maxLength"] = 120
    changed = (("gc_application.form", json.dumps(form, ensure_ascii=False).encode()),)
    eng.handle(DeployDefinitions((), changed))
    assert eng.queries.matter(GC)["application_form"]["version"] == 1    # pinned until the entry is deployed
    (line,) = eng.handle(DeployDefinitions(catalog))
    assert (line.version, line.status) == (2, "created")
    view = eng.queries.matter(GC)["application_form"]
    assert view["version"] == 2 and {f["key"]: f for f in view["fields"]}["project_name"]["validate"] == {
        "required": True, "maxLength": 120}


def test_a_bundle_matter_may_not_name_an_application_form(eng):
    path = ROOT / "processes" / "qiye_kaiban" / "matters.yaml"
    text = path.read_text().replace("    process: qiye_kaiban\n",
                                    "    process: qiye_kaiban\n    application_form: gc_application\n")
    for handle in (DeployDefinitions, LintDefinitions):
        try:
            found = eng.handle(handle((("qiye_kaiban/matters.yaml", text.encode()),)))
        except DefinitionRejected as exc:
            found = exc.details["findings"]
        (finding,) = [f if isinstance(f, dict) else f.to_dict() for f in found]
        assert (finding["code"], finding["line"]) == ("TB_CATALOG_APPLICATION_FORM",
                                                      line_of(path, "process: qiye_kaiban") + 1)
        assert "一件事" in finding["message"] and "一表申报" in finding["message"]


def test_an_application_form_may_not_use_the_names_intake_fills_in(eng):
    form = {"type": "default", "id": "gc_bad_apply", "components": [
        {"label": "项目名称", "type": "textfield", "id": "F1", "key": "project_name"},
        {"label": "申请人", "type": "textfield", "id": "F2", "key": "applicant"},
        {"label": "承办部门", "type": "textfield", "id": "F3", "key": "department"}]}
    catalog = GC_CATALOG.read_bytes().replace(b"application_form: gc_application", b"application_form: gc_bad_apply")
    with pytest.raises(DefinitionRejected) as refused:
        eng.handle(DeployDefinitions((("gongcheng/matters.yaml", catalog),),
                                     (("gc_bad_apply.form", json.dumps(form).encode()),)))
    (finding,) = refused.value.details["findings"]
    assert finding["code"] == "TB_CATALOG_APPLICATION_FORM" and "applicant、department" in finding["message"]


def test_the_catalog_field_is_a_form_key(engine):
    catalog = GC_CATALOG.read_bytes().replace(b"application_form: gc_application", b"application_form: [a, b]")
    with pytest.raises(DefinitionRejected) as refused:
        engine.handle(DeployDefinitions((("gongcheng/matters.yaml", catalog),)))
    (finding,) = refused.value.details["findings"]
    assert (finding["code"], finding["line"]) == ("TB_CATALOG_FIELD", line_of(GC_CATALOG, "application_form:"))


# --- intake: the window and 网上申报 ----------------------------------------------------------------------------

def test_the_window_checks_the_form_against_the_application_form_every_problem_at_once(eng):
    form = {"project_name": "楼" * 201, "project_category": "mall", "phase": "一期", "design_opinions": ["approve"]}
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(ReceiveApplication(GC, CLERK, LEGAL, MOBILE, materials(), form=form))
    fields = refused.value.details["fields"]
    assert refused.value.code == "APPLICATION_INVALID"
    assert set(fields) == {"form.project_name", "form.project_category", "form.phase", "form.design_opinions"}
    assert fields["form.phase"] == [UNKNOWN_FIELD] and UNKNOWN_FIELD.startswith("未知的申报字段")
    assert fields["form.design_opinions"] == [PROCESS_FIELD]      # what the process writes still says so
    with pytest.raises(ApplicationInvalid) as missing:
        eng.handle(ReceiveApplication(GC, CLERK, LEGAL, MOBILE, materials(), form={}))
    assert missing.value.details["fields"] == {"form.project_name": [REQUIRED], "form.project_category": [REQUIRED]}
    assert eng.queries.matters(q="工程建设")    # nothing else changed; no case was started
    with eng.database.read_sessions() as session:
        from engine.persistence.models import Case
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_the_window_starts_gongcheng_with_the_cleaned_values_and_it_reaches_its_first_task(eng):
    form = {**PROJECT, "project_name": "  渝中区某综合楼", "department": "zhujian"}   # the catalog's value, repeated
    result = eng.handle(ReceiveApplication(GC, CLERK, LEGAL, MOBILE, materials(), form=form))
    data = started_data(eng, result.case.case_id)
    assert data["project_category"] == "small_social" and data["department"] == "zhujian"
    assert data["project_name"].strip() == "渝中区某综合楼" and "subject" not in data
    assert result.case.status == "running"
    eng.identity.create_user("reviewer_fg", display_name="发改", roles=("reviewer",), district="500103",
                             department="fagai")
    task = open_task(eng, FAGAI, "s1_accept")
    assert task["case_id"] == result.case.case_id


def test_online_the_same_form_applies_and_the_catalogs_facts_stay_reserved(eng):
    bad = {**PROJECT, "project_category": "", "department": "zhujian", "note": "x"}
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(ApplyOnline(GC, ZHANG, "500103", MOBILE, materials(), form=bad))
    fields = refused.value.details["fields"]
    assert fields["form.project_category"] == ["不是允许的选项"] and fields["form.note"] == [UNKNOWN_FIELD]
    assert "系统保留" in fields["form.department"][0]
    assert eng.my_cases.list("zhangsan") == []
    result = eng.handle(ApplyOnline(GC, ZHANG, "500103", MOBILE, materials(),
                                    form={**PROJECT, "subject": "综合楼报建"}))
    data = started_data(eng, result.case.case_id)
    assert {k: data[k] for k in (*PROJECT, "subject")} == {**PROJECT, "subject": "综合楼报建"}
    assert len(result.case.created_task_ids) == 1                                  # 发改牵头受理 waits


def test_a_matter_without_an_application_form_keeps_its_free_keys(eng):
    permit = "11500103MB1D25937B4000117001"
    assert eng.queries.matter(permit)["application_form"] is None
    given = (MaterialInput("application_form", io.BytesIO(PDF), "申请表.pdf"),
             MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
             MaterialInput("drawing_review", io.BytesIO(PDF + b"d"), "审查合格书.pdf"),
             MaterialInput("bid_notice", missing=True),
             MaterialInput("funding_proof", io.BytesIO(PDF + b"f"), "承诺书.pdf", original_verified=True))
    result = eng.handle(ReceiveApplication(permit, CLERK, LEGAL, MOBILE, given,
                                           form={"subject": "某小区 1 号楼", "floors": 18}))
    assert started_data(eng, result.case.case_id)["floors"] == 18
