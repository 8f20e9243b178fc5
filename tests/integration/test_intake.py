"""Intake (收件) through the engine on SQLite and PostgreSQL: happy path, every refusal, nothing half-written."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    CST, ApplicationInvalid, EngineConfig, MaterialInput, MaterialRejected, MatterUnavailable, Party,
    ReceiveApplication, StartCase, bootstrap,
)
from engine.persistence.models import Application, Case, CaseEvent, CaseMaterial
from tests.conftest import ROOT
from tests.helpers import CLERK, OUTSIDER, ZHUJIAN, deploy_shipped

CODE = "11500103MB1D25937B4000117001"
PDF = b"%PDF-1.7\n%intake test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PERSON = Party("person", "张三", "111", "500103198506120317")
COMPANY = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")


@pytest.fixture
def intake(database_url: str, clock, tmp_path: Path):
    """An engine with the shipped catalog deployed and a 4 KB upload limit."""
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials",
                                 max_material_bytes=4096), clock=clock)
    deploy_shipped(eng)
    yield eng
    eng.close()


def full_checklist(**changes: MaterialInput) -> tuple[MaterialInput, ...]:
    items = {
        "application_form": MaterialInput("application_form", io.BytesIO(PDF), "申请表.pdf"),
        "land_certificate": MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
        "drawing_review": MaterialInput("drawing_review", io.BytesIO(PNG), "审查合格书.png"),
        "bid_notice": MaterialInput("bid_notice", io.BytesIO(PDF + b"bid"), "中标通知书.pdf"),
        "funding_proof": MaterialInput("funding_proof", io.BytesIO(PDF + b"fund"), "承诺书.pdf",
                                       original_verified=True),
    }
    items.update(changes)
    return tuple(items.values())


def receive(eng, materials=None, actor=CLERK, applicant=COMPANY, **kwargs):
    return eng.handle(ReceiveApplication(kwargs.pop("code", CODE), actor, applicant, "13800138000",
                                         materials if materials is not None else full_checklist(), **kwargs))


def counts(eng) -> dict[str, int]:
    with eng.database.read_sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Case, Application, CaseMaterial, CaseEvent)}


def stored_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "materials"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_application_starts_its_matters_case_with_catalog_clocks_and_records_every_material(intake, tmp_path):
    result = receive(intake, agent=Party("entrusted", "李四", "111", "500101199003041125", authorization="WT-1"),
                     form={"project": "某小区 1 号楼"})
    assert len(result.query_code) == 8 and result.tolerance is False and result.missing == ()
    with intake.database.read_sessions() as session:
        case = session.get(Case, result.case.case_id)
        application = session.scalars(select(Application)).one()
        rows = {m.material_key: m for m in session.scalars(select(CaseMaterial))}
        events = [e.event_type for e in session.scalars(select(CaseEvent).order_by(CaseEvent.seq))]
    assert (case.matter_code, case.matter_version, case.process_key) == (CODE, 1, "parallel_approval")
    assert (case.receiving_district, case.owning_district) == ("500103", "500103")
    # 渝中 commits to 7 working days (catalog override), the law to 20; counted from the day after 收件.
    assert case.committed_due_at == datetime(2026, 12, 3, tzinfo=CST)
    assert case.legal_due_at == datetime(2026, 12, 22, tzinfo=CST)
    assert events[:3] == ["CaseStarted", "MatterReceived", "ApplicationReceived"]
    assert application.query_code_hash.startswith("pbkdf2_sha256$") and result.query_code not in \
        application.query_code_hash
    assert (application.applicant_id_number, application.agent_name) == ("91500103MA5U1234XJ", "李四")
    assert set(rows) == {"application_form", "land_certificate", "drawing_review", "bid_notice", "funding_proof"}
    assert rows["land_certificate"].sha256 is None and rows["land_certificate"].license_ref == "LIC-500103-2026-0001"
    assert rows["drawing_review"].media_type == "image/png" and rows["drawing_review"].size == len(PNG)
    assert rows["funding_proof"].verified_by == "window_yz" and rows["application_form"].verified_by is None
    for row in rows.values():
        if row.sha256:
            assert intake.services.materials.path_of(row.sha256).read_bytes()[:4] in (b"%PDF", b"\x89PNG")
    assert len(stored_files(tmp_path)) == 4
    receipt = intake.receipts.receipt(CLERK, result.case.case_id)
    assert receipt["matter"]["window"] == "渝中区政务服务中心 3 号窗口"
    assert receipt["matter"]["committed_limit"] == "7 个工作日" and receipt["agent"]["id_number"] == "5001**********1125"
    assert intake.applicants.lookup(case.case_no, result.query_code, "test")["status"] == "running"


def test_a_matter_not_offered_in_the_clerks_district_is_refused_and_nothing_is_written(intake, tmp_path):
    before = counts(intake)
    with pytest.raises(MatterUnavailable) as refused:
        receive(intake, actor=OUTSIDER)
    assert refused.value.code == "MATTER_NOT_OFFERED" and "未在本区县" in refused.value.message
    with pytest.raises(MatterUnavailable) as unknown:
        receive(intake, code="NO-SUCH-MATTER")
    assert unknown.value.code == "MATTER_NOT_FOUND"
    assert counts(intake) == before and stored_files(tmp_path) == []


def test_a_missing_required_material_refuses_intake_with_the_list(intake, tmp_path):
    before = counts(intake)
    with pytest.raises(ApplicationInvalid) as refused:
        receive(intake, full_checklist(drawing_review=MaterialInput("drawing_review", missing=True),
                                       funding_proof=MaterialInput("funding_proof", missing=True)))
    error = refused.value
    assert error.code == "MATERIALS_MISSING" and error.http_status == 422
    assert [m["key"] for m in error.details["missing"]] == ["drawing_review", "funding_proof"]
    assert "施工图设计文件审查合格书" in error.message
    assert counts(intake) == before and stored_files(tmp_path) == []


def test_a_missing_tolerance_material_is_received_as_rongque_and_recorded(intake):
    result = receive(intake, full_checklist(bid_notice=MaterialInput("bid_notice", missing=True)))
    assert result.tolerance is True and result.missing == ("bid_notice",)
    with intake.database.read_sessions() as session:
        application = session.scalars(select(Application)).one()
        keys = set(session.scalars(select(CaseMaterial.material_key)))
    assert application.tolerance is True and application.missing == ["bid_notice"]
    assert "bid_notice" not in keys
    receipt = intake.receipts.receipt(CLERK, result.case.case_id)
    assert receipt["missing"] == ["中标通知书"] and receipt["tolerance"] is True


def test_the_same_content_is_stored_once_across_materials_and_cases(intake, tmp_path):
    same = lambda key: MaterialInput(key, io.BytesIO(PDF), f"{key}.pdf")  # noqa: E731
    receive(intake, full_checklist(application_form=same("application_form"), bid_notice=same("bid_notice")))
    receive(intake, full_checklist(application_form=same("application_form"), bid_notice=same("bid_notice")),
            applicant=PERSON)
    with intake.database.read_sessions() as session:
        shared = session.scalars(select(CaseMaterial).where(CaseMaterial.material_key == "application_form")).all()
    assert len(shared) == 2 and shared[0].sha256 == shared[1].sha256
    # The PDF (three times), the PNG and the funding proof: the second case adds no file.
    assert len(stored_files(tmp_path)) == 3


@pytest.mark.parametrize("upload, code", [(b"%PDF-" + b"x" * 5000, "MATERIAL_TOO_LARGE"),
                                          (b"GIF89a not allowed", "MATERIAL_TYPE_NOT_ALLOWED")])
def test_an_oversize_or_badly_typed_file_refuses_intake_leaving_no_rows_and_no_files(intake, tmp_path, upload, code):
    before = counts(intake)
    with pytest.raises(MaterialRejected) as refused:
        receive(intake, full_checklist(funding_proof=MaterialInput("funding_proof", io.BytesIO(upload), "x.pdf",
                                                                   original_verified=True)))
    assert refused.value.code == code
    assert list(refused.value.details["fields"]) == ["materials.funding_proof"]
    assert counts(intake) == before and stored_files(tmp_path) == []


def test_a_failed_transaction_removes_the_files_it_added(intake, tmp_path, monkeypatch):
    receive(intake)  # the PDF and PNG are stored and referenced now
    kept = stored_files(tmp_path)
    before = counts(intake)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")
    fresh = MaterialInput("application_form", io.BytesIO(PDF + b"new"), "new.pdf")
    monkeypatch.setattr("engine.persistence.application_repository.ApplicationRepository.insert", broken)
    with pytest.raises(RuntimeError):
        receive(intake, full_checklist(application_form=fresh))
    assert counts(intake) == before and stored_files(tmp_path) == kept


def test_only_window_clerks_receive_and_bad_parties_are_refused_per_field(intake):
    with pytest.raises(Exception) as forbidden:
        receive(intake, actor=ZHUJIAN)
    assert forbidden.value.code == "FORBIDDEN"
    with pytest.raises(ApplicationInvalid) as refused:
        intake.handle(ReceiveApplication(CODE, CLERK, Party("person", "张三", "111", "500103198506120318"), "123",
                                         full_checklist()))
    assert refused.value.code == "APPLICATION_INVALID"
    assert set(refused.value.details["fields"]) == {"applicant.id_number", "contact_phone"}


def test_start_case_with_a_matter_takes_its_process_and_limits_and_diagram_only_starts_are_unchanged(intake):
    by_matter = intake.handle(StartCase(None, CLERK, {"applicant": "某公司"}, matter_code=CODE))
    plain = intake.handle(StartCase("parallel_approval", CLERK, {"applicant": "某公司"}))
    with intake.database.read_sessions() as session:
        matter_case, plain_case = session.get(Case, by_matter.case_id), session.get(Case, plain.case_id)
    assert matter_case.committed_due_at == datetime(2026, 12, 3, tzinfo=CST)
    assert (plain_case.matter_code, plain_case.committed_due_at) == (None, datetime(2026, 12, 8, tzinfo=CST))
    with pytest.raises(MatterUnavailable):
        intake.handle(StartCase(None, OUTSIDER, {}, matter_code=CODE))
    with pytest.raises(Exception) as mismatch:
        intake.handle(StartCase("other_process", CLERK, {}, matter_code=CODE))
    assert mismatch.value.code == "MATTER_PROCESS_MISMATCH"


def test_a_window_intake_takes_the_department_and_the_substantive_check_from_the_catalog(intake):
    """The diagrams route on ``department`` and branch on ``substantive_check``: a counter case started without
    them stuck at 受理 or 移交 (EXPRESSION_FAILED). The catalog gives them; the form may repeat, not change them."""
    def started_data(result):
        return [e for e in intake.queries.events(result.case.case_id) if e.event_type == "CaseStarted"][0].payload["data"]

    assert started_data(receive(intake, form={}))["department"] == "zhujian"   # parallel_approval's catalog entry
    assert started_data(receive(intake, form={"department": "zhujian"}))["department"] == "zhujian"
    before = counts(intake)
    with pytest.raises(ApplicationInvalid) as refused:
        receive(intake, form={"department": "guihua"})
    assert refused.value.details["fields"] == {"form.department": ["承办部门由事项目录确定（zhujian），不能改填"]}
    assert counts(intake) == before


SEIZURE = "11500000MB1D25937B4000703002"   # 不动产登记 查封登记: facts {sub_type: seizure}


def seizure_materials() -> tuple[MaterialInput, ...]:
    return (MaterialInput("application_form", io.BytesIO(PDF), "申请书.pdf"),
            MaterialInput("identity", io.BytesIO(PDF + b"id"), "身份证明.pdf", original_verified=True),
            MaterialInput("court_order", io.BytesIO(PDF + b"court"), "协助执行通知书.pdf"))


def test_the_matter_fixes_the_start_data_its_process_branches_on(intake):
    """查封登记 is 即时登记 whatever the window's form says: the catalog entry's ``facts`` give ``sub_type``.

    Before, an empty form failed with EXPRESSION_FAILED about 'sub_type', and ``general`` ran a 查封登记 as a
    一般登记 (3 working days, 审核登簿)."""
    started = receive(intake, seizure_materials(), code=SEIZURE, applicant=PERSON, form={})
    (case_started,) = [e for e in intake.queries.events(started.case.case_id) if e.event_type == "CaseStarted"]
    assert case_started.payload["data"]["sub_type"] == "seizure"
    assert receive(intake, seizure_materials(), code=SEIZURE, applicant=PERSON, form={"sub_type": "seizure"})
    before = counts(intake)
    with pytest.raises(ApplicationInvalid) as refused:
        receive(intake, seizure_materials(), code=SEIZURE, applicant=PERSON, form={"sub_type": "general"})
    assert refused.value.details["fields"] == {"form.sub_type": ["sub_type 由事项目录确定（seizure），不能改填"]}
    assert counts(intake) == before
