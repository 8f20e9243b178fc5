"""The diff of two versions says why the second is a version, when its diagram is unchanged (both databases).

Besides the pinned forms, a version's content hash covers its 一件事 bundle mapping and the diagrams it calls
into that were deployed with it: a change in either alone makes a new version whose elements are all unchanged.
"""
from __future__ import annotations

from app.schemas_versions import DiffSchema
from engine import Actor, DeployDefinitions
from tests.conftest import ROOT
from tests.helpers import deploy_shipped

DESIGNER = Actor("designer", ("designer",), "500000", "dsj")
KAIBAN = ROOT / "processes" / "qiye_kaiban"
CALLER = ROOT / "tests" / "data" / "processes" / "permit_caller.bpmn"
PERMIT = ROOT / "processes" / "standard_permit" / "main.bpmn"
NOTHING = {"added": [], "removed": [], "changed": []}


def deploy(engine, *files: tuple[str, bytes]) -> list[tuple[str, int, str]]:
    report = engine.handle(DeployDefinitions(files, actor=DESIGNER))
    return [(d.key, d.version, d.status) for d in report if d.kind == "process"]


def test_a_version_made_by_its_bundle_mapping_alone_shows_the_changed_entries(engine):
    deploy_shipped(engine)
    bundle = (KAIBAN / "bundle.yaml").read_text(encoding="utf-8").replace("公司章程", "公司章程（修订版）")
    bundle = bundle.replace("        seal_count: seal_count\n", "")
    bundle = bundle.replace("    - {key: articles,", "    - {key: lease, name: 租赁合同, field: materials.premises}\n"
                                                          "    - {key: articles,")
    assert deploy(engine, ("qiye_kaiban/main.bpmn", (KAIBAN / "main.bpmn").read_bytes()),
                  ("qiye_kaiban/bundle.yaml", bundle.encode())) == [("qiye_kaiban", 2, "created")]
    diff = engine.versions.diff("qiye_kaiban", 1, 2)
    assert (diff["added"], diff["removed"], diff["changed"], diff["forms"]) == ([], [], [], NOTHING)
    assert diff["bundle"] == {
        "added": [{"entry": "materials.lease.field", "value": "materials.premises"},
                  {"entry": "materials.lease.name", "value": "租赁合同"}],
        "removed": [{"entry": "matters.sub_seal.fields.seal_count", "value": "seal_count"}],
        "changed": [{"entry": "materials.articles.name", "from": "公司章程", "to": "公司章程（修订版）"}]}
    assert diff["resources"] == NOTHING
    dumped = DiffSchema().dump(diff)
    assert dumped["bundle"]["changed"] == [{"entry": "materials.articles.name", "from": "公司章程",
                                            "to": "公司章程（修订版）"}]
    assert dumped["bundle"]["added"][1] == {"entry": "materials.lease.name", "value": "租赁合同"}
    assert engine.versions.diff("qiye_kaiban", 2, 1)["bundle"]["removed"] == diff["bundle"]["added"]


def test_a_version_made_by_a_diagram_it_calls_into_names_that_file(engine):
    deploy_shipped(engine)
    caller = ("permit_caller.bpmn", CALLER.read_bytes())
    assert deploy(engine, caller, ("standard_permit/main.bpmn", PERMIT.read_bytes()))[0] == ("permit_caller", 1,
                                                                                             "created")
    edited = PERMIT.read_bytes().replace("《行政许可法》标准程序".encode(), "《行政许可法》标准程序（修订）".encode(), 1)
    assert ("permit_caller", 2, "created") in deploy(engine, caller, ("standard_permit/main.bpmn", edited))
    diff = engine.versions.diff("permit_caller", 1, 2)
    assert (diff["added"], diff["removed"], diff["changed"]) == ([], [], [])
    assert diff["resources"] == {"added": [], "removed": [], "changed": ["standard_permit/main.bpmn"]}
    assert diff["bundle"] == NOTHING
    assert DiffSchema().dump(diff)["resources"] == diff["resources"]
