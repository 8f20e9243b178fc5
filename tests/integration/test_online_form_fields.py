"""An application's form cannot preset what the matter's process fills in itself, on SQLite and PostgreSQL.

网上申报's ``form`` went into the case's start data whatever its keys: in 工改 (offered online)
``design_opinions`` is the 设计方案会审 multi-instance's output, and an applicant who sent it wedged the case
(the 规划 department's stage-2 受理 failed for ever with WORKFLOW_FAILED); other keys put text in the case
data under the window's or a department's field names. Intake now refuses every name the process fills in
(``engine.intake_checks.process_fields``), online and at the window alike; what the process only reads
(工改's ``project_category``) and free summary fields stay the application's.
"""
from __future__ import annotations

import io

import pytest

from engine import (
    Actor, ApplicationInvalid, ApplyOnline, MaterialInput, Party, ReceiveApplication,
)
from engine.intake_checks import PROCESS_FIELD, process_fields
from tests.helpers import CLERK
from tests.integration.test_application_form import eng  # noqa: F401 (fixture)

ZHANG = Actor("zhangsan", ("applicant",))
GONGCHENG = "GC500000-LHBL-0001"
FOOD = "11500103MB1C47082L4000321001"           # 食品经营许可: standard_permit, offered online in 渝中
PDF = b"%PDF-1.7\n%online form fields\n"
MOBILE = "13800138000"
PROJECT = {"project_name": "渝中区某综合楼", "project_category": "small_social"}


def gongcheng_materials() -> tuple[MaterialInput, ...]:
    return (MaterialInput("project_application", io.BytesIO(PDF), "申请表.pdf"),
            MaterialInput("project_approval", missing=True))


def food_materials() -> tuple[MaterialInput, ...]:
    return (MaterialInput("application_form", io.BytesIO(PDF), "申请书.pdf"),
            MaterialInput("business_license", license_ref="LIC-91500103-0001"),
            MaterialInput("commitment_letter", io.BytesIO(PDF + b"c"), "承诺书.pdf"),
            MaterialInput("premises_layout", io.BytesIO(PDF + b"p"), "布局图.pdf"),
            MaterialInput("safety_rules", io.BytesIO(PDF + b"s"), "制度.pdf"))


def started_data(eng, case_id: int) -> dict:
    return [e for e in eng.queries.events(case_id) if e.event_type == "CaseStarted"][0].payload["data"]


def test_an_online_form_cannot_preset_a_variable_the_process_itself_writes(eng):
    """工改's ``design_opinions`` (the 会审's collected votes) is refused, naming the field; nothing starts."""
    command = ApplyOnline(GONGCHENG, ZHANG, "500103", MOBILE, gongcheng_materials(),
                          form={**PROJECT, "design_opinions": ["approve", "approve"]})
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(command)
    assert refused.value.details["fields"] == {"form.design_opinions": [PROCESS_FIELD]}
    assert "未知的申报字段" in PROCESS_FIELD
    assert eng.my_cases.list("zhangsan") == []


def test_an_online_form_cannot_fill_the_windows_or_a_departments_fields(eng):
    """食品经营许可 (standard_permit): the 受理 note, the 形式审查 decision and the review result are the
    process's; each is named, every problem at once."""
    form = {"subject": "某餐饮店", "acceptance_note": "已受理", "intake_decision": "accept", "review_result": "pass"}
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(ApplyOnline(FOOD, ZHANG, "500103", MOBILE, food_materials(), form=form))
    assert refused.value.code == "APPLICATION_INVALID"
    assert refused.value.details["fields"] == {f"form.{key}": [PROCESS_FIELD]
                                               for key in ("acceptance_note", "intake_decision", "review_result")}


def test_what_the_process_only_reads_and_free_summaries_are_still_the_applications(eng):
    """工改 reads ``project_category`` (its 承诺时限 and 并联 rules) and never writes it: accepted, as is a summary."""
    result = eng.handle(ApplyOnline(GONGCHENG, ZHANG, "500103", MOBILE, gongcheng_materials(),
                                    form={**PROJECT, "subject": "综合楼报建"}))
    data = started_data(eng, result.case.case_id)
    assert {key: data[key] for key in (*PROJECT, "subject")} == {**PROJECT, "subject": "综合楼报建"}
    assert result.case.status == "running" and len(result.case.created_task_ids) == 1   # 发改牵头受理 waits


def test_the_window_cannot_preset_them_either(eng):
    """The counter's intake has the same hole and the same check: a clerk's form cannot wedge 工改 either."""
    applicant = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")
    command = ReceiveApplication(GONGCHENG, CLERK, applicant, MOBILE, gongcheng_materials(),
                                 form={**PROJECT, "design_opinions": ["approve", "approve"], "s1_join": "ANY"})
    with pytest.raises(ApplicationInvalid) as refused:
        eng.handle(command)
    assert refused.value.details["fields"] == {"form.design_opinions": [PROCESS_FIELD],
                                               "form.s1_join": [PROCESS_FIELD]}
    result = eng.handle(ReceiveApplication(GONGCHENG, CLERK, applicant, MOBILE, gongcheng_materials(), form=PROJECT))
    assert started_data(eng, result.case.case_id)["project_category"] == "small_social"


def test_the_names_a_process_fills_in_come_from_its_forms_scripts_and_multi_instance_tasks(eng):
    """A 一件事's 一表申报 fields are the application's, even where its sub-matters' forms share them."""
    with eng.services.uow() as uow:
        gongcheng = eng.services.catalog.get(uow, uow.definitions.latest_id("gongcheng"))
        kaiban = eng.services.catalog.get(uow, uow.definitions.latest_id("qiye_kaiban"))
    written = process_fields(gongcheng)
    assert {"accept_note", "stage_passed",                        # the stage tasks' forms
            "target_workdays", "s1_join", "design_departments", "design_history",   # the scripts
            "design_opinions", "design_dept", "design_approved", "drawing_opinions"} <= written   # 会审/会签
    assert not written & {"project_category", "project_name", "subject"}
    assert not written & {field.key.split(".")[0] for field in kaiban.bundle_form.fields}
