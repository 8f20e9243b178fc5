"""Deploying 一件事 bundle mappings: checked against the forms and the process, with file and line, all or nothing."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from app import create_app
from engine import DefinitionRejected, DeployDefinitions
from engine.persistence.models import FormVersion, MatterVersion, ProcessDefinition
from tests.conftest import ROOT
from tests.helpers import deploy_shipped
from tests.integration.test_cli import stderr_of

BUNDLE = ROOT / "processes" / "qiye_kaiban" / "bundle.yaml"


def count(engine, model) -> int:
    with engine.database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_deployed(engine) -> bool:
    return count(engine, ProcessDefinition) == count(engine, FormVersion) == count(engine, MatterVersion) == 0


def deploy_with_bundle(engine, bundle: bytes) -> None:
    """Deploy everything shipped, with ``bundle`` in place of the 企业开办 mapping."""
    bpmn, forms = engine.shipped_files()
    bpmn = [(name, bundle if name == "qiye_kaiban/bundle.yaml" else data) for name, data in bpmn]
    engine.handle(DeployDefinitions(tuple(bpmn), tuple(forms)))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_bundles_deploy_and_pin_their_mapping_and_application_form(engine):
    report = {(d.kind, d.key): d for d in deploy_shipped(engine)}
    assert report[("process", "qiye_kaiban")].status == "created"
    with engine.database.read_sessions() as session:
        meta = session.scalar(select(ProcessDefinition.meta).where(ProcessDefinition.process_key == "qiye_kaiban"))
    bundle = meta["bundle"]
    assert bundle["form"] == "qiye_kaiban_apply" and len(bundle["form_hash"]) == 64
    assert [(m["subprocess"], m["tasks"]) for m in bundle["matters"]] == [
        ("sub_license", ["license_review"]), ("sub_seal", ["seal_review"]), ("sub_invoice", ["invoice_review"]),
        ("sub_social", ["social_review"]), ("sub_fund", ["fund_review"])]
    assert all(d.status == "unchanged" for d in deploy_shipped(engine))


def test_a_changed_mapping_is_the_next_version_of_its_process(engine):
    deploy_shipped(engine)
    changed = BUNDLE.read_text().replace("        address: address\n", "")
    deploy_with_bundle(engine, changed.encode())
    assert engine.queries.definitions("qiye_kaiban")[0]["version"] == 2


def test_a_field_mapped_onto_a_form_that_lacks_it_is_refused_with_file_and_line(engine):
    text = BUNDLE.read_text().replace("seal_count: seal_count", "seal_count: seal_total")
    with pytest.raises(DefinitionRejected) as info:
        deploy_with_bundle(engine, text.encode())
    (finding,) = info.value.details["findings"]
    assert (finding["code"], finding["file"], finding["line"]) == (
        "TB_BUNDLE_FIELD_MISSING", "qiye_kaiban/bundle.yaml", line_of(text, "seal_count: seal_total"))
    assert "seal_filing" in finding["message"] and "seal_total" in finding["message"]
    assert info.value.message.startswith(f"qiye_kaiban/bundle.yaml 第 {finding['line']} 行：")
    assert nothing_deployed(engine)


def test_a_material_referenced_but_not_defined_is_refused_with_file_and_line(engine):
    text = BUNDLE.read_text().replace("        articles: articles\n", "        bank_licence: articles\n")
    with pytest.raises(DefinitionRejected) as info:
        deploy_with_bundle(engine, text.encode())
    (finding,) = info.value.details["findings"]
    assert (finding["code"], finding["file"], finding["line"]) == (
        "TB_BUNDLE_MATERIAL_UNDEFINED", "qiye_kaiban/bundle.yaml", line_of(text, "bank_licence: articles"))
    assert "bank_licence" in finding["message"]
    assert nothing_deployed(engine)


def test_every_problem_of_a_bundle_is_listed_at_once(engine):
    text = (BUNDLE.read_text().replace("subprocess: sub_fund", "subprocess: sub_bank")
            .replace("company_type: company_type", "company_kind: company_type"))
    with pytest.raises(DefinitionRejected) as info:
        deploy_with_bundle(engine, text.encode())
    found = {(f["code"], f["line"]) for f in info.value.details["findings"]}
    assert found == {("TB_BUNDLE_SUBPROCESS", line_of(text, "subprocess: sub_bank")),
                     ("TB_BUNDLE_SOURCE_MISSING", line_of(text, "company_kind: company_type"))}
    assert nothing_deployed(engine)


def test_a_bundle_without_its_process_in_the_same_deploy_is_refused(engine):
    deploy_shipped(engine)
    with pytest.raises(DefinitionRejected, match="须与 qiye_kaiban/bundle.yaml 一同部署"):
        engine.handle(DeployDefinitions((("qiye_kaiban/bundle.yaml", BUNDLE.read_bytes()),)))


def test_tongban_deploy_refuses_a_bad_mapping_naming_file_and_line_and_deploys_nothing(database_url, tmp_path):
    processes = tmp_path / "processes"
    shutil.copytree(ROOT / "processes", processes)
    bundle = processes / "qiye_kaiban" / "bundle.yaml"
    text = bundle.read_text().replace("id_card: legal_rep_id\n    - name: 发票申领", "id_card: legal_rep_card\n"
                                      "    - name: 发票申领")
    bundle.write_text(text)
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url})
    try:
        result = app.test_cli_runner().invoke(args=["deploy", str(processes), str(ROOT / "forms")])
        said = result.output + stderr_of(result)
        assert result.exit_code == 2, said
        line = line_of(text, "id_card: legal_rep_card")
        assert f"qiye_kaiban/bundle.yaml 第 {line} 行" in said and "legal_rep_card" in said
        engine = app.extensions["tongban"]
        assert nothing_deployed(engine)
    finally:
        engine = app.extensions.get("tongban")
        if engine is not None:
            engine.close()

