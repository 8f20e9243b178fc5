"""我的办件: an applicant account learns nothing about cases that are not its own, on SQLite and PostgreSQL.

Another account's case, a counter case and an id that does not exist get one and the same answer on every
applicant endpoint that takes a case id (rating, detail, 网上补正): 404, the same message, ``details`` naming
only the id the caller sent. A window entering a rating names the case by 办件编号 and gets, for a case it may
not rate, what a number that does not exist gets.
"""
from __future__ import annotations

import io

import pytest

from app import create_app
from app.runtime import get_engine
from engine import (
    Actor, ApplyOnline, Conflict, MaterialInput, NotFound, RateCase, SubmitSupplement,
)
from tests.helpers import CLERK, deploy_shipped
from tests.pages_helpers import seed
from tests.rating_helpers import receive

PASSWORD = "correct-horse-9"
ID_NUMBER = "500103199001011232"
CODE = "11500103MB1D25937B4000117001"          # 施工许可 (parallel_approval): offered online in 渝中
PDF = b"%PDF-1.7\n%enumeration test\n"
ZHANG = Actor("zhangsan", ("applicant",))
LI = Actor("lisi", ("applicant",))
JIANGBEI_CLERK = Actor("window_jb", ("window_clerk",), "500105", "zwzx")


@pytest.fixture
def eng(engine):
    """The shipped catalog, 渝中's window clerk and two verified applicant accounts."""
    deploy_shipped(engine)
    engine.identity.create_user("window_yz", display_name="渝中窗口", roles=("window_clerk",), district="500103",
                                department="zwzx")
    engine.applicant_accounts.add("zhangsan", name="张三", id_type="111", id_number=ID_NUMBER,
                                  verified_by="window_yz")
    engine.applicant_accounts.add("lisi", name="李四", id_type="111", id_number="500101198808084523",
                                  verified_by="window_yz")
    return engine


def apply_online(engine, actor: Actor) -> int:
    """Apply online for the 渝中 施工许可 as ``actor``; return the case id."""
    materials = (MaterialInput("application_form", io.BytesIO(PDF), "申请表.pdf"),
                 MaterialInput("land_certificate", license_ref="LIC-500103-2026-0001"),
                 MaterialInput("drawing_review", io.BytesIO(PDF + b"d"), "审查合格书.pdf"),
                 MaterialInput("bid_notice", missing=True),
                 MaterialInput("funding_proof", io.BytesIO(PDF + b"f"), "承诺书.pdf"))
    return engine.handle(ApplyOnline(CODE, actor, "500103", "13800138000", materials)).case.case_id


def refusal(call, *args) -> tuple[str, str, dict]:
    """The NotFound ``call(*args)`` raises, as (code, message, details)."""
    with pytest.raises(NotFound) as refused:
        call(*args)
    return refused.value.code, refused.value.message, refused.value.details


def test_rating_another_case_by_id_answers_as_for_a_case_that_does_not_exist(database_url, clock, tmp_path):
    """``POST /api/v1/my/cases/<id>/rating`` told an applicant account the 办件编号 of any case by id
    (``details.case_no``), and answered differently for an id that does not exist: walking the ids listed every
    case number of every district, which is half of the 办件查询 credential."""
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                      "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials")})
    try:
        counter_case = seed(app)           # a 渝中 case started at the window: not this account's
        engine = get_engine(app)
        engine.applicant_accounts.add("zhangsan", name="张三", id_type="111", id_number=ID_NUMBER,
                                      verified_by="window_yz", password=PASSWORD)
        headers = {"Authorization": f"Bearer {engine.identity.create_token('zhangsan')}"}
        case_no = engine.queries.case(CLERK, counter_case)["case_no"]
        client = app.test_client()
        body = {"score": 1, "channel": "1", "comment": ""}
        other = client.post(f"/api/v1/my/cases/{counter_case}/rating", json=body, headers=headers)
        missing = client.post(f"/api/v1/my/cases/{counter_case + 1000}/rating", json=body, headers=headers)
        assert other.status_code == missing.status_code == 404
        assert case_no not in other.get_data(as_text=True)
        assert {k: v for k, v in other.get_json().items() if k != "details"} == \
            {k: v for k, v in missing.get_json().items() if k != "details"}
        assert other.get_json()["details"] == {"case_id": counter_case}
        assert missing.get_json()["details"] == {"case_id": counter_case + 1000}
    finally:
        get_engine(app).close()


@pytest.mark.parametrize("score", [1, 9])   # a valid rating, and one the checks would refuse
def test_every_applicant_endpoint_answers_alike_for_another_accounts_case_and_a_missing_one(eng, score):
    """Ownership is checked before anything else: even a bad score is a 404 on a case that is not yours."""
    lis = apply_online(eng, LI)
    counter = receive(eng).case_id
    missing = max(lis, counter) + 1000
    answers = {case_id: refusal(lambda c=case_id: eng.handle(RateCase(c, ZHANG, score, "1", "差")))
               for case_id in (lis, counter, missing)}
    assert {(code, message) for code, message, _details in answers.values()} == {("NOT_FOUND", "办件不存在或无权访问")}
    assert {case_id: details for case_id, (_c, _m, details) in answers.items()} == \
        {case_id: {"case_id": case_id} for case_id in (lis, counter, missing)}
    for read in (lambda c: eng.my_cases.detail("zhangsan", c),
                 lambda c: eng.handle(SubmitSupplement(c, ZHANG, (MaterialInput("bid_notice", io.BytesIO(PDF),
                                                                                "中标通知书.pdf"),)))):
        seen = {case_id: refusal(read, case_id) for case_id in (lis, counter, missing)}
        assert len({(code, message) for code, message, _details in seen.values()}) == 1
        assert {case_id: details for case_id, (_c, _m, details) in seen.items()} == \
            {case_id: {"case_id": case_id} for case_id in (lis, counter, missing)}


def test_the_account_still_reaches_its_own_case(eng):
    """The ownership check lets the account's own case through to the case's own checks (not closed yet)."""
    mine = apply_online(eng, ZHANG)
    with pytest.raises(Conflict) as refused:
        eng.handle(RateCase(mine, ZHANG, 1, "1", ""))
    assert refused.value.code == "CASE_NOT_CLOSED"


def test_a_window_of_another_district_gets_for_a_case_what_an_unknown_number_gets(eng):
    """A window names the case by 办件编号 (``POST /api/v1/ratings``): the refusal names that number, never the
    case's id, exactly as for a number that does not exist."""
    case = receive(eng)
    unknown = refusal(lambda: eng.ratings.case_id_for("TB20991231999999"))
    other = refusal(lambda: eng.handle(RateCase(eng.ratings.case_id_for(case.case_no), JIANGBEI_CLERK, 1, "1", "")))
    assert (other[0], other[1]) == (unknown[0], unknown[1])
    assert other[2] == {"case_no": case.case_no} and unknown[2] == {"case_no": "TB20991231999999"}
