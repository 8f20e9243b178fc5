"""Every shipped diagram opens in Camunda Modeler: checked with the libraries the Modeler is built on.

``tests/js/check_diagrams.mjs`` imports each diagram with bpmn-moddle, camunda-bpmn-moddle and our ``tb:``
descriptor, then checks diagram interchange and a save round trip. Without node or the npm packages the
test is skipped locally and fails with ``CI=true``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, ROOT

SCRIPT = ROOT / "tests" / "js" / "check_diagrams.mjs"
PACKAGES = ("bpmn-moddle", "camunda-bpmn-moddle")
SAMPLE = (ROOT / "processes" / "hukou_qianyi" / "main.bpmn").read_text(encoding="utf-8")


def missing(node: str | None, modules: Path) -> str | None:
    """Say what the checker lacks: node itself or one of the npm packages (None when it can run)."""
    if node is None:
        return "node is not installed"
    absent = [p for p in PACKAGES if not (modules / p / "package.json").exists()]
    return f"npm packages missing: {', '.join(absent)} (run npm ci)" if absent else None


def require(problem: str | None, in_ci: bool) -> None:
    """Skip without the checker locally; with CI=true that is a failure."""
    if problem and in_ci:
        pytest.fail(f"{problem} (CI=true: the diagram checks must run)")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def check():
    """Run the checker on files (none: every shipped diagram) and return its exit code and JSON report."""
    require(missing(shutil.which("node"), ROOT / "node_modules"), IN_CI)

    def run(*files: Path) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(["node", str(SCRIPT), "--json", *map(str, files)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)
    return run


def test_every_shipped_diagram_imports_without_warning_is_fully_drawn_and_survives_a_save(check):
    code, report = check()
    shipped = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "processes").rglob("*.bpmn"))
    assert sorted(report["files"]) == shipped and len(shipped) >= 9
    assert report["problems"] == [] and code == 0


def _drop_shape(xml: str, element: str) -> str:
    start = xml.index(f'<bpmndi:BPMNShape id="{element}_di"')
    return xml[:start] + xml[xml.index("</bpmndi:BPMNShape>", start) + len("</bpmndi:BPMNShape>"):]


BROKEN = {   # what a careless edit does to the 户口迁移 diagram -> (code, element) the checker must report
    "unknown_tb_attribute": (SAMPLE.replace('<tb:form key="hukou_review"/>', '<tb:form key="hukou_review" ref="x"/>'),
                             ("IMPORT_WARNING", None)),
    "unknown_tb_element": (SAMPLE.replace('<tb:form key="hukou_review"/>', '<tb:form key="hukou_review"/><tb:owner/>'),
                           ("ROUNDTRIP_TB", None)),
    "unknown_bpmn_element": (SAMPLE.replace('<bpmn:endEvent id="end_done"', '<bpmn:fancyEvent id="fancy"/>'
                                            '<bpmn:endEvent id="end_done"'), ("ROUNDTRIP_IDS", "fancy")),
    "unresolved_reference": (SAMPLE.replace('targetRef="settle"', 'targetRef="nowhere"'),
                             ("IMPORT_WARNING", "f_gw_out_settle")),
    "not_bpmn": ("<html><body>流程图</body></html>", ("IMPORT_FAILED", None)),
    "tb_namespace_typo": (SAMPLE.replace("schema/bpmn/1.0", "schema/bpmn/1.1"), ("UNKNOWN_NAMESPACE", "tb")),
    "shape_missing": (_drop_shape(SAMPLE, "settle"), ("DI_MISSING_SHAPE", "settle")),
    "shape_twice": (SAMPLE.replace('<bpmndi:BPMNShape id="settle_di"', '<bpmndi:BPMNShape id="settle_2" bpmnElement='
                                   '"settle"><dc:Bounds x="1" y="1" width="100" height="80"/></bpmndi:BPMNShape>'
                                   '<bpmndi:BPMNShape id="settle_di"'), ("DI_DUPLICATE_SHAPE", "settle")),
    "edge_missing": (SAMPLE.replace('bpmnElement="f_settle_deliver"', 'bpmnElement="f_deliver_end_done"'),
                     ("DI_MISSING_EDGE", "f_settle_deliver")),
    "one_waypoint": (SAMPLE.replace('<di:waypoint x="186" y="200"/>', ""), ("DI_FEW_WAYPOINTS", "f_start_receive")),
    "shape_of_nothing": (SAMPLE.replace('bpmnElement="notify_refusal">', 'bpmnElement="gone">'),
                         ("DI_DANGLING", "notify_refusal_di")),
    "zero_width": (SAMPLE.replace('x="832" y="342" width="36"', 'x="832" y="342" width="0"'),
                   ("DI_BAD_BOUNDS", "end_refused")),
    "stacked_shapes": (SAMPLE.replace('<dc:Bounds x="1030" y="160"', '<dc:Bounds x="880" y="160"'),
                       ("DI_SAME_BOUNDS", "deliver")),
}


@pytest.fixture(scope="module")
def broken_report(check, tmp_path_factory) -> dict[str, list[tuple[str, str | None]]]:
    folder = tmp_path_factory.mktemp("broken")
    for name, (xml, _expected) in BROKEN.items():
        assert xml != SAMPLE, name
        (folder / f"{name}.bpmn").write_text(xml, encoding="utf-8")
    code, report = check(*sorted(folder.glob("*.bpmn")))
    assert code == 1
    found: dict[str, list[tuple[str, str | None]]] = {}
    for p in report["problems"]:
        found.setdefault(Path(p["file"]).stem, []).append((p["code"], p["element"]))
    return found


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_checker_reports_what_the_modeler_would_drop_or_not_draw(broken_report, name):
    assert BROKEN[name][1] in broken_report.get(name, [])


def test_a_clean_diagram_passes_alone(check, tmp_path):
    (tmp_path / "ok.bpmn").write_text(SAMPLE, encoding="utf-8")
    assert check(tmp_path / "ok.bpmn") == (0, {"files": [str(tmp_path / "ok.bpmn")], "problems": []})


@pytest.mark.parametrize("node, packages, expected", [
    (None, PACKAGES, "node is not installed"),
    ("/usr/bin/node", ("bpmn-moddle",), "npm packages missing: camunda-bpmn-moddle (run npm ci)"),
    ("/usr/bin/node", PACKAGES, None),
])
def test_without_node_or_the_packages_the_check_skips_locally_and_fails_in_ci(tmp_path, node, packages, expected):
    for package in packages:
        (tmp_path / package).mkdir()
        (tmp_path / package / "package.json").write_text("{}")
    problem = missing(node, tmp_path)
    assert problem == expected
    if expected is None:
        require(problem, in_ci=True)
        return
    with pytest.raises(pytest.skip.Exception):
        require(problem, in_ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require(problem, in_ci=True)
