"""What a deploy over HTTP must refuse with findings (422), never a 500 nor a stored value PostgreSQL would refuse.

Each test runs on both databases (the ``app`` fixture is parametrized over SQLite and PostgreSQL).
"""
from __future__ import annotations

import io
import json

from tests.bpmn_factory import diagram
from tests.conftest import ROOT

from .test_http_api import assert_error, deployed, upload  # noqa: F401

CATALOG = (ROOT / "processes" / "parallel_approval" / "matters.yaml").read_bytes()


def refused(client, caller, files) -> list[dict]:
    """Upload the files; assert 422 DEFINITION_REJECTED and return the findings."""
    return assert_error(upload(client, caller, files), 422, "DEFINITION_REJECTED")["details"]["findings"]


def form(pattern: str, *, component_ids: tuple[str, str] = ("f1", "f2")) -> bytes:
    return json.dumps({"id": "probe_form", "type": "default", "components": [
        {"id": component_ids[0], "type": "textfield", "key": "code", "label": "编码",
         "validate": {"required": True, "pattern": pattern}},
        {"id": component_ids[1], "type": "textfield", "key": "note", "label": "备注"}]}).encode()


def test_a_form_pattern_that_backtracks_without_limit_is_refused(client, deployed):
    [finding] = refused(client, deployed["designer"], [("forms/probe_form.form", form("(a+)+$"))])
    assert (finding["code"], finding["file"], finding["element_id"]) == (
        "FORM_PATTERN_UNSAFE", "forms/probe_form.form", "f1")
    assert "回溯" in finding["message"]


def test_two_components_with_one_id_are_refused(client, deployed):
    [finding] = refused(client, deployed["designer"], [("probe.form", form("^a$", component_ids=("dup", "dup")))])
    assert (finding["code"], finding["element_id"], finding["file"]) == ("FORM_DUPLICATE_COMPONENT_ID", "dup",
                                                                         "probe.form")


def test_an_impossible_date_in_a_catalog_is_a_finding_with_its_line(client, deployed):
    broken = CATALOG.replace(b"basis:", b"basis: 2026-02-30\n    x_basis:", 1)
    findings = refused(client, deployed["designer"], [("parallel_approval/matters.yaml", broken)])
    first = findings[0]
    assert (first["code"], first["file"]) == ("TB_CATALOG_FIELD", "parallel_approval/matters.yaml")
    line = broken.decode().splitlines().index(next(x for x in broken.decode().splitlines() if "2026-02-30" in x)) + 1
    assert first["line"] == line and "2026-02-30" in first["message"]


def test_a_dry_run_scenario_with_an_impossible_date_is_refused_with_its_line(client, deployed):
    scenario = "name: x\nstart:\n  at: 2026-02-30\nsteps:\n  - advance: 1 days\n"
    response = client.post("/api/v1/dryrun", headers=deployed["designer"].headers,
                           json={"bpmn": diagram().decode(), "scenario": scenario})
    assert response.status_code != 500, response.get_data(as_text=True)
    body = response.get_json()
    findings = body.get("details", body).get("findings") or body.get("errors")
    assert findings and findings[0]["line"] == 3, body


def test_keys_and_names_longer_than_their_columns_are_refused_on_every_database(client, deployed):
    long_key = diagram(process_id="p" * 301)
    long_name = diagram(process_id="long_name").replace(b'isExecutable="true"',
                                                        b'name="' + "名" .encode() * 100_000 + b'" isExecutable="true"')
    findings = refused(client, deployed["designer"], [("a.bpmn", long_key), ("b.bpmn", long_name)])
    assert {(f["code"], f["file"]) for f in findings} == {("BPMN_BAD_PROCESS_KEY", "a.bpmn"),
                                                          ("BPMN_VALUE_TOO_LONG", "b.bpmn")}
    [finding] = refused(client, deployed["designer"], [("c.bpmn", diagram(process_id="流程一"))])
    assert finding["code"] == "BPMN_BAD_PROCESS_KEY"
    long_matter = CATALOG.replace("name: 建筑工程施工许可证核发（".encode(), ("name: " + "长" * 201 + "（").encode(), 1)
    assert long_matter != CATALOG
    [finding] = refused(client, deployed["designer"], [("parallel_approval/matters.yaml", long_matter)])
    assert (finding["code"], finding["line"]) == ("TB_CATALOG_FIELD", 5) and "上限 200" in finding["message"]


def test_every_bad_file_is_reported_at_once_and_each_finding_names_its_file(client, deployed):
    files = [("one.bpmn", diagram(process_id="one", condition="__import__('os')")),
             ("two.bpmn", diagram(process_id="two", condition="x == 1")),
             ("three.bpmn", diagram(process_id="three", condition="open('f')")),
             ("bad.form", b"{"), ("forms/probe_form.form", form("(a*)*"))]
    findings = refused(client, deployed["designer"], files)
    assert {(f["code"], f["file"], f["element_id"]) for f in findings if f["code"] == "EXPRESSION_REJECTED"} == {
        ("EXPRESSION_REJECTED", "one.bpmn", "gw"), ("EXPRESSION_REJECTED", "three.bpmn", "gw")}
    assert {(f["code"], f["file"]) for f in findings} >= {("FORM_NOT_JSON", "bad.form"),
                                                         ("FORM_PATTERN_UNSAFE", "forms/probe_form.form")}
    assert all(f.get("file") for f in findings)


def test_a_department_the_offering_districts_do_not_have_is_refused(client, deployed):
    broken = CATALOG.replace(b"department: zhujian", b"department: nope_dept", 1)
    assert broken != CATALOG
    [finding] = refused(client, deployed["designer"], [("parallel_approval/matters.yaml", broken)])
    assert (finding["code"], finding["element_id"]) == ("TB_CATALOG_DEPARTMENT", "nope_dept")
    assert finding["line"] == CATALOG.decode().splitlines().index("    department: zhujian") + 1
    lint = client.post("/api/v1/lint", headers=deployed["designer"].headers, content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(broken), "parallel_approval/matters.yaml")]})
    assert "TB_CATALOG_DEPARTMENT" in [f["code"] for f in lint.get_json()["findings"]]
