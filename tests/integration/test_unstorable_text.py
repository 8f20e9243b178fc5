"""Text no database can store (U+0000, lone surrogates, YAML control characters) on paths the guards missed.

The JSON body, query string and form fields are guarded (app/json_body.py); these tests reach the engine by
the other ways in: a URL path segment, an uploaded file's name and content (.form, matters.yaml), a dry-run
scenario's YAML, and the engine's commands themselves. Each must be a precise refusal (JSON ``{code, message}``
with a Chinese message, the same on SQLite and PostgreSQL) that writes nothing. Found by QA (helper-101): each
was a 500, or accepted on SQLite and a 500 on PostgreSQL (46 of these 50 runs failed then).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.runtime import get_engine
from engine import CompleteTask, EngineError, StartCase
from tests.bpmn_factory import diagram
from tests.conftest import ROOT
from tests.helpers import ACCEPT, CLERK, deploy_shipped, open_task

CHINESE = re.compile(r"[\u4e00-\u9fff]")
CATALOG = (ROOT / "processes" / "parallel_approval" / "matters.yaml").read_bytes()
MAIN_BPMN = (ROOT / "processes" / "parallel_approval" / "main.bpmn").read_text(encoding="utf-8")
SCENARIO = (ROOT / "processes" / "parallel_approval" / "scenarios" / "all_approve.yaml").read_text(encoding="utf-8")
MATTER_NAME = "name: 建筑工程施工许可证核发（并联审批示例）".encode()
USERS = {"clerk": ("window_yz", ("window_clerk",), "500103", "zwzx"),
         "designer": ("designer", ("designer",), "500000", "dsj")}


@dataclass
class Api:
    """The app on one database with a clerk's and a designer's bearer headers."""

    client: FlaskClient
    headers: dict[str, dict[str, str]]

    def upload(self, files: list[tuple[str, bytes]], path: str = "/api/v1/definitions") -> TestResponse:
        data = {"files": [(io.BytesIO(content), name) for name, content in files]}
        return self.client.post(path, headers=self.headers["designer"], data=data,
                                content_type="multipart/form-data")

    def definitions(self) -> Any:
        response = self.client.get("/api/v1/definitions", headers=self.headers["designer"])
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def matter(self) -> Any:
        return self.client.get("/api/v1/matters/11500103MB1D25937B4000117001",
                               headers=self.headers["clerk"]).get_json()


@pytest.fixture
def api(database_url: str, clock, tmp_path: Path) -> Iterator[Api]:
    """The app on each database, the shipped parallel approval deployed, one case started by the clerk."""
    app = create_app({"TESTING": True, "TONGBAN_DATABASE_URL": database_url, "TONGBAN_CLOCK": clock,
                      "TONGBAN_MATERIALS_DIR": str(tmp_path / "materials"),
                      "TONGBAN_ARCHIVES_DIR": str(tmp_path / "archives")})
    identity = get_engine(app).identity
    headers = {}
    for who, (username, roles, district, department) in USERS.items():
        identity.create_user(username, display_name=who, roles=roles, district=district, department=department)
        headers[who] = {"Authorization": f"Bearer {identity.create_token(username, label='qa')}"}
    api = Api(app.test_client(), headers)
    folder = ROOT / "processes" / "parallel_approval"
    shipped = [(p.name, p.read_bytes()) for p in (folder / "main.bpmn", folder / "matters.yaml",
                                                   *sorted((ROOT / "forms").glob("*.form")))]
    assert api.upload(shipped).status_code == 201
    started = api.client.post("/api/v1/cases", headers=headers["clerk"], json={
        "process_key": "parallel_approval", "title": "某项目施工许可", "data": {"applicant": "重庆某建设有限公司"}})
    assert started.status_code == 201, started.get_data(as_text=True)
    yield api
    get_engine(app).close()


def assert_refused(response: TestResponse, *codes: str) -> dict[str, Any]:
    """A JSON 4xx ``{code, message}`` with a Chinese message and one of ``codes``."""
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, f"{response.status_code} {text[:300]}"
    assert response.mimetype == "application/json", text[:300]
    body = response.get_json()
    assert body["code"] in codes, body
    assert CHINESE.search(body["message"]), body
    return body


def assert_lint_finds_an_error(response: TestResponse) -> None:
    """Lint answers 200 with ``ok: false`` and an error finding (or refuses the upload as a JSON 4xx)."""
    assert response.status_code != 500, response.get_data(as_text=True)[:300]
    if response.status_code == 200:
        body = response.get_json()
        assert body["ok"] is False and body["errors"] >= 1, body
    else:
        assert_refused(response, "DEFINITION_REJECTED", "INVALID_INPUT", "BAD_REQUEST")


# --- a NUL in a URL path segment ------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "path"), [
    ("designer", "/api/v1/matters/%00"),
    ("designer", "/api/v1/definitions/%00/versions"),
    ("designer", "/api/v1/definitions/a%00b/diff?from=1&to=2"),
    ("clerk", "/api/v1/cases/1/materials/%00/file"),   # the clerk's own case: the material key reaches a query
], ids=["matter", "versions", "diff", "material-file"])
def test_a_nul_in_a_text_path_segment_is_a_json_refusal_on_every_database(api, who, path):
    # The text guard (app/json_body.py install_text_guard) checks request.args and request.form, not the
    # URL path: the NUL reaches a query, where PostgreSQL refuses it (500) and SQLite answers 404.
    assert_refused(api.client.get(path, headers=api.headers[who]), "BAD_REQUEST", "NOT_FOUND")


# --- .form files ----------------------------------------------------------------------------------------------

FORM_SURROGATE = b'{"type":"default","id":"qa_sur","components":[{"type":"textfield","key":"a","label":"\\ud800"}]}'
FORM_NUL = b'{"type":"default","id":"qa_nul","components":[{"type":"textfield","key":"a","label":"a\\u0000b"}]}'
FORM_NUL_KEY = b'{"type":"default","id":"qa_nulk","components":[{"type":"textfield","key":"a","\\u0000":1}]}'


@pytest.mark.parametrize("content", [FORM_SURROGATE, FORM_NUL, FORM_NUL_KEY], ids=["surrogate", "nul", "nul-key"])
def test_a_form_file_holding_text_no_database_stores_is_rejected_and_deploys_nothing(api, content):
    # engine/forms.py parse_form: json.loads takes "\ud800" and "\u0000"; the lone surrogate then fails in
    # canonical.encode("utf-8") (500 on both databases), the NUL is stored on SQLite (201) and is a 500 on
    # PostgreSQL.
    before = api.definitions()
    assert_refused(api.upload([("qa.form", content)]), "DEFINITION_REJECTED")
    assert api.definitions() == before


def test_lint_of_a_form_file_with_a_lone_surrogate_reports_it(api):
    assert_lint_finds_an_error(api.upload([("qa.form", FORM_SURROGATE)], path="/api/v1/lint"))


# --- matters.yaml ---------------------------------------------------------------------------------------------

RAW_CONTROL = {
    "nul-in-basis": re.sub(rb"basis: .*", b"basis: a\x00b", CATALOG, count=1),
    "soh-in-name": CATALOG.replace(MATTER_NAME, b"name: a\x01b"),
}


@pytest.mark.parametrize("content", RAW_CONTROL.values(), ids=RAW_CONTROL.keys())
def test_a_catalog_with_a_raw_control_character_is_a_yaml_finding(api, content):
    # engine/catalog_yaml.py _compose: yaml.SafeLoader(text) is built outside the try, and PyYAML's reader
    # raises ReaderError ("unacceptable character #x0000") from the constructor: a 500 on both databases.
    before = api.matter()
    body = assert_refused(api.upload([("matters.yaml", content)]), "DEFINITION_REJECTED")
    assert body["details"]["findings"][0]["code"] == "TB_CATALOG_YAML", body
    assert api.matter() == before


@pytest.mark.parametrize("content", RAW_CONTROL.values(), ids=RAW_CONTROL.keys())
def test_lint_of_a_catalog_with_a_raw_control_character_reports_it(api, content):
    assert_lint_finds_an_error(api.upload([("matters.yaml", content)], path="/api/v1/lint"))


ESCAPED = {
    "nul-in-matter-name": CATALOG.replace(MATTER_NAME, b'name: "a\\0b"'),
    "nul-in-material-name": CATALOG.replace("name: 中标通知书".encode(), b'name: "a\\0b"'),
    "surrogate-in-matter-name": CATALOG.replace(MATTER_NAME, b'name: "a\\ud800b"'),
}


@pytest.mark.parametrize("content", ESCAPED.values(), ids=ESCAPED.keys())
def test_catalog_text_with_an_escaped_nul_or_lone_surrogate_is_rejected_and_deploys_nothing(api, content):
    # A double-quoted YAML "\0" or "\ud800" decodes to text no database stores. The NUL is deployed on SQLite
    # (201) and is a 500 on PostgreSQL; the surrogate fails in engine/catalog_entry.py content_hash
    # (canonical_json(...).encode()): a 500 on both.
    before = api.matter()
    assert_refused(api.upload([("matters.yaml", content)]), "DEFINITION_REJECTED")
    assert api.matter() == before


# --- uploaded file names --------------------------------------------------------------------------------------

def test_an_uploaded_definition_whose_file_name_holds_a_nul_is_refused_on_every_database(api):
    # The file name is stored (definition log source_name): SQLite deploys it (201), PostgreSQL is a 500.
    before = api.definitions()
    assert_refused(api.upload([("qa\x00.bpmn", diagram(process_id="qa_nul_name"))]),
                   "BAD_REQUEST", "INVALID_INPUT", "DEFINITION_REJECTED")
    assert api.definitions() == before


# --- dry-run scenarios ----------------------------------------------------------------------------------------

SCENARIO_NAME = "name: 受理后三部门并联审查，全部同意后办结"
BAD_SCENARIOS = {
    "control-character": SCENARIO.replace(SCENARIO_NAME, "name: a\u0001b", 1),
    "surrogate-in-name": SCENARIO.replace(SCENARIO_NAME, 'name: "a\\ud800"', 1),
    "surrogate-in-data": SCENARIO.replace("data: {applicant: 重庆某建设有限公司}", 'data: {applicant: "x\\ud800"}', 1),
}


@pytest.mark.parametrize("scenario", BAD_SCENARIOS.values(), ids=BAD_SCENARIOS.keys())
def test_a_dry_run_scenario_with_a_control_character_or_lone_surrogate_is_a_scenario_error(api, scenario):
    # The JSON body guard lets U+0001 and the six characters \ud800 through (they are valid JSON text); the
    # scenario's YAML reader then raises (ReaderError, UnicodeEncodeError): a 500 on both databases. A
    # scenario YAML the reader cannot take is answered 200 with ok=false and a SCENARIO_YAML error.
    response = api.client.post("/api/v1/dryrun", headers=api.headers["designer"],
                               json={"bpmn": MAIN_BPMN, "scenario": scenario})
    assert response.status_code != 500, response.get_data(as_text=True)[:300]
    if response.status_code == 200:
        body = response.get_json()
        assert body["ok"] is False and body["errors"], body
    else:
        assert_refused(response, "INVALID_INPUT", "BAD_REQUEST", "DEFINITION_REJECTED")


# --- the command layer ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"title": "施工许可\x00"},
    {"business_key": "BK\x00"},
    {"data": {"applicant": "重庆\x00某公司"}},
    {"data": {"applicant": "\ud800"}},
], ids=["nul-title", "nul-business-key", "nul-in-data", "surrogate-in-data"])
def test_starting_a_case_with_text_no_database_stores_is_invalid_input_and_starts_nothing(engine, kwargs):
    # Only the HTTP layer refuses NUL and lone surrogates; StartCase takes them. SQLite stores the NUL
    # (the case starts), PostgreSQL raises psycopg DataError; the surrogate raises UnicodeEncodeError on both.
    # Neither is an EngineError: the CLI and other callers of engine.handle get a raw exception.
    deploy_shipped(engine)
    before = engine.queries.tasks(CLERK, limit=200).items
    with pytest.raises(EngineError) as exc:
        engine.handle(StartCase("parallel_approval", CLERK, **kwargs))
    assert exc.value.code == "INVALID_INPUT" and CHINESE.search(exc.value.message), exc.value.to_dict()
    assert engine.queries.tasks(CLERK, limit=200).items == before


@pytest.mark.parametrize("opinion", ["材料\x00齐全", "\ud800"], ids=["nul", "surrogate"])
def test_completing_with_form_text_no_database_stores_is_form_invalid_and_changes_nothing(engine, opinion):
    # CompleteTask's form validation (engine/forms.py) takes a textarea value holding U+0000 or a lone
    # surrogate: SQLite completes the task with the NUL stored, PostgreSQL raises psycopg DataError, the
    # surrogate raises UnicodeEncodeError on both databases.
    deploy_shipped(engine)
    started = engine.handle(StartCase("parallel_approval", CLERK))
    accept = open_task(engine, CLERK, "accept")
    events = len(engine.queries.events(started.case_id))
    with pytest.raises(EngineError) as exc:
        engine.handle(CompleteTask(accept["id"], CLERK, {**ACCEPT, "opinion": opinion}))
    assert exc.value.code in ("FORM_INVALID", "INVALID_INPUT") and CHINESE.search(exc.value.message)
    assert open_task(engine, CLERK, "accept")["state"] == "open"
    assert len(engine.queries.events(started.case_id)) == events
