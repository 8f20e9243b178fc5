"""Bundle files without a database: shape errors with their line, cross-checks, and the run-time helpers."""
from __future__ import annotations

import pytest

from engine.bundle import is_bundle_file, merge, parse_bundle, progress, provided
from engine.errors import DefinitionRejected, FormInvalid
from engine.expressions import Evaluator
from engine.forms import load_forms
from engine.spiff.parser import parse_unit
from tests.bpmn_factory import diagram
from tests.conftest import ROOT

BUNDLE = ROOT / "processes" / "qiye_kaiban" / "bundle.yaml"


@pytest.fixture(scope="module")
def forms():
    return load_forms(ROOT / "forms")


@pytest.fixture(scope="module")
def process():
    path = ROOT / "processes" / "qiye_kaiban" / "main.bpmn"
    return parse_unit([("main.bpmn", path.read_bytes())], Evaluator(), max_bytes=5_000_000).processes["qiye_kaiban"]


@pytest.fixture(scope="module")
def doc(forms, process):
    return parse_bundle("bundle.yaml", BUNDLE.read_bytes()).check(forms.get, process)


def findings(text: str, forms=None, process=None) -> list[tuple[str, int]]:
    with pytest.raises(DefinitionRejected) as info:
        bundle = parse_bundle("x/bundle.yaml", text.encode())
        bundle.check(forms.get, process)
    assert all(f["file"] == "x/bundle.yaml" for f in info.value.details["findings"])
    return [(f["code"], f["line"]) for f in info.value.details["findings"]]


def test_bundle_files_are_told_apart_by_name():
    assert is_bundle_file("qiye_kaiban/bundle.yaml") and is_bundle_file("a.bundle.yml")
    assert not is_bundle_file("matters.yaml") and not is_bundle_file("bundle.yaml.bak")


def test_shape_errors_name_their_lines():
    text = ("bundle:\n  code: Qiye\n  name: 企业开办\n  process: qiye_kaiban\n  form: qiye_kaiban_apply\n"
            "  colour: red\n  materials:\n    - {key: id_card}\n  matters:\n    - name: 公章\n"
            "      subprocess: sub_seal\n      form: seal_filing\n      fields: {company_name: 12}\n")
    assert sorted(findings(text)) == sorted([("TB_CATALOG_FIELD", 2), ("TB_BUNDLE_FIELD", 6),
                                             ("TB_CATALOG_FIELD", 8), ("TB_BUNDLE_FIELD", 13)])


def test_a_file_without_bundle_or_matters_is_refused():
    assert findings("matters: []\n") == [("TB_BUNDLE_FIELD", 1)]
    assert findings("bundle:\n  code: a\n  name: 甲\n  process: p\n  form: f\n") == [("TB_BUNDLE_FIELD", 2)]


def test_a_duplicated_material_is_refused_at_its_second_line():
    text = BUNDLE.read_text().replace("    - {key: articles, name: 公司章程}",
                                      "    - {key: articles, name: 公司章程}\n    - {key: articles, name: 章程}")
    assert findings(text) == [("TB_BUNDLE_FIELD", 11)]


def test_a_mapping_onto_a_form_the_subprocess_does_not_use_is_refused(forms, process):
    text = BUNDLE.read_text().replace("      form: seal_filing", "      form: invoice_application")
    codes = findings(text, forms, process)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "form: invoice_application" in x and i < 30)
    assert ("TB_BUNDLE_SUBPROCESS", line) in codes
    assert {code for code, _ in codes} == {"TB_BUNDLE_SUBPROCESS", "TB_BUNDLE_FIELD_MISSING"}


def test_the_checked_doc_pins_the_application_form_and_finds_the_tasks(doc, forms):
    assert doc["form_hash"] == forms["qiye_kaiban_apply"].content_hash
    assert {m["name"]: m["tasks"] for m in doc["matters"]}["公章刻制备案"] == ["seal_review"]


APPLICATION = {"company_name": "渝通科技", "legal_rep_name": "张三", "seal_count": 2, "address": "",
               "materials": {"id_card": "CL-1", "premises": "CL-2"}}


def test_a_sub_task_is_given_what_the_bundle_collected_and_nothing_it_left_empty(doc):
    seal = provided(doc, "seal_review", APPLICATION)
    assert seal["matter"] == "公章刻制备案"
    assert seal["values"] == {"company_name": "渝通科技", "legal_rep_name": "张三", "seal_count": 2,
                              "legal_rep_id": "CL-1"}
    assert seal["materials"] == [{"key": "id_card", "name": "法定代表人身份证件", "field": "legal_rep_id",
                                  "value": "CL-1", "status": "已收取"}]
    fund = provided(doc, "fund_review", APPLICATION)
    assert "address" not in fund["values"] and fund["materials"] == []       # empty in the application
    assert provided(doc, "deliver", APPLICATION) == {"matter": None, "values": {}, "materials": []}


def test_merge_fills_in_collected_values_and_refuses_a_changed_one(doc):
    merged = merge(doc, "license_review", APPLICATION, {"credit_code": "X", "materials": {"articles": "CL-3"}})
    assert merged["materials"] == {"id_card": "CL-1", "premises": "CL-2", "articles": "CL-3"}
    assert merged["company_name"] == "渝通科技"
    assert merge(doc, "seal_review", APPLICATION, {"legal_rep_id": "CL-1"})["legal_rep_id"] == "CL-1"
    with pytest.raises(FormInvalid) as info:
        merge(doc, "seal_review", APPLICATION, {"legal_rep_id": "CL-9", "company_name": "别的公司"})
    assert set(info.value.details["fields"]) == {"legal_rep_id", "company_name"}


def test_progress_reads_subprocess_states_from_tasks_and_passed_elements(doc):
    tasks = [{"element_id": "license_review", "state": "completed"}, {"element_id": "seal_review", "state": "open"}]
    rows = {r["subprocess"]: (r["state"], r["open_tasks"]) for r in progress(doc, tasks, {"sub_license"})}
    assert rows == {"sub_license": ("completed", 0), "sub_seal": ("running", 1), "sub_invoice": ("waiting", 0),
                    "sub_social": ("waiting", 0), "sub_fund": ("waiting", 0)}


# --- tb:clock when= (the committed clock per 不动产登记 sub-type) -----------------------------------------------

def clocked(*clocks: str) -> bytes:
    ext = "<bpmn:extensionElements>" + "".join(clocks) + "</bpmn:extensionElements>"
    return diagram().replace(b'<bpmn:process id="probe" isExecutable="true">',
                             b'<bpmn:process id="probe" isExecutable="true">' + ext.encode())


def clock_codes(*clocks: str) -> list[str]:
    with pytest.raises(DefinitionRejected) as info:
        parse_unit([("p.bpmn", clocked(*clocks))], Evaluator(), max_bytes=100_000)
    return [f["code"] for f in info.value.details["findings"]]


def test_clocks_of_one_kind_each_with_a_condition_are_read_with_it():
    unit = parse_unit([("p.bpmn", clocked('<tb:clock kind="committed" workdays="0" when=\'kind == "a"\'/>',
                                          '<tb:clock kind="committed" workdays="2" when=\'kind == "b"\'/>'))],
                      Evaluator(), max_bytes=100_000)
    assert [(c.amount, c.when) for c in unit.processes["probe"].clocks] == [(0, 'kind == "a"'), (2, 'kind == "b"')]


def test_a_second_clock_of_a_kind_without_a_condition_a_zero_legal_limit_and_an_unsafe_condition_are_refused():
    assert clock_codes('<tb:clock kind="committed" workdays="2"/>',
                       '<tb:clock kind="committed" workdays="3" when="x == 1"/>') == ["TB_BAD_CLOCK"]
    assert clock_codes('<tb:clock kind="legal" workdays="0"/>') == ["TB_BAD_CLOCK"]
    assert clock_codes('<tb:clock kind="committed" workdays="2" when="__import__(\'os\')"/>') == [
        "EXPRESSION_REJECTED"]
