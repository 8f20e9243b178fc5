"""How a case for another district's matter opens (异地代收代办, 就地批办), on SQLite and PostgreSQL.

渝中 (500103) owns the matters, 黔江 (500114) receives them under a grant. A matter with a ``handoff`` entry
received without a ``decide`` grant runs the receiving process ``yidi_shoujian``, which hands over what only
intake records, so it comes in through 收件 alone; under a ``decide`` grant the case runs the matter's own
process, and intake checks the application exactly as the owning district's window would.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from engine import ApplicationInvalid, InvalidInput, MaterialInput, ReceiveApplication, StartCase
from engine.persistence.models import Case, CaseMaterial, Message
from tests.handoff_helpers import (
    CODE, CODE_RECEIVING_CLOCK, COMPANY, PDF, QIANJIANG, WINDOW_QJ, WINDOW_YZ, YUZHONG, setup,
)


def counts(engine) -> tuple[int, int]:
    with engine.database.read_sessions() as session:
        return session.scalar(select(func.count(Case.id))), session.scalar(select(func.count(Message.id)))


def test_a_case_for_another_districts_handoff_matter_is_not_started_without_intake(engine):
    """A StartCase (``POST /api/v1/cases``) for another district's matter that would run the receiving process
    ``yidi_shoujian`` is refused with 422 ``HANDOFF_NEEDS_INTAKE``, pointing to 收件, and writes nothing: that
    process's 移交 sends the application's ``applicant``, ``materials`` ..., which only intake records, so such a
    case could never be handed over (completing 移交 failed for ever with EXPRESSION_FAILED 'applicant').
    """
    setup(engine)
    with pytest.raises(InvalidInput) as refused:
        engine.handle(StartCase(None, WINDOW_QJ, {"department": "zhujian", "substantive_check": True},
                                title="城镇污水排入排水管网许可申请", matter_code=CODE, owning_district=YUZHONG))
    assert (refused.value.code, refused.value.http_status) == ("HANDOFF_NEEDS_INTAKE", 422)
    assert "收件" in refused.value.message and "/api/v1/applications" in refused.value.message
    assert refused.value.details == {"matter_code": CODE, "owning_district": YUZHONG}
    assert counts(engine) == (0, 0)


def test_a_start_case_under_a_decide_grant_runs_the_matters_own_process(engine):
    """就地批办: with a ``decide`` grant in force a StartCase for the matter is no handoff; it opens on the matter's
    own process, decided in the receiving district (``tests/scenarios/test_local_decision.py`` works it over HTTP).
    """
    setup(engine, rights=("receive", "decide"), code=CODE_RECEIVING_CLOCK)
    ref = engine.handle(StartCase(None, WINDOW_QJ, {"department": "shichang", "substantive_check": False},
                                  title="食品经营许可申请", matter_code=CODE_RECEIVING_CLOCK, owning_district=YUZHONG))
    with engine.database.read_sessions() as session:
        case = session.get(Case, ref.case_id)
        assert (case.process_key, case.deciding_district) == ("standard_permit", QIANJIANG)


FOOD_MATERIALS = (("application_form", "申请书.pdf"), ("commitment_letter", "承诺书.pdf"),
                  ("premises_layout", "布局图.pdf"), ("safety_rules", "制度.pdf"))


def food_application(actor, owning: str | None, *, verified: bool = False,
                     form: dict | None = None) -> ReceiveApplication:
    """食品经营许可 with its 告知承诺书 (``original: true`` in the catalog) uploaded, its original seen or not."""
    materials = tuple(MaterialInput(key, io.BytesIO(PDF + key.encode()), name, original_verified=verified)
                      for key, name in FOOD_MATERIALS)
    materials += (MaterialInput("business_license", license_ref="LIC-500103-2026-0002"),)
    return ReceiveApplication(CODE_RECEIVING_CLOCK, actor, COMPANY, "13800138000", materials,
                              owning_district=owning, form=form or {})


def test_under_a_decide_grant_the_receiving_window_verifies_originals_at_intake_as_any_window(engine):
    """An ``original`` material needs 已核验原件 at intake (「该材料须核验原件」); only an 异地代收代办 receiving case
    is exempt, its ``yidi_shoujian`` has a 原件核验 task. Under a 就地批办 grant the case runs the matter's own
    process, which has none, so the receiving window's intake refuses it as the owning window's does, writing
    nothing.
    """
    setup(engine, rights=("receive", "decide"), code=CODE_RECEIVING_CLOCK)
    with pytest.raises(ApplicationInvalid) as own_window:             # context: the owning district's window
        engine.handle(food_application(WINDOW_YZ, None))
    assert "materials.commitment_letter" in own_window.value.details["fields"]

    with pytest.raises(ApplicationInvalid) as refused:
        engine.handle(food_application(WINDOW_QJ, YUZHONG))
    assert "materials.commitment_letter" in refused.value.details["fields"]
    with engine.database.read_sessions() as session:
        assert session.scalar(select(func.count(CaseMaterial.id))) == 0
        assert session.scalar(select(func.count(Case.id)).where(Case.receiving_district == QIANJIANG)) == 0


def test_the_keys_refused_in_an_intake_form_are_those_of_the_process_the_case_runs(engine):
    """A form key the process fills in itself is refused (「未知的申报字段：该项由办理过程填写…」), for the process
    the case will run: the receiving process ``yidi_shoujian``'s ``tracking_no`` (its 移交 task's field) under
    异地代收代办, but not under 就地批办, where the case runs the matter's own process, which has no such field.
    """
    setup(engine, code=CODE_RECEIVING_CLOCK)                                    # receive, no decide: handed over
    with pytest.raises(ApplicationInvalid) as refused:
        engine.handle(food_application(WINDOW_QJ, YUZHONG, form={"tracking_no": "SF1"}))
    assert list(refused.value.details["fields"]) == ["form.tracking_no"]

    engine.grants.add(matter_code=CODE_RECEIVING_CLOCK, owning=YUZHONG, receiving=QIANJIANG,
                      rights=["receive", "decide"], actor="admin")
    ref = engine.handle(food_application(WINDOW_QJ, YUZHONG, verified=True, form={"tracking_no": "SF1"})).case
    with engine.database.read_sessions() as session:
        case = session.get(Case, ref.case_id)
        assert (case.process_key, case.deciding_district) == ("standard_permit", QIANJIANG)
