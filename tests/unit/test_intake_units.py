"""Intake building blocks without a database: ID and credit-code checks, the store, query codes, clocks."""
from __future__ import annotations

import io
import zipfile

import pytest

from engine.case_clocks import catalog_clock_specs
from engine.catalog import Limit, Material, Matter
from engine.commands import MaterialInput, Party
from engine.definitions import ClockSpec
from engine.identifiers import credit_code_problem, id_number_problem, is_valid_credit_code
from engine.intake_checks import check_checklist, check_party, check_phone
from engine.material_store import MaterialRejected, MaterialStore, sniff
from engine.query_codes import ALPHABET, check_query_code, hash_query_code, new_query_code

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ofd_bytes(entry: str = "OFD.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(entry, "<ofd:OFD/>")
    return buffer.getvalue()


# --- identity documents --------------------------------------------------------------------------------------

def test_a_resident_id_number_is_checked_by_its_check_character():
    assert id_number_problem("111", "500103198506120317") is None
    assert "校验位" in id_number_problem("111", "500103198506120318")
    assert "18 位" in id_number_problem("111", "50010319850612031")
    assert "不受支持" in id_number_problem("999", "500103198506120317")


def test_other_documents_are_checked_for_shape():
    assert id_number_problem("414", "E12345678") is None
    assert id_number_problem("516", "H12345678") is None
    assert id_number_problem("516", "X12345678") is not None
    assert id_number_problem("511", "1234567") is not None


def test_a_unified_social_credit_code_is_checked_by_its_mod_31_character():
    assert is_valid_credit_code("91350100M000100Y43")
    assert is_valid_credit_code("91500103MA5U1234XJ")
    assert "校验位" in credit_code_problem("91500103MA5U1234XK")
    assert "18 位" in credit_code_problem("91500103MA5U1234XI")  # I is never used
    assert credit_code_problem("9150010") is not None


def test_a_party_gets_an_error_per_field_and_its_number_normalised():
    party, errors = check_party(Party("person", "张三", "111", " 50010319850612031x "), "applicant", agent=False)
    assert errors == {"applicant.id_number": ["居民身份证号校验位不正确，请核对"]}
    party, errors = check_party(Party("person", "张三", "111", "500103198506120317"), "applicant", agent=False)
    assert errors == {} and party.id_number == "500103198506120317"
    _, errors = check_party(Party("legal", "", id_number="91500103MA5U1234XJ"), "applicant", agent=False)
    assert set(errors) == {"applicant.name", "applicant.legal_representative"}
    _, errors = check_party(Party("relative", "李四", "111", "500101199003041125"), "agent", agent=True)
    assert errors == {"agent.authorization": ["请填写授权委托书编号或代办说明"]}
    _, errors = check_party(Party("boss", "李四", "111", "500101199003041125", authorization="W1"), "agent",
                            agent=True)
    assert list(errors) == ["agent.kind"]


def test_a_contact_phone_is_a_mobile_or_a_landline_with_area_code():
    assert check_phone("13800138000") == {} and check_phone("023-63891234") == {}
    assert check_phone("12345") and check_phone("")


# --- the checklist -------------------------------------------------------------------------------------------

def matter() -> Matter:
    doc = {"code": "M1", "name": "测试事项", "process": "p", "handling": "commitment",
           "legal_limit": {"amount": 20, "unit": "workday"}, "committed_limit": {"amount": 10, "unit": "workday"},
           "modes": [], "districts": "all", "overrides": {}, "materials": [
               Material("form", "申请表").to_dict(),
               Material("land", "土地证", license="LIC").to_dict(),
               Material("bid", "中标通知书", tolerance=True).to_dict(),
               Material("fund", "资金承诺书", original=True).to_dict(),
               Material("photo", "现场照片", required=False).to_dict()]}
    return Matter.from_doc(doc)


def test_a_required_material_that_may_not_be_missing_refuses_the_checklist():
    lines, errors, refused = check_checklist(matter(), (MaterialInput("form", io.BytesIO(PDF), "a.pdf"),))
    assert [m.key for m in refused] == ["land", "fund"]
    assert {line.material.key: line.how for line in lines} == {
        "form": "upload", "land": "absent", "bid": "tolerance", "fund": "absent", "photo": "absent"}
    assert errors["materials.land"] == ["必备材料，不可容缺，请提交"]


def test_a_licence_stands_for_a_material_only_where_the_catalog_allows_it_and_originals_need_checking():
    given = (MaterialInput("form", license_ref="X1"), MaterialInput("land", license_ref="LIC-500103-1"),
             MaterialInput("bid", missing=True), MaterialInput("fund", io.BytesIO(PDF), "f.pdf"),
             MaterialInput("nope", missing=True),
             MaterialInput("photo", io.BytesIO(PNG), "p.png", missing=True))
    lines, errors, refused = check_checklist(matter(), given)
    assert errors["materials.form"][0] == "该材料不能以电子证照代替，请上传文件"
    assert errors["materials.fund"][0].startswith("该材料须核验原件")
    assert errors["materials.nope"] == ["该事项没有这项材料"]
    assert errors["materials.photo"] == ["只能选择一种：上传文件、电子证照或标记缺少"]
    assert "materials.land" not in errors and "materials.bid" not in errors
    ok = check_checklist(matter(), (MaterialInput("form", io.BytesIO(PDF), "a.pdf"),
                                    MaterialInput("land", license_ref="LIC-1"),
                                    MaterialInput("fund", io.BytesIO(PDF), "f.pdf", original_verified=True)))
    assert ok[1] == {} and ok[2] == []


# --- the content-addressed store -------------------------------------------------------------------------------

def test_the_store_keeps_identical_content_once_under_its_sha256(tmp_path):
    store = MaterialStore(tmp_path, max_bytes=1024)
    first = store.stage(io.BytesIO(PDF), "C:\\scans\\申请表.pdf", label="申请表")
    second = store.stage(io.BytesIO(PDF), "copy.pdf", label="申请表")
    assert first.sha256 == second.sha256 and first.media_type == "application/pdf" and first.size == len(PDF)
    assert first.filename == "申请表.pdf"
    assert store.keep(first) is True and store.keep(second) is False
    path = store.path_of(first.sha256)
    assert path.read_bytes() == PDF and path.parent.parent.parent == tmp_path
    store.discard(second)      # a duplicate's staged copy stays until the intake is done (material_claims)
    assert list((tmp_path / "incoming").iterdir()) == []


@pytest.mark.parametrize("content, code", [
    (b"x" * 2000, "MATERIAL_TOO_LARGE"), (b"MZ\x90\x00 not a document", "MATERIAL_TYPE_NOT_ALLOWED"),
    (b"", "MATERIAL_EMPTY"), (ofd_bytes("other.xml"), "MATERIAL_TYPE_NOT_ALLOWED")])
def test_the_store_refuses_oversize_empty_and_unknown_files_and_leaves_no_temporary_file(tmp_path, content, code):
    store = MaterialStore(tmp_path, max_bytes=1024 if code == "MATERIAL_TOO_LARGE" else 10_000)
    with pytest.raises(MaterialRejected) as refused:
        store.stage(io.BytesIO(content), "x.pdf", label="申请表")
    assert refused.value.code == code and "申请表" in refused.value.message
    assert list((tmp_path / "incoming").iterdir()) == []


def test_the_media_type_comes_from_the_content(tmp_path):
    samples = {"a.pdf": PDF, "b.png": PNG, "c.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 16, "d.ofd": ofd_bytes(),
               "e.zip": b"PK\x03\x04broken"}
    for name, content in samples.items():
        (tmp_path / name).write_bytes(content)
    assert [sniff(tmp_path / n) for n in samples] == [
        "application/pdf", "image/png", "image/jpeg", "application/ofd", None]


def test_a_hash_that_is_not_one_never_becomes_a_path(tmp_path):
    with pytest.raises(Exception, match="格式"):
        MaterialStore(tmp_path, 10).path_of("../../etc/passwd")


# --- query codes and clocks ----------------------------------------------------------------------------------

def test_a_query_code_is_eight_unambiguous_characters_and_only_its_salted_hash_checks_it():
    code = new_query_code()
    assert len(code) == 8 and set(code) <= set(ALPHABET)
    stored = hash_query_code(code, iterations=1000)
    assert code not in stored and stored != hash_query_code(code, iterations=1000)
    assert check_query_code(code.lower(), stored) and not check_query_code("22222222", stored)
    assert not check_query_code(code, "garbage")


def test_catalog_limits_replace_the_diagram_amounts_and_fill_in_a_missing_clock():
    diagram = (ClockSpec("legal", 20, "workday", yellow_days=2, starts_at="accept"),)
    specs = catalog_clock_specs(diagram, {"legal": (15, "workday"), "committed": (7, "workday")})
    assert specs == (ClockSpec("legal", 15, "workday", yellow_days=2, starts_at="accept"),
                     ClockSpec("committed", 7, "workday"))
    assert catalog_clock_specs(diagram, {}) == diagram
    assert str(Limit(7, "workday")) == "7 个工作日"
