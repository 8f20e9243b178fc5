"""Bad requests over HTTP: extreme JSON, bodies of the wrong content type and English library messages.

Every refusal is JSON ``{code, message, details}`` with a Chinese message and a stable code, and changes
nothing: no case is started, no task completed.
"""
from __future__ import annotations

import io
import json
import re

import pytest

from .test_http_api import ACCEPT, CHINESE, assert_error, case, deployed, get_case, inbox, only_task  # noqa: F401

JSON_REQUIRED = "请求体应为 JSON（Content-Type: application/json）"
ENGLISH_WORD = re.compile(r"(?<![A-Za-z])(?!JSON|Unicode|UTF)[A-Za-z]{3,}")   # an English word, not a name


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def start_body(data: str) -> str:
    """A case start whose ``data.a`` is the JSON text ``data``."""
    return '{"process_key": "parallel_approval", "data": {"a": ' + data + "}}"


def post_json_text(client, caller, path, text, content_type="application/json"):
    return client.post(path, headers=caller.headers, data=text.encode("utf-8", "surrogatepass"),
                       content_type=content_type)


@pytest.mark.parametrize(("text", "reason"), [
    (start_body(nested(100_000)), "depth"),
    (start_body(nested(5_000)), "depth"),
    (start_body(nested(200)), "depth"),             # decodes, but deeper than any request may be
    (start_body("9" * 5_000), "number"),
    (start_body('"\\ud800"'), "unicode"),           # a lone surrogate no database or answer can encode
    (start_body('"a\\u0000b"'), "nul"),             # PostgreSQL stores no NUL in text or jsonb
    ('{"process_key": "parallel_approval", "title": "\\u0000"}', "nul"),
    # A direction override shows "申请人张三\u202e退回" reordered on every page and export: refused, raw or escaped.
    ('{"process_key": "parallel_approval", "title": "张三\u202e回退"}', "bidi"),
    (start_body('"\\u2067x\\u2069"'), "bidi"),
    ('{"process_key": "parallel_approval"', "syntax"),
], ids=["deep-100k", "deep-5k", "deep-200", "5000-digits", "lone-surrogate", "nul-in-data", "nul-in-title",
        "bidi-in-title", "bidi-escaped-in-data", "truncated"])
def test_json_that_cannot_be_taken_is_a_bad_request_and_starts_nothing(client, deployed, text, reason):
    clerk = deployed["clerk"]
    body = assert_error(post_json_text(client, clerk, "/api/v1/cases", text), 400, "BAD_REQUEST")
    assert body["details"]["reason"] == reason, body
    [said] = body["details"]["fields"]["json"]
    assert said == body["message"] and not ENGLISH_WORD.search(said), body
    assert inbox(client, clerk)["items"] == []


def test_the_json_refusals_say_what_is_wrong_in_chinese(client, deployed):
    clerk = deployed["clerk"]

    def message(text: str | bytes) -> str:
        raw = text if isinstance(text, bytes) else text.encode()
        response = client.post("/api/v1/cases", headers=clerk.headers, data=raw, content_type="application/json")
        return assert_error(response, 400, "BAD_REQUEST")["message"]

    assert message("{bad") == "请求体不是有效的 JSON（第 1 行第 2 列）"
    assert message(start_body(nested(5_000))) == "请求体的 JSON 嵌套过深（上限 64 层）"
    assert message(start_body("1" * 5_000)) == "请求体中的整数位数过多（上限 4300 位）"
    assert message(b'{"process_key": "\xff"}') == "请求体不是 UTF-8 编码的文本（第 18 个字节）"


def test_extreme_json_on_completion_is_a_bad_request_and_leaves_the_task_open(client, deployed, case):
    clerk, task_id = deployed["clerk"], case["accept_task"]["id"]
    before = get_case(client, clerk, case["case_id"])
    for text in ('{"data": {"decision": ' + nested(100_000) + "}}", '{"data": {"opinion": ' + "7" * 5_000 + "}}"):
        assert_error(post_json_text(client, clerk, f"/api/v1/tasks/{task_id}/complete", text), 400, "BAD_REQUEST")
    assert get_case(client, clerk, case["case_id"]) == before
    assert only_task(client, clerk, "accept")["state"] == "open"


def test_data_nested_within_the_request_limit_meets_the_engines_own_limit(client, deployed):
    clerk = deployed["clerk"]
    body = assert_error(post_json_text(client, clerk, "/api/v1/cases", start_body(nested(40))), 422, "INVALID_INPUT")
    assert body["details"]["fields"] == {"a": ["列表和对象的嵌套不能超过 20 层"]}
    assert inbox(client, clerk)["items"] == []


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_a_json_endpoint_refuses_a_body_of_another_content_type_and_starts_nothing(client, deployed, content_type):
    clerk = deployed["clerk"]
    if content_type == "multipart/form-data":
        response = client.post("/api/v1/cases", headers=clerk.headers, content_type=content_type,
                               data={"process_key": "parallel_approval"})
    else:
        response = post_json_text(client, clerk, "/api/v1/cases", '{"process_key": "parallel_approval"}',
                                  content_type)
    body = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert body["message"] == JSON_REQUIRED
    assert body["details"]["content_type"] == content_type
    assert inbox(client, clerk)["items"] == []


def test_completing_with_a_form_encoded_body_is_refused_and_changes_nothing(client, deployed, case):
    clerk, task_id = deployed["clerk"], case["accept_task"]["id"]
    before = get_case(client, clerk, case["case_id"])
    response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=clerk.headers, data="data=x",
                           content_type="application/x-www-form-urlencoded")
    assert assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")["message"] == JSON_REQUIRED
    assert get_case(client, clerk, case["case_id"]) == before


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
def test_an_endpoint_that_reads_no_body_refuses_one_of_another_content_type(client, deployed, case, content_type):
    """QA: claim and unclaim read no body and answered 200 to a form-encoded one; the README promises 415."""
    clerk, task_id = deployed["clerk"], case["accept_task"]["id"]
    response = client.post(f"/api/v1/tasks/{task_id}/claim", headers=clerk.headers, data="x=1",
                           content_type=content_type)
    assert assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")["details"]["content_type"] == content_type
    assert only_task(client, clerk, "accept")["assignee"] is None
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=clerk.headers).status_code == 200   # no body


def test_json_with_a_charset_an_empty_body_and_multipart_uploads_still_work(client, deployed):
    clerk = deployed["clerk"]
    started = client.post("/api/v1/cases", headers=clerk.headers, content_type="application/json; charset=utf-8",
                          data=json.dumps({"process_key": "parallel_approval"}).encode())
    assert started.status_code == 201, started.get_data(as_text=True)
    empty = client.post("/api/v1/cases", headers=clerk.headers, content_type="text/plain", data=b"")
    assert "process_key" in assert_error(empty, 422, "INVALID_INPUT")["details"]["fields"]["json"]
    # the multipart endpoints read their own fields: the deploy of the fixture went through, and so does a lint
    lint = client.post("/api/v1/lint", headers=deployed["designer"].headers, content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(b"<x"), "bad.bpmn")]})
    assert lint.status_code == 200, lint.get_data(as_text=True)


@pytest.mark.parametrize(("application", "reason"), [
    (nested(5_000), "depth"), ('{"matter_code": ' + "1" * 5_000 + "}", "number"), ("{not json", "syntax"),
], ids=["deep", "5000-digits", "malformed"])
def test_extreme_json_in_a_multipart_application_field_is_invalid_input(client, deployed, application, reason):
    clerk = deployed["clerk"]
    response = client.post("/api/v1/applications", headers=clerk.headers, content_type="multipart/form-data",
                           data={"application": application})
    body = assert_error(response, 422, "INVALID_INPUT")
    assert body["details"]["reason"] == reason and body["message"].startswith("application 字段"), body
    assert inbox(client, clerk)["items"] == []


@pytest.mark.parametrize(("path", "query", "field", "message"), [
    ("/api/v1/tasks", {"due_before": "2026-12-01T00:00:00"}, "due_before",
     "日期时间应带时区，如 2026-12-01T09:00:00+08:00"),
    ("/api/v1/tasks", {"due_before": "soon"}, "due_before", "日期时间格式不正确"),
    ("/api/v1/ratings/stats", {"from": "bad"}, "from", "日期格式不正确，应为 YYYY-MM-DD"),
    ("/api/v1/tasks", {"limit": "many"}, "limit", "应为整数"),
    ("/api/v1/tasks", {"limit": "0"}, "limit", "应在 1 到 200 之间"),
    ("/api/v1/tasks", {"sort": "random"}, "sort", "应为以下之一：created, due, light"),
], ids=["naive-datetime", "not-a-datetime", "not-a-date", "not-an-integer", "out-of-range", "not-a-choice"])
def test_query_validation_messages_are_chinese(client, deployed, path, query, field, message):
    body = assert_error(client.get(path, headers=deployed["clerk"].headers, query_string=query), 422,
                        "INVALID_INPUT")
    assert body["details"]["fields"]["query"][field] == [message], body


def test_a_json_body_failing_its_schema_is_told_in_chinese(client, deployed):
    clerk = deployed["clerk"]
    body = assert_error(client.post("/api/v1/cases", headers=clerk.headers, json={
        "process_key": "parallel_approval", "data": [1], "title": 5, "extra": True}), 422, "INVALID_INPUT")
    fields = body["details"]["fields"]["json"]
    assert fields == {"data": ["应为对象"], "title": ["应为文本"], "extra": ["未知字段"]}, fields


def test_deploy_findings_are_chinese_sentences_with_the_parser_text_in_parentheses(client, deployed):
    designer = deployed["designer"]
    before = client.get("/api/v1/definitions", headers=designer.headers).get_json()

    def findings(files):
        data = {"files": [(io.BytesIO(content), name) for name, content in files]}
        response = client.post("/api/v1/definitions", headers=designer.headers, data=data,
                               content_type="multipart/form-data")
        return assert_error(response, 422, "DEFINITION_REJECTED")["details"]["findings"]

    [xml] = findings([("x.bpmn", b"hello")])
    assert (xml["code"], xml["message"]) == (
        "BPMN_MALFORMED_XML", "文件 x.bpmn 的 XML 格式错误，无法解析（第 1 行第 1 列；解析器：Start tag expected, '<' not found）")
    [form] = findings([("x.form", b"hello")])
    assert (form["code"], form["message"]) == (
        "FORM_NOT_JSON", "表单文件不是有效的 JSON，无法解析（第 1 行第 1 列；解析器：Expecting value）")
    assert client.get("/api/v1/definitions", headers=designer.headers).get_json() == before


def test_every_api_blueprint_reads_bodies_with_the_strict_loader_and_leaves_flask_smorest_alone(app):
    import flask_smorest

    from app.api import Blueprint
    from app.json_body import JsonBodyParser
    api_blueprints = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert len(api_blueprints) >= 20 and all(isinstance(bp, Blueprint) for bp in api_blueprints)
    assert isinstance(Blueprint.ARGUMENTS_PARSER, JsonBodyParser)
    assert not isinstance(flask_smorest.Blueprint.ARGUMENTS_PARSER, JsonBodyParser)


def test_a_nul_in_a_query_or_a_page_form_is_a_bad_request_not_a_server_error(client, deployed):
    clerk = deployed["clerk"]
    body = assert_error(client.get("/api/v1/tasks?q=a%00b", headers=clerk.headers), 400, "BAD_REQUEST")
    assert body["details"]["reason"] == "nul" and body["details"]["fields"] == {"q": [body["message"]]}
    assert client.get("/api/v1/tasks?q=a%5Cu0000b", headers=clerk.headers).status_code == 200   # the text \u0000
    page = client.post("/login", data={"username": "a\x00", "password": "x"})
    assert page.status_code == 400


def test_a_direction_override_in_a_query_or_a_page_form_is_refused(client, deployed):
    clerk = deployed["clerk"]
    body = assert_error(client.get("/api/v1/tasks?q=%E2%80%AEabc", headers=clerk.headers), 400, "BAD_REQUEST")
    assert body["details"]["reason"] == "bidi" and body["details"]["fields"] == {"q": [body["message"]]}
    assert "U+202A" in body["message"] and not ENGLISH_WORD.search(body["message"].split("（")[0])
    assert client.get("/api/v1/tasks?q=%E2%80%8Fabc", headers=clerk.headers).status_code == 200   # U+200F is a mark
    page = client.post("/login", data={"username": "window_yz", "password": "x\u2066"})
    assert page.status_code == 400
    named = assert_error(client.get("/api/v1/tasks?a%E2%80%AEb=1", headers=clerk.headers), 400, "BAD_REQUEST")
    assert list(named["details"]["fields"]) == ["a\\u202eb"]


def test_a_role_refusal_names_the_roles_as_people_read_them(client, deployed):
    body = assert_error(client.get("/api/v1/supervision", headers=deployed["clerk"].headers), 403, "FORBIDDEN")
    assert body["message"] == "此操作需要以下角色之一：电子监察（督办）人员" and body["details"] == {"roles": ["supervisor"]}
