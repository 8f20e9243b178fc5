"""工改's 承诺时限 per project category on SQLite and PostgreSQL: the catalog API, the receipt and the deploy checks.

The catalog says ``committed_limit: {by: project_category}``; the figures come from
``processes/gongcheng/targets.yaml`` (QA finding F11: the catalog's placeholder 45 was shown everywhere).
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import (
    Actor, CompleteTask, DefinitionRejected, DeployDefinitions, EngineConfig, MaterialInput, Party,
    ReceiveApplication, Replayer, bootstrap, ensure_calendar_seeded,
)
from engine.persistence.models import Case
from tests.conftest import ROOT
from tests.helpers import CLERK, deploy_shipped, open_task

GC = "GC500000-LHBL-0001"
FAGAI = Actor("reviewer_fg", ("reviewer",), "500103", "fagai")
COMPANY = Party("legal", "重庆某建设有限公司", id_number="91500103MA5U1234XJ", legal_representative="王五")
PDF = b"%PDF-1.7\n%category limit\n"
TODAY = [{"category": "social", "name": "一般社会投资项目", "workdays": 50, "from": "2020-01-01"},
         {"category": "government", "name": "政府投资项目", "workdays": 80, "from": "2020-01-01"},
         {"category": "small_social", "name": "小型社会投资项目", "workdays": 35, "from": "2020-01-01"},
         {"category": "with_plan", "name": "带方案出让用地项目", "workdays": 20, "from": "2020-01-01"},
         {"category": "industrial", "name": "一般工业项目", "workdays": 15, "from": "2020-01-01"}]


def receive(engine, category: str):
    materials = (MaterialInput("project_application", io.BytesIO(PDF), "申请表.pdf"),
                 MaterialInput("project_approval", io.BytesIO(PDF + b"a"), "备案文件.pdf"))
    return engine.handle(ReceiveApplication(GC, CLERK, COMPANY, "13800138000", materials,
                                            form={"project_name": "渝中区某综合楼", "project_category": category}))


def committed_clock(engine, case_id: int) -> dict:
    with engine.database.read_sessions() as session:
        return session.scalar(select(Case.clocks).where(Case.id == case_id))["committed"]


def test_the_catalog_lists_each_categorys_committed_limit_in_force_today(engine):
    deploy_shipped(engine)
    detail = engine.queries.matter(GC, district="500103")
    assert detail["committed_limit"] == {"by": "project_category", "unit": "workday", "as_of": "2026-11-23",
                                         "categories": TODAY}
    assert detail["legal_limit"] == {"amount": 45, "unit": "workday"}
    (listed,) = [m for m in engine.queries.matters(q="工程建设项目", district="500103") if m["code"] == GC]
    assert listed["committed_limit"]["categories"] == TODAY
    # A matter with an amount is shown as before.
    assert engine.queries.matter("11500103MB1D25937B4000117001", district="500103")["committed_limit"] == {
        "amount": 7, "unit": "workday"}


@pytest.mark.parametrize("category, days, name", [("government", 80, "政府投资项目"),
                                                  ("industrial", 15, "一般工业项目")])
def test_a_gongcheng_receipt_shows_the_cases_own_committed_limit_before_and_after_acceptance(
        engine, category, days, name):
    ensure_calendar_seeded(engine)
    deploy_shipped(engine)
    result = receive(engine, category)
    case_id = result.case.case_id
    pending = committed_clock(engine, case_id)["pending"]
    # The diagram's clock keeps amountFrom (no catalog placeholder), and the case's own target is on it.
    assert pending["amount_from"] == "target_workdays" and pending["budget"] == {"amount": days, "unit": "workday"}
    receipt = engine.receipts.receipt(CLERK, case_id)
    assert receipt["matter"]["committed_limit"] == f"{days} 个工作日（{name}）"
    assert receipt["matter"]["legal_limit"] == "45 个工作日" and receipt["committed_due_at"] is None
    (clock,) = [c for c in receipt["clocks"] if c["kind"] == "committed"]
    assert (clock["budget"], clock["status"]) == (f"{days} 个工作日", "not_started")

    engine.handle(CompleteTask(open_task(engine, FAGAI, "s1_accept")["id"], FAGAI,
                               {"materials_complete": True, "accept_note": "材料齐全，予以受理"}))
    assert committed_clock(engine, case_id)["clock"]["budget"] == {"amount": days, "unit": "workday"}
    after = engine.receipts.receipt(CLERK, case_id)
    assert after["matter"]["committed_limit"] == f"{days} 个工作日（{name}）"
    assert after["committed_due_at"] is not None
    with Replayer(engine) as replayer:                  # the case's own budget is an effect replay repeats
        result = replayer.replay_case(case_id)
    assert result.identical, result.divergence


def gongcheng_files(diagram: bytes | None = None) -> list[tuple[str, bytes]]:
    folder = ROOT / "processes" / "gongcheng"
    return [("gongcheng/main.bpmn", diagram or (folder / "main.bpmn").read_bytes()),
            ("gongcheng/matters.yaml", (folder / "matters.yaml").read_bytes())]


def forms() -> tuple[tuple[str, bytes], ...]:
    return tuple((p.name, p.read_bytes()) for p in sorted((ROOT / "forms").glob("*.form")))


def test_a_deploy_refuses_a_limit_per_category_whose_process_takes_no_amount_from_the_case(engine):
    diagram = (ROOT / "processes" / "gongcheng" / "main.bpmn").read_bytes().replace(
        b' amountFrom="target_workdays"', b"")
    with pytest.raises(DefinitionRejected) as refused:
        engine.handle(DeployDefinitions(tuple(gongcheng_files(diagram)), forms()))
    (finding,) = [f for f in refused.value.details["findings"] if f["code"] == "TB_CATALOG_CATEGORY_CLOCK"]
    assert (finding["file"], finding["line"], finding["element_id"]) == ("gongcheng/matters.yaml", 15, GC)
    assert "amountFrom" in finding["message"] and engine.queries.matters() == []
    # The same diagram deployed earlier without the catalog is checked when the catalog comes alone.
    engine.handle(DeployDefinitions(((gongcheng_files(diagram)[0]),), forms()))
    with pytest.raises(DefinitionRejected) as alone:
        engine.handle(DeployDefinitions((gongcheng_files()[1],)))
    assert [f["code"] for f in alone.value.details["findings"]] == ["TB_CATALOG_CATEGORY_CLOCK"]
    assert alone.value.message.startswith("gongcheng/matters.yaml 第 15 行：")
    engine.handle(DeployDefinitions(tuple(gongcheng_files()), forms()))       # the shipped pair deploys
    assert engine.queries.matter(GC)["committed_limit"]["by"] == "project_category"


def test_a_deploy_refuses_a_limit_per_category_when_no_targets_file_was_loaded(database_url, clock, tmp_path):
    processes = tmp_path / "processes"
    shutil.copytree(ROOT / "processes" / "gongcheng", processes / "gongcheng",
                    ignore=shutil.ignore_patterns("targets.yaml"))
    eng = bootstrap(EngineConfig(database_url=database_url, processes_dir=processes, forms_dir=ROOT / "forms",
                                 materials_dir=tmp_path / "materials"), clock=clock)
    try:
        bpmn, form_files = eng.shipped_files()
        with pytest.raises(DefinitionRejected) as refused:
            eng.handle(DeployDefinitions(tuple(bpmn), tuple(form_files)))
        codes = [(f["code"], f["file"], f["line"]) for f in refused.value.details["findings"]]
        assert codes == [("TB_CATALOG_CATEGORY_TARGETS", str(Path("gongcheng") / "matters.yaml"), 15)]
        assert "targets.yaml" in refused.value.message
    finally:
        eng.close()
