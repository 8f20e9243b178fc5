"""全程网办 through the engine on SQLite and PostgreSQL: identity, modes, originals, my cases, online 补正."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    Actor, ApplicationInvalid, ApplyOnline, Conflict, EngineConfig, Forbidden, InvalidInput, MaterialInput,
    MaterialRejected, MatterUnavailable, NotFound, Party, ResumeClock, SubmitSupplement, SuspendClock, bootstrap,
    verify_case,
)
from engine.persistence.models import Application, Case, CaseEvent, CaseMaterial
from tests.conftest import ROOT
from tests.helpers import CLERK, deploy_shipped

CODE = "11500103MB1D25937B4000117001"          # 施工许可 (parallel_approval): modes online, proxy
HUKOU = "11500000MB1538920T4000107001"         # 户口迁移: modes proxy, joint — not online
PDF = b"%PDF-1.7\n%online test\n"
ZHANG = Actor("zhangsan", ("applicant",))
LI = Actor("lisi", ("applicant",))
COMPANY = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")


@pytest.fixture
def online(database_url: str, clock, tmp_path: Path):
    """An engine with the shipped catalog, a 4 KB upload limit, and two applicant accounts verified by 渝中."""
    eng = applicant_engine(database_url, clock, tmp_path, max_material_bytes=4096)
    yield eng
    eng.close()


def applicant_engine(database_url: str, clock, tmp_path: Path, **config: object):
    """An engine (``config``: more EngineConfig fields) with the shipped catalog and 张三's and 李四's accounts."""
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=ROOT / "processes",
                                 forms_dir=ROOT / "forms", materials_dir=tmp_path / "materials", **config),
                    clock=clock)
    deploy_shipped(eng)
    eng.identity.create_user("window_yz", display_name="渝中窗口", roles=("window_clerk",), district="500103",
                             department="zwzx")
    eng.applicant_accounts.add("zhangsan", name="张三", id_type="111", id_number="500103199001011232",
                               verified_by="window_yz")
    eng.applicant_accounts.add("lisi", name="李四", id_type="111", id_number="500101198808084523",
                               verified_by="window_yz")
    return eng


def materials(**changes: MaterialInput) -> tuple[MaterialInput, ...]:
    items = {
        "application_form": MaterialInput("application_form", io.BytesIO(PDF), "申请表.pdf"),
        "land_certificate": MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
        "drawing_review": MaterialInput("drawing_review", io.BytesIO(PDF + b"d"), "审查合格书.pdf"),
        "bid_notice": MaterialInput("bid_notice", missing=True),
        "funding_proof": MaterialInput("funding_proof", io.BytesIO(PDF + b"f"), "承诺书.pdf"),
    }
    items.update(changes)
    return tuple(items.values())


def apply(eng, actor=ZHANG, code=CODE, district="500103", **kwargs):
    kwargs.setdefault("materials", materials())
    return eng.handle(ApplyOnline(code, actor, district, "13800138000", **kwargs))


def counts(eng) -> dict[str, int]:
    with eng.database.read_sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Case, Application, CaseMaterial, CaseEvent)}


def stored_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "materials").rglob("*") if p.is_file()]


def test_an_online_application_records_the_account_its_identity_and_the_chosen_district(online):
    result = apply(online, form={"project": "某小区 1 号楼"})
    with online.database.read_sessions() as session:
        row = session.scalars(select(Application)).one()
        case = session.get(Case, result.case.case_id)
    assert (row.channel, row.account, row.received_by) == ("online", "zhangsan", "zhangsan")
    assert (row.applicant_kind, row.applicant_name, row.applicant_id_number) == ("person", "张三",
                                                                                 "500103199001011232")
    assert (case.owning_district, case.receiving_district, case.channel) == ("500103", "500103", "online")
    assert case.visits == 0                                   # nobody went to a window
    assert result.tolerance and result.missing == ("bid_notice",) and len(result.query_code) == 8
    assert [c["case_no"] for c in online.my_cases.list("zhangsan")] == [result.case.case_no]
    assert online.my_cases.list("lisi") == []


@pytest.mark.parametrize("applicant", [
    Party("person", "王五", "111", "500103199001011232"),          # another name
    Party("person", "张三", "111", "500101198808084523"),          # another ID number (李四's)
    Party("person", "张三", "414", "E12345678"),                   # another document
])
def test_a_forged_identity_is_refused_and_nothing_is_written(online, applicant):
    before = counts(online)
    with pytest.raises(Forbidden) as refused:
        apply(online, applicant=applicant)
    assert refused.value.code == "IDENTITY_MISMATCH" and "本人" in refused.value.message
    assert counts(online) == before


def test_the_account_applies_for_a_legal_person_only_with_its_credit_code_and_an_authorisation(online):
    with pytest.raises(ApplicationInvalid) as refused:
        apply(online, applicant=COMPANY)
    assert list(refused.value.details["fields"]) == ["agent.authorization"]
    bad = Party("legal", "某公司", id_number="91500103MA5U1234XA", legal_representative="王五")
    with pytest.raises(ApplicationInvalid) as wrong_code:
        apply(online, applicant=bad, authorization="WT-2026-9")
    assert "applicant.id_number" in wrong_code.value.details["fields"]
    result = apply(online, applicant=COMPANY, authorization="WT-2026-001")
    with online.database.read_sessions() as session:
        row = session.scalars(select(Application).where(Application.case_id == result.case.case_id)).one()
    assert (row.applicant_kind, row.applicant_name, row.agent_kind, row.agent_name, row.agent_id_number,
            row.agent_authorization) == ("legal", "重庆某建设有限公司", "entrusted", "张三", "500103199001011232",
                                         "WT-2026-001")


def test_only_matters_offered_online_in_the_chosen_district_are_accepted(online):
    before = counts(online)
    with pytest.raises(MatterUnavailable) as not_online:
        apply(online, code=HUKOU)
    assert not_online.value.code == "MATTER_NOT_ONLINE" and "全程网办" in not_online.value.message
    with pytest.raises(MatterUnavailable) as not_offered:
        apply(online, district="500101")
    assert not_offered.value.code == "MATTER_NOT_OFFERED"
    with pytest.raises(InvalidInput) as no_district:
        apply(online, district=None)
    assert no_district.value.code == "ONLINE_DISTRICT_REQUIRED" and "500103" in no_district.value.details["districts"]
    with pytest.raises(MatterUnavailable) as unknown:
        apply(online, code="NO-SUCH-MATTER")
    assert unknown.value.code == "MATTER_NOT_FOUND"
    assert counts(online) == before


def test_originals_cannot_be_claimed_online_and_staff_cannot_apply_online(online, tmp_path):
    before = counts(online)
    claimed = MaterialInput("funding_proof", io.BytesIO(PDF + b"f"), "承诺书.pdf", original_verified=True)
    with pytest.raises(InvalidInput) as refused:
        apply(online, materials=materials(funding_proof=claimed))
    assert refused.value.code == "ORIGINAL_NOT_ONLINE"
    assert list(refused.value.details["fields"]) == ["materials.funding_proof"]
    with pytest.raises(Forbidden) as staff:
        apply(online, actor=CLERK)
    assert staff.value.code == "APPLICANT_ONLY"
    assert counts(online) == before and stored_files(tmp_path) == []


def test_a_wrong_file_type_or_size_at_online_intake_is_refused_and_nothing_is_stored(online, tmp_path):
    before = counts(online)
    gif = MaterialInput("drawing_review", io.BytesIO(b"GIF89a" + b"\x00" * 32), "x.gif")
    with pytest.raises(MaterialRejected) as wrong_type:
        apply(online, materials=materials(drawing_review=gif))
    big = MaterialInput("drawing_review", io.BytesIO(PDF + b"\x00" * 5000), "big.pdf")
    with pytest.raises(MaterialRejected) as too_large:
        apply(online, materials=materials(drawing_review=big))
    assert (wrong_type.value.code, too_large.value.code) == ("MATERIAL_TYPE_NOT_ALLOWED", "MATERIAL_TOO_LARGE")
    assert counts(online) == before and stored_files(tmp_path) == []


def correction_open(eng, case_id: int) -> None:
    """The window pauses the clocks for 补正 (a one-time notice given outside a task)."""
    eng.handle(SuspendClock(case_id, CLERK, "correction", "一次性告知：施工图审查合格书缺盖章页"))


def test_another_applicants_case_is_not_found_in_my_cases_nor_for_a_supplement(online):
    case_id = apply(online).case.case_id
    correction_open(online, case_id)
    with pytest.raises(NotFound):
        online.my_cases.detail("lisi", case_id)
    with pytest.raises(NotFound):
        online.handle(SubmitSupplement(case_id, LI, (MaterialInput("drawing_review", io.BytesIO(PDF), "a.pdf"),)))
    assert online.my_cases.detail("zhangsan", case_id)["can_supplement"] is True


def test_a_supplement_without_an_open_correction_is_a_conflict_and_stores_nothing(online, tmp_path):
    case_id = apply(online).case.case_id
    before, files = counts(online), stored_files(tmp_path)
    with pytest.raises(Conflict) as refused:
        online.handle(SubmitSupplement(case_id, ZHANG, (MaterialInput("drawing_review", io.BytesIO(PDF + b"2"),
                                                                      "b.pdf"),)))
    assert refused.value.code == "NO_OPEN_CORRECTION" and refused.value.http_status == 409
    assert counts(online) == before and stored_files(tmp_path) == files


def test_a_supplement_of_a_wrong_type_size_or_key_is_refused_and_nothing_is_stored(online, tmp_path):
    case_id = apply(online).case.case_id
    correction_open(online, case_id)
    before, files = counts(online), stored_files(tmp_path)
    for item, code in ((MaterialInput("drawing_review", io.BytesIO(b"GIF89a" + b"\x00" * 8), "x.gif"),
                        "MATERIAL_TYPE_NOT_ALLOWED"),
                       (MaterialInput("drawing_review", io.BytesIO(PDF + b"\x00" * 5000), "big.pdf"),
                        "MATERIAL_TOO_LARGE"),
                       (MaterialInput("no_such_key", io.BytesIO(PDF), "a.pdf"), "APPLICATION_INVALID"),
                       (MaterialInput("drawing_review", io.BytesIO(PDF), "a.pdf", original_verified=True),
                        "APPLICATION_INVALID")):
        with pytest.raises(InvalidInput) as refused:
            online.handle(SubmitSupplement(case_id, ZHANG, (MaterialInput("application_form", io.BytesIO(
                PDF + b"ok"), "ok.pdf"), item)))
        assert refused.value.code == code, item
    with pytest.raises(InvalidInput) as empty:
        online.handle(SubmitSupplement(case_id, ZHANG, ()))
    assert empty.value.code == "SUPPLEMENT_EMPTY"
    assert counts(online) == before and stored_files(tmp_path) == files


def test_a_supplement_replaces_the_material_completes_a_tolerance_gap_and_is_audited(online):
    case_id = apply(online).case.case_id
    correction_open(online, case_id)
    online.handle(SubmitSupplement(case_id, ZHANG, (
        MaterialInput("drawing_review", io.BytesIO(PDF + b"v2"), "审查合格书-盖章.pdf"),
        MaterialInput("bid_notice", io.BytesIO(PDF + b"bid"), "中标通知书.pdf")), "已补盖章页"))
    detail = online.my_cases.detail("zhangsan", case_id)
    received = {m["key"]: m["filename"] for m in detail["materials_received"]}
    assert received["drawing_review"] == "审查合格书-盖章.pdf" and received["bid_notice"] == "中标通知书.pdf"
    assert [s["note"] for s in detail["supplements"]] == ["已补盖章页"]
    with online.database.read_sessions() as session:
        assert session.scalars(select(Application.missing)).one() == []
        event = session.scalars(select(CaseEvent).where(CaseEvent.event_type == "SupplementReceived")).one()
    assert event.actor == "zhangsan" and [m["key"] for m in event.payload["materials"]] == ["drawing_review",
                                                                                          "bid_notice"]
    assert verify_case(online, case_id).ok


def test_the_applicant_cannot_choose_the_department_or_the_number_of_reviewers(online):
    with pytest.raises(ApplicationInvalid) as refused:
        apply(online, form={"department": "shichang", "substantive_check": False})
    assert set(refused.value.details["fields"]) == {"form.department", "form.substantive_check"}
    result = apply(online)
    started = [e for e in online.queries.events(result.case.case_id) if e.event_type == "CaseStarted"][0]
    assert started.payload["data"]["department"] == "zhujian"      # parallel_approval's catalog department
    assert "substantive_check" not in started.payload["data"]      # that entry does not declare it


def test_one_notice_takes_a_limited_number_of_online_supplements_and_a_new_notice_starts_over(online, tmp_path,
                                                                                               monkeypatch):
    """Each supplement keeps its files: without a limit one account could fill the material store."""
    monkeypatch.setattr("engine.supplements.MAX_SUPPLEMENTS", 2)
    monkeypatch.setattr("engine.my_cases.MAX_SUPPLEMENTS", 2)
    case_id = apply(online).case.case_id
    correction_open(online, case_id)

    def supplement(n: int) -> None:
        online.handle(SubmitSupplement(case_id, ZHANG, (
            MaterialInput("drawing_review", io.BytesIO(PDF + b"v%d" % n), f"v{n}.pdf"),)))
    supplement(1)
    assert online.my_cases.detail("zhangsan", case_id)["can_supplement"] is True
    supplement(2)
    assert online.my_cases.detail("zhangsan", case_id)["can_supplement"] is False
    before, files = counts(online), stored_files(tmp_path)
    with pytest.raises(Conflict) as refused:
        supplement(3)
    assert (refused.value.code, refused.value.http_status) == ("SUPPLEMENT_LIMIT", 409)
    assert "已达上限" in refused.value.message and refused.value.details["limit"] == 2
    assert counts(online) == before and stored_files(tmp_path) == files
    online.handle(ResumeClock(case_id, CLERK))
    correction_open(online, case_id)       # the window's next notice
    assert online.my_cases.detail("zhangsan", case_id)["can_supplement"] is True
    supplement(3)
