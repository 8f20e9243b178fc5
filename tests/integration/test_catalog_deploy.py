"""Deploying matter catalogs: versioned per code, checked against the processes, all or nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import DefinitionRejected, DeployDefinitions
from engine.persistence.models import FormVersion, MatterVersion, ProcessDefinition
from tests.conftest import ROOT
from tests.helpers import CLERK, deploy_shipped

CATALOG = ROOT / "processes" / "parallel_approval" / "matters.yaml"
CODE = "11500103MB1D25937B4000117001"


def count(engine, model) -> int:
    with engine.database.read_sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_shipped_catalog_deploys_with_its_process_and_is_searchable(engine):
    report = deploy_shipped(engine)
    assert ("matter", CODE, 1, "created") in {(d.kind, d.key, d.version, d.status) for d in report}
    (found,) = engine.queries.matters(q="施工许可", district="500103")
    assert found["code"] == CODE and found["committed_limit"] == {"amount": 7, "unit": "workday"}
    assert found["agency"] == "渝中区住房和城乡建设委员会"
    assert engine.queries.matters(q="施工许可", district="500101") == []        # not offered in 万州
    assert engine.queries.matters(q="1500103MB1D")[0]["code"] == CODE
    assert engine.queries.matters(q="%") == [] and engine.queries.matters(q="_") == []


def test_redeploying_keeps_the_version_and_a_change_makes_the_next_one(engine):
    deploy_shipped(engine)
    (line,) = [d for d in deploy_shipped(engine) if d.kind == "matter" and d.key == CODE]
    assert (line.version, line.status) == (1, "unchanged")
    changed = CATALOG.read_bytes().replace(b"amount: 7,", b"amount: 5,")
    (line,) = engine.handle(DeployDefinitions((("parallel_approval/matters.yaml", changed),)))
    assert (line.version, line.status) == (2, "created")
    detail = engine.queries.matter(CODE, district="500103")
    assert detail["version"] == 2 and [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["committed_limit"]["amount"] == 5
    assert engine.queries.matter(CODE, version=1, district="500103")["committed_limit"]["amount"] == 7


def test_a_matter_naming_an_undeployed_process_is_refused_and_nothing_is_written(engine):
    broken = CATALOG.read_bytes().replace(b"process: parallel_approval", b"process: no_such_process")
    bpmn = (ROOT / "processes" / "parallel_approval" / "main.bpmn").read_bytes()
    _, forms = engine.shipped_files()
    with pytest.raises(DefinitionRejected) as info:
        engine.handle(DeployDefinitions((("main.bpmn", bpmn), ("parallel_approval/matters.yaml", broken)),
                                        tuple(forms)))
    (finding,) = info.value.details["findings"]
    assert (finding["code"], finding["file"], finding["line"]) == ("TB_CATALOG_PROCESS",
                                                                  "parallel_approval/matters.yaml", 3)
    assert count(engine, MatterVersion) == count(engine, ProcessDefinition) == count(engine, FormVersion) == 0


def test_the_same_code_in_two_files_is_refused(engine):
    deploy_shipped(engine)
    data = CATALOG.read_bytes()
    with pytest.raises(DefinitionRejected, match="已在 a/matters.yaml 第 3 行定义"):
        engine.handle(DeployDefinitions((("a/matters.yaml", data), ("b/matters.yaml", data))))


def test_unknown_matter_is_not_found(engine):
    from engine import NotFound
    with pytest.raises(NotFound):
        engine.queries.matter("nope")
    assert CLERK.district == "500103"
